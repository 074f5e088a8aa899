"""kannel_gateway.stop_gateway: a bearerbox that does not answer is killed and its end confirmed."""
import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_gateway import (
    GatewayNotStopped,
    stop_gateway,
)
from fakes import FakeClock

UNIT = "kannel-bearerbox.service"


class FakeRun(object):
    """run(argv) for systemctl: `show` reports the unit's main PID from `pids` in turn (the last
    stays; 0 = no process), `kill` answers kill_rc."""

    def __init__(self, *pids, **kw):
        self.pids, self.calls = list(pids), []
        self.kill_rc, self.show_rc = kw.get("kill_rc", 0), kw.get("show_rc", 0)

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[1] == "show":
            pid = self.pids.pop(0) if len(self.pids) > 1 else self.pids[0]
            if self.show_rc:
                return self.show_rc, "", "Failed to connect to bus"
            return 0, "MainPID=%d\nControlPID=0\nActiveState=%s\n" % (
                pid, "active" if pid else "activating"), ""
        return self.kill_rc, "", ""

    def kills(self):
        return [c for c in self.calls if c[1] == "kill"]


def stop(run, **kw):
    clock = FakeClock()
    return stop_gateway(UNIT, run, sleep=clock.sleep, clock=clock, **kw)


def test_hung_bearerbox_is_killed_and_its_end_confirmed():
    run = FakeRun(812, 812, 812, 0)
    res = stop(run)
    assert run.kills() == [["systemctl", "kill", "--signal=SIGKILL", UNIT]]
    assert res["killed"] and res["confirmed"] and res["pids"] == [812]
    assert 0 < res["seconds"] < 1


def test_a_restart_under_a_new_pid_counts_as_gone():
    # Restart=on-failure: systemd starts it again through the start-up guard
    res = stop(FakeRun(812, 901))
    assert res["confirmed"] and res["killed"]


def test_never_confirmed_is_an_error_that_says_what_was_tried():
    run = FakeRun(812)
    with pytest.raises(GatewayNotStopped) as e:
        stop(run, timeout=3)
    assert e.value.result["killed"] and not e.value.result["confirmed"]
    assert "812 still there" in str(e.value) and "SIGKILL" in str(e.value)
    assert len(run.kills()) == 1


def test_unit_not_running_is_confirmed_without_a_kill():
    run = FakeRun(0)
    res = stop(run)
    assert run.kills() == [] and res["confirmed"] and not res["killed"]


def test_check_mode_kills_nothing_and_says_it_would():
    run = FakeRun(812)
    res = stop(run, check_mode=True)
    assert run.kills() == [] and res["would_kill"] and not res["confirmed"]


def test_systemd_that_cannot_be_asked_is_an_error():
    with pytest.raises(GatewayNotStopped) as e:
        stop(FakeRun(812, show_rc=1))
    assert "cannot ask systemd about %s" % UNIT in str(e.value)
