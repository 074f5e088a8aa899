"""The node's guard script (roles/kannel_node/files/kannel-cluster-guard, no .py suffix) loaded as a
module, with the collection's module_utils on the path as they are installed beside it on a node.
Used by the unit and integration tests, and by the scripts they run in a child process
(`python -c SCRIPT`): LOAD_IN_CHILD loads the guard there as `guard`."""
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
GUARD = os.path.join(REPO, "roles", "kannel_node", "files", "kannel-cluster-guard")
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")


def load_guard():
    loader = importlib.machinery.SourceFileLoader("kannel_cluster_guard", GUARD)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    keep, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the role
    sys.path.insert(0, MODULE_UTILS)
    try:
        loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = keep
        sys.path.remove(MODULE_UTILS)
    return module


# The first lines of a child process's script: the guard as `guard`, from this module.
LOAD_IN_CHILD = "import sys\nsys.path.insert(0, %r)\nimport guard_module\nguard = guard_module.load_guard()\n" % HERE
