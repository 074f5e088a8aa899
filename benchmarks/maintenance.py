"""Rolling maintenance of a whole cluster: maintenance.yml -e node=all, a package update and a reboot.

Runs on the default scenario's mixed cluster (gw1 Debian 12, gw2 Debian 13, service addresses,
containers started with --restart=always), deployed and in normal operation: `molecule converge -s
default` first (it also starts that scenario's provider simulator, control 127.0.0.1:8776; hold
/work/locks/default.lock meanwhile). Per run and kind, a client of each set sends one SMS to the
set's service address every 100 ms (each send waits at most 2 s) during
`maintenance.yml -e node=all` with
  package update: -e maintenance=kannel (apt update of the lists, then Kannel and the role's
                  packages to the newest: each node's own repository offers its kannel and
                  kannel-extras again under a higher version, molecule/shared/apt_repo.py; no
                  reboot needed, the gateway restarts);
  reboot:         -e maintenance=reboot -e maintenance_reboot=always (each node's systemd reboots,
                  podman starts its container again).
Figures per node: out of service (maintenance.yml's report: from the node's fence to the end of its
failback), the client-visible gap at its takeover and at its failback (the longest run of failed
sends of the node's set during that switch, seen by the client), and the whole cluster (the run).
--write replaces the "Rolling maintenance" section of BENCHMARKS.md.
"""
import glob
import json
import os
import sys
import time

from benchlib import REPO, arguments, machine, publish, stats

os.environ.setdefault("CONTAINERS_CONF", os.path.join(REPO, "lab", "containers.conf"))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))
import apt_repo  # noqa: E402
from story import ClientProbe, MoleculeCluster  # noqa: E402

SCENARIO = os.path.join(REPO, "molecule", "default")
REPORT = os.path.join(REPO, "playbooks", "artifacts", "maintenance.json")
KINDS = {"package update": ["-e", "maintenance=kannel"],
         "reboot": ["-e", "maintenance=reboot", "-e", "maintenance_reboot=always"]}


def inventory():
    """molecule's generated inventory of the default scenario (its newest ephemeral directory)."""
    found = sorted(glob.glob(os.path.expanduser(
        "~/.ansible/tmp/molecule.*.default/inventory/ansible_inventory.yml")), key=os.path.getmtime)
    assert found, "no inventory of the default scenario: run `molecule converge -s default` first"
    return os.path.dirname(found[-1])


CLUSTER = MoleculeCluster(SCENARIO, inventory())


def one_run(kind):
    if kind == "package update":
        for node in CLUSTER.nodes:
            apt_repo.offer_newer(CLUSTER, node, apt_repo.KANNEL)
    load = os.getloadavg()[0]
    started = time.time()
    probes = {s: ClientProbe(CLUSTER, s, CLUSTER.service_address(s), note="bench").start()
              for s in CLUSTER.nodes}
    run = CLUSTER.playbook_ok("maintenance.yml", "-e", "node=all", *KINDS[kind], timeout=1800)
    for probe in probes.values():
        probe.stop_after_accepted(since=time.time())
    CLUSTER.assert_delivered_once(CLUSTER.sent, timeout=60)
    with open(REPORT, encoding="utf-8") as fh:
        nodes = json.load(fh)["nodes"]
    rows = []
    for fig in nodes:
        # the node's own set sees both of its switches, in order
        windows = probes[fig["node"]].outage(started)["windows"]
        rows.append({"node": fig["node"], "out": fig["out_of_service_seconds"],
                     "takeover_reported": fig["takeover_gap_seconds"],
                     "failback_reported": fig["failback_gap_seconds"],
                     "takeover_client": windows[0] if windows else 0.0,
                     "failback_client": windows[-1] if len(windows) > 1 else 0.0,
                     "reboot": fig["reboot_seconds"] or 0.0,
                     "changed": len(fig["changed_packages"])})
    return {"kind": kind, "seconds": run.seconds, "load": load, "nodes": rows}


def render(runs):
    lines = [
        "## Rolling maintenance: maintenance.yml -e node=all, lab",
        "",
        "Machine: %s. Lab: the default scenario's mixed cluster (gw1 Debian 12, gw2 Debian 13, "
        "systemd containers with --restart=always, podman connection), 2 links per node, service "
        "addresses 10.213.74.25/24 (set gw1) and .26/24 (set gw2)." % machine(),
        "",
        " ".join(__doc__.split("\n", 2)[2].split("--write")[0].split())
        + " Median / min / max in seconds over %d run(s) per kind; every accepted send was "
        "delivered once. Reproduce with `.venv/bin/python benchmarks/maintenance.py --write` after "
        "`molecule converge -s default`." % (len(runs) // len(KINDS)),
        "",
        "| maintenance | node | out of service | client gap at takeover (reported <=) | "
        "client gap at failback (reported <=) | reboot | packages changed | whole cluster |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in KINDS:
        of_kind = [r for r in runs if r["kind"] == kind]
        for node in CLUSTER.nodes:
            rows = [n for r in of_kind for n in r["nodes"] if n["node"] == node]
            lines.append("| %s | %s | %s | %s (%s) | %s (%s) | %s | %s | %s |" % (
                kind, node, stats([n["out"] for n in rows]),
                stats([n["takeover_client"] for n in rows]),
                stats([n["takeover_reported"] for n in rows]),
                stats([n["failback_client"] for n in rows]),
                stats([n["failback_reported"] for n in rows]),
                stats([n["reboot"] for n in rows]), stats([n["changed"] for n in rows], "%d"),
                stats([r["seconds"] for r in of_kind])))
    lines += [
        "",
        "Load average (1 min) at the start of the runs: %s (the machine is shared)."
        % stats([r["load"] for r in runs], "%.1f"),
        "",
        "Reading: a node is out of service from its fence (takeover.yml's first change) to the end "
        "of its failback; what it costs beyond the two switches is the maintenance itself (the "
        "package update: `apt-get update`, the install of kannel and kannel-extras and a restart of "
        "the gateway; a container's reboot takes the time its systemd needs to stop and start) and the wait until its gateway is healthy "
        "and passive. Clients of the node's set wait only during the two switches; clients of the "
        "other set do not notice. The reported gaps are maintenance.yml's upper bounds (takeover: "
        "from the fence, recorded to the second, to the end of takeover.yml; failback: "
        "failback.yml's gap clock to its end).",
        ""]
    return "\n".join(lines)


def main():
    _sizes, runs, write = arguments(__doc__, "1", 1)
    results = []
    for i in range(runs):
        for kind in KINDS:
            row = one_run(kind)
            print("run %d %s: %s" % (i + 1, kind, row), flush=True)
            results.append(row)
    publish(render(results), write)


if __name__ == "__main__":
    main()
