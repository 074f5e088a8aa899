"""Molecule scenario `default`, after test_default.py (pytest runs the modules in name order):
maintenance.yml on the deployed mixed cluster (gw1 Debian 12, gw2 Debian 13), in order:

1. bad input is refused before any host is changed, naming the valid choices;
2. --check shows per node what would be upgraded and changes nothing;
3. a peer whose gateway is down is refused;
4. `-e node=all` with the operator's task file and `maintenance_reboot=always` (a restart of each
   node's container: its systemd reboots, podman starts it again), a client of each set sending
   through the set's service address every 100 ms the whole time. The task file fails on gw1
   until the test "fixes the cause": the run stops with both sets served by gw2 and says so, leaves
   the watcher paused; a maintenance of gw2 is refused then (a takeover is in effect), and so is
   one of gw1 once its maintenance record is gone (a takeover not made by maintenance); the same
   command again continues with gw1, then does gw2. Every accepted message is delivered once, no
   provider account is ever bound twice, each node's gaps are reported, the watcher was paused and
   is armed again.

No watcher process runs here (it would cost a minute): its pause and resume are checked in its
state file, which the watcher re-reads at every poll (molecule/watch tests that it obeys it). The
package update path itself (apt) is exercised in check mode here and for real by
benchmarks/maintenance.py: a real update needs the Debian mirrors (30 s per node to fetch the lists).
"""
import json
import os
import threading
import time

from story import BindWatch, ClientProbe, MoleculeCluster
from test_default import CLUSTER_GROUP, INVENTORY, NODES, SCENARIO

REPO = os.path.dirname(os.path.dirname(SCENARIO))
REPORT = os.path.join(REPO, "playbooks", "artifacts", "maintenance.json")
TASKS = os.path.join(SCENARIO, "maintenance-tasks.yml")
FIXED = "/etc/smsgw-maintenance-test-fixed"  # maintenance-tasks.yml fails until it exists
WATCH_STATE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "watch", CLUSTER_GROUP + ".json")
RECORD = "/var/lib/kannel-cluster/maintenance.json"
FIGURES = os.path.join(REPO, "artifacts", "maintenance-default.json")
GW1, GW2 = NODES
MAINTAIN_ALL = ["-e", "node=all", "-e", "maintenance_tasks=" + TASKS, "-e", "maintenance_reboot=always"]

testinfra_hosts = []  # these tests drive the cluster from outside: no per-host parametrization


C = MoleculeCluster(SCENARIO, os.environ["MOLECULE_INVENTORY_FILE"])
assert INVENTORY["group_vars"][CLUSTER_GROUP]["kannel_client_sets"][GW1].get("service_address")


def serving():
    return {n: sorted(C.serving_file(n)["sets"]) for n in NODES}


def refused(args, text):
    """The run fails with `text` in its output and nothing was changed on the nodes."""
    before = serving()
    run = C.playbook("maintenance.yml", *args)
    assert run.rc != 0, run.out
    assert text in " ".join(run.out.split()), run.out
    assert serving() == before
    return run


def test_bad_input_refused_before_any_host_is_changed():
    run = refused(["-e", "node=gw9", "-e", "maintenance=kannel"],
                  "Refused: maintenance needs -e node=NODE, -e node=CLUSTER or -e node=all; "
                  "nodes: %s; clusters: %s" % (", ".join(NODES), CLUSTER_GROUP))
    assert "PLAY [Maintenance | read every node" not in run.out
    refused(["-e", "node=all", "-e", "maintenance_tasks=/nonexistent/tasks.yml"],
            "the task file /nonexistent/tasks.yml does not exist")
    refused(["-e", "node=%s" % CLUSTER_GROUP, "-e", "maintenance=dist-upgrade"],
            "give exactly one of -e maintenance=kannel|full-upgrade|reboot and -e maintenance_tasks=FILE")


def test_check_mode_shows_per_node_what_would_be_upgraded():
    run = C.playbook_ok("maintenance.yml", "--check", "-e", "node=all", "-e", "maintenance=kannel")
    out = " ".join(run.out.split())
    for node in NODES:
        assert "CHECK MODE: %s (kannel): takeover by %s, maintenance, failback." % (node, C.peer(node)) in out
    assert "would go through %s, then %s" % (GW1, GW2) in out
    for node in NODES:
        assert C.podman("exec", node, "test", "-e", RECORD).returncode != 0
    assert serving() == {GW1: [GW1], GW2: [GW2]}
    assert not os.path.exists(WATCH_STATE) or json.load(open(WATCH_STATE))["mode"] == "armed"


def test_peer_unhealthy_refused():
    C.exec_ok(GW2, "systemctl", "stop", "kannel-bearerbox")
    try:
        refused(["-e", "node=%s" % GW1, "-e", "maintenance=reboot"],
                "Refused: maintenance of %s: its peer %s is not healthy" % (GW1, GW2))
    finally:
        C.exec_ok(GW2, "systemctl", "start", "kannel-bearerbox")
    C.wait_serving(GW2, [GW2])


class WatchModes:
    """The watcher's mode in its state file, polled every 0.2 s in a thread."""

    def __init__(self):
        self.seen, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                with open(WATCH_STATE, encoding="utf-8") as fh:
                    mode = json.load(fh)["mode"]
            except (OSError, ValueError, KeyError):
                mode = None
            if not self.seen or self.seen[-1] != mode:
                self.seen.append(mode)
            self._stop.wait(0.2)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.seen


def test_maintenance_of_every_node_with_a_restart_while_clients_send():
    binds = BindWatch(C)
    modes = WatchModes()
    started = time.time()
    probes = {s: ClientProbe(C, s, C.service_address(s), note="maintenance").start() for s in NODES}
    try:
        # the operator's task file fails on gw1: the run stops there, both sets served by gw2
        run = C.playbook("maintenance.yml", *MAINTAIN_ALL)
        assert run.rc != 0, run.out
        out = " ".join(run.out.split())
        assert "Stopped at %s (cluster %s)" % (GW1, CLUSTER_GROUP) in out, run.out
        assert "set %s served by %s, set %s served by %s" % (GW1, GW2, GW2, GW2) in out, run.out
        assert "it continues with %s (taken over by %s)" % (GW1, GW2) in out, run.out
        assert "The watcher stays PAUSED for %s" % CLUSTER_GROUP in out, run.out
        assert serving() == {GW1: [], GW2: sorted(NODES)}
        C.wait_serving(GW2, NODES)
        assert json.load(open(WATCH_STATE))["mode"] == "paused"

        # a takeover is in effect: no maintenance of gw2 (its peer does not serve its own set) ...
        refused(["-e", "node=%s" % GW2, "-e", "maintenance=reboot"],
                "a takeover is in effect: run failback.yml -e node=%s first" % GW1)
        # ... nor of gw1 once the record of its maintenance is gone (someone else's takeover)
        C.exec_ok(GW1, "mv", RECORD, RECORD + ".aside")
        try:
            refused(["-e", "node=%s" % GW1, "-e", "maintenance=reboot"],
                    "a takeover is in effect: run failback.yml -e node=%s first" % GW1)
        finally:
            C.exec_ok(GW1, "mv", RECORD + ".aside", RECORD)

        # the cause fixed, the same command continues with gw1, then does gw2
        for node in NODES:
            C.exec_ok(node, "touch", FIXED)
        resumed = time.time()
        run = C.playbook_ok("maintenance.yml", *MAINTAIN_ALL)
        for node in NODES:
            C.wait_serving(node, [node])
    finally:
        for probe in probes.values():
            probe.stop_after_accepted(time.time())
    seen = modes.stop()

    report = json.load(open(REPORT))
    figures = {n["node"]: n for n in report["nodes"]}
    assert [n["node"] for n in report["nodes"]] == [GW1, GW2], report
    assert report["stopped"] is None and report["watcher_left_paused"] == []
    assert figures[GW1]["continued"] is True and figures[GW2]["continued"] is False
    assert figures[GW1]["takeover_gap_seconds"] is None  # taken over by the stopped run
    assert figures[GW2]["takeover_gap_seconds"] > 0
    for node, fig in figures.items():
        assert fig["rebooted"] is True and fig["reboot_why"].startswith("asked for"), fig
        assert fig["failback_gap_seconds"] > 0 and fig["out_of_service_seconds"] > 0, fig
        assert fig["packages_before"] == fig["packages_after"], fig
    out = " ".join(run.out.split())
    assert "Set %s: served by %s" % (GW1, GW1) in out and "Set %s: served by %s" % (GW2, GW2) in out

    # the watcher: paused by the first run, left paused when it stopped, armed again at the end
    assert seen[-1] == "armed" and "paused" in seen, seen
    assert json.load(open(WATCH_STATE))["mode"] == "armed"

    # every accepted message once; no account ever bound twice; the clients' view per set
    C.assert_delivered_once(C.sent, timeout=30)
    binds.assert_never_bound_twice()
    assert all(p.texts for p in probes.values())
    client = {s: p.outage(started) for s, p in probes.items()}
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "w", encoding="utf-8") as fh:
        json.dump({"reported": figures, "client_seen": client,
                   "resumed_run_seconds": round(time.time() - resumed, 1)}, fh, indent=2)
    for node in NODES:
        assert C.podman("exec", node, "test", "-e", RECORD).returncode != 0
