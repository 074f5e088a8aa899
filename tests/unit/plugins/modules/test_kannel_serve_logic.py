"""kannel_serve's order of operations: release before activation, hold the own set, skip what is done."""
import os

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkError
from ansible_collections.smsgw.cluster.plugins.modules.kannel_serve import Server, write_record

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


def server(serve, own, fail=None, not_online=None):
    log = []

    def links(ids, state):
        return FakeManager(log, "links", tuple(ids), state, fail if state == fail else None,
                           not_online if state == "active" else None)

    def smsbox(name, state):
        return FakeManager(log, "smsbox", name, state)
    return Server(SETS, serve, own, links, smsbox), log


def test_takeover_on_the_survivor_only_activates():
    srv, log = server(["node-a", "node-b"], "node-b")
    srv.run()
    assert log == [("links", ("A1", "A2", "B1"), "active"),
                   ("smsbox", "node-a", "active"), ("smsbox", "node-b", "active")]


def test_fencing_holds_the_own_set_after_its_smsbox_stopped():
    srv, log = server([], "node-a")
    srv.run()
    assert log == [("smsbox", "node-a", "passive"), ("smsbox", "node-b", "passive"),
                   ("links", ("A1", "A2"), "held"), ("links", ("B1",), "passive")]


def test_failback_on_the_survivor_releases_the_peer_set_and_keeps_its_own():
    srv, log = server(["node-b"], "node-b")
    srv.run()
    assert log == [("smsbox", "node-a", "passive"), ("links", ("A1", "A2"), "passive"),
                   ("links", ("B1",), "active"), ("smsbox", "node-b", "active")]
    assert [s["step"] for s in srv.steps] == ["smsbox-stop", "passive", "active", "smsbox-start"]


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
