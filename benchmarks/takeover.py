#!/usr/bin/env python3
"""Benchmark: takeover.yml end to end on the lab, against a naive uri loop, with failback and deploy.

    .venv/bin/python benchmarks/takeover.py [--sizes 2,50,200] [--runs 3] [--connection ssh|podman]
                                            [--write]

Needs the lab (scripts/setup, then this script runs `scripts/lab up` itself). Uses the lab's two
nodes with a generated inventory of N provider links per node, served by an in-process provider
simulator on 10.213.74.1:2779 that accepts any account. Ansible reaches the nodes over SSH (as
real hosts; the lab's key) or, with --connection podman, with podman exec. For each N: deploy.yml
on fresh nodes (timed) and again with nothing to change (timed), then `runs` times, side by side:
  1. ours: `podman kill` node-a, then `ansible-playbook takeover.yml -e failed=node-a`; timed from
     the process start to the last of node-a's links bound from node-b at the simulator (or the
     playbook's end, whichever is later), with a per-stage breakdown from the plays' timestamps
     and the peak resident memory of the controller (ansible-playbook and its workers, summed);
  2. failback: node-a started again, `failback.yml -e node=node-a` timed, gap as it reports it,
     and as a client of node-a's set saw it: one sendsms to each node every 50 ms, the longest
     time between two accepted ones;
  3. naive: node-a killed again, benchmarks/naive_takeover.yml (one uri request per link), timed
     the same way; then undone (links removed on node-b, node-a started).
The figures of each connection are kept in benchmarks/results/takeover-<connection>.json; --write
replaces the "Takeover end to end" section of BENCHMARKS.md with one column per connection measured.
"""
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import BIN, CONNECTIONS, REPO, arguments, connection_vars, machine, publish, stats
from story import ClientProbe, Cluster


sys.path.insert(0, os.path.join(REPO, "lab"))
import smsc_sim  # noqa: E402

SECTION = "## Takeover end to end, lab, against a uri loop"
SIM_LISTEN = ("10.213.74.1", 2779)
NODES = {"node-a": ("smsgw-node-a", "10.213.74.11"), "node-b": ("smsgw-node-b", "10.213.74.12")}
FAILED, SURVIVOR = "node-a", "node-b"
# takeover.yml's plays, by the start of their names, and the benchmark stage they belong to
STAGES = [("Takeover | check", "checks"), ("Takeover | take the cluster lock", "checks"),
          ("Takeover | release the cluster lock", "checks"), ("Takeover | stage 1", "checks"),
          ("Takeover | stage 2", "fencing"), ("Takeover | stage 3", "activation")]
CONFIRM_TASKS = ("Refuse to call it done", "Print what moved", "Write the result",
                 "Write the report", "Publish the report",
                 "Say that the report")  # playbooks/tasks/publish_report.yml
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"),
           CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"), ANSIBLE_NOCOLOR="1",
           PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def link_ids(node, size):
    return ["%s%03d" % (node[-1].upper(), i) for i in range(1, size + 1)]


def write_inventory(size, connection, nodes=None, sim=SIM_LISTEN):
    """The lab inventory with `size` links per node on the simulator at sim (host, port).

    nodes ({name: (container, address)}, two of them, default NODES) lets a measurement use nodes
    of its own beside the lab's."""
    nodes = nodes or NODES
    root = tempfile.mkdtemp(prefix="bench-inv-%d-" % size)
    gv = os.path.join(root, "group_vars")
    os.makedirs(os.path.join(gv, "lab_cluster"))
    hosts = dict((node, {"ansible_host": container if connection == "podman" else ip,
                         "kannel_cluster_address": ip})
                 for node, (container, ip) in nodes.items())
    with open(os.path.join(root, "hosts.yml"), "w") as f:
        json.dump({"all": {"children": {"kannel_nodes": {
            "vars": connection_vars(connection),
            "children": {"lab_cluster": {"hosts": hosts}}}}}}, f, indent=1)
    links, sets = [], {}
    for node, port in zip(sorted(nodes), (13013, 13014)):
        ids = link_ids(node, size)
        links += [{"id": i, "home": node, "host": sim[0], "port": sim[1],
                   "username": i.lower(), "password": "pw" + i.lower(), "reconnect_delay": 5}
                  for i in ids]
        sets[node] = {"sendsms_port": port, "accounts": [
            {"username": "client-" + node, "password": "cl-" + node, "links": [ids[0]]}]}
    with open(os.path.join(gv, "lab_cluster", "main.yml"), "w") as f:
        json.dump({"kannel_cluster": "lab_cluster", "kannel_admin_password": "bench-admin-pw",
                   "kannel_status_password": "bench-status-pw", "kannel_links": links,
                   "kannel_client_sets": sets}, f, indent=1)
    return root


class PeakRss(threading.Thread):
    """Samples the summed RSS of a process and its descendants every 20 ms."""

    def __init__(self, pid):
        super(PeakRss, self).__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def tree_rss(self):
        children, rss = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
                rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError, ValueError):
                continue
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo += children.get(pid, [])
        return total

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.tree_rss())
            self.stop.wait(0.02)


def playbook(inventory, name, *args, json_out=False):
    """Run a playbook -> dict(rc, out, start, end, peak_rss)."""
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json") if json_out else ENV
    start = time.time()
    # the json callback's document is stdout alone; warnings go to stderr
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", inventory, name]
                            + list(args), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if json_out else subprocess.STDOUT, text=True)
    sampler = PeakRss(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    end = time.time()
    sampler.stop.set()
    sampler.join()
    return {"rc": proc.returncode, "out": out, "err": err or "", "start": start, "end": end,
            "peak_rss": sampler.peak}


def ok(res, what):
    if res["rc"] != 0:
        raise RuntimeError("%s failed (rc=%d):\n%s\n%s" % (what, res["rc"], res["out"][-6000:],
                                                         res["err"][-2000:]))
    return res


def podman(*args):
    subprocess.run(["podman"] + list(args), env=ENV, check=True, stdout=subprocess.DEVNULL)


def wait_bound(sim, ids, peer_ip, since, timeout=120):
    """Epoch time of the last first bind of ids' accounts from peer_ip after since; None if some
    account was not bound within timeout (reported as such, the run goes on)."""
    accounts = set(i.lower() for i in ids)

    def last_bind():
        binds = {}
        for e in sim.events():
            if (e["event"] == "bind" and e["account"] in accounts and e["t"] >= since
                    and e["peer"].split(":")[0] == peer_ip):
                binds.setdefault(e["account"], e["t"])
        return max(binds.values()) if len(binds) == len(accounts) else None
    try:
        return sim.wait_for(last_bind, timeout=timeout, interval=0.1)
    except TimeoutError:
        print("WARNING: not every link of %s was bound from %s within %d s" % (FAILED, peer_ip,
                                                                            timeout), flush=True)
        return None


def kill_failed_node(sim):
    """podman kill, then drop the killed node's sessions at the provider: the TCP close of a
    killed container can be lost with its network namespace, and the simulator never times out a
    silent session as a real provider does (enquire-link timeout)."""
    prefix = NODES[FAILED][1] + ":"
    bound = {s["account"] for s in sim.state()["sessions"]
             if s["bound"] and s["peer"].startswith(prefix)}
    podman("kill", NODES[FAILED][0])
    for account in bound:
        sim.kick(account)


class SetClient(object):
    """What story.ClientProbe needs of a cluster, for an inventory of write_inventory's: the
    client sets it wrote and story.Cluster's own send (as the first client of a set)."""
    send_to = Cluster.send_to

    def __init__(self, inventory):
        with open(os.path.join(inventory, "group_vars", "lab_cluster", "main.yml")) as f:
            self.sets = json.load(f)["kannel_client_sets"]
        self.name, self.sent = "bench", []


def clients_gap(probes, since):
    """The longest time between two accepted sends (their starts), over the sends to every node:
    no node accepted the set's clients in between (to within a probe period)."""
    accepted = sorted(a[0] for p in probes for a in p.snapshot() if a[0] >= since and a[2])
    return round(max((b - a for a, b in zip(accepted, accepted[1:])), default=0.0), 2)


def until(bound, res):
    """Seconds from the playbook's start until the links were bound (or it ended, if later);
    infinity when they were not all bound."""
    return float("inf") if bound is None else max(res["end"], bound) - res["start"]


def stage_times(res):
    """Seconds per stage from the json callback's play and task timestamps."""
    doc = json.loads(res["out"][res["out"].index("{"):])

    def ts(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    plays = doc["plays"]
    times = {"start-up": ts(plays[0]["play"]["duration"]["start"]) - res["start"]}
    # Per play its own start and end: under strategy free (stage 1) the hosts' tasks overlap, so
    # task durations would add up to more than the play took.
    for play in plays:
        stage = next(s for prefix, s in STAGES if play["play"]["name"].startswith(prefix))
        span = play["play"]["duration"]
        seconds = ts(span["end"]) - ts(span["start"])
        if stage == "activation":
            confirm = sum(ts(t["task"]["duration"]["end"]) - ts(t["task"]["duration"]["start"])
                          for t in play["tasks"]  # a role's task is named "ROLE : NAME"
                          if t["task"]["name"].split(" : ")[-1].startswith(CONFIRM_TASKS))
            times["confirmation"] = times.get("confirmation", 0.0) + confirm
            seconds -= confirm
        times[stage] = times.get(stage, 0.0) + seconds
    return times


def wait_booted(node):
    """Wait until a (re)started node's systemd is up."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        p = subprocess.run(["podman", "exec", NODES[node][0], "systemctl", "is-system-running"],
                           env=ENV, capture_output=True, text=True, check=False)
        if p.stdout.strip() in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise RuntimeError("%s did not boot" % node)


def restart_failed_node():
    podman("start", NODES[FAILED][0])
    wait_booted(FAILED)


def one_size(size, runs, sim, connection):
    inventory = write_inventory(size, connection)
    deploy = ok(playbook(inventory, "deploy.yml"), "deploy.yml (%d links per node)" % size)
    again = ok(playbook(inventory, "deploy.yml"), "deploy.yml again (%d links per node)" % size)
    failed_links = link_ids(FAILED, size)
    survivor_ip = NODES[SURVIVOR][1]
    rows = []
    for run in range(runs):
        kill_failed_node(sim)
        res = ok(playbook(inventory, "takeover.yml", "-e", "failed=" + FAILED, json_out=True),
                 "takeover.yml")
        bound = wait_bound(sim, failed_links, survivor_ip, res["start"])
        row = {"ours": until(bound, res), "playbook": res["end"] - res["start"],
               "stages": stage_times(res), "peak_rss": res["peak_rss"],
               "online_after_end": until(bound, res) - (res["end"] - res["start"])}

        restart_failed_node()
        probes = [ClientProbe(SetClient(inventory), FAILED, address, period=0.05, timeout=1.0).start()
                  for _container, address in NODES.values()]
        back = ok(playbook(inventory, "failback.yml", "-e", "node=" + FAILED), "failback.yml")
        for probe in probes:
            probe.stop_after_accepted(since=back["end"])
        gap = re.search(r"Gap \(set \S+ not accepting messages\): ([0-9.]+) s", back["out"])
        row["failback"] = back["end"] - back["start"]
        row["gap"] = float(gap.group(1)) if gap else None
        row["clients_gap"] = clients_gap(probes, back["start"])

        kill_failed_node(sim)
        naive = ok(playbook(inventory, os.path.join("benchmarks", "naive_takeover.yml"),
                            "-e", "survivor=%s failed=%s" % (SURVIVOR, FAILED),
                            "-e", json.dumps({"links": failed_links})), "naive_takeover.yml")
        row["naive"] = until(wait_bound(sim, failed_links, survivor_ip, naive["start"]), naive)
        undo_naive(inventory, failed_links)
        rows.append(row)
        print("N=%d run %d: takeover %.2fs (playbook %.2fs) %s; failback %.2fs gap %s (clients "
              "saw %s); naive %.2fs; ratio %.1f; controller peak %.0f MiB"
              % (size, run + 1, row["ours"], row["playbook"],
                 ", ".join("%s %.2f" % kv for kv in row["stages"].items()), row["failback"],
                 row["gap"], row["clients_gap"], row["naive"], row["naive"] / row["ours"], row["peak_rss"] / 2**20),
              flush=True)
    return {"size": size, "deploy": deploy["end"] - deploy["start"],
            "deploy_unchanged": again["end"] - again["start"], "rows": rows}


def undo_naive(inventory, links):
    """Take the naive takeover back: the links out of node-b, its extra smsbox stopped, node-a up."""
    args = json.dumps({"links": links, "state": "passive", "admin_password": "bench-admin-pw"})
    subprocess.run([os.path.join(BIN, "ansible"), "-i", inventory, SURVIVOR, "-m",
                    "smsgw.cluster.kannel_link", "-a", args], cwd=REPO, env=ENV, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(BIN, "ansible"), "-i", inventory, SURVIVOR, "-m",
                    "ansible.builtin.systemd_service", "-a",
                    "name=kannel-smsbox@%s.service state=stopped" % FAILED], cwd=REPO, env=ENV,
                   check=True, stdout=subprocess.DEVNULL)
    restart_failed_node()


def results_path(connection):
    return os.path.join(REPO, "benchmarks", "results", "takeover-%s.json" % connection)


def render(measured):
    """The BENCHMARKS.md section from {connection: saved figures}, one row per size and connection."""
    conns = [c for c in CONNECTIONS if c in measured]
    lines = [SECTION, "",
             "Lab: two Debian 12 systemd containers (rootful podman, runc). Connections: `ssh` = "
             "OpenSSH with pipelining and ControlPersist, as real hosts are reached "
             "(inventory/lab); `podman` = podman exec (no pipelining: about 5 `podman exec` per "
             "task), kept to show what the connection costs.", "",
             "What is timed, per size N (provider links per node; each node also has 1 client "
             "set): node-a is killed (`podman kill`), then `ansible-playbook takeover.yml -e "
             "failed=node-a` from its process start until the last of node-a's N links is bound "
             "from node-b at the provider simulator (or the playbook's end if later). The naive "
             "way (benchmarks/naive_takeover.yml: one `cp -p` of the files, then one "
             "`ansible.builtin.uri` request per link, then the smsbox) is timed the same way in "
             "the same run, after a failback. After each `podman kill` the killed node's "
             "sessions are dropped at the simulator (a real provider times them out; the TCP "
             "close of a killed container can be lost). `inf`: not every link was bound within "
             "120 s. Median / min / max in seconds. deploy.yml is timed on fresh nodes and again "
             "with nothing to change. Reproduce with `.venv/bin/python benchmarks/takeover.py "
             "--connection ssh --write` (and `--connection podman`); the figures are kept in "
             "benchmarks/results/.", ""]
    for c in conns:
        lines.append("- `%s`: %s; %d run(s) per size; measured %s." % (
            c, measured[c]["machine"], measured[c]["runs"], measured[c]["date"]))
    lines += ["", "| links per node | connection | takeover (ours) | naive uri loop | naive / ours "
              "| failback | gap of the returned set (as a client saw it) | controller peak RSS | deploy.yml, fresh "
              "nodes | deploy.yml, nothing to change |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    # one row per size and connection, sizes together
    ordered = sorted(((r["size"], conns.index(c), c, r) for c in conns for r in measured[c]["results"]),
                     key=lambda t: t[:2])
    for size, _i, c, r in ordered:
        rows = r["rows"]
        lines.append("| %d | %s | %s | %s | %s | %s | %s | %s MiB | %.0f s | %s |" % (
            size, c, stats([x["ours"] for x in rows]), stats([x["naive"] for x in rows]),
            stats([x["naive"] / x["ours"] for x in rows], "%.1f"),
            stats([x["failback"] for x in rows]),
            stats([x["gap"] for x in rows if x["gap"] is not None] or [0.0])
            + (" (%s)" % stats([x["clients_gap"] for x in rows if x.get("clients_gap") is not None])
               if any(x.get("clients_gap") is not None for x in rows) else ""),
            stats([x["peak_rss"] / 2**20 for x in rows], "%.0f"), r["deploy"],
            "%.0f s" % r["deploy_unchanged"] if "deploy_unchanged" in r else "-"))
    names = ["start-up", "checks", "fencing", "activation", "confirmation"]
    lines += ["", "Takeover stages (medians, seconds): start-up = process start to the first "
              "play; checks = inventory, request, survivor health and, at the same time, the "
              "probe of the killed node; fencing = what is then done about the killed node "
              "(here: reported unreachable); activation = serving.json, links, smsboxes on the survivor; "
              "confirmation = the final status read and summary; online after = from the "
              "playbook's end until the last link bound.", "",
              "| links per node | connection | " + " | ".join(names) + " | online after | playbook |",
              "| ---: | --- |" + " ---: |" * (len(names) + 2)]
    for size, _i, c, r in ordered:
        rows = r["rows"]
        lines.append("| %d | %s | %s | %.2f | %.2f |" % (
            size, c, " | ".join("%.2f" % statistics.median(
                [x["stages"].get(n, 0.0) for x in rows]) for n in names),
            statistics.median([x["online_after_end"] for x in rows]),
            statistics.median([x["playbook"] for x in rows])))
    lines.append("")
    for c in conns:
        res = measured[c]["results"]
        first, last = res[0], res[-1]
        lines.append("Growth of the takeover from %d to %d links per node (%s): %.2fx." % (
            first["size"], last["size"], c,
            statistics.median([x["ours"] for x in last["rows"]])
            / statistics.median([x["ours"] for x in first["rows"]])))
    lines.append("")
    return "\n".join(lines)


def main():
    sizes, runs, write, connection = arguments(__doc__, "2,50,200", 3, connections=CONNECTIONS)
    lab = os.path.join(REPO, "scripts", "lab")
    # fresh nodes: no takeover in effect, no configuration left from another run
    for verb in ("down", "up"):
        subprocess.run([lab, verb], env=ENV, check=True, stdout=subprocess.DEVNULL)
    events = os.path.join(REPO, ".lab", "bench-takeover-events.jsonl")
    print("provider simulator events: %s" % events, flush=True)
    sim = smsc_sim.SmscSimulator(listen=SIM_LISTEN, control=None, accounts=None,
                                 events_path=events, log=open(os.devnull, "w"))
    sim.start()
    try:
        results = [one_size(n, runs, sim, connection) for n in sizes]
    finally:
        sim.stop()
    print("putting the lab's own configuration back (deploy.yml)", flush=True)
    ok(playbook(os.path.join(REPO, "inventory", "lab"), "deploy.yml"), "deploy.yml (lab)")
    os.makedirs(os.path.dirname(results_path(connection)), exist_ok=True)
    with open(results_path(connection), "w") as f:
        json.dump({"machine": machine(), "runs": runs, "date": time.strftime("%Y-%m-%d"),
                   "results": results}, f, indent=1)
    measured = {}
    for c in CONNECTIONS:
        if os.path.exists(results_path(c)):
            with open(results_path(c)) as f:
                measured[c] = json.load(f)
    publish(render(measured), write)


if __name__ == "__main__":
    main()
