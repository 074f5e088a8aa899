"""Automatic takeover: a node killed -> every link of its set bound on the survivor, with the
watcher's default settings (poll every 5 s, take over after 30 s of failed polls), on the watch
scenario's two nodes, next to the modelled product's once-a-minute checker.

Needs the watch scenario's nodes and simulator: `molecule converge -s watch` (keeps them). Ansible
(the watcher's takeover runs included) reaches them over SSH by default, as real hosts are reached
(the lab's key is authorised on them with `scripts/lab ssh-access`), or with --connection podman as
the scenario itself does. Each run kills the node that serves its own set, measures kill -> the
watcher's takeover decision and kill -> the last of the set's links bound from the survivor (the
provider simulator's event log), then starts the killed node again (it comes back fenced) and arms
the watcher; the next run kills the other node, so no failback is needed between runs. The end puts
both sets home (failback).

  .venv/bin/python benchmarks/watch.py [--runs 3] [--connection ssh|podman] [--write]
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import yaml

from benchlib import CONNECTIONS, REPO, arguments, connection_vars, machine, stats, write_section

sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))
os.environ.setdefault("SMSGW_SIM_CONTROL", "127.0.0.1:8782")  # molecule/watch/molecule.yml

from story import BindWatch, Cluster  # noqa: E402
from watcher import Watcher, wait_set_bound_on_survivor  # noqa: E402

SCENARIO = os.path.join(REPO, "molecule", "watch")
WATCH_DIR = os.path.join(REPO, ".lab", "watch-molecule")
CHECKER_PERIOD = 60  # the modelled product polls once a minute and switches at the first miss


def inventory_for(connection):
    """The scenario's inventory, or a copy of it whose nodes are reached over SSH."""
    if connection == "podman":
        return None
    source = os.path.join(SCENARIO, "inventory")
    root = os.path.join(REPO, ".lab", "watch-bench-inventory")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with open(os.path.join(source, "hosts.yml"), encoding="utf-8") as fh:
        hosts = yaml.safe_load(fh)
    nodes = hosts["all"]["children"]["kannel_nodes"]
    nodes["vars"] = connection_vars(connection)
    for cluster in nodes["children"].values():
        for node in cluster["hosts"].values():
            node["ansible_host"] = node["kannel_cluster_address"]
        subprocess.run([os.path.join(REPO, "scripts", "lab"), "ssh-access"] + sorted(cluster["hosts"]),
                       check=True)
    with open(os.path.join(root, "hosts.yml"), "w", encoding="utf-8") as fh:
        json.dump(hosts, fh, indent=1)
    for sub in ("group_vars", "host_vars"):
        os.symlink(os.path.join(source, sub), os.path.join(root, sub))
    return root


def main():
    # no sizes: two links per node
    _sizes, runs, write, connection = arguments(__doc__, "0", 3, connections=CONNECTIONS)
    inventory = inventory_for(connection)
    cluster = Cluster(SCENARIO, inventory)
    shutil.rmtree(WATCH_DIR, ignore_errors=True)
    # the package's defaults; the watcher's takeovers use the same inventory
    cluster.playbook_ok("watcher.yml", *(["-e", "kannel_watcher_inventory=" + inventory] if inventory else []))
    watcher = Watcher(cluster, os.path.join(WATCH_DIR, "smsgw-watch"), WATCH_DIR).start()
    binds = BindWatch(cluster)
    load_start = os.getloadavg()[0]
    rows = []
    try:
        for node in cluster.nodes:
            watcher.wait_decision(node, "ok", 60)
        victim = cluster.nodes[0]
        for run in range(runs):
            survivor = cluster.peer(victim)
            attempts = len(watcher.decisions(victim, "takeover"))
            killed = time.time()
            cluster.kill(victim)
            watcher.wait_for("takeover of %s" % victim,
                             lambda: len(watcher.decisions(victim, "takeover")) > attempts, 120)
            decided = time.time() - killed
            bound = wait_set_bound_on_survivor(cluster, victim, survivor, killed) - killed
            watcher.wait_output("recorded takeover attempt %d as served" % (run + 1), 180)
            done = [float(x) for x in re.findall(
                r"Takeover of %s by %s done in ([\d.]+) s" % (victim, survivor), watcher.output())]
            rows.append({"victim": victim, "decision": decided, "served": bound,
                         "playbook": done[-1] if done else float("nan")})
            print("run %d: %s killed -> decision %.1f s, -> set bound on %s %.1f s"
                  % (run + 1, victim, decided, survivor, bound), flush=True)
            cluster.podman("start", victim)
            cluster.wait_booted(victim)
            cluster.wait_bearerbox_up(victim)
            cluster.playbook_ok("watch.yml", "-e", "cluster=%s" % cluster.name, "-e", "action=arm")
            victim = survivor
        twice = {a: n for a, n in binds.max_binds().items() if n > 1}
    finally:
        watcher.stop()
        for node in cluster.nodes:
            if cluster.container_state(node) != "running":
                cluster.podman("start", node)
            cluster.wait_booted(node)
            cluster.wait_bearerbox_up(node)
        for node in cluster.nodes:
            if cluster.serving_file(node)["sets"] != [node]:
                cluster.playbook_ok("failback.yml", "-e", "node=%s" % node)

    served = [r["served"] for r in rows]
    playbook = [r["playbook"] for r in rows]
    # the decision to the last link bound: ansible-playbook's start-up, the takeover, the binds
    acting = [r["served"] - r["decision"] for r in rows]
    lines = [
        "## Automatic takeover: node killed -> its set served on the survivor",
        "",
        "`benchmarks/watch.py --runs %d --connection %s`, watch scenario nodes (reached %s), "
        "machine: %s." % (runs, connection, "over SSH" if connection == "ssh" else "with podman exec",
                          machine()),
        "Watcher defaults: poll every 5 s (2 s timeout), take over after 30 s of failed polls. "
        "Measured from `podman kill` to the takeover decision and to the last link of the killed "
        "node's set bound from the survivor at the provider simulator; runs alternate the killed "
        "node. Seconds, median / min / max.",
        "",
        "| | watcher (measured) | once-a-minute checker (modelled) |",
        "| --- | --- | --- |",
        "| kill -> decision | %s | 0-60 (uniform), median 30 |"
        % stats([r["decision"] for r in rows], "%.1f"),
        "| takeover playbook (its own summary) | %s | same playbook |" % stats(playbook, "%.1f"),
        "| decision -> set served | %s | the same |" % stats(acting, "%.1f"),
        "| kill -> set served | %s | median %.1f, worst %.1f |"
        % (stats(served, "%.1f"), CHECKER_PERIOD / 2 + statistics.median(acting),
           CHECKER_PERIOD + max(acting)),
        "| a blip longer than the gap between two polls | never a takeover (< 30 s) | a takeover |",
        "",
        "Worst case of the watcher: one interval (the kill just after a poll) + the window + the "
        "poll timeout + decision -> served = 5 + 30 + 2 + %.1f = %.1f s here. Load "
        "average (1 min) %.1f at the start, %.1f at the end. Accounts bound twice at a time "
        "during the runs: %s." % (max(acting), 5 + 30 + 2 + max(acting), load_start,
                                  os.getloadavg()[0], twice or "none"),
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if write:
        write_section(section)


if __name__ == "__main__":
    main()
