"""kannel_smsbox decisions with a fake systemctl runner and a fake bearerbox."""
import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelAdmin
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_smsbox import (
    SmsboxError,
    SmsboxManager,
)
from fakes import FakeBearerbox, FakeClock

PW = "pw"
UNIT = "kannel-smsbox@node-b"


class FakeSystemd(object):
    """Records calls; start connects the box to the fake bearerbox after `connect_after` reads."""

    def __init__(self, gw, active=False, enabled=False, fail=None):
        self.gw, self.active, self.enabled, self.fail = gw, active, enabled, fail or {}
        self.calls = []

    def __call__(self, argv):
        verb = argv[1]
        self.calls.append(verb)
        if verb == "is-active":
            return (0 if self.active else 3), ("active\n" if self.active else "inactive\n"), ""
        if verb == "is-enabled":
            return (0 if self.enabled else 1), ("enabled\n" if self.enabled else "disabled\n"), ""
        if verb in self.fail:
            return 1, "", self.fail[verb]
        if verb == "start":
            self.active = True
            self.gw.boxes.append("node-b")
        elif verb == "stop":
            self.active = False
            if "node-b" in self.gw.boxes:
                self.gw.boxes.remove("node-b")
        elif verb == "enable":
            self.enabled = True
        elif verb == "disable":
            self.enabled = False
        return 0, "", ""

    def changes(self):
        return [c for c in self.calls if not c.startswith("is-")]


def make(gw, sysd, state, check_mode=False, wait_timeout=5):
    clock = FakeClock()
    admin = KannelAdmin("http://127.0.0.1:13000", PW, 5, fetch=gw)
    return SmsboxManager(sysd, "/bin/systemctl", admin, "node-b", UNIT, state,
                         wait_timeout=wait_timeout, check_mode=check_mode, sleep=clock.sleep,
                         clock=clock)


def test_active_from_stopped_enables_starts_and_confirms_box():
    gw = FakeBearerbox(password=PW)
    sysd = FakeSystemd(gw)
    res = make(gw, sysd, "active").run()
    assert sysd.changes() == ["enable", "start"]
    assert res["changed"] and res["actions"] == ["enable", "start"]
    assert res["before"] == {"unit_active": False, "unit_enabled": False, "box_connected": False}
    assert res["after"] == {"unit_active": True, "unit_enabled": True, "box_connected": True}


def test_active_when_already_running_is_unchanged():
    gw = FakeBearerbox(password=PW, boxes=["node-b"])
    sysd = FakeSystemd(gw, active=True, enabled=True)
    res = make(gw, sysd, "active").run()
    assert sysd.changes() == [] and res["changed"] is False


def test_active_running_but_disabled_only_enables():
    gw = FakeBearerbox(password=PW, boxes=["node-b"])
    sysd = FakeSystemd(gw, active=True, enabled=False)
    res = make(gw, sysd, "active").run()
    assert sysd.changes() == ["enable"] and res["changed"]


def test_active_box_never_appears_times_out_with_hint():
    gw = FakeBearerbox(password=PW)
    sysd = FakeSystemd(gw, enabled=True)
    orig = sysd.__call__

    def no_connect(argv):
        out = orig(argv)
        if argv[1] == "start":
            gw.boxes.remove("node-b")
        return out
    m = make(gw, no_connect, "active", wait_timeout=2)
    with pytest.raises(SmsboxError) as e:
        m.run()
    assert "did not appear" in e.value.msg and "journalctl -u %s" % UNIT in e.value.msg
    assert e.value.extra["changed"] is True


def test_active_unreachable_fails_without_starting():
    gw = FakeBearerbox(password=PW)
    gw.down = True
    sysd = FakeSystemd(gw)
    with pytest.raises(SmsboxError) as e:
        make(gw, sysd, "active").run()
    assert sysd.changes() == [] and "unreachable" in e.value.msg


def test_systemctl_failure_is_reported():
    gw = FakeBearerbox(password=PW)
    sysd = FakeSystemd(gw, enabled=True, fail={"start": "Job failed"})
    with pytest.raises(SmsboxError) as e:
        make(gw, sysd, "active").run()
    assert "systemctl start %s failed" % UNIT in e.value.msg and "Job failed" in e.value.msg


def test_passive_stops_disables_and_confirms_gone():
    gw = FakeBearerbox(password=PW, boxes=["node-b", "node-a"])
    sysd = FakeSystemd(gw, active=True, enabled=True)
    res = make(gw, sysd, "passive").run()
    assert sysd.changes() == ["stop", "disable"]
    assert res["after"]["box_connected"] is False and gw.boxes == ["node-a"]


def test_passive_already_is_unchanged():
    gw = FakeBearerbox(password=PW, boxes=["node-a"])
    sysd = FakeSystemd(gw)
    res = make(gw, sysd, "passive").run()
    assert res["changed"] is False and sysd.changes() == []


def test_passive_box_from_elsewhere_still_connected_fails():
    gw = FakeBearerbox(password=PW, boxes=["node-b", "node-b"])
    sysd = FakeSystemd(gw, active=True, enabled=True)
    with pytest.raises(SmsboxError) as e:
        make(gw, sysd, "passive", wait_timeout=2).run()
    assert "still connected" in e.value.msg


def test_passive_unreachable_still_stops_and_warns():
    gw = FakeBearerbox(password=PW)
    gw.down = True
    sysd = FakeSystemd(gw, active=True, enabled=True)
    m = make(gw, sysd, "passive")
    res = m.run()
    assert sysd.changes() == ["stop", "disable"] and res["changed"]
    assert m.warnings and res["after"]["box_connected"] is None


@pytest.mark.parametrize("state,before_active,expect", [("active", False, ["enable", "start"]),
                                                        ("passive", True, ["stop", "disable"])])
def test_check_mode_runs_only_queries(state, before_active, expect):
    gw = FakeBearerbox(password=PW, boxes=["node-b"] if before_active else [])
    sysd = FakeSystemd(gw, active=before_active, enabled=before_active)
    res = make(gw, sysd, state, check_mode=True).run()
    assert res["actions"] == expect and res["changed"]
    assert sysd.changes() == []
