"""The lock action plugin's one rule: a refused take is retried only over a run of this controller
whose ansible-playbook process is gone."""

import os

from ansible_collections.smsgw.cluster.plugins.action.kannel_cluster_lock import (
    gone_run,
    process_runs_ansible,
)

HERE = "ops@ctl"


def refused(controller=HERE, pid="4242", run_id="old-run"):
    return {"refused": True, "held_by": {"controller": controller, "pid": pid, "run_id": run_id}}


def proc_with(tmp_path, pid, cmdline):
    (tmp_path / pid).mkdir()
    (tmp_path / pid / "cmdline").write_bytes(cmdline)
    return str(tmp_path)


def test_a_gone_run_of_this_controller_is_named(tmp_path):
    assert gone_run(refused(), HERE, proc=str(tmp_path)) == "old-run"


def test_a_pid_reused_by_another_program_counts_as_gone(tmp_path):
    proc = proc_with(tmp_path, "4242", b"/usr/bin/sleep\x00100\x00")
    assert gone_run(refused(), HERE, proc=proc) == "old-run"


def test_a_run_that_still_runs_is_not_taken_over(tmp_path):
    proc = proc_with(tmp_path, "4242", b"/usr/bin/python3\x00/usr/bin/ansible-playbook\x00takeover.yml\x00")
    assert gone_run(refused(), HERE, proc=proc) is None


def test_only_this_controllers_runs_with_a_numeric_pid():
    assert gone_run(refused(controller="ops@other"), HERE) is None
    assert gone_run(refused(pid="x1"), HERE) is None
    assert gone_run(refused(pid=None), HERE) is None
    assert gone_run(refused(run_id=None), HERE) is None
    assert gone_run(refused(), None) is None
    assert gone_run(dict(refused(), refused=False), HERE) is None


def test_this_process_runs_no_ansible_and_a_missing_pid_none():
    assert process_runs_ansible(os.getpid()) is ("ansible" in open("/proc/self/cmdline").read())
    assert process_runs_ansible(2 ** 22 + 12345) is False
