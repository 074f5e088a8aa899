"""Delivery reports and incoming messages across two real bearerboxes (issue 20), on loopback.

Two bearerboxes stand for the two nodes of a cluster: the same link id, the same client set
(smsbox-id) and, with ``redis``, one Redis server (Debian's redis-server on a free loopback port) as
their delivery-report store. The SMPP simulator answers each submit that asks for a receipt with a
receipt on the session of the account bound when it is due. A tiny HTTP server stands for the
client's dlr-url and the sets' MO URLs.
"""
import http.server
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from kannel_harness import REDIS_SERVER, STATUS_PASSWORD, KannelLab, RedisServer

pytestmark = pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK),
                                reason="redis-server is not installed (scripts/setup installs it)")

LINK = "a1"
ACCOUNT, ACCOUNT_PW = "acct-a1", "pw-a1"
SET = "node-a"


class Callbacks:
    """Loopback HTTP server that records every request (path and query) it gets."""

    def __init__(self):
        calls = self.calls = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                url = urllib.parse.urlsplit(self.path)
                calls.append((time.monotonic(), url.path, dict(urllib.parse.parse_qsl(url.query))))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path):
        return [query for _, p, query in self.calls if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callbacks():
    c = Callbacks()
    yield c
    c.close()


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path / "redis")
    yield r
    r.stop()


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)


def node(tmp_path, name, sim, dlr):
    """A bearerbox with the set's link configured (not active) and the set's smsbox route."""
    lab = KannelLab(tmp_path / name, dlr=dlr)
    lab.write_core(routes=[(SET, [LINK])])
    lab.add_smpp_link(LINK, sim.port, username=ACCOUNT, password=ACCOUNT_PW)
    return lab


def activate(lab):
    """What a takeover does on the survivor: the link's group into smsc-active, add-smsc."""
    shutil.copy2(os.path.join(lab.available_dir, LINK + ".conf"), lab.active_dir)
    assert "added" in lab.admin("add-smsc", smsc=LINK)
    lab.wait_status(lambda t: online(t, LINK))


def online(status_xml, link):
    return re.search(r"<id>%s</id>\s*<status>online" % re.escape(link), status_xml)


def sendsms(lab, text, dlr_url, **extra):
    params = dict(username="u-" + SET, password="p-" + SET, to="+4917012345", text=text,
                  **{"from": "4711", "dlr-mask": "3", "dlr-url": dlr_url})
    params.update(extra)
    url = "http://127.0.0.1:%d/cgi-bin/sendsms?%s" % (lab.smsbox_sets[SET], urllib.parse.urlencode(params))
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()
    except urllib.error.HTTPError as err:
        return err.read().decode()


def dlr_queued(lab):
    m = re.search(r"<dlr>.*?<queued>(\d+)</queued>", lab.status_xml(), re.S)
    return int(m.group(1))


@pytest.mark.parametrize("storage", ["redis", "internal"])
def test_receipt_after_a_takeover_reaches_the_client_once_only_with_a_shared_store(
        tmp_path, sim, callbacks, redis, storage):
    dlr = redis.start() if storage == "redis" else None
    node_a, node_b = node(tmp_path, "node-a", sim, dlr), node(tmp_path, "node-b", sim, dlr)
    try:
        node_a.start_bearerbox()
        activate(node_a)
        node_a.start_smsbox(SET)
        # the peer runs, passive: no link loaded, the set's smsbox not started
        node_b.start_bearerbox()

        # normal operation: the receipt comes back on the node that sent the message
        sim.set_receipts(0.3)
        dlr_url = callbacks.url + "/dlr/m0?type=%d&smsc=%i&text=%A"
        assert sendsms(node_a, "before", dlr_url).startswith("0: Accepted")
        # dlr-mask 3 (delivered or failed): one call per message
        (normal,) = wait(lambda: callbacks.on("/dlr/m0"), 15, "receipt of m0")
        assert normal["type"] == "1" and normal["smsc"] == LINK
        assert "stat:DELIVRD" in normal["text"]

        # node A sends, stores the message's entry, and dies before the receipt comes (due 3 s
        # after the submit: the kill comes within ms, with room for a loaded machine)
        sim.set_receipts(3.0)
        assert sendsms(node_a, "in flight", callbacks.url + "/dlr/m1?type=%d&smsc=%i").startswith(
            "0: Accepted")
        wait(lambda: dlr_queued(node_a) == 1, 10, "node A's receipt entry")
        if dlr is not None:
            assert len(redis.dlr_keys()) == 1
        node_a.stop_bearerbox(hard=True)
        node_a.stop_smsbox(SET)
        sim.wait_for(lambda: sim.state()["accounts"][ACCOUNT]["binds_now"] == 0, timeout=10)

        # takeover: node B starts the set's smsbox and binds the account
        node_b.start_smsbox(SET)
        activate(node_b)
        (receipt,) = sim.wait_for(
            lambda: [e for e in sim.events(ACCOUNT) if e["event"] == "receipt"
                     and e["message_id"] == sim.messages(ACCOUNT)[-1]["message_id"]],
            timeout=15)
        assert receipt["session"] != sim.messages(ACCOUNT)[-1]["session"]  # node B's session
        time.sleep(3)  # a second callback (or a late one) would come within this
        calls = callbacks.on("/dlr/m1")
        if storage == "redis":
            assert [(c["type"], c["smsc"]) for c in calls] == [("1", LINK)]
            assert redis.dlr_keys() == [] and dlr_queued(node_b) == 0
        else:
            # dlr-storage internal: node B has no entry for node A's message; the receipt is lost
            assert calls == []
            with open(os.path.join(node_b.root, "bearerbox.log"), errors="replace") as f:
                assert re.search(r"DLR.* not found", f.read())
        assert sim.state()["accounts"][ACCOUNT]["binds_max"] == 1
    finally:
        node_a.close()
        node_b.close()


def test_each_sets_mo_reach_that_sets_url_only(tmp_path, sim, callbacks):
    lab = KannelLab(tmp_path / "gw")
    lab.write_core(routes=[("node-a", ["a1"]), ("node-b", ["a2"])])
    lab.add_smpp_link("a1", sim.port, username="acct-a1", password="pw-a1", active=True)
    lab.add_smpp_link("a2", sim.port, username="acct-a2", password="pw-a2", active=True)
    try:
        lab.start_bearerbox()
        for set_id in ("node-a", "node-b"):
            lab.start_smsbox(set_id, services=[{
                "keyword": "default", "catch-all": "true", "max-messages": "0",
                "get-url": callbacks.url + "/mo/%s?from=%%p&to=%%P&text=%%a" % set_id}])
        lab.wait_status(lambda t: all(online(t, link) for link in ("a1", "a2")))
        for account, text in (("acct-a1", "to set a"), ("acct-a2", "to set b"), ("acct-a1", "again a")):
            assert sim.deliver(account, "+4917099", "4711", text)["ok"]
        wait(lambda: len(callbacks.calls) == 3, 10, "three MO callbacks")
        time.sleep(0.5)
        # smsbox calls the URLs concurrently: the order of one set's calls is not kept
        assert sorted(q["text"] for q in callbacks.on("/mo/node-a")) == ["again a", "to set a"]
        assert [q["text"] for q in callbacks.on("/mo/node-b")] == ["to set b"]
        assert callbacks.on("/mo/node-a")[0]["from"] == "+4917099"
    finally:
        lab.close()


def test_bearerbox_does_not_start_while_the_store_is_down(tmp_path, sim, redis):
    # never started: nothing listens on the store's port
    lab = node(tmp_path, "node-a", sim, redis)
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="bearerbox exited rc=1"):
            lab.start_bearerbox()
        assert time.monotonic() - started < 5
        with open(os.path.join(lab.root, "bearerbox.out"), errors="replace") as f:
            assert "PANIC: DLR: Redis: database pool has no connections!" in f.read()
        assert sim.state()["accounts"].get(ACCOUNT, {}).get("binds_total", 0) == 0
    finally:
        lab.close()


def test_store_outage_stalls_the_node_and_loses_nothing_when_it_is_back(tmp_path, sim, callbacks, redis,
                                                                      ansible):
    redis.start()
    lab = node(tmp_path, "node-a", sim, redis)
    try:
        lab.start_bearerbox()
        activate(lab)
        lab.start_smsbox(SET)
        sim.set_receipts(0.3)
        redis.stop()
        # smsbox still accepts; bearerbox keeps the account bound, but every status request
        # waits for the store (a health check sees the admin interface hang)
        for i in range(3):
            assert sendsms(lab, "m%d" % i, callbacks.url + "/dlr/m%d?type=%%d" % i).startswith("0: Accepted")
        with pytest.raises(OSError):
            lab.status_xml(timeout=2)
        # kannel_info (as observe.yml runs it) names the store as the cause
        info = ansible.result("kannel_info", {
            "admin_url": lab.admin_url, "admin_password": STATUS_PASSWORD, "timeout": 2,
            "dlr_store": {"storage": "redis", "host": "127.0.0.1", "port": redis.port}})
        assert info["health"] == "degraded" and info["dlr_store_down"] and not info["reachable"], info
        assert info["reasons"][0].startswith(
            "the DLR store (redis at 127.0.0.1:%d) does not answer: cannot connect" % redis.port)
        time.sleep(2)
        # the link stalls writing its first receipt entry (1-3 of the messages reach the provider
        # first, depending on timing); no receipt is processed
        assert callbacks.calls == []
        assert lab.procs["bearerbox"].poll() is None
        redis.start()
        wait(lambda: len(callbacks.calls) == 3, 30, "the three receipts after the store is back")
        time.sleep(2)
        assert sorted(c[1] for c in callbacks.calls) == ["/dlr/m0", "/dlr/m1", "/dlr/m2"]
        assert all(c[2]["type"] == "1" for c in callbacks.calls)
        assert sorted(m["text"] for m in sim.messages(ACCOUNT)) == ["m0", "m1", "m2"]
        assert sim.state()["accounts"][ACCOUNT]["binds_max"] == 1
        assert redis.dlr_keys() == []
    finally:
        lab.close()
