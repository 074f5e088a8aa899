"""The start-up guard's file decisions (roles/kannel_node/files/kannel-cluster-guard), on a temp
node layout; the peer does not answer (policy serve) unless a test says otherwise."""
import importlib.machinery
import importlib.util
import json
import os
import stat
import sys

import pytest

GUARD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "roles", "kannel_node", "files", "kannel-cluster-guard")


def load_guard():
    loader = importlib.machinery.SourceFileLoader("kannel_cluster_guard", GUARD)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    keep, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the role
    try:
        loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = keep
    return module


@pytest.fixture
def node(tmp_path):
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
           "wait_seconds": 0, "peer_unreachable": "serve"}
    guard = load_guard()
    guard.peer_active_sets = lambda c: None  # the peer does not answer
    return guard, cfg, active


def serve(cfg, sets):
    with open(cfg["serving_file"], "w") as f:
        json.dump({"sets": sets}, f)


def files(active):
    return sorted(p.name for p in active.iterdir())


def test_fenced_start_loads_stand_ins_and_drops_the_links(node):
    guard, cfg, active = node
    serve(cfg, [])
    for name in ("A1", "A2", "B1"):
        (active / (name + ".conf")).write_text("group = smsc\n")
    assert guard.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.held.conf", "A2.held.conf"]
    assert stat.S_IMODE(os.stat(str(active / "A1.held.conf")).st_mode) == 0o604


def test_serving_start_drops_only_stand_ins_whose_link_is_there(node):
    # an interrupted failback: A1 is back, A2 not yet; A2's stand-in must keep its messages
    guard, cfg, active = node
    serve(cfg, ["node-a"])
    for name in ("A1", "A1.held", "A2.held"):
        (active / (name + ".conf")).write_text("group = smsc\n")
    assert guard.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.conf", "A2.held.conf"]


def test_peer_serving_the_set_makes_it_give_up_and_hold(node, monkeypatch):
    guard, cfg, active = node
    serve(cfg, ["node-a"])
    (active / "A1.conf").write_text("group = smsc\n")
    monkeypatch.setattr(guard, "peer_active_sets", lambda c: {"node-a", "node-b"})
    assert guard.guard_bearerbox(cfg) == 0
    assert json.load(open(cfg["serving_file"]))["sets"] == []
    assert files(active) == ["A1.held.conf", "A2.held.conf"]


@pytest.mark.parametrize("content", ['{"sets": ["node-a"]}\\n', "", '["node-a"]'])
def test_unreadable_serving_state_serves_nothing_and_is_left_for_the_operator(node, content):
    guard, cfg, active = node
    with open(cfg["serving_file"], "w") as f:
        f.write(content)
    (active / "A1.conf").write_text("group = smsc\n")
    assert guard.guard_bearerbox(cfg) == 0
    assert files(active) == ["A1.held.conf", "A2.held.conf"]
    assert guard.guard_smsbox(cfg, "node-a") == 1
    assert open(cfg["serving_file"]).read() == content


# --- service addresses: released for every set the node does not serve, never bound ------------

class FakeIp(object):
    """`ip -j -4 addr show` and `ip addr del` on a dict of interfaces -> [(address, prefix)]."""

    def __init__(self, **interfaces):
        self.interfaces = interfaces
        self.calls = []
        self.read_error = None

    def __call__(self, args):
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
    guard, cfg, _active = node
    cfg["service_addresses"] = {"node-a": {"address": "10.0.0.35/24", "interface": None},
                                "node-b": {"address": "10.0.0.36/24", "interface": "eth0"}}
    fake = FakeIp(eth0=[("10.0.0.31", 24), ("10.0.0.35", 24), ("10.0.0.36", 24)],
                  eth1=[("10.0.0.36", 32)])
    monkeypatch.setattr(guard, "run_ip", fake)
    return guard, cfg, fake


def test_release_removes_only_the_addresses_of_sets_not_served(addresses, capsys):
    guard, cfg, fake = addresses
    released = guard.release_service_addresses(cfg, ["node-a"])
    assert released == ["10.0.0.36/24 dev eth0", "10.0.0.36/32 dev eth1"]
    assert fake.interfaces == {"eth0": [("10.0.0.31", 24), ("10.0.0.35", 24)], "eth1": []}
    assert "released service address 10.0.0.36/24 dev eth0 of set node-b" in capsys.readouterr().out


def test_release_never_binds_and_reads_nothing_when_every_set_is_served(addresses):
    guard, cfg, fake = addresses
    fake.interfaces["eth0"] = [("10.0.0.31", 24)]
    assert guard.release_service_addresses(cfg, ["node-a", "node-b"]) == []
    assert fake.calls == []
    assert guard.release_service_addresses(cfg, ["node-b"]) == []
    assert [c[0] for c in fake.calls] == ["-j"]  # read once, nothing deleted or added


def test_unreadable_addresses_are_logged_not_fatal(addresses, capsys):
    guard, cfg, fake = addresses
    fake.read_error = "Cannot open netlink socket"
    assert guard.release_service_addresses(cfg, []) == []
    assert "service addresses of set(s) node-a, node-b not checked" in capsys.readouterr().out


def test_start_after_the_peer_took_the_set_releases_its_address(addresses, monkeypatch):
    guard, cfg, fake = addresses
    serve(cfg, ["node-a"])
    monkeypatch.setattr(guard, "peer_active_sets", lambda c: {"node-a", "node-b"})
    assert guard.guard_bearerbox(cfg) == 0
    assert fake.interfaces["eth0"] == [("10.0.0.31", 24)] and fake.interfaces["eth1"] == []


def test_start_without_serving_state_releases_every_address(addresses):
    guard, cfg, fake = addresses
    assert guard.guard_bearerbox(cfg) == 0
    assert fake.interfaces["eth0"] == [("10.0.0.31", 24)]


def test_start_serving_its_own_set_keeps_its_address(addresses):
    guard, cfg, fake = addresses
    serve(cfg, ["node-a"])
    assert guard.guard_bearerbox(cfg) == 0
    assert fake.interfaces["eth0"] == [("10.0.0.31", 24), ("10.0.0.35", 24)]
