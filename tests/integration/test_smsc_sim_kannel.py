"""lab/smsc_sim.py against the real Kannel 1.4.5 daemons on loopback.

bearerbox binds an ``smsc = smpp`` transceiver link to the simulator, smsbox sends one MT through it,
the simulator sends one MO back, and a stopped bearerbox unbinds. Skipped only where Kannel is not
installed.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import smsc_sim as sim_mod  # lab/ is on sys.path (tests/conftest.py)

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
STATUS_PW = "sim-status-pw"
ADMIN_PW = "sim-admin-pw"

pytestmark = pytest.mark.skipif(not (os.access(BEARERBOX, os.X_OK) and os.access(SMSBOX, os.X_OK)),
                                reason="Kannel (bearerbox/smsbox) is not installed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode("utf-8", "replace")


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.05)


class Kannel:
    """bearerbox (+ optional smsbox) with one SMPP link to the simulator, in a temp dir."""

    def __init__(self, root, sim_port, username, password):
        self.root = root
        self.admin_port, self.box_port, self.sendsms_port = free_port(), free_port(), free_port()
        self.conf = root / "bearerbox.conf"
        self.conf.write_text("\n".join([
            "group = core",
            "admin-port = %d" % self.admin_port,
            'admin-password = "%s"' % ADMIN_PW,
            'status-password = "%s"' % STATUS_PW,
            'admin-allow-ip = "127.0.0.1"',
            'admin-deny-ip = "*.*.*.*"',
            "smsbox-port = %d" % self.box_port,
            'box-allow-ip = "127.0.0.1"',
            'box-deny-ip = "*.*.*.*"',
            'log-file = "%s"' % (root / "bearerbox.log"),
            "log-level = 1",
            "store-type = file",
            'store-location = "%s"' % (root / "kannel.store"),
            "",
            "group = smsc",
            "smsc = smpp",
            "smsc-id = A1",
            'host = "127.0.0.1"',
            "port = %d" % sim_port,
            "transceiver-mode = true",
            'smsc-username = "%s"' % username,
            'smsc-password = "%s"' % password,
            'system-type = ""',
            "",
            "group = smsbox",
            'bearerbox-host = "127.0.0.1"',
            "sendsms-port = %d" % self.sendsms_port,
            'log-file = "%s"' % (root / "smsbox.log"),
            "log-level = 1",
            "",
            "group = sendsms-user",
            'username = "u1"',
            'password = "p1"',
            "",
        ]))
        self.procs = []

    def start(self, binary):
        out = open(self.root / (Path(binary).name + ".out"), "ab")
        proc = subprocess.Popen([binary, str(self.conf)], cwd=self.root, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def status_xml(self):
        return get("http://127.0.0.1:%d/status.xml?password=%s" % (self.admin_port, STATUS_PW))

    def link_status(self, smsc_id="A1"):
        xml = self.status_xml()
        for block in re.findall(r"<smsc>(.*?)</smsc>", xml, re.S):
            if re.search(r"<id>%s</id>" % re.escape(smsc_id), block):
                return re.search(r"<status>(.*?)</status>", block).group(1)
        return None

    def sendsms(self, **params):
        query = urllib.parse.urlencode(dict(username="u1", password="p1", **params))
        try:
            return get("http://127.0.0.1:%d/cgi-bin/sendsms?%s" % (self.sendsms_port, query))
        except urllib.error.HTTPError as err:
            return "%d %s" % (err.code, err.read().decode("utf-8", "replace"))

    def terminate(self, proc, timeout=20):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)

    def log_tail(self):
        path = self.root / "bearerbox.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


@pytest.fixture
def sim(tmp_path):
    s = sim_mod.SmscSimulator(accounts={"acct1": "pw1"}, events_path=str(tmp_path / "events.jsonl"))
    s.start()
    yield s
    s.stop()


def test_kannel_binds_sends_receives_and_unbinds(sim, tmp_path):
    kannel = Kannel(tmp_path, sim.port, "acct1", "pw1")
    try:
        bearerbox = kannel.start(BEARERBOX)
        sim.wait_for(lambda: sim.state()["accounts"]["acct1"]["binds_now"] == 1, timeout=15)
        status = wait_until(lambda: (kannel.link_status() or "").startswith("online") and "online",
                            10, "link A1 online in status.xml")
        assert status == "online"
        acct = sim.state()["accounts"]["acct1"]
        assert (acct["binds_total"], acct["binds_max"], acct["peers"]) == (1, 1, ["127.0.0.1"])
        (bind,) = [e for e in sim.events() if e["event"] == "bind"]
        assert bind["bind_type"] == "transceiver" and bind["system_type"] == ""

        kannel.start(SMSBOX)
        # smsbox opens its sendsms port before it is connected to bearerbox, and a sendsms in that
        # window PANICs smsbox (gwlib/conn.c lock_out: conn != NULL): wait for it under <boxes>.
        wait_until(lambda: re.search(r"<box>\s*<type>smsbox</type>.*?<status>on-line",
                                     kannel.status_xml(), re.S), 15, "smsbox connected")
        answer = wait_until(lambda: (lambda a: "Accepted" in a and a)(
            kannel.sendsms(to="123", text="hello @ $", **{"from": "456"})),
            15, "smsbox accepting sendsms")
        assert answer.startswith("0: Accepted")
        (msg,) = sim.wait_for(lambda: sim.messages("acct1"), timeout=10)
        assert (msg["destination"], msg["source"], msg["text"]) == ("123", "456", "hello @ $")
        assert msg["message_id"]

        result = sim.deliver("acct1", "+4917000", "999", "mo text")
        assert result["ok"] and result["resp_status"] == 0, result

        sim.reset()
        assert kannel.terminate(bearerbox) is not None
        sim.wait_for(lambda: sim.state()["accounts"]["acct1"]["binds_now"] == 0, timeout=10)
        kinds = [e["event"] for e in sim.events()]
        assert "unbind" in kinds and "disconnect" not in kinds, kinds
        assert sim.state()["accounts"]["acct1"]["binds_total"] == 0  # no re-bind while stopping
    except AssertionError:
        print(kannel.log_tail())
        raise
    finally:
        kannel.close()


def test_kannel_wrong_password_is_refused_and_link_dies(tmp_path):
    # Answer binds 1 s late: a refusal within milliseconds of bearerbox's start sometimes PANICs
    # bearerbox 1.4.5 (gwlist_remove_producer assertion in bb_smscconn_killed), a Kannel race.
    with sim_mod.SmscSimulator(accounts={"acct1": "pw1"}, bind_delay=1.0) as sim:
        kannel = Kannel(tmp_path, sim.port, "acct1", "badpw")
        try:
            bearerbox = kannel.start(BEARERBOX)
            (ev,) = sim.wait_for(
                lambda: [e for e in sim.events() if e["event"] == "bind_refused"], timeout=15)
            assert ev["status"] == sim_mod.ESME_RINVPASWD
            # Kannel does not retry a refused login: the link goes dead
            wait_until(lambda: kannel.link_status() == "dead", 10, "link A1 dead after refusal")
            assert bearerbox.poll() is None, "bearerbox died"
            assert sim.state()["accounts"]["acct1"]["binds_total"] == 0
            assert sim.state()["accounts"]["acct1"]["binds_refused"] == 1
        except AssertionError:
            print(kannel.log_tail())
            raise
        finally:
            kannel.close()
