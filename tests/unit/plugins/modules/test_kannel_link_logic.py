"""kannel_link decisions: which commands for which before-state, against a fake bearerbox."""
import os
import stat

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminDenied,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkError, LinkManager
from fakes import FakeBearerbox, FakeClock

PW = "adm-pw"


@pytest.fixture
def dirs(tmp_path):
    avail, active = tmp_path / "avail", tmp_path / "active"
    avail.mkdir()
    active.mkdir()
    return str(avail), str(active)


def put(avail, *ids, mode=0o640):
    for link in ids:
        p = os.path.join(avail, link + ".conf")
        with open(p, "w") as f:
            f.write('group = smsc\nsmsc = smpp\nsmsc-id = "%s"\n' % link)
        os.chmod(p, mode)


def activate_file(avail, active, link):
    import shutil
    shutil.copy2(os.path.join(avail, link + ".conf"), os.path.join(active, link + ".conf"))


def manager(gw, dirs, links, state, **kw):
    clock = FakeClock()
    if gw.active_dir is None and gw.config_links is not None:
        gw.active_dir = dirs[1]
    admin = KannelAdmin("http://127.0.0.1:13000", PW, 5, fetch=gw)
    kw.setdefault("wait_timeout", 10)
    return LinkManager(admin, links, state, dirs[1], dirs[0], sleep=clock.sleep, clock=clock, **kw)


def actions(res):
    return [(a["link"], a["action"]) for a in res["actions"]]


# ---------------------------------------------------------------- active
def test_absent_link_is_copied_then_loaded_by_graceful_restart_and_waited_online(dirs):
    avail, active = dirs
    put(avail, "a", mode=0o604)
    gw = FakeBearerbox({"own": "online"}, password=PW)
    gw.config_links = {"own"}
    res = manager(gw, dirs, ["a"], "active").run()
    assert res["changed"] is True
    assert actions(res) == [("a", "copy-config"), ("a", "graceful-restart")]
    assert gw.commands() == [("graceful-restart", None)]
    assert gw.links == {"own": "online", "a": "online"}
    assert stat.S_IMODE(os.stat(os.path.join(active, "a.conf")).st_mode) == 0o604
    assert res["links"]["a"] == {"before": {"state": "absent", "config_active": False, "held": False},
                                 "after": {"state": "online", "config_active": True, "held": False}}
    assert res["diff"]["before"]["a"]["state"] == "absent"


def test_stray_file_in_active_dir_makes_it_add_one_by_one(dirs):
    # A graceful restart loads every file of active_dir: one nobody asked for must not be loaded.
    avail, active = dirs
    put(avail, "a", "b", "stray")
    activate_file(avail, active, "stray")
    gw = FakeBearerbox({"own": "online"}, password=PW)
    m = manager(gw, dirs, ["a", "b"], "active")
    res = m.run()
    assert gw.commands() == [("add-smsc", "a"), ("add-smsc", "b")]
    assert "stray" not in gw.links and res["links"]["b"]["after"]["state"] == "online"
    assert any("stray" in w and "one by one" in w for w in m.warnings)


def test_gateway_without_any_link_adds_one_by_one(dirs):
    # Kannel 1.4.5 with no smsc group loaded: a graceful restart loads nothing (measured).
    avail = dirs[0]
    put(avail, "a", "b")
    gw = FakeBearerbox(password=PW)
    res = manager(gw, dirs, ["a", "b"], "active").run()
    assert gw.commands() == [("add-smsc", "a"), ("add-smsc", "b")] and res["changed"]


def test_links_graceful_restart_did_not_load_are_named_and_taken_out(dirs):
    avail, active = dirs
    put(avail, "a", "b")
    gw = FakeBearerbox({"own": "online"}, password=PW)
    gw.config_links = None  # a configuration error: the restart changes nothing
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a", "b"], "active", wait_timeout=3).run()
    assert "did not load a, b" in e.value.msg and "test_cfg" in e.value.msg
    assert os.listdir(active) == []
    assert e.value.extra["changed"] is True


def test_dead_link_is_started_not_added(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "dead"}, password=PW)
    res = manager(gw, dirs, ["a"], "active").run()
    assert gw.commands() == [("start-smsc", "a")]
    assert actions(res) == [("a", "start-smsc")]
    assert res["changed"] is True


@pytest.mark.parametrize("st", ["online", "connecting", "re-connecting"])
def test_loaded_link_gets_no_command(dirs, st):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": st}, password=PW)
    gw.pending["a"] = ["online"]
    res = manager(gw, dirs, ["a"], "active").run()
    assert gw.commands() == []
    assert res["changed"] is False
    assert res["links"]["a"]["after"]["state"] == "online"


def test_already_active_is_one_status_read(dirs):
    avail, active = dirs
    put(avail, "a", "b")
    activate_file(avail, active, "a")
    activate_file(avail, active, "b")
    gw = FakeBearerbox({"a": "online", "b": "online"}, password=PW)
    res = manager(gw, dirs, ["a", "b"], "active").run()
    assert res["changed"] is False and res["actions"] == []
    assert gw.status_reads() == 1 and res["status_requests"] == 1


def test_online_link_with_missing_file_only_copies_and_is_changed(dirs):
    avail, active = dirs
    put(avail, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    res = manager(gw, dirs, ["a"], "active").run()
    assert res["changed"] is True
    assert actions(res) == [("a", "copy-config")]
    assert gw.commands() == []
    assert os.path.exists(os.path.join(active, "a.conf"))


def test_changed_file_of_running_link_is_not_applied_behind_bearerbox(dirs):
    # A changed group in active_dir would be recreated, with an overlapping bind, by the next
    # graceful restart or SIGHUP: the file bearerbox loaded stays, a warning says what to do.
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    with open(os.path.join(avail, "a.conf"), "a") as f:
        f.write("throughput = 10\n")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    m = manager(gw, dirs, ["a"], "active")
    res = m.run()
    assert res["actions"] == [] and not res["changed"]
    with open(os.path.join(active, "a.conf")) as f:
        assert "throughput" not in f.read()
    assert any("NOT updated" in w and "deploy.yml" in w for w in m.warnings)


def test_disconnected_link_is_waited_dead_then_started(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "disconnected"}, password=PW)
    gw.pending["a"] = ["disconnected", "dead"]
    res = manager(gw, dirs, ["a"], "active").run()
    assert gw.commands() == [("start-smsc", "a")]
    assert res["links"]["a"]["before"]["state"] == "disconnected"
    assert res["links"]["a"]["after"]["state"] == "online"


def test_many_links_one_status_read_one_graceful_restart_then_shared_polls(dirs):
    avail = dirs[0]
    ids = ["l%03d" % i for i in range(200)]
    put(avail, *ids)
    gw = FakeBearerbox({"own": "online"}, password=PW)
    gw.config_links = {"own"}
    res = manager(gw, dirs, ids, "active").run()
    assert gw.commands() == [("graceful-restart", None)]
    # 1 read before + a few polls; never one per link
    assert gw.status_reads() <= 4
    assert all(gw.links[i] == "online" for i in ids) and gw.links["own"] == "online"
    assert res["status_requests"] == gw.status_reads()
    assert [a["action"] for a in res["actions"]] == ["copy-config"] * 200 + ["graceful-restart"] * 200


def test_timeout_names_links_and_last_state(dirs):
    avail = dirs[0]
    put(avail, "good", "down")
    gw = FakeBearerbox(password=PW)
    gw.after_add = ["re-connecting"]
    gw.pending = {}
    m = manager(gw, dirs, ["good", "down"], "active", wait_timeout=3)
    # good comes online, down stays re-connecting
    orig = gw.cmd_add_smsc

    def add(smsc):
        out = orig(smsc)
        gw.pending[smsc] = ["online"] if smsc == "good" else []
        if smsc == "down":
            gw.links[smsc] = "re-connecting"
        return out
    gw.cmd_add_smsc = add
    with pytest.raises(LinkError) as e:
        m.run()
    assert "down (re-connecting)" in e.value.msg
    assert "good" not in e.value.msg.split("online:")[1].split(".")[0]
    assert e.value.extra["changed"] is True


def test_require_online_false_accepts_reconnecting(dirs):
    avail = dirs[0]
    put(avail, "down")
    gw = FakeBearerbox(password=PW)
    gw.after_add = ["re-connecting"]
    m = manager(gw, dirs, ["down"], "active", require_online=False)
    res = m.run()
    assert res["not_online"] == {"down": "re-connecting"}
    assert any("not online" in w for w in m.warnings)


def test_refused_add_is_reported_with_reply(dirs):
    avail, active = dirs
    put(avail, "a", "stray")
    activate_file(avail, active, "stray")
    gw = FakeBearerbox({"own": "online"}, password=PW)
    gw.cmd_add_smsc = lambda smsc: "Could not add smsc-id `%s'" % smsc
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "active").run()
    assert "add-smsc a" in e.value.msg and "Could not add" in e.value.msg
    assert "test_cfg" in e.value.msg and "placeholder" not in e.value.msg
    # the file copied for it is taken out again
    assert os.listdir(active) == ["stray.conf"]
    assert [a["action"] for a in e.value.extra["actions"]] == ["copy-config", "add-smsc",
                                                               "delete-config"]


def test_unknown_id_fails_before_any_command(dirs):
    avail = dirs[0]
    put(avail, "a")
    gw = FakeBearerbox(password=PW)
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a", "typo-link"], "active").run()
    assert "typo-link" in e.value.msg and "a," not in e.value.msg
    assert e.value.extra["unknown_links"] == ["typo-link"]
    assert gw.commands() == []
    assert os.listdir(dirs[1]) == []


@pytest.mark.parametrize("link_id", ["../etc/passwd", "a1\n", "a1\nb"])
def test_invalid_id_rejected(link_id):
    with pytest.raises(LinkError, match="invalid link id"):
        LinkManager(None, [link_id], "active", "/x", "/y").validate_ids()


def test_check_mode_active_sends_nothing(dirs):
    avail, active = dirs
    put(avail, "a", "b")
    activate_file(avail, active, "b")
    gw = FakeBearerbox({"b": "dead"}, password=PW)
    res = manager(gw, dirs, ["a", "b"], "active", check_mode=True).run()
    assert res["changed"] is True
    assert actions(res) == [("a", "copy-config"), ("b", "start-smsc"), ("a", "graceful-restart")]
    assert gw.commands() == [] and gw.status_reads() == 1
    assert os.listdir(active) == ["b.conf"]


def test_unreachable_active_fails_and_changes_nothing(dirs):
    avail, active = dirs
    put(avail, "a")
    gw = FakeBearerbox(password=PW)
    gw.down = True
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "active").run()
    assert "cannot activate a" in e.value.msg and PW not in e.value.msg
    assert os.listdir(active) == []


def test_denied_propagates_after_one_request(dirs):
    avail = dirs[0]
    put(avail, "a")
    gw = FakeBearerbox(password="other")
    with pytest.raises(KannelAdminDenied):
        manager(gw, dirs, ["a"], "active").run()
    assert len(gw.requests) == 1


# ---------------------------------------------------------------- passive
def test_online_link_file_deleted_then_removed_and_waited_gone(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    gw.after_remove = ["online"]  # still listed for one read after the reply
    res = manager(gw, dirs, ["a"], "passive").run()
    assert actions(res) == [("a", "delete-config"), ("a", "remove-smsc")]
    assert gw.commands() == [("remove-smsc", "a")]
    assert os.listdir(active) == []
    assert "a" not in gw.links
    assert res["links"]["a"]["after"] == {"state": "absent", "config_active": False, "held": False}


@pytest.mark.parametrize("st", ["dead", "re-connecting", "connecting"])
def test_any_loaded_state_is_removed(dirs, st):
    avail, active = dirs
    put(avail, "a")
    gw = FakeBearerbox({"a": st}, password=PW)
    res = manager(gw, dirs, ["a"], "passive").run()
    assert gw.commands() == [("remove-smsc", "a")] and res["changed"]


def test_absent_link_with_leftover_file_only_deletes_it(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox(password=PW)
    res = manager(gw, dirs, ["a"], "passive").run()
    assert actions(res) == [("a", "delete-config")] and res["changed"]
    assert gw.commands() == []


def test_already_passive_is_unchanged(dirs):
    avail = dirs[0]
    put(avail, "a")
    gw = FakeBearerbox(password=PW)
    res = manager(gw, dirs, ["a"], "passive").run()
    assert res["changed"] is False and res["actions"] == [] and gw.status_reads() == 1


def test_passive_timeout_names_link_and_file_stays_out(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    gw.after_remove = ["online"]
    gw.stuck.add("a")
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "passive", wait_timeout=2).run()
    assert "a (online)" in e.value.msg and "run the task again" in e.value.msg
    assert os.listdir(active) == []


def test_drain_timeout_fails_naming_links_and_changes_nothing(dirs):
    avail, active = dirs
    put(avail, "a", "b")
    activate_file(avail, active, "a")
    activate_file(avail, active, "b")
    gw = FakeBearerbox({"a": "online", "b": "online"}, password=PW, queued={"a": 7})
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a", "b"], "passive", drain_timeout=2).run()
    assert "a (7 queued)" in e.value.msg and "b (" not in e.value.msg
    assert "gateway" not in e.value.msg and e.value.extra["changed"] is False
    assert gw.commands() == []
    assert sorted(os.listdir(active)) == ["a.conf", "b.conf"]


def test_drain_waits_then_removes(dirs):
    avail, active = dirs
    put(avail, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW, queued={"a": 3})
    gw.drain_per_read = 1
    res = manager(gw, dirs, ["a"], "passive", drain_timeout=30).run()
    assert gw.commands() == [("remove-smsc", "a")]
    assert gw.status_reads() >= 3 and res["changed"]


@pytest.mark.parametrize("state, left, expected", [
    ("passive", [], [("a", "delete-config")]),
    # held: the stand-in's file goes in, so bearerbox keeps the link's messages at its next start
    ("held", ["a.held.conf", "b.held.conf"],
     [("a.held", "copy-config"), ("a", "delete-config"), ("b.held", "copy-config")]),
])
def test_unreachable_passive_or_held_takes_the_files_out_and_warns(dirs, state, left, expected):
    avail, active = dirs
    put(avail, "a", "b", "a.held", "b.held")
    activate_file(avail, active, "a")
    gw = FakeBearerbox(password=PW)
    gw.down = True
    m = manager(gw, dirs, ["a", "b"], state)
    res = m.run()
    assert res["changed"] is True and res["reachable"] is False
    assert sorted(os.listdir(active)) == left
    assert actions(res) == expected
    assert res["links"]["a"]["after"]["held"] is (state == "held")
    assert any("unreachable" in w and "a" in w for w in m.warnings)
    assert all(PW not in w for w in m.warnings)


def test_unreachable_passive_check_mode_keeps_files(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox(password=PW)
    gw.down = True
    res = manager(gw, dirs, ["a"], "passive", check_mode=True).run()
    assert res["changed"] is True and os.listdir(active) == ["a.conf"]


def test_check_mode_passive_sends_nothing(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    res = manager(gw, dirs, ["a"], "passive", check_mode=True).run()
    assert actions(res) == [("a", "delete-config"), ("a", "remove-smsc")]
    assert gw.commands() == [] and os.listdir(active) == ["a.conf"]


def test_passive_unknown_id_named(dirs):
    gw = FakeBearerbox(password=PW)
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["ghost"], "passive").run()
    assert "ghost" in e.value.msg and gw.commands() == []


def test_passive_link_loaded_without_any_file_is_still_removed(dirs):
    gw = FakeBearerbox({"x": "online"}, password=PW)
    res = manager(gw, dirs, ["x"], "passive").run()
    assert gw.commands() == [("remove-smsc", "x")] and res["changed"]


def test_add_refused_on_gateway_without_any_link_explains_placeholder(dirs):
    avail = dirs[0]
    put(avail, "a")
    gw = FakeBearerbox(password=PW)
    gw.cmd_add_smsc = lambda smsc: "Could not add smsc-id `%s'" % smsc
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "active").run()
    assert "placeholder" in e.value.msg


def test_drain_also_waits_for_unattributed_gateway_queue(dirs):
    # Measured: messages waiting for a re-connecting link are counted only in the gateway's
    # <sms><sent><queued>, the link's own <queued> stays 0.
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "re-connecting"}, password=PW)
    gw.gateway_queued = 3
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "passive", drain_timeout=2).run()
    assert "the gateway (3 outgoing messages queued" in e.value.msg
    assert gw.commands() == [] and os.listdir(active) == ["a.conf"]
    gw.drain_per_read = 1
    res = manager(gw, dirs, ["a"], "passive", drain_timeout=30).run()
    assert gw.commands() == [("remove-smsc", "a")] and res["changed"]


def test_refused_remove_is_reported_and_file_stays_out(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    gw.cmd_remove_smsc = lambda smsc: "Could not remove smsc-id `%s'" % smsc
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "passive", wait_timeout=2).run()
    assert "remove-smsc a -> \"Could not remove smsc-id `a'\"" in e.value.msg
    assert os.listdir(active) == []


def test_link_removed_by_someone_else_meanwhile_is_no_failure(dirs):
    # the runtime guard gives up the same own set while a playbook holds it: both remove-smsc
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    real = gw.cmd_remove_smsc

    def removed_first(smsc):
        real(smsc)  # the guard's remove-smsc lands first
        return "Could not remove smsc-id `%s'" % smsc
    gw.cmd_remove_smsc = removed_first
    res = manager(gw, dirs, ["a"], "passive", wait_timeout=2).run()
    assert res["changed"] and os.listdir(active) == []


# ---------------------------------------------------------------- held (stand-ins)
def test_held_loads_stand_ins_first_then_removes_the_links(dirs):
    # Kannel discards a queued message once no loaded link may take it: the stand-in must be
    # loaded before the link goes.
    avail, active = dirs
    put(avail, "a", "b", "a.held", "b.held")
    activate_file(avail, active, "a")
    activate_file(avail, active, "b")
    gw = FakeBearerbox({"placeholder": "online", "a": "online", "b": "re-connecting"}, password=PW)
    gw.config_links = {"placeholder"}
    res = manager(gw, dirs, ["a", "b"], "held").run()
    assert res["changed"] is True
    assert actions(res) == [("a.held", "copy-config"), ("b.held", "copy-config"),
                            ("a.held", "graceful-restart"), ("b.held", "graceful-restart"),
                            ("a", "delete-config"), ("b", "delete-config"),
                            ("a", "remove-smsc"), ("b", "remove-smsc")]
    assert gw.commands() == [("graceful-restart", None), ("remove-smsc", "a"), ("remove-smsc", "b")]
    assert gw.links == {"placeholder": "online", "a.held": "re-connecting",
                        "b.held": "re-connecting"}
    assert sorted(os.listdir(active)) == ["a.held.conf", "b.held.conf"]
    assert res["links"]["a"] == {"before": {"state": "online", "config_active": True, "held": False},
                                 "after": {"state": "absent", "config_active": False, "held": True}}
    assert res["not_online"] == {}


def test_held_is_idempotent(dirs):
    avail, active = dirs
    put(avail, "a", "a.held")
    activate_file(avail, active, "a.held")
    gw = FakeBearerbox({"a.held": "re-connecting"}, password=PW)
    res = manager(gw, dirs, ["a"], "held").run()
    assert res["changed"] is False
    assert gw.commands() == []


def test_held_without_stand_in_file_fails_before_any_change(dirs):
    avail, active = dirs
    put(avail, "a")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"a": "online"}, password=PW)
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a"], "held").run()
    assert "no stand-in file a.held.conf" in e.value.msg and "deploy" in e.value.msg
    assert gw.commands() == []
    assert os.listdir(active) == ["a.conf"]


def test_stand_in_ids_are_not_accepted_as_links(dirs):
    gw = FakeBearerbox(password=PW)
    with pytest.raises(LinkError) as e:
        manager(gw, dirs, ["a.held"], "active").run()
    assert "names a link's stand-in" in e.value.msg


def test_active_releases_the_stand_in_after_the_link_is_loaded(dirs):
    avail, active = dirs
    put(avail, "a", "a.held")
    activate_file(avail, active, "a.held")
    gw = FakeBearerbox({"placeholder": "online", "a.held": "re-connecting"}, password=PW)
    gw.config_links = {"placeholder"}
    res = manager(gw, dirs, ["a"], "active").run()
    assert gw.commands() == [("graceful-restart", None), ("remove-smsc", "a.held")]
    assert actions(res)[-2:] == [("a.held", "delete-config"), ("a.held", "remove-smsc")]
    assert gw.links == {"placeholder": "online", "a": "online"}
    assert os.listdir(active) == ["a.conf"]
    assert res["links"]["a"]["before"]["held"] is True
    assert res["links"]["a"]["after"] == {"state": "online", "config_active": True, "held": False}


def test_active_keeps_the_stand_in_when_the_link_could_not_be_loaded(dirs):
    avail, active = dirs
    put(avail, "a", "a.held")
    activate_file(avail, active, "a.held")
    gw = FakeBearerbox({"placeholder": "online", "a.held": "re-connecting"}, password=PW)
    gw.config_links = None  # graceful-restart loads nothing (a configuration error)
    with pytest.raises(LinkError):
        manager(gw, dirs, ["a"], "active").run()
    assert "a.held" in gw.links
    assert os.listdir(active) == ["a.held.conf"]


def test_check_mode_held_sends_nothing(dirs):
    avail, active = dirs
    put(avail, "a", "a.held")
    activate_file(avail, active, "a")
    gw = FakeBearerbox({"placeholder": "online", "a": "online"}, password=PW)
    res = manager(gw, dirs, ["a"], "held", check_mode=True).run()
    assert gw.commands() == []
    assert os.listdir(active) == ["a.conf"]
    assert ("a", "remove-smsc") in actions(res) and ("a.held", "graceful-restart") in actions(res)
    assert res["links"]["a"]["after"]["held"] is True


def test_files_that_are_no_links_file_are_swept_before_a_graceful_restart(dirs):
    # bearerbox loads every file of active_dir: a writer's leftover temporary copy would be a
    # second instance of the link
    avail, active = dirs
    put(avail, "a")
    for leftover in (".a.conf.k9x2", "a.conf.guard-tmp.12"):
        with open(os.path.join(active, leftover), "w") as f:
            f.write('group = smsc\nsmsc = smpp\nsmsc-id = "a"\n')
    gw = FakeBearerbox({"own": "online"}, password=PW)
    gw.config_links = {"own"}
    m = manager(gw, dirs, ["a"], "active")
    res = m.run()
    assert sorted(os.listdir(active)) == ["a.conf"]
    assert gw.commands() == [("graceful-restart", None)]
    assert res["changed"] is True
    assert any(".a.conf.k9x2, a.conf.guard-tmp.12" in w for w in m.warnings)
    assert not os.listdir(active + ".tmp")  # copies are written there, then renamed
