#!/usr/bin/python3
# Guard of a cluster node (installed by smsgw.cluster.kannel_node as kannel_node_guard_command):
# never connect a set that the peer serves. The program is the collection's own library
# (plugins/module_utils/guard_*.py, standard library only), installed by the role under this
# file's directory as the regular package ansible_collections.smsgw.cluster (with __init__.py
# files: a node's own Ansible cannot shadow it). Usage: guard_cli.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from ansible_collections.smsgw.cluster.plugins.module_utils.guard_cli import main  # noqa: E402  (after the path)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
