#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_fence_command
short_description: Run a node's fence command (power it off) and say how it ended, never what it printed
description:
  - A takeover of a node that cannot be reached runs the node's fence command
    (C(kannel_fence_command), for example a power switch or hypervisor call) on the controller,
    bounded by C(timeout --kill-after=KILL_AFTER TIMEOUT), and goes on only when it succeeded
    (role smsgw.cluster.cluster_switch, C(tasks_from=fence)).
  - The command line and what the command prints may hold credentials; neither is returned. Only
    the program's name (RV(program)), the exit status and how it ended (RV(outcome)) are. Run it
    with C(no_log=true) so that the command line stays out of the output too.
  - A command that did not succeed is a result, not a failure of the module (the caller decides);
    only a line that cannot be split or a bad O(timeout) fails it.
  - The command is split like a shell would (quotes) but run without a shell.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  command:
    description: The fence command line (C(kannel_fence_command)).
    type: str
    required: true
  timeout:
    description: Seconds after which the command is stopped (SIGTERM), C(kannel_fence_timeout).
    type: int
    required: true
  kill_after:
    description: Seconds after the stop after which it is killed (SIGKILL).
    type: int
    default: 5
attributes:
  check_mode:
    support: full
    description: Runs nothing (RV(rc) is null); a real run would run the command.
  diff_mode:
    support: none
    description: The command's effect is outside this host.
seealso:
  - module: smsgw.cluster.kannel_serve
"""

EXAMPLES = r"""
- name: Fence the unreachable node with its fence command
  smsgw.cluster.kannel_fence_command:
    command: "{{ kannel_fence_command }}"
    timeout: "{{ kannel_model.fence.timeout }}"
  delegate_to: localhost
  register: fence_run
"""

RETURN = r"""
program:
  description: The program's name (the first word of the command line, without its directory).
  returned: always
  type: str
  sample: fence-node
rc:
  description: Its exit status (124 or 137 when it was stopped, 126 not executable, 127 not found); null in check mode.
  returned: always
  type: int
seconds:
  description: How long it ran, in seconds (one decimal).
  returned: always
  type: float
outcome:
  description: >-
    C(succeeded), C(did not finish within kannel_fence_timeout=N s and was stopped),
    C(is not executable), C(was not found) or C(failed); C(not run (check mode)).
  returned: always
  type: str
"""

import os
import shlex
import time

from ansible.module_utils.basic import AnsibleModule

STOPPED = (124, 137)  # timeout(1): stopped after TIMEOUT, killed after KILL_AFTER more


def program_of(command):
    """The program's name only: the rest of the line may hold credentials."""
    return os.path.basename(command.strip().split(" ")[0])


def outcome_of(rc, timeout):
    if rc == 0:
        return "succeeded"
    if rc in STOPPED:
        return "did not finish within kannel_fence_timeout=%s s and was stopped" % timeout
    return {126: "is not executable", 127: "was not found"}.get(rc, "failed")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # not no_log: its value would be masked in the program's name too; the task that runs
            # it is no_log (roles/cluster_switch/tasks/fence.yml), and nothing here returns it
            command=dict(type="str", required=True),
            timeout=dict(type="int", required=True),
            kill_after=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    # failed=False: a command that did not succeed is a result the caller judges (it may go on with
    # takeover_fence_failure_ok), and without it Ansible would call any rc other than 0 a failure
    result = {"changed": True, "failed": False, "program": program_of(p["command"]), "rc": None, "seconds": 0.0}
    if p["timeout"] < 1 or p["kill_after"] < 1:
        result.pop("failed")
        module.fail_json(msg="timeout and kill_after must be at least 1 s, got %s and %s"
                         % (p["timeout"], p["kill_after"]), **result)
    if module.check_mode:
        module.exit_json(outcome="not run (check mode)", **result)
    try:
        argv = shlex.split(p["command"])
    except ValueError as e:
        result.pop("failed")
        module.fail_json(msg="kannel_fence_command cannot be split into words (%s); fix its quotes" % e,
                         **result)
    started = time.monotonic()
    rc, _out, _err = module.run_command(
        ["timeout", "--kill-after=%d" % p["kill_after"], str(p["timeout"])] + argv)
    result.update(rc=rc, seconds=round(time.monotonic() - started, 1), outcome=outcome_of(rc, p["timeout"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
