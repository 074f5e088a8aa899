"""The node's guard in the tests: its entry point as the role installs it, and the first lines of
a script the tests run in a child process (`python -c SCRIPT`): IN_CHILD imports the guard's
library (plugins/module_utils/guard_*.py) from the collection, as the tests themselves do."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")
ENTRY_POINT = os.path.join(REPO, "roles", "kannel_node", "files", "kannel_cluster_guard.py")

IN_CHILD = ("import sys\nsys.path.insert(0, %r)\n"
            "from ansible_collections.smsgw.cluster.plugins.module_utils import (\n"
            "    guard_cli, guard_node, guard_release, guard_start)\n" % os.path.join(REPO, "collections"))
