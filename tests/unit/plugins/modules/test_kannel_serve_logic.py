"""kannel_serve's order of operations: release before activation, hold the own set, skip what is done."""
import os

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkError
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_serving import (
    Server,
    arrange_for_start,
    held_or_loaded_reader,
    stop_unanswering_gateway,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.serving_record import write_record
from fakes import FakeClock

SETS = {"node-a": {"links": ["A1", "A2"], "smsbox": "node-a"},
        "node-b": {"links": ["B1"], "smsbox": "node-b"}}


class FakeManager(object):
    def __init__(self, log, kind, target, state, fail=None, not_online=None):
        self.log, self.kind, self.target, self.state = log, kind, target, state
        self.fail, self.not_online = fail, not_online or {}
        self.warnings, self.changed = [], False
        self.actions = []

    def run(self):
        self.log.append((self.kind, self.target, self.state))
        if self.fail:
            raise LinkError(self.fail)
        self.actions, self.changed = ["%s %s" % (self.kind, self.state)], True
        return {"not_online": self.not_online}


def server(serve, own, fail=None, not_online=None, held_or_loaded=None):
    log = []

    def links(ids, state):
        return FakeManager(log, "links", tuple(ids), state, fail if state == fail else None,
                           not_online if state == "active" else None)

    def smsbox(name, state):
        return FakeManager(log, "smsbox", name, state)
    return Server(SETS, serve, own, links, smsbox, held_or_loaded=held_or_loaded), log


def test_takeover_on_the_survivor_only_activates():
    srv, log = server(["node-a", "node-b"], "node-b")
    srv.run()
    assert log == [("links", ("A1", "A2", "B1"), "active"),
                   ("smsbox", "node-a", "active"), ("smsbox", "node-b", "active")]


def test_fencing_holds_the_own_links_before_any_smsbox_stops():
    # the bind is what must not overlap: the own links go first (their stand-ins keep what an
    # smsbox still accepts); a set held for the peer is drained, so its smsbox stops before it
    srv, log = server([], "node-a")
    srv.run()
    assert log == [("links", ("A1", "A2"), "held"), ("smsbox", "node-a", "passive"),
                   ("smsbox", "node-b", "passive"), ("links", ("B1",), "passive")]


def test_a_hold_that_cannot_load_the_stand_ins_fails_unless_the_links_must_go_anyway():
    srv, log = server([], "node-a", fail="held")
    with pytest.raises(LinkError):
        srv.run()
    assert log == [("links", ("A1", "A2"), "held")]

    srv, log = server([], "node-a", fail="held")
    srv.links_go_anyway = True  # the runtime guard's choice: nobody is there to act on a failure
    srv.run()
    assert log[:3] == [("links", ("A1", "A2"), "held"), ("links", ("A1", "A2"), "passive"),
                       ("smsbox", "node-a", "passive")]
    assert "stand-ins of A1, A2 could not be loaded" in srv.warnings[0]


def test_failback_on_the_survivor_releases_the_peer_set_and_keeps_its_own():
    srv, log = server(["node-b"], "node-b")
    srv.run()
    assert log == [("smsbox", "node-a", "passive"), ("links", ("A1", "A2"), "passive"),
                   ("links", ("B1",), "active"), ("smsbox", "node-b", "active")]
    assert [s["step"] for s in srv.steps] == ["smsbox-stop", "passive", "active", "smsbox-start"]


def test_failback_on_the_home_node_starts_the_smsbox_first_when_the_stand_ins_wait():
    # its links' stand-ins are loaded: a message accepted now waits for one, then moves to its link
    asked = []
    srv, log = server(["node-a"], "node-a", held_or_loaded=lambda links: asked.append(links) or True)
    srv.run()
    assert log == [("smsbox", "node-b", "passive"), ("links", ("B1",), "passive"),
                   ("smsbox", "node-a", "active"), ("links", ("A1", "A2"), "active")]
    assert asked == [["A1", "A2"]]
    assert [s["step"] for s in srv.steps] == ["smsbox-stop", "passive", "smsbox-start", "active"]
    # each step says when it started and how long it took, for failback's gap
    assert all(s["started"] >= 0 and s["seconds"] >= 0 for s in srv.steps), srv.steps


def test_without_the_stand_ins_the_smsbox_waits_for_the_links():
    # Kannel refuses (403 Not routable) a message that no loaded link may take
    srv, log = server(["node-a"], "node-a", held_or_loaded=lambda links: False)
    srv.run()
    assert log[-2:] == [("links", ("A1", "A2"), "active"), ("smsbox", "node-a", "active")]


def test_the_peer_set_is_never_accepted_before_its_links():
    # a survivor has no stand-ins for the peer's links (its own are loaded: its smsbox runs)
    srv, log = server(["node-a", "node-b"], "node-b", held_or_loaded=lambda links: True)
    srv.run()
    assert log == [("smsbox", "node-b", "active"), ("links", ("A1", "A2", "B1"), "active"),
                   ("smsbox", "node-a", "active")]


def test_held_or_loaded_reads_the_status_page_once_per_question():
    class Admin(object):
        def __init__(self, loaded):
            self.loaded, self.reads = loaded, 0

        def status(self):
            self.reads += 1
            if self.loaded is None:
                raise KannelUnreachable("connection refused")
            return {"links": [{"admin_id": i, "id": i.split(".")[0]} for i in self.loaded]}

    admin = Admin(["A1", "A2.held", "B1"])
    assert held_or_loaded_reader(admin)(["A1", "A2"]) is True and admin.reads == 1
    assert held_or_loaded_reader(Admin(["A1"]))(["A1", "A2"]) is False
    assert held_or_loaded_reader(Admin(None))(["A1"]) is False


def test_a_failed_release_stops_before_anything_is_activated():
    srv, log = server(["node-b"], "node-b", fail="passive")
    with pytest.raises(LinkError):
        srv.run()
    assert ("links", ("B1",), "active") not in log and log[-1] == ("links", ("A1", "A2"), "passive")


def test_links_not_online_are_reported():
    srv, _log = server(["node-a"], "node-a", not_online={"A2": "re-connecting"})
    srv.run()
    assert srv.not_online == {"A2": "re-connecting"}


def test_record_is_whole_json(tmp_path):
    path = tmp_path / "serving.json"
    write_record(str(path), ["node-a", "node-b"], "takeover of node-a")
    text = path.read_text()
    assert text.endswith("}\n") and '"changed_by": "takeover of node-a"' in text
    assert os.listdir(tmp_path) == ["serving.json"]  # no temporary file left
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_after_the_run_the_include_directory_holds_only_what_is_served(tmp_path):
    active = tmp_path / "active"
    active.mkdir()
    for name in ("A1.conf", "A2.held.conf", "B1.conf", ".B1.conf.k9", "Z9.conf"):
        (active / name).write_text("group = smsc\n")
    log = []
    srv = Server(SETS, ["node-a"], "node-a",
                 lambda ids, state: FakeManager(log, "links", tuple(ids), state),
                 lambda name, state: FakeManager(log, "smsbox", name, state), active_dir=str(active))
    srv.run()
    # A2 is not loaded yet (its file is missing): its stand-in keeps its messages
    assert sorted(os.listdir(active)) == ["A1.conf", "A2.held.conf"]
    assert srv.steps[-1] == {"step": "sweep", "target": str(active), "actions": [
        {"link": n, "action": "delete-config"} for n in (".B1.conf.k9", "B1.conf", "Z9.conf")]}


# ---------------------------------------------------------------- a bearerbox that does not answer
class Hung(object):
    """A KannelAdmin whose status read keeps failing (refused or silent) unless answers_after."""

    def __init__(self, refused, answers_after=None):
        self.refused, self.answers_after, self.reads = refused, answers_after, 0

    def status(self):
        self.reads += 1
        if self.answers_after is not None and self.reads > self.answers_after:
            return {}
        raise KannelUnreachable("no answer", refused=self.refused)


def unanswering(admin, must_stop, pids, check_mode=False, smsbox_units=(), argvs=None):
    clock = FakeClock()
    calls = []
    pids = list(pids)

    def run(argv):
        calls.append(argv[1])
        if argvs is not None:
            argvs.append(argv[1:])
        if argv[1] == "show":
            pid = pids.pop(0) if len(pids) > 1 else pids[0]
            return 0, "MainPID=%d\nControlPID=0\nActiveState=active\n" % pid, ""
        return 0, "", ""
    error = KannelUnreachable("first read", refused=admin.refused)
    out = stop_unanswering_gateway(admin, error, must_stop, run, "kannel-bearerbox.service", 10,
                                   check_mode=check_mode, sleep=clock.sleep, clock=clock,
                                   smsbox_units=smsbox_units)
    return out, calls


def test_hung_bearerbox_of_a_node_that_must_stop_serving_is_killed():
    (error, stopped), calls = unanswering(Hung(refused=False), ["node-a"], [812, 812, 0])
    assert error is not None and stopped["killed"] and stopped["confirmed"]
    assert calls.index("kill") < calls.index("restart") and not stopped["restarted"]


def test_killed_bearerbox_started_again_lets_the_release_go_on():
    (error, stopped), calls = unanswering(Hung(refused=False, answers_after=1), ["node-a"],
                                          [812, 0])
    assert error is None and stopped["killed"] and stopped["restarted"]


def test_unanswering_bearerbox_is_left_alone_when_the_node_stops_serving_nothing():
    (error, stopped), calls = unanswering(Hung(refused=False), [], [812])
    assert error is not None and stopped is None and calls == []


def test_refusing_bearerbox_without_a_process_needs_no_kill():
    (error, stopped), calls = unanswering(Hung(refused=True), ["node-a"], [0])
    assert stopped == dict(stopped, killed=False, confirmed=True) and "kill" not in calls


def test_starting_bearerbox_gets_a_moment_to_answer_before_it_is_killed():
    admin = Hung(refused=True, answers_after=3)
    (error, stopped), calls = unanswering(admin, ["node-a"], [812])
    assert error is None and stopped is None and "kill" not in calls


def test_check_mode_says_it_would_kill_a_hung_bearerbox():
    (error, stopped), calls = unanswering(Hung(refused=False), ["node-a"], [812], check_mode=True)
    assert stopped["would_kill"] and "kill" not in calls


def test_smsboxes_of_the_sets_given_up_are_killed_before_bearerbox_starts_again():
    # an smsbox whose bearerbox vanished ignores SIGTERM for 30 s, and bearerbox's start waits
    argvs = []
    unanswering(Hung(refused=False, answers_after=1), ["node-a"], [812, 0, 700, 0],
                smsbox_units=["kannel-smsbox@node-a"], argvs=argvs)
    kills = [a for a in argvs if a[0] in ("kill", "restart")]
    assert kills == [["kill", "--signal=SIGKILL", "kannel-bearerbox.service"],
                     ["kill", "--signal=SIGKILL", "kannel-smsbox@node-a"],
                     ["restart", "kannel-bearerbox.service"]]


def _available(tmp_path, ids):
    available, active = tmp_path / "available", tmp_path / "active"
    available.mkdir()
    active.mkdir()
    for ident in ids:
        (available / (ident + ".conf")).write_text("group = smsc\nsmsc-admin-id = %s\n" % ident)
    return str(available), str(active)


ALL_FILES = ["A1", "A2", "B1", "A1.held", "A2.held"]


@pytest.mark.parametrize("serve, own, wanted", [
    (["node-a"], "node-a", ["A1.conf", "A2.conf"]),                     # normal operation
    (["node-a", "node-b"], "node-b", ["A1.conf", "A2.conf", "B1.conf"]),  # takeover survivor
    ([], "node-a", ["A1.held.conf", "A2.held.conf"]),                    # fenced: stand-ins only
])
def test_a_stopped_bearerbox_finds_exactly_the_wanted_files_at_its_start(tmp_path, serve, own, wanted):
    """One run lays out the include directory for the start, however many links: the served
    sets' links, the own stand-ins while the own set is not served, nothing else (a passive
    link's file or a stray temporary file left there would be loaded)."""
    available, active = _available(tmp_path, ALL_FILES)
    for stale in ("B1.conf", ".A1.conf.tmp"):
        with open(os.path.join(active, stale), "w") as fh:
            fh.write("old")
    copied, removed, missing = arrange_for_start(SETS, serve, own, active, available)
    assert sorted(os.listdir(active)) == wanted and missing == []
    assert copied == sorted(name[:-len(".conf")] for name in wanted)
    assert (".A1.conf.tmp" in removed) and (("B1.conf" in removed) == ("B1.conf" not in wanted))
    # a second run finds everything in place
    assert arrange_for_start(SETS, serve, own, active, available) == ([], [], [])


def test_check_mode_lays_out_nothing_but_says_what(tmp_path):
    available, active = _available(tmp_path, ALL_FILES)
    assert arrange_for_start(SETS, ["node-a"], "node-a", active, available, check_mode=True) \
        == (["A1", "A2"], [], [])
    assert os.listdir(active) == []


def test_a_served_link_file_missing_from_available_is_an_error_naming_it(tmp_path):
    available, active = _available(tmp_path, ["A1"])
    with pytest.raises(OSError, match=r"A2.conf missing from .*: deploy the node"):
        arrange_for_start(SETS, ["node-a"], "node-a", active, available)


def test_fencing_a_node_never_deployed_still_sweeps_and_names_the_missing_stand_ins(tmp_path):
    """A node whose bearerbox is down and whose files were never written (a rebuilt node) is
    fenced all the same: its link files go; the stand-ins it lacks are named, not an error."""
    available, active = _available(tmp_path, [])
    with open(os.path.join(active, "A1.conf"), "w") as fh:
        fh.write("left from before")
    assert arrange_for_start(SETS, [], "node-a", active, available) == ([], ["A1.conf"], ["A1.held", "A2.held"])
    assert os.listdir(active) == []
