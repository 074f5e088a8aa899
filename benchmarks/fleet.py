#!/usr/bin/env python3
"""Benchmark: a fleet of 1, 5 and 10 two-node clusters in one inventory, over SSH on the lab.

    .venv/bin/python benchmarks/fleet.py [--sizes 1,5,10] [--write]
    .venv/bin/python benchmarks/fleet.py --up N      # only make the fleet's containers + inventory
    .venv/bin/python benchmarks/fleet.py --down      # remove the fleet's containers
    .venv/bin/python benchmarks/fleet.py --floor --sizes 1,10 [--runs 3]

Lab containers `fleet-cN-a` / `fleet-cN-b` (image localhost/smsgw-lab-debian12, network smsgw-lab,
10.213.74.100 + 2(N-1) and + 1), reached over SSH with the lab's key as real hosts. One provider
simulator in this process (10.213.74.1:2790, any account) serves every cluster: 2 links and 2 client
accounts per set. For each fleet size, one run each of: the first deploy (of the clusters not
deployed yet), deploy with nothing to change, status.yml, and a takeover of one node of cluster 1
(its node killed with `podman kill`; timed from the playbook's start to the last of its links
bound from the peer, or the playbook's end if later) while the binds of every other cluster are
counted (they must stay untouched); then the node is started and failed back (not timed).
Wall-clock and the controller's CPU seconds (user + system of ansible-playbook and every process
it started, from resource.getrusage(RUSAGE_CHILDREN)) are reported, the CPU also per node.

--watcher adds, on the largest fleet, the automatic watcher as the product runs it: one watcher per
cluster (`smsgw-watch CLUSTER`, written by watcher.yml; the witness is this controller), all started
at once. Measured: their memory (RSS of every process of each watcher) and CPU on the witness while
they watch a healthy fleet, then a node of cluster 1 killed -> the watcher's takeover decision and
-> the last of its links bound from the peer (target: the single-cluster worst case, 45 s).

--floor measures what the playbooks are compared with: benchmarks/fleet_floor.yml, a play with one
module run per node (`ping`) alone and after the inventory check, next to deploy with nothing to
change and status.yml, each run --runs times, sizes alternating, after an untimed deploy of each
size (quick on a fleet kept with --keep). Besides wall-clock and the controller's CPU it reports the
whole machine's busy CPU seconds (/proc/stat): on the lab the nodes run on the controller's cores.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import BIN, REPO, connection_vars, machine, publish

sys.path.insert(0, os.path.join(REPO, "lab"))
import smsc_sim  # noqa: E402

SECTION = "## Fleets: 1, 5 and 10 clusters in one inventory"
# Each fleet size's row, kept across runs (a size can be measured again alone: --sizes 10)
RESULTS = os.path.join(REPO, "benchmarks", "results", "fleet.json")
SIM_LISTEN = ("10.213.74.1", 2790)
FLOOR = os.path.join(REPO, "benchmarks", "fleet_floor.yml")
IMAGE = "localhost/smsgw-lab-debian12"
CAPS = "SYS_PTRACE,NET_ADMIN,NET_RAW"
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"),
           CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"), ANSIBLE_NOCOLOR="1",
           PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def nodes_of(cluster):
    """{node name: (container, address)} of cluster number `cluster` (1-based)."""
    base = 100 + 2 * (cluster - 1)
    return dict(("c%d-%s" % (cluster, side), ("fleet-c%d-%s" % (cluster, side), "10.213.74.%d" % (base + i)))
                for i, side in enumerate("ab"))


def podman(*args, check=True):
    return subprocess.run(["podman"] + list(args), env=ENV, check=check, capture_output=True, text=True)


def up(clusters):
    """Create (or start) the containers of clusters 1..clusters and authorise the lab key."""
    made = []
    for c in range(1, clusters + 1):
        for node, (container, ip) in nodes_of(c).items():
            state = podman("container", "inspect", container, "--format", "{{.State.Status}}",
                           check=False).stdout.strip()
            if state == "running":
                continue
            if state:
                podman("start", container)
            else:
                podman("run", "-d", "--name", container, "--hostname", node, "--systemd=always",
                       "--cap-add", CAPS, "--network", "smsgw-lab", "--ip", ip, IMAGE)
                subprocess.run(["ip", "neigh", "flush", "to", ip], check=False, capture_output=True)
            made.append(container)
    for container in made:
        wait_booted(container)
    if made:
        subprocess.run([os.path.join(REPO, "scripts", "lab"), "ssh-access"] + made, env=ENV, check=True,
                       stdout=subprocess.DEVNULL)


def down():
    names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    fleet = [n for n in names if n.startswith("fleet-c")]
    if fleet:
        podman("rm", "-f", "-t", "0", *fleet)


def wait_booted(container):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = podman("exec", container, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise RuntimeError("%s did not boot" % container)


def cluster_vars(c, sim=SIM_LISTEN):
    """One cluster's group vars: 2 links and 2 client accounts per set."""
    links, sets = [], {}
    for port, node in zip((13013, 13014), sorted(nodes_of(c))):
        ids = ["%s-l%d" % (node, i) for i in (1, 2)]
        links += [{"id": i, "home": node, "host": sim[0], "port": sim[1], "username": i.replace("-", ""),
                   "password": "pw", "reconnect_delay": 5} for i in ids]
        sets[node] = {"sendsms_port": port, "accounts": [
            {"username": "%s-client%d" % (node, i), "password": "cl-secret", "links": [link]}
            for i, link in enumerate(ids, 1)]}
    return {"kannel_cluster": "fleet_c%d" % c, "kannel_admin_password": "fleet-admin-pw",
            "kannel_status_password": "fleet-status-pw", "kannel_links": links,
            "kannel_client_sets": sets,
            # the watcher (--watcher) runs on this controller, 10.213.74.1 on the lab network
            "kannel_node_admin_allow_extra": [SIM_LISTEN[0]]}


def write_inventory(clusters, root=None):
    root = root or tempfile.mkdtemp(prefix="fleet-inv-%d-" % clusters)
    children = {}
    for c in range(1, clusters + 1):
        children["fleet_c%d" % c] = {
            "hosts": dict((node, {"ansible_host": ip, "kannel_cluster_address": ip})
                          for node, (_, ip) in nodes_of(c).items()),
            "vars": cluster_vars(c)}
    watch_dir = os.path.join(root, "watch")
    # the witness (this controller), as inventory/lab/host_vars/localhost.yml sets it up
    witness = {"kannel_watch_state_dir": os.path.join(watch_dir, "state"),
               "kannel_watcher_install": False, "kannel_watcher_service": False,
               "kannel_watcher_config_dir": watch_dir, "kannel_watcher_venv": os.path.dirname(BIN),
               "kannel_watcher_inventory": os.path.join(root, "hosts.yml"),
               "kannel_watcher_collections_path": os.path.join(REPO, "collections"),
               "kannel_watcher_ansible_config": ENV["ANSIBLE_CONFIG"],
               "kannel_watcher_environment": {"CONTAINERS_CONF": ENV["CONTAINERS_CONF"]}}
    with open(os.path.join(root, "hosts.yml"), "w") as f:
        json.dump({"all": {"hosts": {"localhost": dict(witness, ansible_connection="local",
                                                       ansible_python_interpreter=sys.executable)},
                           "children": {"kannel_nodes": {"vars": connection_vars("ssh"),
                                                         "children": children}}}}, f, indent=1)
    return root


def playbook(inventory, name, *args):
    """Run a playbook -> dict(rc, out, start, end, cpu) with cpu the controller's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, name] + list(args),
                          cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": proc.returncode, "out": proc.stdout, "start": start, "end": end, "cpu": cpu}


def busy_seconds():
    """CPU seconds every core of this machine has spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def floor(sizes, runs):
    """The floor runs and the two common playbooks, sizes alternating -> the rows' markdown."""
    inventories = dict((n, os.path.join(write_inventory(n), "hosts.yml")) for n in sizes)
    for n in sizes:  # so that "nothing to change" is true
        ok(playbook(inventories[n], "deploy.yml"), "deploy of %d clusters" % n)
    cases = (("one module run per node (`ping`)", [FLOOR, "--skip-tags", "validate"]),
             ("inventory check + one module run per node", [FLOOR]),
             ("deploy.yml, nothing to change", ["deploy.yml"]),
             ("status.yml", ["status.yml"]))
    seen = dict(((what, n), []) for what, _ in cases for n in sizes)
    for _ in range(runs):
        for what, args in cases:
            for n in sizes:
                before = busy_seconds()
                res = ok(playbook(inventories[n], *args), "%s on %d clusters" % (what, n))
                seen[what, n].append((res["end"] - res["start"], res["cpu"], busy_seconds() - before))
    first = sizes[0]
    lines = ["| run | %s | ratio wall |" % " | ".join("%d clusters (%d nodes)" % (n, 2 * n) for n in sizes),
             "| --- |%s --- |" % (" --- |" * len(sizes))]
    for what, _ in cases:
        cells = [" ; ".join("%.1f / %.1f / %.1f" % r for r in seen[what, n]) for n in sizes]
        med = dict((n, statistics.median(r[0] for r in seen[what, n])) for n in sizes)
        ratio = ", ".join("%.1fx" % (med[n] / med[first]) for n in sizes[1:])
        lines.append("| %s | %s | %s |" % (what, " | ".join(cells), ratio))
    return "\n".join(lines)


def ok(res, what):
    if res["rc"] != 0:
        raise RuntimeError("%s failed (rc=%d):\n%s" % (what, res["rc"], res["out"][-8000:]))
    return res


def binds(sim, since, accounts=None):
    return [e for e in sim.events() if e["event"] == "bind" and e["t"] >= since
            and (accounts is None or e["account"] in accounts)]


# The node every takeover of the benchmark fails: c1-a, taken over by c1-b.
FAILED, PEER = "c1-a", "c1-b"
FAILED_ACCOUNTS = {"c1al1", "c1al2"}


def set_bound_on_peer(sim, since, timeout, interval):
    """When the last of FAILED's accounts was bound from PEER after `since` (simulator clock).
    Raises TimeoutError."""
    peer_ip = nodes_of(1)[PEER][1]
    return sim.wait_for(lambda: (lambda b: max(b.values()) if len(b) == len(FAILED_ACCOUNTS) else None)(
        dict((e["account"], e["t"]) for e in binds(sim, since, FAILED_ACCOUNTS)
             if e["peer"].split(":")[0] == peer_ip)), timeout=timeout, interval=interval)


def other_clusters_binds(sim, since):
    return len([e for e in binds(sim, since) if not e["account"].startswith("c1")])


def fail_back(inventory):
    """Start FAILED's container again (it comes back fenced) and give its set back."""
    container = nodes_of(1)[FAILED][0]
    podman("start", container)
    wait_booted(container)
    ok(playbook(inventory, "failback.yml", "-e", "node=" + FAILED), "failback.yml")


def takeover(inventory, sim, clusters):
    """Kill c1-a, take it over; -> (seconds until its links were bound from c1-b, cpu, other binds)."""
    container, ip = nodes_of(1)[FAILED]
    for s in sim.state()["sessions"]:
        if s["bound"] and s["peer"].startswith(ip + ":"):
            sim.kick(s["account"])
    podman("kill", container)
    res = ok(playbook(inventory, "takeover.yml", "-e", "failed=" + FAILED), "takeover.yml")
    try:
        bound = set_bound_on_peer(sim, res["start"], timeout=60, interval=0.1)
    except TimeoutError:
        bound = None
    others = other_clusters_binds(sim, res["start"])
    seconds = float("inf") if bound is None else max(bound, res["end"]) - res["start"]
    fail_back(inventory)
    return seconds, res["cpu"], others


def process_tree(pgid):
    """(RSS bytes, CPU seconds) of every process in process group pgid (a watcher)."""
    rss = cpu = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open("/proc/%s/statm" % pid) as fh:
                rss += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            cpu += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return rss, cpu


def watcher_decisions(log, cluster, node, decision):
    with open(log, errors="replace") as fh:
        return [line for line in fh if " %s %s: %s |" % (cluster, node, decision) in line]


def watchers(inventory_root, sim, clusters, settle=60):
    """One watcher per cluster, all at once; -> dict of what they cost and how fast they acted."""
    inventory = os.path.join(inventory_root, "hosts.yml")
    ok(playbook(inventory, "watcher.yml"), "watcher.yml")
    launcher = os.path.join(inventory_root, "watch", "smsgw-watch")
    procs = {}
    started = time.time()
    for c in range(1, clusters + 1):
        log = os.path.join(inventory_root, "watch", "fleet_c%d.out" % c)
        with open(log, "w") as out:
            procs["fleet_c%d" % c] = (subprocess.Popen([launcher, "fleet_c%d" % c], cwd=inventory_root,
                                                       env=ENV, stdout=out, stderr=subprocess.STDOUT,
                                                       start_new_session=True), log)
    try:
        deadline = time.time() + 600
        for c in range(1, clusters + 1):
            proc, log = procs["fleet_c%d" % c]
            for node in nodes_of(c):
                while not watcher_decisions(log, "fleet_c%d" % c, node, "ok"):
                    if proc.poll() is not None or time.time() > deadline:
                        raise RuntimeError("watcher of fleet_c%d not watching:\n%s" % (c, open(log).read()[-4000:]))
                    time.sleep(1)
        watching = time.time() - started
        before = dict((name, process_tree(p.pid)) for name, (p, _) in procs.items())
        time.sleep(settle)
        after = dict((name, process_tree(p.pid)) for name, (p, _) in procs.items())
        cpu = sum(after[n][1] - before[n][1] for n in procs) / settle
        rss = sum(after[n][0] for n in procs)
        # a node of cluster 1 killed: the watcher alone takes it over
        killed = time.time()
        podman("kill", nodes_of(1)[FAILED][0])
        log = procs["fleet_c1"][1]
        while not watcher_decisions(log, "fleet_c1", FAILED, "takeover"):
            if time.time() > killed + 300:
                raise RuntimeError("no takeover decision:\n%s" % open(log).read()[-4000:])
            time.sleep(0.2)
        decided = time.time() - killed
        bound = set_bound_on_peer(sim, killed, timeout=300, interval=0.2)
        others = other_clusters_binds(sim, killed)
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc, _ in procs.values():
            proc.wait(timeout=60)
    fail_back(inventory)
    row = {"watchers": clusters, "watching_after": round(watching, 1), "rss_mib": round(rss / 2 ** 20),
           "cpu_share": round(cpu, 3), "settle": settle, "decided": round(decided, 1),
           "served": round(bound - killed, 1), "other_binds": others}
    print(json.dumps(row), flush=True)
    return row


def one_size(clusters, sim, reuse, watch=False):
    up(clusters)
    inventory = write_inventory(clusters)
    row = {"clusters": clusters, "nodes": 2 * clusters, "first": None}
    if not reuse:
        first = ok(playbook(inventory, "deploy.yml"), "first deploy of %d clusters" % clusters)
        row["first"] = (first["end"] - first["start"], first["cpu"])
    again = ok(playbook(inventory, "deploy.yml"), "deploy again")
    row["again"] = (again["end"] - again["start"], again["cpu"])
    status = ok(playbook(inventory, "status.yml"), "status.yml")
    row["status"] = (status["end"] - status["start"], status["cpu"])
    seconds, cpu, others = takeover(inventory, sim, clusters)
    row["takeover"] = (seconds, cpu)
    row["other_binds"] = others
    if watch:
        row["watcher"] = watchers(inventory, sim, clusters)
    print(json.dumps(row), flush=True)
    saved = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
    saved[str(clusters)] = row
    with open(RESULTS, "w") as f:
        json.dump(saved, f, indent=1, sort_keys=True)
    return row


def render(rows, deployed_before):
    head = ("| clusters (nodes) | first deploy | deploy, nothing to change | status.yml | "
            "takeover in cluster 1 | binds in the other clusters during the takeover |")
    lines = [SECTION, "",
             "Lab: %s. Fleet clusters of two Debian 12 containers reached over SSH (pipelining, "
             "ControlPersist, forks = 10 from ansible.cfg), 2 links and 2 client accounts per set, one "
             "provider simulator for all. One run each. Each cell: wall-clock s / controller CPU s "
             "(ansible-playbook and its workers, user + system) / CPU s per node. First deploy: %s. "
             "Command: `.venv/bin/python benchmarks/fleet.py --write`." % (machine(), deployed_before), "",
             head, "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = ["%.1f / %.1f / %.2f" % (r[k][0], r[k][1], r[k][1] / r["nodes"]) if r.get(k) else "not measured"
                 for k in ("first", "again", "status", "takeover")]
        binds = "-" if r.get("other_binds") is None else str(r["other_binds"])
        lines.append("| %d (%d) | %s | %s |" % (r["clusters"], r["nodes"], " | ".join(cells), binds))
    one = rows[0]
    lines.append("")
    for r in rows[1:]:
        ratios = ["%s %s" % (what, "%.2fx wall, %.2fx CPU" % (r[k][0] / one[k][0], r[k][1] / one[k][1])
                             if r.get(k) else "not measured") + " (target <= %s)" % target
                  for what, k, target in (("deploy with nothing to change", "again", "2x"),
                                          ("status", "status", "2x"), ("takeover", "takeover", "1.2x"))]
        lines.append("- %d clusters / 1: %s." % (r["clusters"], "; ".join(ratios)))
    for r in rows:
        w = r.get("watcher")
        if w:
            lines += ["", "Automatic switching on the fleet of %d: one watcher per cluster (the product's "
                      "`smsgw-watch@CLUSTER`), %d started at once on the witness (this controller), "
                      "default settings (poll every 5 s, take over after 30 s of failed polls): all "
                      "watching %.1f s after the start; together %d MiB of memory (RSS of every process "
                      "of each) and %.2f of a CPU core while watching the healthy fleet (over %d s); a "
                      "node of cluster 1 killed -> the watcher's takeover decision %.1f s, -> the last "
                      "of its links bound from the peer %.1f s (target: within the single-cluster "
                      "worst case, 45 s); binds in the other clusters meanwhile: %d."
                      % (r["clusters"], w["watchers"], w["watching_after"], w["rss_mib"], w["cpu_share"],
                         w["settle"], w["decided"], w["served"], w["other_binds"])]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", default="1,5,10")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--up", type=int, help="make the containers of N clusters, print an inventory, exit")
    ap.add_argument("--down", action="store_true", help="remove the fleet's containers, exit")
    ap.add_argument("--keep", action="store_true", help="keep the containers after the benchmark")
    ap.add_argument("--watcher", action="store_true",
                    help="on the largest fleet: one watcher per cluster, their cost and a takeover by one")
    ap.add_argument("--floor", action="store_true",
                    help="on deployed fleets: one module run per node against deploy and status")
    ap.add_argument("--runs", type=int, default=2, help="--floor: runs of each case (default %(default)s)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep deployed fleet containers and skip the first deploys (measured before)")
    a = ap.parse_args()
    if a.down:
        down()
        return
    if a.up:
        up(a.up)
        print(write_inventory(a.up))
        return
    sizes = [int(x) for x in a.sizes.split(",")]
    if not (a.reuse or a.floor):
        down()  # a first deploy on fresh containers
    up(max(sizes))  # the simulator's address exists once a container is on the network
    sim = smsc_sim.SmscSimulator(listen=SIM_LISTEN, control=None, accounts=None,
                                 events_path=os.path.join(REPO, ".lab", "bench-fleet-events.jsonl"))
    sim.start()
    if a.floor:
        try:
            print("wall-clock s / controller CPU s / busy CPU s of the whole machine; " + machine())
            print(floor(sizes, a.runs))
        finally:
            sim.stop()
        return
    try:
        for n in sizes:
            one_size(n, sim, a.reuse, watch=a.watcher and n == max(sizes))
    finally:
        sim.stop()
        if not a.keep:
            down()
    rows = sorted(json.load(open(RESULTS)).values(), key=lambda r: r["clusters"])
    publish(render(rows, "not measured (--reuse: the fleet was deployed before)" if a.reuse else
                   "fresh containers for 1; for 5 and 10 the clusters not deployed before (the others have "
                   "nothing to change)"), a.write)


if __name__ == "__main__":
    main()
