# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop a gateway (the bearerbox unit) whose admin interface does not answer.

A hung bearerbox (stopped by a signal, blocked on disk, deadlocked) keeps its provider sessions
open: taking its link files out changes nothing until it runs again, so a node that must stop
serving a set while its bearerbox does not answer is fenced only once the process is gone. SIGKILL
through systemd reaches every process of the unit, also a stopped one, and the kernel closes their
sockets (the provider sees the sessions end). The unit's main and control PIDs, as systemd reports
them, are what is killed and what must be gone; a new PID afterwards is a restart (Restart=), which
goes through the start-up guard and loads what serving.json lists.

Standard library only: kannel_serve (through module.run_command) and the node's guard
(module_utils/guard_release.py, through subprocess) both use it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import time

SIGNAL = "SIGKILL"


class GatewayNotStopped(Exception):
    """The unit's processes were not confirmed gone; ``result`` says what was tried."""

    def __init__(self, msg, result):
        super(GatewayNotStopped, self).__init__(msg)
        self.result = result


def run_subprocess(argv):
    """run(argv) -> (rc, stdout, stderr) for callers outside Ansible (the guard)."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, "", str(e)
    return proc.returncode, proc.stdout or "", proc.stderr or ""


def unit_pids(run, unit, systemctl="systemctl"):
    """(pids, active_state): the unit's running main and control PIDs, and its ActiveState.
    Raises GatewayNotStopped when systemd cannot be asked (then nothing is known)."""
    rc, out, err = run([systemctl, "show", "--property=MainPID,ControlPID,ActiveState", unit])
    props = dict(line.split("=", 1) for line in (out or "").splitlines() if "=" in line)
    if rc != 0 or "MainPID" not in props:
        raise GatewayNotStopped(
            "cannot ask systemd about %s (%s show: rc %s, %s)"
            % (unit, systemctl, rc, (err or out or "no output").strip()),
            {"unit": unit, "signal": SIGNAL, "killed": False, "confirmed": False, "seconds": 0.0})
    pids = set()
    for key in ("MainPID", "ControlPID"):
        try:
            pid = int(props.get(key, "0") or 0)
        except ValueError:
            pid = 0
        if pid > 0:
            pids.add(pid)
    return pids, props.get("ActiveState", "")


def stop_gateway(unit, run=None, timeout=10.0, check_mode=False, systemctl="systemctl",
                 sleep=None, clock=None):
    """Kill every process of `unit` with SIGKILL and confirm they are gone within `timeout` s.

    Returns {unit, signal, killed, confirmed, seconds, pids}: killed is False when the unit had no
    process (bearerbox not running: nothing to do, confirmed), and in check mode (confirmed False,
    would_kill True). Raises GatewayNotStopped when a killed PID is still the unit's after
    `timeout` seconds, or when systemd cannot be asked.
    """
    run, sleep, clock = run or run_subprocess, sleep or time.sleep, clock or time.monotonic
    result = {"unit": unit, "signal": SIGNAL, "killed": False, "confirmed": False, "seconds": 0.0,
              "pids": []}
    pids, _state = unit_pids(run, unit, systemctl)
    result["pids"] = sorted(pids)
    if not pids:
        result["confirmed"] = True
        return result
    if check_mode:
        result["would_kill"] = True
        return result
    started = clock()
    rc, out, err = run([systemctl, "kill", "--signal=%s" % SIGNAL, unit])
    result["killed"] = True
    kill_said = "" if rc == 0 else " (%s kill: rc %s, %s)" % (systemctl, rc, (err or out).strip())
    while True:
        left, state = unit_pids(run, unit, systemctl)
        result["seconds"] = round(clock() - started, 2)
        if not left & pids:
            result["confirmed"] = True
            result["active_state"] = state
            return result
        if clock() - started >= timeout:
            raise GatewayNotStopped(
                "%s: process(es) %s still there %.1f s after %s%s (state %s); the node may still "
                "hold its provider sessions"
                % (unit, ", ".join(str(p) for p in sorted(left & pids)), result["seconds"],
                   SIGNAL, kill_said, state or "unknown"), result)
        sleep(0.1)
