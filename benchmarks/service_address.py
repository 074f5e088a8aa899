"""Client-visible outage through a set's service address: takeover of a killed node, failback.

Runs on the failover scenario's nodes (east/west, service addresses in molecule/failover/inventory),
deployed and in normal operation: `molecule converge -s failover` first (it also starts that
scenario's provider simulator, control 127.0.0.1:8777). Per run: `podman kill east`, a client of
set east sends one SMS to the set's service address every 100 ms (each send waits at most 2 s),
`takeover.yml -e failed=east`; then east is started again and `failback.yml -e node=east` runs with
the client sending the same way. Figures per run:
  kill -> first accepted: from the kill to the answer of the first accepted send;
  failback gap: the longest run of failed sends during the failback, from the start of its first
  send to the answer of the next accepted one.
--write replaces the "Clients through a service address" section of BENCHMARKS.md.
"""
import os
import sys
import time

from benchlib import REPO, arguments, machine, publish, stats

os.environ.setdefault("SMSGW_SIM_CONTROL", "127.0.0.1:8777")
os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "lab", "containers.conf"))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))
from story import ClientProbe, Cluster  # noqa: E402

CLUSTER = Cluster(os.path.join(REPO, "molecule", "failover"))
FAILED, SURVIVOR = CLUSTER.nodes  # east fails, west takes over


def probe():
    return ClientProbe(CLUSTER, FAILED, CLUSTER.service_address(FAILED), period=0.1,
                       timeout=2.0, note="bench").start()


def one_run():
    load = os.getloadavg()[0]
    killed = time.time()
    assert CLUSTER.podman("kill", FAILED).returncode == 0
    client = probe()
    takeover = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % FAILED)
    client.stop_after_accepted(since=time.time())
    accepted = [t1 for t0, t1, ok in client.snapshot() if ok]
    kill_to_accepted = min(accepted) - killed

    assert CLUSTER.podman("start", FAILED).returncode == 0
    CLUSTER.wait_booted(FAILED)
    CLUSTER.wait_bearerbox_up(FAILED)
    client = probe()
    started = time.time()
    failback = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % FAILED)
    client.stop_after_accepted(since=time.time())
    gap = client.outage(started)["outage"]
    CLUSTER.assert_delivered_once(CLUSTER.sent, timeout=60)
    return {"kill_to_accepted": kill_to_accepted, "takeover": takeover.seconds, "gap": gap,
            "failback": failback.seconds, "load": load}


def render(rows):
    return "\n".join([
        "## Clients through a service address: outage per event, lab",
        "",
        "Machine: %s. Lab: the failover scenario's two Debian 12 systemd containers (east, west; "
        "rootful podman, runc), 2 links + 1 client set per node, service addresses "
        "10.213.74.35/24 (set east) and .36/24 (set west) on eth0, the client on the host "
        "(10.213.74.1, same bridge)." % machine(),
        "",
        " ".join(__doc__.split("\n", 2)[2].split("--write")[0].split())
        + " %d runs; median / min / max in seconds; every accepted send was delivered once. "
        "Reproduce with `.venv/bin/python benchmarks/service_address.py --write` after "
        "`molecule converge -s failover`." % len(rows),
        "",
        "| event | client-visible outage | playbook |",
        "| --- | ---: | ---: |",
        "| takeover of a killed node (kill -> first accepted send) | %s | %s |" % (
            stats([r["kill_to_accepted"] for r in rows]), stats([r["takeover"] for r in rows])),
        "| failback (gap seen by the client) | %s | %s |" % (
            stats([r["gap"] for r in rows]), stats([r["failback"] for r in rows])),
        "",
        "Load average (1 min) at the start of the runs: %s (the machine is shared; the takeover "
        "playbook measured alone is ~8 s, see above)." % stats([r["load"] for r in rows], "%.1f"),
        "",
        "Reading: after a kill, clients fail until the takeover has bound the address on the "
        "survivor (its last step, after the links and the smsbox): the outage is the takeover's run "
        "time minus Ansible's start-up. During a failback the address leaves the survivor before "
        "its smsbox stops and the queue drains, and is bound at home after the links and smsbox "
        "are up: the gap is the failback's own gap (drain + activation) plus one module run on "
        "each side. The molecule failover scenario records the same figures (and those of a "
        "planned takeover and failback) in artifacts/service-address-failover.json.",
        ""])


def main():
    _sizes, runs, write = arguments(__doc__, "1", 3)
    rows = []
    for i in range(runs):
        row = one_run()
        print("run %d: %s" % (i + 1, {k: round(v, 2) for k, v in row.items()}), flush=True)
        rows.append(row)
    publish(render(rows), write)


if __name__ == "__main__":
    main()
