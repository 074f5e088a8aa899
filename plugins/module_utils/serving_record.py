# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's serving record (serving.json: which sets it serves): the one reader and the one
writer, for the modules (kannel_serve, kannel_info) and the node's guard. Standard library only.

One rule for what counts as a record: {"sets": [set names], ...}. A file without a "sets" list of
names is an error for everyone (the guard, which once read a missing "sets" as serving nothing,
serves nothing on any error too: the same outcome, now with a message)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import write_atomically


def read_serving(path):
    """The recorded serving state at path -> {recorded, sets, changed_by, changed_at, error}:
    recorded False when there is no file; error set (sets None) when it cannot be read or is no
    serving record (the file is left as it is, for an operator to see)."""
    state = {"recorded": False, "sets": None, "changed_by": None, "changed_at": None, "error": None}
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return state
    except OSError as e:
        state.update(recorded=True, error="cannot read %s: %s" % (path, e.strerror))
        return state
    state["recorded"] = True
    try:
        doc = json.loads(text)
        sets = doc["sets"]
        if not isinstance(sets, list) or not all(isinstance(x, str) for x in sets):
            raise ValueError("sets is not a list of set names")
    except (ValueError, KeyError, TypeError) as e:
        state["error"] = "%s is not a serving state ({\"sets\": [...]}): %s" % (path, e)
        return state
    state.update(sets=sets, changed_by=doc.get("changed_by"), changed_at=doc.get("changed_at"))
    return state


def write_record(path, sets, changed_by):
    """serving.json, written atomically (a reader never sees half a file)."""
    doc = {"sets": sets, "changed_by": changed_by,
           "changed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_atomically(path, json.dumps(doc, indent=4, sort_keys=True) + "\n", mode=0o644)
