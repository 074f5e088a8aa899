"""The guard's decisions (plugins/module_utils/guard_*.py), on a temp node layout: the
start-up guard's file decisions and the runtime guard's (watch) give-ups; the peer does not answer
(policy serve) unless a test says otherwise."""
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error

import fakes
import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils import (
    guard_cli,
    guard_node,
    guard_peer,
    guard_release,
    guard_runtime,
    guard_start,
    kannel_gateway,
    kannel_status,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelAdmin, UrllibFetch
from guard_module import ENTRY_POINT, IN_CHILD, MODULE_UTILS, REPO

# The start-up guard's own question to the peer (the node fixture replaces it: no peer answers).
PEER_ACTIVE_SETS = guard_start.peer_active_sets


@pytest.fixture
def node(tmp_path, monkeypatch):
    avail, active = tmp_path / "available", tmp_path / "active"
    avail.mkdir()
    active.mkdir()
    for name in ("A1", "A2", "B1", "A1.held", "A2.held"):
        (avail / (name + ".conf")).write_text("group = smsc\n")
        os.chmod(str(avail / (name + ".conf")), 0o604)
    cfg = {"node": "node-a", "peer": "node-b",
           "peer_admin_url": "http://127.0.0.1:9", "status_password": "x",
           "sets": {"node-a": {"links": ["A1", "A2"], "smsbox": "node-a"},
                    "node-b": {"links": ["B1"], "smsbox": "node-b"}},
           "serving_file": str(tmp_path / "serving.json"), "active_dir": str(active),
           "available_dir": str(avail), "stand_ins": {"A1": "A1.held", "A2": "A2.held"},
           "wait_seconds": 0, "peer_unreachable": "serve",
           "admin_url": "http://127.0.0.1:9", "admin_password": "secret-admin", "interval": 1,
           "smsbox_unit_prefix": "kannel-smsbox@", "state_file": str(tmp_path / "run" / "guard.json"),
           "quorum": {"enabled": False, "addresses": [], "seconds": 10}}
    monkeypatch.setattr(guard_start, "peer_active_sets", lambda c: None)  # the peer does not answer
    return cfg, active


def serve(cfg, sets):
    with open(cfg["serving_file"], "w") as f:
        json.dump({"sets": sets}, f)


def files(active):
    return sorted(p.name for p in active.iterdir())


class FakeSystemctl:
    """subprocess.run for the guard: `systemctl show` of the bearerbox unit reports `main_pids`
    in turn (the last one stays; 0 = no process); every other command succeeds."""

    def __init__(self, *main_pids):
        self.main_pids, self.calls = list(main_pids or [0]), []

    def __call__(self, argv, **kw):
        self.calls.append(list(argv))
        if argv[:2] == ["systemctl", "show"]:
            pid = self.main_pids.pop(0) if len(self.main_pids) > 1 else self.main_pids[0]
            out = "MainPID=%d\nControlPID=0\nActiveState=%s\n" % (pid, "active" if pid else "failed")
            return subprocess.CompletedProcess(argv, 0, out, "")
        return subprocess.CompletedProcess(argv, 0, "", "")

    def commands(self):
        return [c for c in self.calls if c[:2] != ["systemctl", "show"]]


def test_fenced_start_loads_stand_ins_and_drops_the_links(node):
    cfg, active = node
    serve(cfg, [])
    for name in ("A1", "A2", "B1"):
        (active / (name + ".conf")).write_text("group = smsc\n")
    assert guard_start.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.held.conf", "A2.held.conf"]
    assert stat.S_IMODE(os.stat(str(active / "A1.held.conf")).st_mode) == 0o604


def test_serving_start_drops_only_stand_ins_whose_link_is_there(node):
    # an interrupted failback: A1 is back, A2 not yet; A2's stand-in must keep its messages
    cfg, active = node
    serve(cfg, ["node-a"])
    for name in ("A1", "A1.held", "A2.held"):
        (active / (name + ".conf")).write_text("group = smsc\n")
    assert guard_start.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.conf", "A2.held.conf"]


def test_peer_serving_the_set_makes_it_give_up_and_hold(node, monkeypatch):
    cfg, active = node
    serve(cfg, ["node-a"])
    (active / "A1.conf").write_text("group = smsc\n")
    monkeypatch.setattr(guard_start, "peer_active_sets", lambda c: {"node-a", "node-b"})
    assert guard_start.guard_bearerbox(cfg) == 0
    assert json.load(open(cfg["serving_file"]))["sets"] == []
    assert files(active) == ["A1.held.conf", "A2.held.conf"]


@pytest.mark.parametrize("content", ['{"sets": ["node-a"]}\\n', "", '["node-a"]'])
def test_unreadable_serving_state_serves_nothing_and_is_left_for_the_operator(node, content):
    cfg, active = node
    with open(cfg["serving_file"], "w") as f:
        f.write(content)
    (active / "A1.conf").write_text("group = smsc\n")
    assert guard_start.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.held.conf", "A2.held.conf"]
    assert guard_start.guard_smsbox(cfg, "node-a") == 1
    assert open(cfg["serving_file"]).read() == content


# --- service addresses: released for every set the node does not serve, never bound ------------

class FakeIp(object):
    """`ip -j -4 addr show` and `ip addr del` on a dict of interfaces -> [(address, prefix)]."""

    def __init__(self, **interfaces):
        self.interfaces = interfaces
        self.calls = []
        self.read_error = None

    def __call__(self, argv):
        assert argv[0] == "ip"
        args = argv[1:]
        self.calls.append(list(args))
        if args[0] == "-j":
            if self.read_error:
                return 1, "", self.read_error
            return 0, json.dumps([{"ifname": n, "addr_info": [
                {"family": "inet", "local": a, "prefixlen": p} for a, p in addrs]}
                for n, addrs in sorted(self.interfaces.items())]), ""
        address, prefix = args[2].split("/")
        self.interfaces[args[4]].remove((address, int(prefix)))
        return 0, "", ""


@pytest.fixture
def addresses(node, monkeypatch):
    cfg, _active = node
    cfg["service_addresses"] = {"node-a": {"address": "10.0.0.35/24", "interface": None},
                                "node-b": {"address": "10.0.0.36/24", "interface": "eth0"}}
    fake = FakeIp(eth0=[("10.0.0.31", 24), ("10.0.0.35", 24), ("10.0.0.36", 24)],
                  eth1=[("10.0.0.36", 32)])
    monkeypatch.setattr(guard_node, "run_command", fake)
    return cfg, fake


def test_release_removes_only_the_addresses_of_sets_not_served(addresses, capsys):
    cfg, fake = addresses
    released = guard_node.release_service_addresses(cfg, ["node-a"])
    assert released == ["10.0.0.36/24 dev eth0", "10.0.0.36/32 dev eth1"]
    assert fake.interfaces == {"eth0": [("10.0.0.31", 24), ("10.0.0.35", 24)], "eth1": []}
    assert "released service address 10.0.0.36/24 dev eth0 of set node-b" in capsys.readouterr().out


def test_release_never_binds_and_reads_nothing_when_every_set_is_served(addresses):
    cfg, fake = addresses
    fake.interfaces["eth0"] = [("10.0.0.31", 24)]
    assert guard_node.release_service_addresses(cfg, ["node-a", "node-b"]) == []
    assert fake.calls == []
    assert guard_node.release_service_addresses(cfg, ["node-b"]) == []
    assert [c[0] for c in fake.calls] == ["-j"]  # read once, nothing deleted or added


def test_unreadable_addresses_are_logged_not_fatal(addresses, capsys):
    cfg, fake = addresses
    fake.read_error = "Cannot open netlink socket"
    assert guard_node.release_service_addresses(cfg, []) == []
    assert "service addresses of set(s) node-a, node-b not checked" in capsys.readouterr().out


def test_start_after_the_peer_took_the_set_releases_its_address(addresses, monkeypatch):
    cfg, fake = addresses
    serve(cfg, ["node-a"])
    monkeypatch.setattr(guard_start, "peer_active_sets", lambda c: {"node-a", "node-b"})
    assert guard_start.guard_bearerbox(cfg) == 0
    assert fake.interfaces["eth0"] == [("10.0.0.31", 24)] and fake.interfaces["eth1"] == []


def test_start_without_serving_state_releases_every_address(addresses):
    cfg, fake = addresses
    assert guard_start.guard_bearerbox(cfg) == 0
    assert fake.interfaces["eth0"] == [("10.0.0.31", 24)]


def test_start_serving_its_own_set_keeps_its_address(addresses):
    cfg, fake = addresses
    serve(cfg, ["node-a"])
    assert guard_start.guard_bearerbox(cfg) == 0
    assert fake.interfaces["eth0"] == [("10.0.0.31", 24), ("10.0.0.35", 24)]


# --- runtime guard ------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def watch(node, monkeypatch):
    """A runtime guard on node-a with a fake clock; the peer's answer and the quorum addresses'
    are what the test sets; applying a give-up is recorded, not done (tested on its own below)."""
    cfg, _active = node
    seen = {"peer": None, "quorum": None, "released": 0}
    # the peer's host answers whenever its bearerbox gives a status, unless the test says otherwise
    monkeypatch.setattr(guard_peer, "probe_peer", lambda c, t: (seen.get("host", seen["peer"] is not None),
                                                           seen["peer"], False))
    monkeypatch.setattr(guard_runtime, "quorum_reached", lambda a, t: seen["quorum"])

    def release(c):
        seen["released"] += 1
    monkeypatch.setattr(guard_release, "release_own_set", release)
    clock = Clock()

    def make(quorum=False):
        if quorum:
            cfg["quorum"] = {"enabled": True, "addresses": ["10.0.0.9:22"], "seconds": 10}
        return guard_runtime.RuntimeGuard(cfg, clock=clock, wall=lambda: clock.now + 5000.0)
    return cfg, seen, clock, make


def test_runtime_gives_up_the_own_set_when_the_peer_has_it_active(watch):
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-a"])
    seen["peer"] = {"node-a", "node-b"}
    reason = make().step()
    assert reason == "peer node-b has set node-a active"
    recorded = json.load(open(cfg["serving_file"]))
    assert recorded["sets"] == [] and recorded["changed_by"] == "runtime guard: " + reason
    assert seen["released"] == 1


def test_runtime_never_gives_up_a_set_held_for_the_peer(watch):
    # node-a serves both sets (it took node-b over); node-b came back and (wrongly) has its own
    # set active: that is node-b's to give up, never node-a's
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-a", "node-b"])
    seen["peer"] = {"node-b"}
    assert make().step() is None
    assert json.load(open(cfg["serving_file"]))["sets"] == ["node-a", "node-b"]
    assert seen["released"] == 0


def test_runtime_gives_up_only_the_own_set(watch):
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-a", "node-b"])
    seen["peer"] = {"node-a", "node-b"}
    assert make().step()
    assert json.load(open(cfg["serving_file"]))["sets"] == ["node-b"]


@pytest.mark.parametrize("sets", [[], ["node-b"]])
def test_runtime_does_nothing_when_the_own_set_is_not_claimed(watch, sets):
    cfg, seen, _clock, make = watch
    serve(cfg, sets)
    seen["peer"] = {"node-a"}
    assert make().step() is None and seen["released"] == 0


def test_runtime_without_quorum_keeps_serving_when_the_peer_is_silent(watch):
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a"])
    w = make()
    for _ in range(100):
        clock.now += 1
        assert w.step() is None
    assert json.load(open(cfg["serving_file"]))["sets"] == ["node-a"]


def test_quorum_cut_off_node_gives_up_after_quorum_seconds(watch):
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a"])
    seen["peer"] = {"node-b"}  # the peer answers, serving its own set
    w = make(quorum=True)
    assert w.step() is None
    seen["peer"] = None  # cut off from both
    for _ in range(9):
        clock.now += 1
        assert w.step() is None
    clock.now += 1.5
    reason = w.step()
    assert reason and reason.startswith("cut off: reached neither peer node-b nor a quorum address "
                                        "(10.0.0.9:22) for 10 s"), reason
    assert json.load(open(cfg["serving_file"]))["sets"] == []


def test_quorum_a_node_that_reaches_a_quorum_address_keeps_serving(watch):
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a"])
    seen["quorum"] = "10.0.0.9:22"
    w = make(quorum=True)
    for _ in range(60):
        clock.now += 1
        assert w.step() is None
    assert seen["released"] == 0


def test_quorum_counts_from_the_guards_start(watch):
    # a guard (re)started while cut off waits a whole quorum period before it gives up
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a"])
    w = make(quorum=True)
    clock.now += 9
    assert w.step() is None
    clock.now += 1
    assert w.step()


def test_runtime_state_tells_takeover_how_long_the_peer_is_silent(watch, capsys):
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a", "node-b"])
    seen["peer"] = {"node-b"}
    w = make()
    w.step()
    seen["peer"] = None
    clock.now += 7
    w.step()
    state = json.load(open(cfg["state_file"]))
    assert state["peer_reachable"] is False
    assert state["updated_at"] - state["peer_seen_at"] == pytest.approx(7)


def test_peer_silence_reports_stale_or_missing_state_as_not_fresh(node, capsys):
    cfg, _active = node
    guard_runtime.peer_silence(cfg)
    assert json.loads(capsys.readouterr().out) == {"peer_reachable": None, "fresh": False,
                                                   "silent_seconds": None}
    os.makedirs(os.path.dirname(cfg["state_file"]))
    now = time.time()
    with open(cfg["state_file"], "w") as f:
        json.dump({"peer_reachable": False, "peer_seen_at": now - 20, "updated_at": now - 1}, f)
    guard_runtime.peer_silence(cfg)
    out = json.loads(capsys.readouterr().out)
    assert out["fresh"] is True and out["peer_reachable"] is False and 19 < out["silent_seconds"] < 22
    with open(cfg["state_file"], "w") as f:
        json.dump({"peer_reachable": True, "peer_seen_at": now - 60, "updated_at": now - 60}, f)
    guard_runtime.peer_silence(cfg)
    assert json.loads(capsys.readouterr().out)["fresh"] is False


def test_failed_release_is_retried_at_the_next_step(watch, monkeypatch):
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-a"])
    seen["peer"] = {"node-a"}
    calls = []

    def release(c):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("admin interface busy")
    monkeypatch.setattr(guard_release, "release_own_set", release)
    w = make()
    with pytest.raises(OSError):
        w.step()
    assert json.load(open(cfg["serving_file"]))["sets"] == []
    assert w.step() is None and len(calls) == 2
    assert w.step() is None and len(calls) == 2  # done: not again


class Box(fakes.FakeBearerbox):
    """node-a's bearerbox as the guard's admin client sees it (tests/unit/plugins/fakes.py:
    graceful-restart loads what is in the include directory); `events` gets every admin command
    and, through `systemctl`, every systemctl command, in order. silent: a hung bearerbox (every
    request times out). kill_at: the admin command the guard dies before."""

    def __init__(self, active, links, events):
        super(Box, self).__init__(dict((link, "online") for link in links), boxes=["node-a"],
                                  password="secret-admin")
        self.include, self.active_dir, self.config_links = active, str(active), {"smsc-placeholder"}
        self.events, self.silent, self.kill_at = events, False, None

    def __call__(self, url, timeout):
        if self.silent:
            raise urllib.error.URLError(socket.timeout("timed out"))
        path, query = url.split("?")[0].rsplit("/", 1)[-1], url.split("?")[-1]
        if path != "status.xml":
            smsc = query.split("smsc=")[1].split("&")[0] if "smsc=" in query else None
            if (path, smsc) == self.kill_at:
                raise Killed()
            self.events.append((path, smsc, files(self.include)))
        return super(Box, self).__call__(url, timeout)

    def systemctl(self, main_pids=(0,)):
        """subprocess.run for systemctl: the smsbox unit is active and enabled until stopped (then
        its box leaves); `restart` of bearerbox starts it answering with only the stand-ins."""
        fake = FakeSystemctl(*main_pids)

        def run(argv, **kw):
            verb, unit = argv[1], argv[-1]
            if verb not in ("show", "is-active", "is-enabled"):
                self.events.append(("systemctl", verb, unit))
            if verb == "stop" and unit.startswith("kannel-smsbox@"):
                self.boxes = []
            if verb == "restart":
                self.silent = self.down = False
                self.links = {"smsc-placeholder": "online", "A1.held": "re-connecting",
                              "A2.held": "re-connecting"}
                self.order = list(self.links)
            if verb in ("is-active", "is-enabled") and unit.startswith("kannel-smsbox@"):
                on = bool(self.boxes)
                state = ("active" if on else "inactive") if verb == "is-active" else (
                    "enabled" if on else "disabled")
                return subprocess.CompletedProcess(argv, 0 if on else 3, state + "\n", "")
            return fake(argv, **kw)
        return run


@pytest.fixture
def box(node, monkeypatch):
    cfg, active = node
    for name in ("A1", "A2", "B1"):
        (active / (name + ".conf")).write_text("group = smsc\n")
    bearerbox = Box(active, ["A1", "A2", "B1", "smsc-placeholder"], [])
    monkeypatch.setattr(guard_release, "local_admin", lambda c, timeout=5: KannelAdmin(
        c["admin_url"], c["admin_password"], timeout, fetch=bearerbox))
    monkeypatch.setattr(subprocess, "run", bearerbox.systemctl())
    return cfg, active, bearerbox


def test_release_loads_stand_ins_before_it_removes_links_then_stops_the_smsbox(box, capsys):
    cfg, active, bearerbox = box
    guard_release.release_own_set(cfg)
    assert bearerbox.events == [
        ("graceful-restart", None, ["A1.conf", "A1.held.conf", "A2.conf", "A2.held.conf", "B1.conf"]),
        # each link's file goes before its removal: a reload in between would load it again
        ("remove-smsc", "A1", ["A1.held.conf", "A2.held.conf", "B1.conf"]),
        ("remove-smsc", "A2", ["A1.held.conf", "A2.held.conf", "B1.conf"]),
        ("systemctl", "stop", "kannel-smsbox@node-a.service"),
        ("systemctl", "disable", "kannel-smsbox@node-a.service")]
    assert set(bearerbox.links) == {"A1.held", "A2.held", "B1", "smsc-placeholder"}
    journal = [line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    assert journal == ["copy-config A1.held, A2.held",
                       "graceful-restart A1.held, A2.held -> Restarting gracefully.....",
                       "delete-config A1, A2", "remove-smsc A1 -> SMSC `A1' removed",
                       "remove-smsc A2 -> SMSC `A2' removed", "smsbox node-a: stop",
                       "smsbox node-a: disable",
                       "loaded stand-ins of A1, A2: messages queued for set node-a stay here until "
                       "failback"]


def test_release_with_bearerbox_down_leaves_only_stand_in_files(box, monkeypatch):
    cfg, active, bearerbox = box
    bearerbox.down = True  # refused, and systemd has no process of it: nothing to kill
    guard_release.release_own_set(cfg)
    assert files(active) == ["A1.held.conf", "A2.held.conf", "B1.conf"]
    assert bearerbox.events == [("systemctl", "stop", "kannel-smsbox@node-a.service"),
                                ("systemctl", "disable", "kannel-smsbox@node-a.service")]


def test_release_with_bearerbox_hung_kills_it_and_goes_on_once_it_answers_again(box, monkeypatch,
                                                                                capsys):
    # A hung bearerbox (SIGSTOP) keeps its provider sessions whatever its files say: its unit's
    # processes are killed, then it is started again through the start-up guard (only stand-ins).
    cfg, active, bearerbox = box
    bearerbox.silent = True
    monkeypatch.setattr(subprocess, "run", bearerbox.systemctl((812, 812, 0, 900, 0)))
    guard_release.release_own_set(cfg)
    assert bearerbox.events[:3] == [
        ("systemctl", "kill", "kannel-bearerbox.service"),
        ("systemctl", "kill", "kannel-smsbox@node-a.service"),  # it ignores SIGTERM (measured)
        ("systemctl", "restart", "kannel-bearerbox.service")]
    assert ("systemctl", "disable", "kannel-smsbox@node-a.service") in bearerbox.events
    assert "A1" not in bearerbox.links and "A1.conf" not in files(active)
    out = capsys.readouterr().out
    assert "killed its unit kannel-bearerbox.service (SIGKILL, processes 812)" in out
    assert "started again through its start-up guard" in out


def test_release_with_bearerbox_that_cannot_be_killed_still_stops_the_smsbox_then_fails(
        box, monkeypatch):
    cfg, active, bearerbox = box
    bearerbox.silent = True
    monkeypatch.setattr(subprocess, "run", bearerbox.systemctl((812,)))  # never goes
    monkeypatch.setattr(kannel_gateway.time, "sleep", lambda s: None)
    clock = iter(range(0, 1000))
    monkeypatch.setattr(kannel_gateway.time, "monotonic", lambda: float(next(clock)))
    with pytest.raises(OSError) as e:
        guard_release.release_own_set(cfg)
    assert "could not be stopped" in str(e.value) and "812" in str(e.value)
    assert bearerbox.events[-1] == ("systemctl", "disable", "kannel-smsbox@node-a.service")
    assert files(active) == ["A1.held.conf", "A2.held.conf", "B1.conf"]


@pytest.mark.parametrize("why", ["no stand-in file", "bearerbox does not load them"])
def test_release_removes_the_links_even_when_their_stand_ins_cannot_be_loaded(box, capsys,
                                                                              monkeypatch, why):
    cfg, active, bearerbox = box
    if why == "no stand-in file":
        os.unlink(os.path.join(cfg["available_dir"], "A2.held.conf"))  # a node deployed by hand
    else:
        bearerbox.active_dir = None  # its graceful restart loads nothing (a broken file)
        monkeypatch.setattr(guard_release, "RELEASE_TIMEOUT", 0.5)
    guard_release.release_own_set(cfg)
    assert not {"A1", "A2"} & set(bearerbox.links)
    out = capsys.readouterr().out
    assert "stand-ins of A1, A2 could not be loaded" in out
    assert "stay here until failback" not in out  # no stand-in holds their messages
    assert bearerbox.events[-1] == ("systemctl", "disable", "kannel-smsbox@node-a.service")


def test_peer_status_is_read_with_the_packages_parser(node):
    # one parser: the guard judges the peer's status.xml with plugins/module_utils/kannel_status.py
    cfg, _active = node
    fixtures = os.path.join(REPO, "tests", "unit", "fixtures", "status")
    status = kannel_status.parse_status(open(os.path.join(fixtures, "mixed.xml")).read())
    assert guard_peer.kannel_status is kannel_status
    assert os.path.realpath(kannel_status.__file__).startswith(MODULE_UTILS)
    ids = set(kannel_status.links_by_admin_id(status))
    cfg["sets"] = {"x": {"links": sorted(ids)[:1], "smsbox": None},
                   "y": {"links": ["not-loaded"], "smsbox": None}}
    assert guard_peer.active_sets(cfg, status) == {"x"}


def test_quorum_address_reached_by_a_tcp_connection(node):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        open_port = "127.0.0.1:%d" % listener.getsockname()[1]
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        closed_port = "127.0.0.1:%d" % closed.getsockname()[1]  # bound, not listening: refused
        try:
            assert guard_runtime.quorum_reached([closed_port, open_port], 1) == open_port
            assert guard_runtime.quorum_reached([closed_port], 1) is None
        finally:
            closed.close()


def test_quorum_a_peer_host_that_answers_without_bearerbox_counts_as_reached(watch):
    # fresh deploy or maintenance: the peer's admin port refuses the connection (host up)
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a"])
    seen["host"] = True
    w = make(quorum=True)
    for _ in range(30):
        clock.now += 1
        assert w.step() is None
    assert json.load(open(cfg["state_file"]))["peer_reachable"] is True


def test_peer_probe_tells_a_refused_connection_from_silence(node, monkeypatch):
    cfg, _active = node
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: the host refuses
        cfg["peer_admin_url"] = "http://127.0.0.1:%d" % closed.getsockname()[1]
        assert guard_peer.probe_peer(cfg, 1) == (True, None, False)

    def silent(fetch, url, timeout):  # the guard's transport (UrllibFetch) meets a silent host
        raise urllib.error.URLError(socket.timeout("timed out"))
    monkeypatch.setattr(UrllibFetch, "__call__", silent)
    assert guard_peer.probe_peer(cfg, 1) == (False, None, False)


def test_runtime_give_up_releases_the_own_sets_service_address_first(addresses, box,
                                                                      monkeypatch):
    cfg, fake = addresses
    _cfg, _active, bearerbox = box
    real = guard_node.release_service_addresses
    monkeypatch.setattr(guard_node, "release_service_addresses",
                        lambda c, sets: bearerbox.events.append("address") or real(c, sets))
    guard_release.release_own_set(cfg)
    assert bearerbox.events[0] == "address" and bearerbox.events[1][0] == "graceful-restart"
    # node-a's address went; node-b's (a set this node holds, as far as this call knows) stays
    assert ("10.0.0.35", 24) not in fake.interfaces["eth0"]
    assert ("10.0.0.36", 24) in fake.interfaces["eth0"]


def test_runtime_step_sweeps_addresses_of_sets_serving_json_does_not_list(addresses, monkeypatch):
    cfg, fake = addresses
    serve(cfg, ["node-a"])
    monkeypatch.setattr(guard_peer, "probe_peer", lambda c, t: (True, {"node-b"}, False))
    guard_runtime.RuntimeGuard(cfg).step()
    assert fake.interfaces == {"eth0": [("10.0.0.31", 24), ("10.0.0.35", 24)], "eth1": []}


def test_runtime_step_keeps_an_address_a_takeover_bound_while_it_asked_the_dead_peer(addresses,
                                                                                   monkeypatch):
    # the failover scenario's takeover of a killed peer lost the set's address once: this step read
    # serving.json, waited for the dead peer, then swept with what it had read before the takeover
    cfg, fake = addresses
    serve(cfg, ["node-a"])

    def peer_dead_meanwhile_taken_over(c, t):
        serve(cfg, ["node-a", "node-b"])  # takeover.yml on this node: serving.json, then the address
        return False, None, False
    monkeypatch.setattr(guard_peer, "probe_peer", peer_dead_meanwhile_taken_over)
    guard_runtime.RuntimeGuard(cfg).step()
    assert ("10.0.0.36", 24) in fake.interfaces["eth0"], fake.calls


# --- the guard's own faults (issue 19 section 3) -------------------------------------------------

def status_of(links=(), boxes=()):
    """A parsed status.xml (kannel_status.parse_status's shape) with these admin-ids loaded."""
    return {"links": [{"id": i, "admin_id": i, "state": "online"} for i in links],
            "boxes": [{"type": "smsbox", "id": b} for b in boxes]}


def test_peer_denied_is_asked_again_only_after_a_growing_pause_and_said_once(watch, monkeypatch,
                                                                             capsys):
    cfg, seen, clock, make = watch
    serve(cfg, ["node-a"])
    asked, answer = [], {"denied": True}

    def probe(c, t):
        asked.append(clock.now)
        return (True, None, True) if answer["denied"] else (True, {"node-b"}, False)
    monkeypatch.setattr(guard_peer, "probe_peer", probe)
    monkeypatch.setattr(guard_peer, "peer_host_answers", lambda c, t: True, raising=False)
    w = make(quorum=True)
    start = clock.now
    for _ in range(120):
        assert w.step() is None
        assert json.load(open(cfg["state_file"]))["peer_reachable"] is True  # Denied = answered
        clock.now += 1
    # every 1 s before; now after 2, 4, 8, 16, 32, 64 s (capped at DENIED_CAP)
    assert [t - start for t in asked] == [0, 2, 6, 14, 30, 62]
    out = capsys.readouterr().out
    assert out.count("refused the status password (Denied)") == 1, out
    answer["denied"] = False
    clock.now = asked[-1] + 128
    w.step()
    w.step()
    clock.now += 1
    w.step()
    assert len(asked) == 9  # accepted: asked at every step again
    assert capsys.readouterr().out.count("accepts the status password again") == 1
    assert seen["released"] == 0


def test_denied_backoff_is_capped_and_a_late_answer_keeps_it():
    b = kannel_status.DeniedBackoff(2, 300)
    assert b.may_ask(0) and b.denied(0) is True and b.wait() == 2
    assert not b.may_ask(1.9) and b.may_ask(2)
    for n in range(2, 2000):  # days of Denied answers
        assert b.denied(0) is False
    assert b.wait() == 300
    assert b.accepted() is True and b.accepted() is False and b.may_ask(0)


def test_start_up_guard_asks_a_denying_peer_once(node, monkeypatch, capsys):
    cfg, _active = node
    monkeypatch.setattr(guard_start, "peer_active_sets", PEER_ACTIVE_SETS)  # asked for real
    cfg["wait_seconds"] = 3
    calls = []
    monkeypatch.setattr(guard_peer, "probe_peer", lambda c, t: calls.append(1) or (True, None, True))
    monkeypatch.setattr(time, "sleep", lambda s: None)
    assert guard_start.peer_active_sets(cfg) is None
    assert len(calls) == 1 and "refused the status password" in capsys.readouterr().out


class RawHttp(object):
    """A loopback server that answers every request with the same raw bytes, then closes."""

    def __init__(self, raw):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.raw = raw
        import threading
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.raw)

    def close(self):
        self.sock.close()


BROKEN_ANSWERS = {
    "IncompleteRead": b"HTTP/1.0 200 OK\r\nContent-Length: 500\r\n\r\n<gateway>",
    "BadStatusLine": b"SMPP? no\r\n\r\n",
    "RemoteDisconnected": b"",
    "LineTooLong": b"HTTP/1.0 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
}


@pytest.mark.parametrize("kind", sorted(BROKEN_ANSWERS))
def test_a_broken_http_answer_is_no_status_from_a_host_that_answers(node, kind):
    cfg, _active = node
    server = RawHttp(BROKEN_ANSWERS[kind])
    try:
        cfg["peer_admin_url"] = server.url
        with pytest.raises(Exception) as raised:  # what the guard's transport meets
            UrllibFetch()(server.url + "/status.xml?password=x", 2)
        assert type(raised.value).__name__ == kind or kind == "LineTooLong"
        assert isinstance(raised.value, http.client.HTTPException)
        assert guard_peer.probe_peer(cfg, 2) == (True, None, False)
    finally:
        server.close()


def test_start_up_guard_with_a_broken_peer_answer_starts(node, monkeypatch):
    cfg, active = node
    monkeypatch.setattr(guard_start, "peer_active_sets", PEER_ACTIVE_SETS)  # asked for real
    server = RawHttp(BROKEN_ANSWERS["IncompleteRead"])
    try:
        cfg["peer_admin_url"] = server.url
        cfg["wait_seconds"] = 0
        serve(cfg, ["node-a"])
        (active / "A1.conf").write_text("group = smsc\n")
        assert guard_start.guard_bearerbox(cfg) == 0
        assert files(active) == ["A1.conf"]
    finally:
        server.close()


def test_runtime_loop_goes_on_after_an_http_client_error(node, monkeypatch, capsys):
    cfg, _active = node
    steps = []

    class Stop(BaseException):
        pass

    def step(self):
        steps.append(1)
        if len(steps) == 1:
            raise http.client.IncompleteRead(b"<gat", 100)
        if len(steps) == 2:
            raise http.client.BadStatusLine("x")
        raise Stop()
    monkeypatch.setattr(guard_runtime.RuntimeGuard, "step", step)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    with pytest.raises(Stop):
        guard_runtime.watch(cfg)
    assert len(steps) == 3
    assert capsys.readouterr().out.count("check failed (") == 2


def test_the_log_scrubs_both_passwords_plain_and_url_encoded(node, monkeypatch, capsys, tmp_path):
    cfg, _active = node
    cfg["status_password"], cfg["admin_password"] = "st at/us&1", "ad+min=2"
    path = tmp_path / "cluster-guard.json"
    path.write_text(json.dumps(cfg))
    monkeypatch.setattr(guard_cli, "CONFIG", str(path))
    monkeypatch.setattr(guard_node, "SECRETS", [], raising=False)
    guard_cli.main(["kannel-cluster-guard", "peer-silence"])
    from urllib.parse import quote, quote_plus, urlencode
    text = " ".join([cfg["status_password"], quote(cfg["status_password"], safe=""),
                     quote_plus(cfg["admin_password"]), urlencode({"password": cfg["admin_password"]}),
                     cfg["admin_password"]])
    capsys.readouterr()
    guard_node.log("check failed (URLError: http://h/status.xml?x=1 %s)" % text)
    out = capsys.readouterr().out
    for secret in (cfg["status_password"], cfg["admin_password"], "st%20at", "st+at", "ad%2Bmin"):
        assert secret not in out, out
    assert "********" in out


# a release in progress on the peer: its links still loaded beside their stand-ins
@pytest.mark.parametrize("peer_has, gives_up", [
    (status_of(["B1"], ["node-b"]), True),                # the peer's record claims its set
    (status_of(["B1", "B1.held"], ["node-b"]), False),    # the peer is giving it up
    (status_of(["B1.held"]), False),                      # the peer holds it until failback
])
def test_start_up_guard_gives_up_a_set_held_for_the_peer_only_when_the_peer_claims_it(
        node, monkeypatch, peer_has, gives_up):
    cfg, _active = node
    monkeypatch.setattr(guard_start, "peer_active_sets", PEER_ACTIVE_SETS)  # asked for real
    serve(cfg, ["node-a", "node-b"])  # node-a took node-b over
    monkeypatch.setattr(guard_peer, "peer_status", lambda c, t: peer_has)
    assert guard_start.guard_bearerbox(cfg) == 0
    after = json.load(open(cfg["serving_file"]))["sets"]
    assert after == (["node-a"] if gives_up else ["node-a", "node-b"])


def test_start_up_guard_gives_up_its_own_set_whenever_the_peer_has_it_active(node, monkeypatch):
    cfg, _active = node
    monkeypatch.setattr(guard_start, "peer_active_sets", PEER_ACTIVE_SETS)  # asked for real
    serve(cfg, ["node-a"])
    monkeypatch.setattr(guard_peer, "peer_status", lambda c, t: status_of(["A1"]))
    guard_start.guard_bearerbox(cfg)
    assert json.load(open(cfg["serving_file"]))["sets"] == []


class Killed(BaseException):
    """Stands for SIGKILL: nothing of the guard's process runs after it."""


def test_a_guard_killed_mid_give_up_finishes_it_when_restarted(box, monkeypatch):
    cfg, active, bearerbox = box
    serve(cfg, ["node-a"])
    bearerbox.kill_at = ("remove-smsc", "A1")
    monkeypatch.setattr(guard_node, "release_service_addresses", lambda c, s: [])
    # each guard process is a new RuntimeGuard: the library keeps nothing between them but what is on disk
    monkeypatch.setattr(guard_peer, "probe_peer", lambda c, t: (True, {"node-a", "node-b"}, False))
    with pytest.raises(Killed):
        guard_runtime.RuntimeGuard(cfg).step()
    assert json.load(open(cfg["serving_file"]))["sets"] == []
    assert {"A1", "A2"} <= set(bearerbox.links)  # killed with the links still loaded

    bearerbox.kill_at = None
    # the peer's answer does not matter any more (e.g. it does not answer now)
    monkeypatch.setattr(guard_peer, "probe_peer", lambda c, t: (False, None, False))
    guard_runtime.RuntimeGuard(cfg).step()
    assert set(bearerbox.links) == {"A1.held", "A2.held", "B1", "smsc-placeholder"}
    assert json.load(open(cfg["state_file"]))["releasing"] is False


def test_a_stale_give_up_mark_is_dropped_when_serving_json_lists_the_own_set(watch):
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-a"])
    os.makedirs(os.path.dirname(cfg["state_file"]))
    with open(cfg["state_file"], "w") as f:
        json.dump({"releasing": True}, f)
    w = make()
    assert w.releasing is True
    assert w.step() is None and seen["released"] == 0 and w.releasing is False
    assert json.load(open(cfg["state_file"]))["releasing"] is False


# --- temporary files never in the include directory; whatever does not belong there is swept ----

def test_start_up_guard_sweeps_what_is_no_served_links_file(node):
    cfg, active = node
    serve(cfg, ["node-a"])
    for name in ("A1.conf", "A2.held.conf", ".A1.conf.x8k2_q", "A1.held.conf.guard-tmp.77",
                 "B1.conf", "Z9.conf", "notes.txt"):
        (active / name).write_text("group = smsc\n")
    assert guard_start.guard_bearerbox(cfg) == 0
    # A2's stand-in stays: its link's file is not there yet (an interrupted failback)
    assert files(active) == ["A1.conf", "A2.held.conf"]


def test_start_up_guard_without_serving_state_sweeps_only_non_link_files(node):
    cfg, active = node
    for name in ("A1.conf", ".A1.conf.tmp"):
        (active / name).write_text("group = smsc\n")
    assert guard_start.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.conf"]


KILLED_WRITER = IN_CHILD + r"""
import os, signal
cfg = {"active_dir": sys.argv[1], "available_dir": sys.argv[2]}
# killed after the copy is written, before its rename
os.rename = os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
guard_node.copy_into_active(cfg, "A1.held")
"""


def test_guard_killed_mid_copy_leaves_nothing_in_the_include_directory(node, tmp_path):
    cfg, active = node
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, cfg["active_dir"],
                           cfg["available_dir"]], check=False)
    assert proc.returncode == -9
    assert files(active) == []
    # the interrupted copy is in the sibling directory bearerbox does not include
    assert len(os.listdir(cfg["active_dir"] + ".tmp")) == 1


def aged(cfg, seconds):
    """serving.json last written `seconds` ago."""
    then = time.time() - seconds
    os.utime(cfg["serving_file"], (then, then))


@pytest.mark.parametrize("age, loaded, gives_up", [
    (30, {"A1", "B1", "A1.held"}, True),   # own link left loaded long after the set went
    (2, {"A1", "B1"}, False),              # a playbook may be holding it right now
    (30, {"B1", "A1.held", "A2.held"}, False),  # only a set held for the peer: never the guard's
    (30, None, False),                     # bearerbox does not answer: nothing known loaded
])
def test_runtime_gives_up_own_links_left_loaded_after_serving_json_dropped_the_set(
        watch, monkeypatch, age, loaded, gives_up):
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-b"])
    aged(cfg, age)
    seen["peer"] = {"node-a"}
    monkeypatch.setattr(guard_release, "local_loaded", lambda c: loaded)
    assert make().step() is None
    assert seen["released"] == (1 if gives_up else 0)
    assert json.load(open(cfg["serving_file"]))["sets"] == ["node-b"]  # not rewritten


def test_runtime_leaves_own_links_alone_while_serving_json_lists_the_set(watch, monkeypatch):
    cfg, seen, _clock, make = watch
    serve(cfg, ["node-a"])
    aged(cfg, 30)
    seen["peer"] = {"node-b"}
    monkeypatch.setattr(guard_release, "local_loaded", lambda c: {"A1", "A2"})
    assert make().step() is None and seen["released"] == 0


# --- the guard as the role installs it (roles/kannel_node: vars/main.yml, node-files.json.j2) ---

INSTALLED_IMPORTS = r"""
import importlib.machinery, importlib.util, json, sys
loader = importlib.machinery.SourceFileLoader("kannel_cluster_guard", sys.argv[1])
loader.exec_module(importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader)))
print(json.dumps({name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                  if name.split(".")[0] in ("ansible", "ansible_collections")}))
"""


def test_the_installed_library_holds_every_module_the_guard_imports(tmp_path):
    import yaml
    with open(os.path.join(REPO, "roles", "kannel_node", "vars", "main.yml")) as f:
        node_vars = yaml.safe_load(f)
    assert node_vars["kannel_node_guard_command"].endswith("/kannel-cluster-guard")
    package = tmp_path.joinpath(*node_vars["kannel_node_guard_packages"])
    package.mkdir(parents=True)
    for level in [package] + list(package.parents)[:len(node_vars["kannel_node_guard_packages"]) - 1]:
        (level / "__init__.py").write_text("")
    for name in node_vars["kannel_node_guard_modules"]:
        with open(os.path.join(MODULE_UTILS, name + ".py")) as f:
            (package / (name + ".py")).write_text(f.read())
    command = tmp_path / "kannel-cluster-guard"
    with open(ENTRY_POINT) as f:
        command.write_text(f.read())
    # -I -S: no site-packages (a node has no Ansible), no PYTHONPATH, nothing of this checkout
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", INSTALLED_IMPORTS, str(command)],
                          check=False, capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert "ansible" not in loaded
    prefix = "ansible_collections.smsgw.cluster.plugins.module_utils."
    modules = {name[len(prefix):]: path for name, path in loaded.items() if name.startswith(prefix)}
    # every module it imports installed, and nothing installed it does not import
    assert sorted(modules) == sorted(node_vars["kannel_node_guard_modules"])
    assert all(path.startswith(str(tmp_path)) for path in loaded.values() if path), loaded
    assert "guard_cli" in modules and "kannel_admin" in modules
