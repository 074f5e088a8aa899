"""Molecule scenario `default`, after test_default.py (pytest runs the modules in name order):
maintenance.yml on the deployed mixed cluster (gw1 Debian 12, gw2 Debian 13), in order:

1. bad input is refused before any host is changed, naming the valid choices;
2. a peer whose gateway is down is refused;
3. `-e node=all -e maintenance=kannel`, a REAL package update: each node's own apt repository
   (molecule/shared/apt_repo.py) offers its installed kannel and kannel-extras again under a higher
   version, and gw2 says it needs a reboot (/run/reboot-required). A client of each set sends
   through the set's service address every 100 ms the whole time. gw1's repository lists its
   packages before their files are there (a repository synchronised halfway): the update fails on
   gw1 and the run stops with both sets served by gw2 and says so, leaving the watcher paused;
   --check then shows what each node would upgrade, gw1 first (the run continues with it); a
   maintenance of gw2 is refused (a takeover is in effect), and so is one of gw1 once its
   maintenance record is gone (a takeover not made by maintenance); with the files in place the
   same command continues with gw1 (update, then a restart of its gateway: no reboot needed),
   then does gw2 (update, reboot). Kannel went from the installed version to the offered one on
   each node and the upgraded bearerbox runs and serves; every accepted message is delivered once,
   no provider account is ever bound twice, each node's gaps are reported, the watcher was paused
   and is armed again.

No watcher process runs here: the watcher is ansible-rulebook on a JVM, configured by watcher.yml
from inventory variables this scenario does not set, and would cost minutes of a shared CPU; its
pause and resume are checked in its state file, which the watcher re-reads at every poll
(molecule/watch tests that a paused watcher holds: test_paused_holds_then_resume_takes_over).
"""
import json
import os
import threading
import time

import apt_repo
from story import BindWatch, ClientProbe, MoleculeCluster
from test_default import CLUSTER_GROUP, INVENTORY, NODES, SCENARIO

REPO = os.path.dirname(os.path.dirname(SCENARIO))
REPORT = os.path.join(REPO, "playbooks", "artifacts", "maintenance.json")
WATCH_STATE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "watch", CLUSTER_GROUP + ".json")
RECORD = "/var/lib/kannel-cluster/maintenance.json"
FIGURES = os.path.join(REPO, "artifacts", "maintenance-default.json")
GW1, GW2 = NODES
MAINTAIN_ALL = ["-e", "node=all", "-e", "maintenance=kannel"]
WHOLE_RUN = 1800  # s: the hang guard of a run over both nodes (a shared, loaded CPU: > 10 min seen)
UPDATED = apt_repo.KANNEL

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


def check_mode_shows_what_each_node_would_upgrade(offered):
    """--check while gw1 is taken over by the stopped run: what each node would upgrade, in the
    order the run would go (gw1 first: it continues with it); nothing changed."""
    before = serving()
    run = C.playbook_ok("maintenance.yml", "--check", *MAINTAIN_ALL)
    out = " ".join(run.out.split())
    for node in NODES:
        assert "CHECK MODE: %s (kannel): takeover by %s, maintenance, failback." % (node, C.peer(node)) in out
        old, new = offered[node]["kannel"]
        assert "would upgrade kannel [%s] -> %s" % (old, new) in out, run.out
    assert "would go through %s, then %s" % (GW1, GW2) in out
    assert serving() == before
    assert C.podman("exec", GW1, "test", "-e", RECORD).returncode == 0
    assert json.load(open(WATCH_STATE))["mode"] == "paused"


def bearerbox_runs_installed_binary(node):
    """The bearerbox process runs the file installed now (after an upgrade without a restart
    /proc/PID/exe ends in ' (deleted)')."""
    exe = C.exec_ok(node, "sh", "-c", "readlink /proc/$(pgrep -o -x bearerbox)/exe").strip()
    return exe == "/usr/sbin/bearerbox"


def test_maintenance_of_every_node_with_a_package_update_while_clients_send():
    offered = {n: apt_repo.offer_newer(C, n, UPDATED, held=(n == GW1)) for n in NODES}
    C.exec_ok(GW2, "touch", "/run/reboot-required")  # gone after the reboot (/run is a tmpfs)
    binds = BindWatch(C)
    modes = WatchModes()
    started = time.time()
    probes = {s: ClientProbe(C, s, C.service_address(s), note="maintenance").start() for s in NODES}
    try:
        # gw1's packages are listed but not there yet: its update fails, the run stops there
        run = C.playbook("maintenance.yml", *MAINTAIN_ALL, timeout=WHOLE_RUN)
        assert run.rc != 0, run.out
        out = " ".join(run.out.split())
        assert "Stopped at %s (cluster %s)" % (GW1, CLUSTER_GROUP) in out, run.out
        assert "set %s served by %s, set %s served by %s" % (GW1, GW2, GW2, GW2) in out, run.out
        assert "it continues with %s (taken over by %s)" % (GW1, GW2) in out, run.out
        assert "The watcher stays PAUSED for %s" % CLUSTER_GROUP in out, run.out
        assert serving() == {GW1: [], GW2: sorted(NODES)}
        C.wait_serving(GW2, NODES)
        assert json.load(open(WATCH_STATE))["mode"] == "paused"
        check_mode_shows_what_each_node_would_upgrade(offered)

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
        apt_repo.release(C, GW1)
        resumed = time.time()
        run = C.playbook_ok("maintenance.yml", *MAINTAIN_ALL, timeout=WHOLE_RUN)
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
    # gw1: no reboot needed, its gateway restarted; gw2: rebooted, as /run/reboot-required asked
    assert figures[GW1]["rebooted"] is False, figures[GW1]
    assert figures[GW2]["rebooted"] is True and figures[GW2]["reboot_why"].startswith("needed"), figures[GW2]
    for node, fig in figures.items():
        assert fig["failback_gap_seconds"] > 0 and fig["out_of_service_seconds"] > 0, fig
        for package in UPDATED:
            old, new = offered[node][package]
            assert (fig["packages_before"][package], fig["packages_after"][package]) == (old, new), fig
        assert sorted(p["name"] for p in fig["changed_packages"]) == UPDATED, fig
        assert C.exec_ok(node, "dpkg-query", "-W", "-f=${Version}", "kannel") == offered[node]["kannel"][1]
        assert bearerbox_runs_installed_binary(node), node
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
