"""The operator's story on the failover scenario's two nodes (east, west), in order.

Each test is one step and relies on the steps before it (pytest runs them in file order). The real
playbooks run against the scenario's inventory as a user would run them; SMS go over HTTP to the
nodes' sendsms ports; the provider simulator reports every bind, so "never connected on both nodes"
is measured: no provider account ever has more than one concurrent bind.

Each set also has a service address (inventory: kannel_client_sets.<set>.service_address) that
moves with the set. A client probe sends through it every 100 ms during each takeover and
failback; the time its sends failed is written to artifacts/service-address-failover.json.

Delivery reports and MO follow their set (the cluster keeps its receipts in the Redis store on
failover-store): clients ask for receipts to a listener on the lab host, the provider holds a
message's receipt while the story switches the set, then lets it go on the account's session bound
then; it must reach the client's dlr-url exactly once, through the node serving the set.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from story import (BEARERBOX, GUARD, BindWatch, ClientProbe, ClientUrls, Cluster, Receipts, Run,
                   mo_reach_their_sets)

CLUSTER = Cluster(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EAST, WEST = CLUSTER.nodes  # the story fails 'east' (node of the first set) hard, 'west' planned
STATUS_FILE = os.path.join(CLUSTER.repo, "artifacts", "status-failover.json")
WATCH = BindWatch(CLUSTER, from_start=True)  # "never bound twice" holds for the whole scenario
ADDRESS_REPORT = os.path.join(CLUSTER.repo, "artifacts", "service-address-failover.json")
OUTAGES = {}  # event -> what the probing client saw (written to ADDRESS_REPORT)
PROBES = []
CLIENT_URLS = ClientUrls("10.213.74.1", 2797)  # the sets' sms_services and the dlr-urls
RECEIPTS = Receipts(CLUSTER, CLIENT_URLS)


def mo_reach_their_sets_urls():
    mo_reach_their_sets(CLUSTER, CLIENT_URLS, {s: sorted(CLUSTER.accounts_of(s)) for s in CLUSTER.nodes})


def assert_served_through(via, set_name):
    CLUSTER.assert_delivered_once([CLUSTER.send_ok(via, set_name)])


# --- service addresses -----------------------------------------------------------------------

def assert_served_at_service_address(set_name):
    """A client of the set sends to its service address: accepted, and delivered once by the
    provider on an account of the set's own links."""
    status, body, text = CLUSTER.send_to(CLUSTER.service_address(set_name), set_name)
    assert status == 202, "service address of set %s refused a client: %s %s" % (set_name, status, body)
    assert_delivered_on_set_accounts([text], set_name)


def assert_delivered_on_set_accounts(texts, set_name):
    CLUSTER.assert_delivered_once(texts)
    accounts = {m["text"]: m["account"] for m in CLUSTER.sim("/messages") if m.get("text") in texts}
    wrong = {t: a for t, a in accounts.items() if a not in CLUSTER.accounts_of(set_name)}
    assert wrong == {}, "set %s's messages went out on other accounts: %s" % (set_name, wrong)


def holders(set_name):
    """The running nodes that have the set's service address bound."""
    address = CLUSTER.service_address(set_name)
    found = set()
    for node in CLUSTER.nodes:
        if CLUSTER.container_state(node) != "running":
            continue
        addrs = json.loads(CLUSTER.exec_ok(node, "ip", "-j", "-4", "addr", "show"))
        if any(a.get("local") == address for link in addrs for a in link.get("addr_info", [])):
            found.add(node)
    return found


def mac_of(node):
    return CLUSTER.exec_ok(node, "cat", "/sys/class/net/eth0/address").strip().lower()


def bridge_to(address):
    return json.loads(subprocess.run(["ip", "-j", "route", "get", address], capture_output=True,
                                     text=True, check=True).stdout)[0]["dev"]


def macs_answering(address):
    """The MAC addresses that answer ARP for `address` on the lab bridge, seen from the host
    (broadcast probes, so every holder answers each one, not only the first that did)."""
    proc = subprocess.run(["arping", "-b", "-c", "3", "-w", "4", "-I", bridge_to(address), address],
                          capture_output=True, text=True, timeout=20, check=False)
    return {m.lower() for m in re.findall(r"reply from \S+ \[([0-9A-Fa-f:]{17})\]", proc.stdout)}


def forget_neighbour(address):
    """The host's neighbour entry may name the MAC of a node that answered for an address it should
    not have held (the test put it there): let the next send resolve the address afresh."""
    subprocess.run(["ip", "neigh", "del", address, "dev", bridge_to(address)], capture_output=True,
                   check=False)


def changed_at(out, task, host, set_name):
    """Position in the playbook output where `task` reported changed for host on the set's item."""
    line = "changed: [%s] => (item=set %s: " % (host, set_name)
    for banner in re.finditer(r"TASK \[[^\]]*%s" % re.escape(task), out):
        end = out.find("TASK [", banner.end())
        found = out.find(line, banner.end(), end if end != -1 else len(out))
        if found != -1:
            return found
    pytest.fail("%r did not change %s's service address on %s:\n%s" % (task, set_name, host, out))


def assert_break_before_make(run, set_name, old, new):
    """The address left `old` before it was bound on `new` (plays and tasks run in order)."""
    assert changed_at(run.out, "Release the service addresses", old, set_name) < \
        changed_at(run.out, "Bind and announce the service addresses", new, set_name)


def record_outage(event, probe, since, run=None, **extra):
    """What the probing client saw from `since` on, into ADDRESS_REPORT."""
    seen = probe.outage(since)
    assert seen["outage"] is not None, "%s: no send to %s was accepted afterwards" % (event, probe.host)
    OUTAGES[event] = dict(seen, address=probe.host, set=probe.set_name, period_s=probe.period,
                          playbook_s=round(run.seconds, 2) if run else None, **extra)
    os.makedirs(os.path.dirname(ADDRESS_REPORT), exist_ok=True)
    with open(ADDRESS_REPORT, "w", encoding="utf-8") as fh:
        json.dump({"method": "a client sends one SMS to the set's service address every 100 ms "
                             "(each send waits at most 2 s); outage = longest run of failed sends, "
                             "from the start of its first send to the answer of the next accepted one",
                   "events": OUTAGES}, fh, indent=2, sort_keys=True)
    return seen


def probing(set_name):
    probe = ClientProbe(CLUSTER, set_name, CLUSTER.service_address(set_name), period=0.1,
                        timeout=2.0).start()
    PROBES.append(probe)
    return probe


# --- the story -------------------------------------------------------------------------------

def test_deployed_cluster_serves_each_set_at_home():
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_served_through(EAST, EAST)
    assert_served_through(WEST, WEST)
    CLUSTER.assert_refused(WEST, EAST)
    CLUSTER.assert_refused(EAST, WEST)


def test_receipts_and_mo_reach_their_sets_clients():
    for node in CLUSTER.nodes:
        RECEIPTS.assert_reported_through(RECEIPTS.send(CLUSTER.address[node], node, node), node)
    mo_reach_their_sets_urls()


def test_each_service_address_is_bound_on_its_serving_node_only():
    assert holders(EAST) == {EAST} and holders(WEST) == {WEST}
    assert_served_at_service_address(EAST)
    assert_served_at_service_address(WEST)


def bad_client_sets(tmp_path, **addresses):
    sets = json.loads(json.dumps(CLUSTER.sets))
    for name, address in addresses.items():
        sets[name]["service_address"] = address
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"kannel_client_sets": sets}))
    return "@%s" % path


@pytest.mark.parametrize("addresses, expected", [
    ({EAST: "10.213.74.32/24", WEST: "10.213.74.36"},
     ["kannel_client_sets['east'].service_address: 10.213.74.32 is the kannel_cluster_address of node west",
      "kannel_client_sets['west'].service_address: '10.213.74.36' is not an IPv4 address with a prefix"]),
    ({EAST: "10.213.74.36/24"},
     ["kannel_client_sets['west'].service_address: 10.213.74.36 is also the service address of set 'east'"]),
])
def test_bad_service_addresses_are_refused_before_any_host_changes(tmp_path, addresses, expected):
    before = {n: CLUSTER.exec_ok(n, "ip", "-4", "-o", "addr", "show") for n in CLUSTER.nodes}
    run = CLUSTER.playbook("deploy.yml", "-e", bad_client_sets(tmp_path, **addresses))
    assert run.rc != 0
    out = " ".join(run.out.split())
    for message in expected:
        assert message in out, run.out
    assert "Stage 2" not in run.out and sum(run.changed.values()) == 0, run.out
    assert {n: CLUSTER.exec_ok(n, "ip", "-4", "-o", "addr", "show") for n in CLUSTER.nodes} == before


@pytest.mark.parametrize("args, expected", [
    ([], "takeover needs -e failed=NODE"),
    (["-e", "failed=nowhere"], 'got "nowhere"'),
])
def test_takeover_refuses_bad_input_before_touching_a_host(args, expected):
    run = CLUSTER.playbook("takeover.yml", *args)
    assert run.rc != 0
    assert expected in run.out
    assert "%s, %s" % (EAST, WEST) in run.out  # the valid choices are named
    assert sum(run.changed.values()) == 0


def test_failback_refuses_bad_input():
    run = CLUSTER.playbook("failback.yml", "-e", "node=nowhere")
    assert run.rc != 0
    assert 'failback needs -e node=NODE' in run.out and "%s, %s" % (EAST, WEST) in run.out
    assert sum(run.changed.values()) == 0


def test_takeover_check_mode_changes_nothing():
    before = CLUSTER.link_counters()
    run = CLUSTER.published("takeover.yml", "--check", "-e", "failed=%s" % WEST)
    assert run.rc == 0 and "CHECK MODE" in run.out, run.out
    assert run.report["check_mode"] is True and run.report["failed"] == WEST, run.report
    assert "Cluster lock free (check mode: not taken)" in " ".join(run.out.split())
    assert_lock_free()
    CLUSTER.wait_serving(EAST, [EAST], timeout=5)
    CLUSTER.wait_serving(WEST, [WEST], timeout=5)
    assert CLUSTER.link_counters() == before


def test_planned_takeover_of_a_healthy_node():
    RECEIPTS.hold(True)  # its receipt comes once the set is on east
    in_flight = RECEIPTS.send(CLUSTER.address[WEST], WEST, WEST)
    RECEIPTS.submitted(in_flight)
    probe = probing(WEST)
    started = time.time()
    run = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % WEST)
    probe.stop_after_accepted(since=time.time())
    seen = record_outage("planned takeover (%s onto %s)" % (WEST, EAST), probe, started, run)
    assert seen["outage"] < run.seconds, seen  # the address moved within the run
    assert_break_before_make(run, WEST, WEST, EAST)
    assert holders(WEST) == {EAST}
    assert "Fencing of %s: done" % WEST in run.out
    CLUSTER.wait_serving(EAST, [EAST, WEST])
    CLUSTER.wait_serving(WEST, [])
    assert_served_through(EAST, WEST)
    CLUSTER.assert_refused(WEST, WEST)
    RECEIPTS.hold(False)
    RECEIPTS.assert_reported_through(in_flight, EAST)
    mo_reach_their_sets_urls()  # west's MO now through east, still to west's URL
    WATCH.assert_never_bound_twice()


def test_refused_failback_gives_the_set_and_its_address_back():
    # the provider refuses west's account, so a message for set west stays queued on east and
    # the failback's drain gives up: east must serve the set again, its address included
    CLUSTER.sim("/refuse", {"account": "w1", "refuse": True})
    try:
        CLUSTER.sim("/kick", {"account": "w1"})
        CLUSTER.wait_until("W1 on %s to lose its bind" % EAST,
                           lambda: CLUSTER.node_view(EAST)[0].get("W1") != "online", 20)
        status, body, _text = CLUSTER.send_to(CLUSTER.service_address(WEST), WEST)
        assert status == 202 and body.startswith("3:"), (status, body)  # queued on east
        run = CLUSTER.playbook("failback.yml", "-e", "node=%s" % WEST, "-e", "failback_drain_timeout=1")
        assert run.rc != 0 and "%s serves both sets again" % EAST in " ".join(run.out.split()), run.out
        assert_break_before_make(run, WEST, EAST, EAST)  # released, then bound again on east
        assert holders(WEST) == {EAST}
        status, body, _text = CLUSTER.send_to(CLUSTER.service_address(WEST), WEST)
        assert status == 202, (status, body)
    finally:
        CLUSTER.sim("/refuse", {"account": "w1", "refuse": False})


def test_planned_failback():
    probe = probing(WEST)
    started = time.time()
    run = CLUSTER.published("failback.yml", "-e", "node=%s" % WEST)
    assert run.rc == 0, run.out
    probe.stop_after_accepted(since=time.time())
    seen = record_outage("planned failback (%s home)" % WEST, probe, started, run)
    assert seen["outage"] < run.seconds, seen
    assert_break_before_make(run, WEST, EAST, WEST)
    assert holders(WEST) == {WEST}
    gap = run.report["gap_seconds"]
    assert run.report["node"] == WEST and gap > 0, run.report
    assert "Gap (set %s not accepting messages): %s s." % (WEST, gap) in run.out, run.out
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_served_through(WEST, WEST)
    WATCH.assert_never_bound_twice()


def test_killed_node_is_taken_over():
    assert_served_at_service_address(EAST)
    RECEIPTS.hold(True)  # sent through east, its receipt comes after east died
    in_flight = RECEIPTS.send(CLUSTER.address[EAST], EAST, EAST)
    RECEIPTS.submitted(in_flight)
    # podman kill only: CLUSTER.kill would also end east's provider sessions for it, and whether
    # they end by themselves before west binds is part of what this step measures.
    killed = time.time()
    assert CLUSTER.podman("kill", EAST).returncode == 0
    probe = probing(EAST)  # from the kill on: every send until the takeover fails
    run = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % EAST)
    probe.stop_after_accepted(since=time.time())
    accepted = [t1 for t0, t1, ok in probe.snapshot() if ok]
    record_outage("takeover of killed %s by %s" % (EAST, WEST), probe, killed, run,
                  kill_to_first_accepted_s=round(min(accepted) - killed, 2))
    assert "%s cannot be reached" % EAST in run.out
    assert holders(EAST) == {WEST}
    CLUSTER.wait_serving(WEST, [EAST, WEST])
    assert_served_at_service_address(EAST)
    assert_served_through(WEST, EAST)
    assert_served_through(WEST, WEST)
    RECEIPTS.hold(False)
    RECEIPTS.assert_reported_through(in_flight, WEST)
    mo_reach_their_sets_urls()  # east's MO through the survivor, to east's URL
    WATCH.assert_never_bound_twice()


def test_takeover_again_changes_nothing():
    changed = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % EAST).changed
    assert changed.get(WEST) == 0 and sum(changed.values()) == 0, changed


def test_survivor_restart_keeps_serving_both_sets():
    CLUSTER.exec_ok(WEST, "systemctl", "restart", BEARERBOX)
    CLUSTER.wait_serving(WEST, [EAST, WEST], timeout=60)
    assert_served_through(WEST, EAST)
    WATCH.assert_never_bound_twice()


def test_status_finds_the_node_that_is_off_with_its_one_read():
    # east is still off: status.yml reads each node once (the read is the probe), so the read is
    # what must find east down, within the probe's bound, and the run still succeeds
    run = CLUSTER.published("status.yml")
    assert run.rc == 0, run.out
    assert run.report["verdicts"] == {CLUSTER.name: "taken over"}, run.out
    nodes = {n["node"]: n for n in run.report["clusters"][0]["nodes"]}
    assert nodes[EAST]["reachable"] is False and nodes[EAST]["health"] == "down"
    assert nodes[EAST]["reasons"][0].startswith("%s cannot be reached within 3 s (" % EAST), nodes[EAST]
    assert nodes[WEST]["reachable"] is True and nodes[WEST]["health"] == "healthy"


def test_returning_node_stays_fenced():
    CLUSTER.start(EAST)
    CLUSTER.wait_bearerbox_up(EAST)
    time.sleep(3)  # time to bind, if it were going to
    CLUSTER.assert_fenced(EAST)
    serving = CLUSTER.serving_file(EAST)
    assert serving["sets"] == [] and "guard" in serving["changed_by"]
    CLUSTER.assert_refused(EAST, EAST)
    WATCH.assert_never_bound_twice()
    # its old address is answered by the survivor alone (no duplicate on the network)
    assert holders(EAST) == {WEST}
    assert macs_answering(CLUSTER.service_address(EAST)) == {mac_of(WEST)}


def test_runtime_guard_releases_the_address_of_a_set_the_node_does_not_serve():
    # an address of a set east does not serve (left by a freeze, a cut, a hand): the runtime
    # guard, which reads serving.json every second, takes it off within seconds
    since = time.time()
    CLUSTER.exec_ok(EAST, "ip", "addr", "add", CLUSTER.sets[EAST]["service_address"], "dev", "eth0")
    CLUSTER.wait_until("east's runtime guard to release the address", lambda: holders(EAST) == {WEST}, 10)
    assert "released service address %s/24 dev eth0 of set %s" % (
        CLUSTER.service_address(EAST), EAST) in CLUSTER.journal_since(EAST, GUARD, since)


def test_status_reports_the_takeover_and_an_address_conflict():
    # east as a node that was frozen, not dead, while its set moved: it still holds the address
    # (its runtime guard stopped, so the duplicate stays for the checks below and the start-up
    # guard's test after them)
    address = CLUSTER.service_address(EAST)
    CLUSTER.exec_ok(EAST, "systemctl", "stop", GUARD)
    CLUSTER.exec_ok(EAST, "ip", "addr", "add", CLUSTER.sets[EAST]["service_address"], "dev", "eth0")
    assert macs_answering(address) == {mac_of(EAST), mac_of(WEST)}  # the check sees a duplicate
    run = CLUSTER.playbook_ok("status.yml", "-e", "status_file=%s" % STATUS_FILE)
    assert "taken over: %s on %s" % (EAST, WEST) in run.out
    assert "CONFLICT: service address %s of set %s bound on %s and %s" % (
        CLUSTER.sets[EAST]["service_address"], EAST, EAST, WEST) in " ".join(run.out.split())
    with open(STATUS_FILE, encoding="utf-8") as fh:
        cluster = json.load(fh)["clusters"][0]
    assert cluster["normal"] is False
    assert {s["set"]: s["active_on"] for s in cluster["sets"]} == {EAST: [WEST], WEST: [WEST]}
    assert {s["set"]: [b["node"] for b in s["service_address_bound_on"]] for s in cluster["sets"]} \
        == {EAST: [EAST, WEST], WEST: [WEST]}
    assert sum(run.changed.get(n, 0) for n in CLUSTER.nodes) == 0


def test_start_up_guard_releases_the_address_of_a_set_the_node_does_not_serve():
    since = time.time()
    CLUSTER.exec_ok(EAST, "systemctl", "restart", BEARERBOX)
    CLUSTER.wait_bearerbox_up(EAST)
    assert "released service address %s/24 dev eth0 of set %s" % (
        CLUSTER.service_address(EAST), EAST) in CLUSTER.journal_since(EAST, BEARERBOX, since)
    assert holders(EAST) == {WEST}
    CLUSTER.exec_ok(EAST, "systemctl", "start", GUARD)
    CLUSTER.assert_fenced(EAST)
    assert macs_answering(CLUSTER.service_address(EAST)) == {mac_of(WEST)}
    forget_neighbour(CLUSTER.service_address(EAST))
    assert_served_at_service_address(EAST)


def test_deploy_during_takeover_keeps_it():
    # an address left on the fenced node (as above) is released by deploy too (runbook: CONFLICT)
    CLUSTER.exec_ok(EAST, "ip", "addr", "add", CLUSTER.sets[EAST]["service_address"], "dev", "eth0")
    CLUSTER.playbook_ok("deploy.yml")
    forget_neighbour(CLUSTER.service_address(EAST))
    CLUSTER.wait_serving(WEST, [EAST, WEST], timeout=10)
    CLUSTER.assert_fenced(EAST)
    assert_served_through(WEST, EAST)
    assert holders(EAST) == {WEST} and holders(WEST) == {WEST}  # where the serving state says
    WATCH.assert_never_bound_twice()


def test_failback_check_mode_changes_nothing():
    run = CLUSTER.published("failback.yml", "--check", "-e", "node=%s" % EAST)
    assert run.rc == 0 and "CHECK MODE" in run.out, run.out
    assert run.report["check_mode"] is True and run.report["node"] == EAST, run.report
    CLUSTER.wait_serving(WEST, [EAST, WEST], timeout=5)


def test_failback_returns_the_set_home():
    RECEIPTS.hold(True)  # sent during the takeover, its receipt comes after the failback
    in_flight = RECEIPTS.send(CLUSTER.service_address(EAST), EAST, "takeover")
    RECEIPTS.submitted(in_flight)
    probe = probing(EAST)
    started = time.time()
    run = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % EAST)
    probe.stop_after_accepted(since=time.time())
    seen = record_outage("failback (%s home from %s)" % (EAST, WEST), probe, started, run)
    assert seen["outage"] < run.seconds, seen
    assert_break_before_make(run, EAST, WEST, EAST)
    assert holders(EAST) == {EAST} and holders(WEST) == {WEST}
    assert_served_at_service_address(EAST)
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_served_through(EAST, EAST)
    CLUSTER.assert_refused(WEST, EAST)
    RECEIPTS.hold(False)
    RECEIPTS.assert_reported_through(in_flight, EAST)


def test_failback_again_changes_nothing():
    changed = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % EAST).changed
    assert sum(changed.values()) == 0, changed


LOCK_FILE = "/var/lib/kannel-cluster/cluster-lock.json"
LOCK_TIMES = {}  # what the lock cost: per-run overhead and refusal times (printed at the end)


def lock_on(node):
    """The cluster lock record on node, or None when the lock is free there."""
    proc = CLUSTER.podman("exec", node, "cat", LOCK_FILE)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def assert_lock_free():
    assert {n: lock_on(n) for n in CLUSTER.nodes} == dict.fromkeys(CLUSTER.nodes), "a lock was left"


def write_lock(run_id, playbook, target, taken_ago, expires_in, controller="ops@gone-controller",
               pid="4242"):
    now = time.time()
    record = {"cluster": CLUSTER.name, "run_id": run_id, "playbook": playbook, "target": target,
              "controller": controller, "pid": pid, "job_id": None,
              "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - taken_ago)),
              "taken_at_epoch": int(now - taken_ago),
              "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)),
              "expires_at_epoch": int(now + expires_in)}
    for node in CLUSTER.nodes:
        proc = subprocess.run(["podman", "exec", "-i", node, "sh", "-c", "cat > %s" % LOCK_FILE],
                              input=json.dumps(record), env=CLUSTER.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        assert proc.returncode == 0, proc.stdout


def lock_seconds(run):
    """Seconds the run spent taking the cluster lock (its own report)."""
    found = re.search(r"Cluster lock taken on .*? in ([0-9.]+) s", " ".join(run.out.split()))
    return float(found.group(1)) if found else None


def start(name, *args):
    return subprocess.Popen(CLUSTER._argv(name, args), cwd=CLUSTER.repo, env=CLUSTER.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def together(*runs):
    """Start the playbooks (name, args...) at the same moment; their Runs, in the same order."""
    started = time.monotonic()
    procs = [start(name, *args) for name, *args in runs]
    out = [None] * len(procs)

    def wait(i):
        text, _ = procs[i].communicate(timeout=600)
        out[i] = Run(procs[i].returncode, text, time.monotonic() - started)
    waiters = [threading.Thread(target=wait, args=(i,)) for i in range(len(procs))]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    return out


def assert_refused_by(run, holder_playbook, holder_target):
    text = " ".join(run.out.split())
    assert run.rc != 0, run.out
    assert re.search(r"Refused: \S+ \S+: the cluster lock of %s is held by \S+@\S+ \(%s %s, pid \d+\) "
                     r"since \S+ \(\d+ s ago; it expires at \S+, in \d+ s\) \(on %s\)\. Nothing was changed\."
                     % (CLUSTER.name, holder_playbook, re.escape(holder_target), EAST), text), run.out
    assert "cluster_lock_break=true" in text


def assert_consistent(normal=False):
    """status.yml: every set served by exactly one node, no conflict; which node, as serving.json says."""
    run = CLUSTER.playbook_ok("status.yml", "-e", "status_file=%s" % STATUS_FILE)
    report = json.load(open(STATUS_FILE))["clusters"][0]
    for s in report["sets"]:
        assert len(s["active_on"]) == 1 and "partial" not in s["active_on"][0], (s, run.out)
        assert [b["node"] for b in s["service_address_bound_on"]] == s["active_on"], (s, run.out)
    assert "NOT BOUND" not in run.out and "CONFLICT" not in run.out and "CONNECTED ON BOTH" not in run.out
    if normal:
        assert report["normal"], run.out
    return report


TAKEN_OVER = []  # the node the first race took over: the second race starts from there


def test_two_takeovers_at_once_one_runs_the_other_refuses():
    first, second = together(("takeover.yml", "-e", "failed=%s" % EAST),
                             ("takeover.yml", "-e", "failed=%s" % WEST))
    assert sorted([first.rc == 0, second.rc == 0]) == [False, True], first.out + second.out
    ran, refused = (first, second) if first.rc == 0 else (second, first)
    failed = EAST if ran is first else WEST
    assert_refused_by(refused, "takeover", "failed=%s" % failed)
    assert sum(refused.changed.values()) == 0, refused.changed
    LOCK_TIMES["takeover: taking the lock"] = lock_seconds(ran)
    LOCK_TIMES["second takeover refused after (s)"] = round(refused.seconds, 1)
    survivor = CLUSTER.peer(failed)
    CLUSTER.wait_serving(survivor, [EAST, WEST])
    CLUSTER.wait_serving(failed, [])
    report = assert_consistent()
    assert {tuple(s["active_on"]) for s in report["sets"]} == {(survivor,)}
    assert report["lock"] == {"held": False}
    assert_lock_free()
    WATCH.assert_never_bound_twice()
    TAKEN_OVER.append(failed)


def test_failback_and_takeover_at_once_one_runs_the_other_refuses():
    node = TAKEN_OVER[-1]
    back, again = together(("failback.yml", "-e", "node=%s" % node),
                           ("takeover.yml", "-e", "failed=%s" % node))
    assert sorted([back.rc == 0, again.rc == 0]) == [False, True], back.out + again.out
    if back.rc == 0:
        assert_refused_by(again, "failback", "node=%s" % node)
        CLUSTER.wait_serving(node, [node])
        CLUSTER.wait_serving(CLUSTER.peer(node), [CLUSTER.peer(node)])
        assert_consistent(normal=True)
    else:
        assert_refused_by(back, "takeover", "failed=%s" % node)
        CLUSTER.wait_serving(CLUSTER.peer(node), [EAST, WEST])
        assert_consistent()
        CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % node)
        assert_consistent(normal=True)
    LOCK_TIMES["failback: taking the lock"] = lock_seconds(back) if back.rc == 0 else None
    assert_lock_free()
    WATCH.assert_never_bound_twice()


def test_takeover_during_a_deploy_refuses_naming_deploy(tmp_path):
    # as the automatic watcher runs it (attempt 1 recorded as running in its state file)
    with open(str(tmp_path / ("%s.json" % CLUSTER.name)), "w") as fh:
        json.dump({"cluster": CLUSTER.name, "mode": "disarmed", "mode_changed_by": "watcher",
                   "attempts": 1, "takeover": {"node": WEST, "survivor": EAST, "attempt": 1,
                                               "result": "running", "ended_at": None}}, fh)
    deploy = start("deploy.yml")
    lines = []
    try:
        for line in deploy.stdout:  # stop the deploy's controller while it holds the lock
            lines.append(line)
            if line.startswith("PLAY [Stage 4: serve what the serving state says]"):
                os.killpg(deploy.pid, signal.SIGSTOP)
                break
        assert lock_on(EAST)["playbook"] == "deploy", "".join(lines)
        run = CLUSTER.playbook("takeover.yml", "-e", "failed=%s" % WEST, "-e", "watch_attempt=1",
                               "-e", "takeover_confirm_down_from_survivor=true",
                               "-e", "kannel_watch_state_dir=%s" % tmp_path)
        assert_refused_by(run, "deploy", CLUSTER.name)
        # the watcher learns why (it logs it and re-arms when it settles the attempt)
        record = json.load(open(str(tmp_path / ("%s.json" % CLUSTER.name))))["takeover"]
        assert record["ended_at"] and re.match(r"the cluster lock of %s is held by \S+ \(deploy %s, "
                                               % (CLUSTER.name, CLUSTER.name), record["refused"]), record
        LOCK_TIMES["takeover refused during a deploy after (s)"] = round(run.seconds, 1)
    finally:
        os.killpg(deploy.pid, signal.SIGCONT)
        rest, _ = deploy.communicate(timeout=600)
    assert deploy.returncode == 0, "".join(lines) + rest
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_lock_free()


def test_stale_lock_is_taken_over_and_a_fresh_one_broken_on_request():
    write_lock("dead-run", "takeover", "failed=%s" % WEST, taken_ago=1000, expires_in=-100)
    run = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % WEST)
    assert ("took over the expired cluster lock of ops@gone-controller (takeover failed=%s, pid 4242)"
            % WEST) in " ".join(run.out.split()), run.out
    assert_lock_free()
    write_lock("live-run", "failback", "node=%s" % WEST, taken_ago=5, expires_in=895)
    status = CLUSTER.playbook_ok("status.yml", "-e", "status_file=%s" % STATUS_FILE)
    assert ("Cluster lock: held by ops@gone-controller (failback node=%s, pid 4242) since"
            % WEST) in status.out, status.out
    lock = json.load(open(STATUS_FILE))["clusters"][0]["lock"]
    assert lock["held"] and lock["on"] == [EAST, WEST] and lock["playbook"] == "failback", lock
    check = CLUSTER.playbook("takeover.yml", "--check", "-e", "failed=%s" % WEST)
    assert_refused_by(check, "failback", "node=%s" % WEST)  # check mode reports it too
    refused = CLUSTER.playbook("failback.yml", "-e", "node=%s" % WEST)
    assert_refused_by(refused, "failback", "node=%s" % WEST)
    assert lock_on(EAST)["run_id"] == "live-run" and lock_on(WEST)["run_id"] == "live-run"
    broke = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % WEST, "-e", "cluster_lock_break=true")
    assert ("broke the cluster lock of ops@gone-controller (failback node=%s, pid 4242)" % WEST) in \
        " ".join(broke.out.split()), broke.out
    assert_lock_free()
    # a run of this controller that was killed: its re-run takes the lock over at once
    ended = subprocess.Popen(["true"])
    ended.wait()
    here = "%s@%s" % (os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown", socket.gethostname())
    write_lock("killed-run", "takeover", "failed=%s" % WEST, taken_ago=5, expires_in=895,
               controller=here, pid=str(ended.pid))
    rerun = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % WEST)
    said = " ".join(rerun.out.split())
    assert ("took over the cluster lock of %s (takeover failed=%s, pid %s), taken at" % (here, WEST, ended.pid)) \
        in said and "no longer runs on this controller" in said, rerun.out
    assert_lock_free()


def test_refused_runs_leave_no_lock():
    bad = CLUSTER.playbook("takeover.yml", "-e", "failed=nowhere")  # refused before the lock
    assert bad.rc != 0 and "Cluster lock" not in bad.out
    CLUSTER.exec_ok(WEST, "systemctl", "stop", BEARERBOX)
    try:
        run = CLUSTER.playbook("takeover.yml", "-e", "failed=%s" % EAST)
        assert run.rc != 0 and "Refused: survivor %s is not healthy" % WEST in run.out, run.out
        assert "Cluster lock taken on %s, %s" % (EAST, WEST) in " ".join(run.out.split()), run.out
        assert_lock_free()  # released by the refused run: the re-run after the fix is not refused
    finally:
        CLUSTER.exec_ok(WEST, "systemctl", "start", BEARERBOX)
    CLUSTER.wait_serving(WEST, [WEST])
    CLUSTER.wait_serving(EAST, [EAST])
    WATCH.assert_never_bound_twice()
    with open(os.path.join(CLUSTER.repo, "artifacts", "cluster-lock-failover.json"), "w",
              encoding="utf-8") as fh:
        json.dump(LOCK_TIMES, fh, indent=2, sort_keys=True)


def test_status_reports_normal_operation():
    run = CLUSTER.playbook_ok("status.yml", "-e", "status_file=%s" % STATUS_FILE)
    assert "Cluster %s: normal operation" % CLUSTER.name in run.out
    for name in CLUSTER.nodes:
        assert "service address %s: bound on %s (eth0)" % (
            CLUSTER.sets[name]["service_address"], name) in run.out


def test_every_accepted_message_arrived_exactly_once_and_no_double_bind():
    assert CLUSTER.sent, "the story sent nothing"
    CLUSTER.assert_delivered_once(CLUSTER.sent)
    for probe in PROBES:  # what the clients sent to a service address left on the set's accounts
        assert_delivered_on_set_accounts(probe.texts, probe.set_name)
    RECEIPTS.assert_each_reported_once()  # no receipt reached its client twice, none was lost
    WATCH.assert_never_bound_twice()
    # the bind counts above cover every provider account of the inventory
    assert set(CLUSTER.sim("/state")["accounts"]) >= CLUSTER.accounts
