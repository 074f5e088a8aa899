#!/usr/bin/env python3
"""Benchmark: ONE smsgw.cluster.kannel_link task (through ansible-playbook, local connection)
activating N links on a loopback bearerbox, against the project's SMPP simulator (any account).

    .venv/bin/python benchmarks/link_activation.py [--sizes 1,50,200] [--runs 5] [--write]

For each N: a fresh gateway layout (bearerbox.conf including smsc-active/, N SMPP link files in
smsc-available/, the loopback placeholder link), bearerbox started once; then `runs` times:
activate all N in one task (timed), check every link is online and bound at the simulator,
passivate them in one task (timed too, reported separately). Reported: wall time of the
ansible-playbook process and the module's own `elapsed`, median/min/max.
--write replaces the "Link activation, one task, loopback gateway" section of BENCHMARKS.md.
"""
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import BIN, REPO, arguments, machine, publish, stats

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import kannel_harness as h  # noqa: E402

SECTION = "## Link activation, one task, loopback gateway"


def load_sim():
    spec = importlib.util.spec_from_file_location("smsc_sim", os.path.join(REPO, "lab", "smsc_sim.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Runner(object):
    def __init__(self, workdir):
        self.workdir = workdir
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"),
                        ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "tmp"))
        with open(self.env["ANSIBLE_CONFIG"], "w") as f:
            f.write("[defaults]\nstdout_callback = ansible.builtin.minimal\n")

    def adhoc(self, args):
        started = time.monotonic()
        p = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c",
                            "local", "-m", "smsgw.cluster.kannel_link", "-a", json.dumps(args),
                            "-e", "ansible_python_interpreter=%s" % sys.executable],
                           cwd=self.workdir, env=self.env, capture_output=True, text=True,
                           check=False)
        wall = time.monotonic() - started
        if p.returncode != 0:
            raise RuntimeError("task failed:\n%s\n%s" % (p.stdout[-3000:], p.stderr[-3000:]))
        res = json.JSONDecoder().raw_decode(p.stdout[p.stdout.index(" => {") + 4:])[0]
        return res, wall


def bench(size, runs, sim_mod):
    root = tempfile.mkdtemp(prefix="kl-bench-%d-" % size)
    lab = h.KannelLab(os.path.join(root, "gw"))
    sim = sim_mod.SmscSimulator(listen=("127.0.0.1", 0), control=None, accounts=None,
                                log=open(os.devnull, "w"))
    sim.start()
    runner = Runner(root)
    ids = ["link%03d" % i for i in range(size)]
    rows = []
    try:
        for link in ids:
            lab.add_smpp_link(link, sim.port, username="acct-" + link, password="pw")
        lab.start_bearerbox()
        base = {"links": ids, "admin_url": lab.admin_url, "admin_password": h.ADMIN_PASSWORD,
                "active_dir": lab.active_dir, "available_dir": lab.available_dir,
                "wait_timeout": 120}
        for _attempt in range(runs):
            res, wall = runner.adhoc(dict(base, state="active"))
            assert res["changed"] and all(v["after"]["state"] == "online"
                                          for v in res["links"].values()), res
            bound = sum(1 for a in sim.state()["accounts"].values() if a["binds_now"])
            assert bound == size, (bound, size)
            pres, pwall = runner.adhoc(dict(base, state="passive"))
            assert pres["changed"] and lab.active_files() == []
            sim.wait_for(lambda: not any(a["binds_now"] for a in sim.state()["accounts"].values()),
                         timeout=30)
            rows.append({"wall": wall, "module": res["elapsed"],
                         "status_requests": res["status_requests"],
                         "passive_wall": pwall, "passive_module": pres["elapsed"]})
            print("N=%d activate: task %.2fs (module %.3fs, %d status reads); passivate: task %.2fs "
                  "(module %.3fs)" % (size, wall, res["elapsed"], res["status_requests"], pwall,
                                      pres["elapsed"]), flush=True)
    finally:
        lab.close()
        sim.stop()
    return rows


def render(results, runs):
    lines = [SECTION, "",
             "Machine: %s." % machine(), "",
             "What is timed: one `smsgw.cluster.kannel_link` task with `state: active` for N links, "
             "run through Ansible (`ansible localhost -c local -m smsgw.cluster.kannel_link`, "
             "i.e. controller start-up, module transfer and execution included), against a "
             "bearerbox on loopback whose smsc-active/ is empty and the SMPP simulator "
             "(`lab/smsc_sim.py`, any account). The task copies N files, reads status.xml once, "
             "sends one `graceful-restart` (bearerbox loads every new file at once), then polls "
             "status.xml (all links per read) until every link is `online`. `module` is the "
             "module's own `elapsed`; `task` is the whole `ansible` process. Between runs the "
             "links are passivated with one task (N `remove-smsc`, also reported). "
             "%d runs per size; figures are median / min / max in seconds. Reproduce with "
             "`.venv/bin/python benchmarks/link_activation.py --write`." % runs, "",
             "| links | activate: task | activate: module | module per link | status reads | "
             "passivate: task | passivate: module |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, rows in results:
        lines.append("| %d | %s | %s | %.0f ms | %s | %s | %s |" % (
            size, stats([r["wall"] for r in rows]), stats([r["module"] for r in rows]),
            1000 * statistics.median([r["module"] for r in rows]) / size,
            "/".join(str(x) for x in sorted(set(r["status_requests"] for r in rows))),
            stats([r["passive_wall"] for r in rows]), stats([r["passive_module"] for r in rows])))
    lines += ["",
              "Reading: the module time is now mostly the polls until the links are online and "
              "bearerbox's one re-read of its configuration. Ansible's own start-up and module "
              "transfer are the ~1 s of a one-link task.", "",
              "History (same machine, 5 runs, medians, 200 links): 10.9 s per task with "
              "`open_url()` per request (it builds a TLS context, ~28 ms, even for http://) and "
              "all files copied before the adds; 9.8 s with one reused `Request`/TLS context; "
              "4.6 s with each file copied just before its own `add-smsc` (bearerbox re-reads "
              "its whole configuration on every add, so the cost per link grew with the links "
              "already loaded); then one `graceful-restart` instead of N `add-smsc` (below).", ""]
    return "\n".join(lines)


def main():
    sizes, runs, write = arguments(__doc__, "1,50,200", 5)
    sim_mod = load_sim()
    results = [(n, bench(n, runs, sim_mod)) for n in sizes]
    publish(render(results, runs), write)


if __name__ == "__main__":
    main()
