# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""smsgw.cluster.report_file: a playbook's result written as JSON on the controller.

An action with no module: the file is the controller's, so nothing is sent to a host and no module
process runs (ansible.builtin.copy to localhost cost about a second of every takeover and failback).
"""

from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import write_atomically

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    content=dict(type="dict", required=True),
)


def write_report(path, content):
    """Write content (a mapping) to path as indented JSON, its directory made when missing; a
    reader sees the previous report or this one, never half of one. Returns why it could not be
    written, or None when it was."""
    text = json.dumps(content, indent=4, sort_keys=True) + "\n"
    directory = os.path.dirname(path)
    if os.path.lexists(directory) and not os.path.isdir(directory):
        return "%s is not a directory" % directory
    try:
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        write_atomically(path, text, mode=0o644)
    except OSError as e:
        return e.strerror or str(e)
    except (TypeError, ValueError) as e:  # a value JSON cannot hold
        return str(e)
    return None


class ActionModule(ActionBase):

    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        path = args["path"]  # type path: ~ already expanded
        error = write_report(path, args["content"])
        # the run's output, not a change to a host: never changed
        result.update(changed=False, path=path)
        if error:
            result.update(failed=True, msg="cannot write %s: %s" % (path, error))
        return result
