# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of smsgw.cluster.kannel_cluster_lock: the lock of a run that was killed.

The module runs on the node and cannot see the controller's processes. When it refuses a take
because a run of this very controller holds the lock, and that run's ansible-playbook process is
gone (Ctrl-C twice, kill, a cancelled job), it changes nothing any more: the lock is taken over at
once (module option gone_run_id, only that run's lock) instead of waiting for the expiry. Doing it
here keeps a take to one task per node (no second task, no per-node include).
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

MODULE = "smsgw.cluster.kannel_cluster_lock"


def process_runs_ansible(pid, proc="/proc"):
    """Whether process pid on this controller is an ansible process (False when it is gone)."""
    try:
        with open("%s/%s/cmdline" % (proc, pid), "rb") as fh:
            return b"ansible" in fh.read()
    except (IOError, OSError):
        return False


def gone_run(refused, controller, proc="/proc"):
    """The run id of the holder in a refused result when that run is known to be gone, else None:
    it ran on this controller (same user@host) and its ansible-playbook pid runs no ansible now."""
    held = refused.get("held_by") or {}
    pid = str(held.get("pid") or "")
    if not (refused.get("refused") and controller and held.get("controller") == controller
            and pid.isdigit() and held.get("run_id")):
        return None
    return None if process_runs_ansible(pid, proc) else held["run_id"]


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        out = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if args.get("state", "present") == "present" and not args.get("gone_run_id"):
            gone = gone_run(out, (args.get("holder") or {}).get("controller"))
            if gone:
                args["gone_run_id"] = gone
                out = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(out)
        return result
