"""Delivery reports through one set, burst: dlr-storage internal against the shared Redis store.

Loopback, real daemons as the integration tests run them (tests/integration/kannel_harness.py): one
bearerbox, the set's smsbox, one SMPP link to the provider simulator (lab/smsc_sim.py, which
answers each submit that asks for a receipt with a receipt right away), and for `redis` Debian's
redis-server on a loopback port as the DLR store. A client sends a burst of N messages with
dlr-mask 3 (8 sendsms requests in flight at a time); a loopback HTTP server plays the clients'
dlr-url. Figures per storage:
  accepted/s: messages accepted by sendsms per second, first request to last answer;
  receipts/s: dlr-url calls per second, first call to last call;
  latency: from the provider's receipt (the simulator's record, made just before it writes the
  deliver_sm) to the client's dlr-url call for the same message, median and p99.
--write replaces the "Delivery reports" section of BENCHMARKS.md.
"""
import concurrent.futures
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from benchlib import REPO, arguments, machine, publish

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))
import smsc_sim  # noqa: E402
from kannel_harness import KannelLab, RedisServer  # noqa: E402
from story import ClientUrls  # noqa: E402

LINK, SET = "a1", "node-a"
ACCOUNT, ACCOUNT_PW = "acct-a1", "pw-a1"
CLIENTS = 8


def send(lab, dlr, i):
    tag = "m%05d" % i
    query = urllib.parse.urlencode({
        "username": "u-" + SET, "password": "p-" + SET, "from": "4711", "to": "+4917012345",
        "text": "burst %s" % tag, "dlr-mask": "3", "dlr-url": "%s/dlr/%s?type=%%d" % (dlr.base, tag)})
    url = "http://127.0.0.1:%d/cgi-bin/sendsms?%s" % (lab.smsbox_sets[SET], query)
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 202, resp.status
    return time.time()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def one_run(storage, count, root):
    sim = smsc_sim.SmscSimulator(listen=("127.0.0.1", 0), control=("127.0.0.1", 0),
                                 accounts={ACCOUNT: ACCOUNT_PW}, receipt_delay=0,
                                 log=open(os.devnull, "w"))
    sim.start()
    redis = RedisServer(os.path.join(root, "redis")).start() if storage == "redis" else None
    lab = KannelLab(os.path.join(root, storage), dlr=redis)
    dlr = ClientUrls("127.0.0.1", 0)
    try:
        lab.write_core(routes=[(SET, [LINK])])
        lab.add_smpp_link(LINK, sim.port, username=ACCOUNT, password=ACCOUNT_PW, active=True)
        lab.start_bearerbox()
        lab.start_smsbox(SET)
        lab.wait_status(lambda t: "<status>online" in t, timeout=20)
        load = os.getloadavg()[0]
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            accepted = list(pool.map(lambda i: send(lab, dlr, i), range(count)))
        deadline = time.time() + 600
        while len(dlr.times()) < count and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # a second call of any message would come by now
        calls = {path.rsplit("/", 1)[1]: times for path, times in dlr.times().items()}
        assert len(calls) == count, "%s: %d of %d receipts reached the client" % (
            storage, len(calls), count)
        twice = [t for t, times in calls.items() if len(times) != 1]
        assert not twice, "%s: dlr-url called more than once for %s" % (storage, twice[:5])
        ids = {m["message_id"]: m["text"].split()[-1] for m in sim.messages()}
        receipt_at = {ids[e["message_id"]]: e["t"] for e in sim.events() if e["event"] == "receipt"}
        latency = [calls[tag][0] - receipt_at[tag] for tag in calls]
        first_call = min(c[0] for c in calls.values())
        last_call = max(c[0] for c in calls.values())
        return {"storage": storage, "accepted_per_s": count / (max(accepted) - started),
                "receipts_per_s": count / (last_call - first_call),
                "all_receipts_s": last_call - started,
                "latency_median_ms": 1000 * statistics.median(latency),
                "latency_p99_ms": 1000 * percentile(latency, 99), "load": load}
    finally:
        dlr.close()
        lab.close()
        if redis:
            redis.stop()
        sim.stop()


def render(rows, count):
    lines = [
        "## Delivery reports: internal against the shared Redis store, loopback",
        "",
        "Machine: %s." % machine(),
        "",
        " ".join(__doc__.split("\n", 2)[2].split("--write")[0].split())
        + " One run of %d messages per storage, side by side; every message was accepted and its "
        "receipt reached the client exactly once. Reproduce with "
        "`.venv/bin/python benchmarks/dlr_store.py --write` (`--sizes N` for another burst)." % count,
        "",
        "| dlr-storage | accepted/s | receipts/s to the client | all receipts in (s) | latency median (ms) | latency p99 (ms) | load (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append("| %s | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f |" % (
            r["storage"], r["accepted_per_s"], r["receipts_per_s"], r["all_receipts_s"],
            r["latency_median_ms"], r["latency_p99_ms"], r["load"]))
    internal, redis = rows
    lines += [
        "",
        "Reading: sending does not wait for the store (smsbox answers before bearerbox writes the "
        "receipt entry, which happens at the provider's submit_sm_resp): accepted/s %.0f with redis "
        "against %.0f internal, within this shared machine's noise. The store costs the receipts: "
        "each one is a Redis read and delete before smsbox calls the dlr-url, so %.0f instead of "
        "%.0f receipts/s reached the client (%.2fx) and the median latency from the provider's "
        "receipt to the client's callback grew from %.1f to %.1f ms (p99 %.1f to %.1f ms). Load "
        "average at the start: %.1f / %.1f (the machine is shared; one run each)." % (
            redis["accepted_per_s"], internal["accepted_per_s"], redis["receipts_per_s"],
            internal["receipts_per_s"], redis["receipts_per_s"] / internal["receipts_per_s"],
            internal["latency_median_ms"], redis["latency_median_ms"], internal["latency_p99_ms"],
            redis["latency_p99_ms"], internal["load"], redis["load"]),
        ""]
    return "\n".join(lines)


def main():
    sizes, _runs, write = arguments(__doc__, "2000", 1)
    count = sizes[0]
    root = tempfile.mkdtemp(prefix="bench-dlr-")
    try:
        rows = []
        for storage in ("internal", "redis"):
            row = one_run(storage, count, root)
            print("%s: %s" % (storage, {k: (round(v, 2) if isinstance(v, float) else v)
                                        for k, v in row.items()}), flush=True)
            rows.append(row)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    publish(render(rows, count), write)


if __name__ == "__main__":
    main()
