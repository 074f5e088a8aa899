"""Shared pytest setup: make the collection importable as ansible_collections.smsgw.cluster."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# collections/ansible_collections/smsgw/cluster is a symlink to the repository root.
_COLLECTIONS = os.path.join(REPO, "collections")
if os.path.isdir(os.path.join(_COLLECTIONS, "ansible_collections")) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

# Test helpers (tests/unit/plugins/fakes.py) and the provider simulator (lab/smsc_sim.py)
# importable as plain modules.
for _path in (os.path.join(REPO, "tests", "unit", "plugins"), os.path.join(REPO, "lab")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
