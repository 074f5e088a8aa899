"""Unit tests for lab/smsc_sim.py, driven by a tiny raw-socket SMPP client (no Kannel needed)."""
from __future__ import annotations

import concurrent.futures
import json
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import smsc_sim as sim_mod  # lab/ is on sys.path (tests/conftest.py)

SIM_PATH = Path(__file__).resolve().parents[2] / "lab" / "smsc_sim.py"


ACCOUNTS = {"acct1": "pw1", "acct2": "pw2"}


# --------------------------------------------------------------------------- tiny SMPP client
class Client:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.seq = 0

    def close(self):
        self.sock.close()

    def next_seq(self):
        self.seq += 1
        return self.seq

    def send(self, command_id, body=b"", seq=None, status=0):
        seq = self.next_seq() if seq is None else seq
        self.sock.sendall(sim_mod.encode_pdu(command_id, status, seq, body))
        return seq

    def _read_exactly(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the simulator after %d of %d octets" % (len(buf), n))
            buf += chunk
        return buf

    def read(self):
        """(command_id, status, seq, body) of the next PDU."""
        header = self._read_exactly(16)
        length, command_id, status, seq = struct.unpack(">IIII", header)
        return command_id, status, seq, self._read_exactly(length - 16)

    def request(self, command_id, body=b""):
        seq = self.send(command_id, body)
        resp = self.read()
        assert resp[2] == seq, "response sequence %d != request %d" % (resp[2], seq)
        assert resp[0] == command_id | sim_mod.RESP, "got %s" % sim_mod.command_name(resp[0])
        return resp

    def bind(self, system_id, password, command_id=None, system_type=""):
        command_id = command_id or sim_mod.BIND_TRANSCEIVER
        return self.request(command_id, sim_mod.encode_bind(system_id, password, system_type))

    def submit(self, text=b"hello", source="4711", destination="123", data_coding=0, **kw):
        body = sim_mod.encode_sm(source, destination, text, data_coding=data_coding, **kw)
        return self.request(sim_mod.SUBMIT_SM, body)

    def is_closed_by_peer(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def sim(tmp_path):
    s = sim_mod.SmscSimulator(accounts=ACCOUNTS, events_path=str(tmp_path / "events.jsonl"))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def clients(sim):
    opened = []

    def connect():
        c = Client(sim.port)
        opened.append(c)
        return c

    yield connect
    for c in opened:
        c.close()


def acct(sim, name):
    return sim.state()["accounts"][name]


def http(sim, method, path, body=None, timeout=10):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (sim.control_port, path), data=data,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# --------------------------------------------------------------------------- bind
def test_bind_transceiver_ok(sim, clients, tmp_path):
    c = clients()
    command_id, status, _, body = c.bind("acct1", "pw1")
    assert command_id == sim_mod.BIND_TRANSCEIVER | sim_mod.RESP
    assert status == 0
    assert body.split(b"\x00")[0] == b"smscsim"
    sim.wait_for(lambda: acct(sim, "acct1")["binds_now"] == 1)
    a = acct(sim, "acct1")
    assert (a["binds_max"], a["binds_total"], a["unbinds"], a["peers"]) == (1, 1, 0, ["127.0.0.1"])
    assert acct(sim, "acct2")["binds_total"] == 0
    (ev,) = sim.events()
    assert ev["event"] == "bind" and ev["account"] == "acct1" and ev["binds_now"] == 1
    assert ev["bind_type"] == "transceiver" and ev["peer"].startswith("127.0.0.1:")
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["bind"]


@pytest.mark.parametrize("command_id, kind", [(sim_mod.BIND_TRANSMITTER, "transmitter"),
                                               (sim_mod.BIND_RECEIVER, "receiver")])
def test_bind_transmitter_and_receiver_accepted(sim, clients, command_id, kind):
    c = clients()
    resp = c.bind("acct2", "pw2", command_id=command_id)
    assert resp[1] == 0
    assert sim.events()[0]["bind_type"] == kind
    assert acct(sim, "acct2")["binds_now"] == 1


@pytest.mark.parametrize("system_id, password, status, reason", [
    ("acct1", "wrong", 0x0E, "wrong password"),
    ("nobody", "pw1", 0x0F, "unknown system_id"),
])
def test_bind_refused(sim, clients, system_id, password, status, reason):
    c = clients()
    resp = c.bind(system_id, password)
    assert resp[1] == status
    (ev,) = sim.events()
    assert ev["event"] == "bind_refused" and ev["account"] == system_id
    assert ev["status"] == status and ev["reason"] == reason
    a = acct(sim, "acct1")
    assert a["binds_now"] == 0 and a["binds_total"] == 0
    # a refused session is not bound: submit is rejected, closing it is not a disconnect
    assert c.submit()[1] == sim_mod.ESME_RINVBNDSTS
    c.close()
    time.sleep(0.1)  # nothing to wait for: asserting that no event appears
    assert [e["event"] for e in sim.events()] == ["bind_refused"]


def test_second_bind_on_same_session_is_refused(sim, clients):
    c = clients()
    assert c.bind("acct1", "pw1")[1] == 0
    assert c.bind("acct1", "pw1")[1] == sim_mod.ESME_RALYBND
    assert acct(sim, "acct1")["binds_total"] == 1


def test_concurrent_binds_unbind_and_disconnect(sim, clients):
    c1, c2 = clients(), clients()
    assert c1.bind("acct1", "pw1")[1] == 0
    assert c2.bind("acct1", "pw1")[1] == 0
    a = acct(sim, "acct1")
    assert (a["binds_now"], a["binds_max"], a["binds_total"]) == (2, 2, 2)

    resp = c1.request(sim_mod.UNBIND)
    assert resp[1] == 0
    assert c1.is_closed_by_peer()
    a = acct(sim, "acct1")
    assert (a["binds_now"], a["binds_max"], a["unbinds"]) == (1, 2, 1)

    c2.close()  # abrupt: no unbind
    sim.wait_for(lambda: acct(sim, "acct1")["binds_now"] == 0)
    a = acct(sim, "acct1")
    assert (a["binds_max"], a["unbinds"], a["disconnects"]) == (2, 2, 1)
    assert [(e["event"], e["binds_now"]) for e in sim.events()] == [
        ("bind", 1), ("bind", 2), ("unbind", 1), ("disconnect", 0)]


# --------------------------------------------------------------------------- PDUs
def test_submit_recorded_with_message_id(sim, clients, tmp_path):
    c = clients()
    c.bind("acct1", "pw1")
    # GSM 03.38: 0x00 '@', 0x02 '$', 0x11 '_', 0x1b 0x65 '€' (how Kannel sends data_coding 0)
    command_id, status, _, body = c.submit(b"hi@\x00\x02\x11\x1b\x65", source="4711",
                                           destination="+49123")
    assert (command_id, status) == (sim_mod.SUBMIT_SM | sim_mod.RESP, 0)
    message_id = body.rstrip(b"\x00").decode()
    assert message_id
    (msg,) = sim.messages()
    assert msg["text"] == "hi¡@$_€"
    assert (msg["source"], msg["destination"], msg["message_id"]) == ("4711", "+49123", message_id)
    assert msg["account"] == "acct1" and msg["event"] == "submit"
    # the second submit gets another id
    second = c.submit(b"x")[3].rstrip(b"\x00").decode()
    assert second != message_id
    assert acct(sim, "acct1")["submits"] == 2
    assert sim.messages(account="acct2") == []
    file_events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["message_id"] for e in file_events if e["event"] == "submit"] == [message_id, second]


def test_submit_text_codings_payload_and_udh(sim, clients):
    c = clients()
    c.bind("acct1", "pw1")
    c.submit("Жи€".encode("utf-16-be"), data_coding=8)
    c.submit("héllo".encode("latin-1"), data_coding=3)
    long_text = "y" * 300
    c.submit(b"", tlvs={sim_mod.TLV_MESSAGE_PAYLOAD: long_text.encode()})
    c.submit(bytes.fromhex("050003cc0201") + b"part", esm_class=0x40)
    texts = [m["text"] for m in sim.messages()]
    assert texts == ["Жи€", "héllo", long_text, "part"]
    assert sim.messages()[3]["udh"] == "050003cc0201"


def test_submit_before_bind_and_on_receiver(sim, clients):
    c = clients()
    assert c.submit()[1] == sim_mod.ESME_RINVBNDSTS
    c.bind("acct1", "pw1", command_id=sim_mod.BIND_RECEIVER)
    assert c.submit()[1] == sim_mod.ESME_RINVBNDSTS
    assert sim.messages() == []


def test_enquire_link_answered(sim, clients):
    c = clients()
    c.bind("acct1", "pw1")
    seq = c.send(sim_mod.ENQUIRE_LINK, seq=4242)
    command_id, status, rseq, body = c.read()
    assert (command_id, status, rseq, body) == (sim_mod.ENQUIRE_LINK | sim_mod.RESP, 0, seq, b"")
    assert acct(sim, "acct1")["enquire_links"] == 1


def test_unknown_command_gets_generic_nack(sim, clients):
    c = clients()
    seq = c.send(0x00000777, b"junk")
    assert c.read()[:3] == (sim_mod.GENERIC_NACK, sim_mod.ESME_RINVCMDID, seq)
    # the session keeps working
    assert c.bind("acct1", "pw1")[1] == 0


def test_partial_and_coalesced_pdus(sim, clients):
    c = clients()
    bind = sim_mod.encode_pdu(sim_mod.BIND_TRANSCEIVER, 0, 1, sim_mod.encode_bind("acct1", "pw1"))
    for i in range(len(bind)):  # one octet per write
        c.sock.sendall(bind[i:i + 1])
        time.sleep(0.001)
    assert c.read()[:3] == (sim_mod.BIND_TRANSCEIVER | sim_mod.RESP, 0, 1)
    burst = b"".join([
        sim_mod.encode_pdu(sim_mod.ENQUIRE_LINK, 0, 2),
        sim_mod.encode_pdu(sim_mod.SUBMIT_SM, 0, 3, sim_mod.encode_sm("1", "2", b"one")),
        sim_mod.encode_pdu(sim_mod.SUBMIT_SM, 0, 4, sim_mod.encode_sm("1", "2", b"two")),
        sim_mod.encode_pdu(sim_mod.UNBIND, 0, 5),
    ])
    c.sock.sendall(burst)
    got = [c.read()[:3] for _ in range(4)]
    assert got == [(sim_mod.ENQUIRE_LINK | sim_mod.RESP, 0, 2), (sim_mod.SUBMIT_SM | sim_mod.RESP, 0, 3),
                   (sim_mod.SUBMIT_SM | sim_mod.RESP, 0, 4), (sim_mod.UNBIND | sim_mod.RESP, 0, 5)]
    assert [m["text"] for m in sim.messages()] == ["one", "two"]
    assert c.is_closed_by_peer()


def test_invalid_command_length_closes_session(sim, clients):
    c = clients()
    c.bind("acct1", "pw1")
    c.sock.sendall(struct.pack(">IIII", 8, sim_mod.ENQUIRE_LINK, 0, 9))
    assert c.read()[:3] == (sim_mod.GENERIC_NACK, sim_mod.ESME_RINVCMDLEN, 9)
    assert c.is_closed_by_peer()
    sim.wait_for(lambda: acct(sim, "acct1")["binds_now"] == 0)
    assert sim.events()[-1]["event"] == "disconnect"


def test_any_account_mode():
    with sim_mod.SmscSimulator(accounts=None) as s:
        c = Client(s.port)
        try:
            assert c.bind("whoever", "whatever")[1] == 0
            assert s.state()["accounts"]["whoever"]["binds_now"] == 1
        finally:
            c.close()


def test_bind_delay_answers_late():
    with sim_mod.SmscSimulator(accounts=ACCOUNTS, bind_delay=0.3) as s:
        c = Client(s.port)
        try:
            t0 = time.monotonic()
            assert c.bind("acct1", "pw1")[1] == 0
            assert time.monotonic() - t0 >= 0.3
        finally:
            c.close()


def test_control_must_be_loopback():
    with pytest.raises(ValueError):
        sim_mod.SmscSimulator(control=("0.0.0.0", 0))


# --------------------------------------------------------------------------- deliver (MO)
def _answer_deliver(client):
    command_id, status, seq, body = client.read()
    assert command_id == sim_mod.DELIVER_SM
    client.send(sim_mod.DELIVER_SM | sim_mod.RESP, b"\x00", seq=seq)
    return sim_mod.decode_sm(body)


def test_deliver_via_control_api_reaches_client(sim, clients):
    c = clients()
    c.bind("acct1", "pw1")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(http, sim, "POST", "/deliver",
                          {"account": "acct1", "source": "+4917", "destination": "5555",
                           "text": "mo @ text"})
        pdu = _answer_deliver(c)
        code, result = fut.result(timeout=10)
    assert (code, result["ok"], result["resp_status"]) == (200, True, 0)
    assert (pdu["source_addr"], pdu["source_addr_ton"]) == ("4917", 1)
    assert (pdu["destination_addr"], pdu["dest_addr_ton"]) == ("5555", 0)
    assert pdu["data_coding"] == 0
    assert sim_mod.gsm_decode(pdu["short_message"]) == "mo @ text"
    ev = sim.events()[-1]
    assert (ev["event"], ev["text"], ev["account"]) == ("deliver", "mo @ text", "acct1")
    assert acct(sim, "acct1")["delivers"] == 1

    # non-GSM text goes as UCS2, through the Python API this time
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(sim.deliver, "acct1", "Shop", "5555", "Жи")
        pdu = _answer_deliver(c)
        result = fut.result(timeout=10)
    assert result["ok"] and pdu["data_coding"] == 8 and pdu["source_addr_ton"] == 5
    assert pdu["short_message"].decode("utf-16-be") == "Жи"


def test_deliver_without_suitable_session_is_404(sim, clients):
    code, result = http(sim, "POST", "/deliver",
                        {"account": "acct1", "source": "1", "destination": "2", "text": "x"})
    assert code == 404 and "error" in result
    c = clients()
    c.bind("acct1", "pw1", command_id=sim_mod.BIND_TRANSMITTER)  # transmitter cannot receive MO
    code, _ = http(sim, "POST", "/deliver",
                   {"account": "acct1", "source": "1", "destination": "2", "text": "x"})
    assert code == 404
    with pytest.raises(LookupError):
        sim.deliver("acct1", "1", "2", "x")


def test_deliver_unanswered_is_reported(sim, clients):
    c = clients()
    c.bind("acct1", "pw1")
    code, result = http(sim, "POST", "/deliver", {"account": "acct1", "source": "1",
                                                  "destination": "2", "text": "x",
                                                  "timeout": 0.3})
    assert code == 504 and result["ok"] is False and result["resp_status"] is None
    assert c.read()[0] == sim_mod.DELIVER_SM  # it was sent nonetheless


# --------------------------------------------------------------------------- control API
def test_http_control_api(sim, clients):
    assert http(sim, "GET", "/health") == (200, {"ok": True})
    code, state = http(sim, "GET", "/state")
    assert code == 200 and state["listen"] == "127.0.0.1:%d" % sim.port
    assert set(state["accounts"]) == {"acct1", "acct2"}
    assert set(state["accounts"]["acct1"]) >= {"binds_now", "binds_max", "binds_total", "unbinds",
                                               "submits", "peers"}

    c1, c2 = clients(), clients()
    c1.bind("acct1", "pw1")
    c2.bind("acct2", "pw2")
    c1.submit(b"to acct1")
    c2.submit(b"to acct2")
    code, msgs = http(sim, "GET", "/messages?account=acct2")
    assert code == 200 and [m["text"] for m in msgs] == ["to acct2"]
    assert len(http(sim, "GET", "/messages")[1]) == 2
    assert [e["event"] for e in http(sim, "GET", "/events")[1]] == ["bind", "bind", "submit", "submit"]

    c2.close()
    sim.wait_for(lambda: acct(sim, "acct2")["binds_now"] == 0)
    assert http(sim, "POST", "/reset", {})[0] == 200
    code, state = http(sim, "GET", "/state")
    a1, a2 = state["accounts"]["acct1"], state["accounts"]["acct2"]
    assert (a1["binds_now"], a1["binds_max"], a1["binds_total"], a1["submits"]) == (1, 1, 0, 0)
    assert a1["peers"] == ["127.0.0.1"] and a2["peers"] == [] and a2["binds_max"] == 0
    assert http(sim, "GET", "/events") == (200, [])

    assert http(sim, "GET", "/nope")[0] == 404
    assert http(sim, "GET", "/reset")[0] == 405
    assert http(sim, "POST", "/deliver", b"{not json")[0] == 400
    assert http(sim, "POST", "/deliver", {"account": "acct1"})[0] == 400


def test_kick_drops_sessions(sim, clients):
    c = clients()
    c.bind("acct1", "pw1")
    assert http(sim, "POST", "/kick", {"account": "acct1"}) == (200, {"kicked": 1})
    assert c.is_closed_by_peer()
    sim.wait_for(lambda: acct(sim, "acct1")["binds_now"] == 0)
    assert sim.events()[-1]["event"] == "disconnect"


def test_refused_account_binds_fail_until_accepted_again_or_reset(sim, clients):
    assert http(sim, "POST", "/refuse", {"account": "acct1"}) == (200, {"refusing": ["acct1"]})
    assert clients().bind("acct1", "pw1")[1] == sim_mod.ESME_RBINDFAIL
    assert acct(sim, "acct1")["binds_refused"] == 1 and acct(sim, "acct1")["binds_now"] == 0
    assert http(sim, "POST", "/refuse", {"account": "acct1", "refuse": False}) == (200, {"refusing": []})
    assert clients().bind("acct1", "pw1")[1] == sim_mod.ESME_ROK
    sim.refuse("acct1")
    sim.reset()
    assert clients().bind("acct1", "pw1")[1] == sim_mod.ESME_ROK
    assert http(sim, "POST", "/refuse", {"account": "acct1", "refuse": "yes"})[0] == 400


def test_wait_for_times_out(sim):
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        sim.wait_for(lambda: False, timeout=0.2)
    assert time.monotonic() - t0 < 2


# --------------------------------------------------------------------------- CLI
def test_cli_runs_and_stops_on_sigterm(tmp_path):
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"acct1": "pw1"}))
    pidfile, events = tmp_path / "sim.pid", tmp_path / "events.jsonl"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        control_port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(SIM_PATH), "--listen", "127.0.0.1:0",
         "--control", "127.0.0.1:%d" % control_port, "--accounts", str(accounts),
         "--events", str(events), "--pidfile", str(pidfile)],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        state = None
        while state is None:
            assert proc.poll() is None, proc.stderr.read()
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/state" % control_port, timeout=2) as r:
                    state = json.loads(r.read())
            except OSError:
                assert time.monotonic() < deadline, "simulator CLI did not come up"
                time.sleep(0.05)
        assert pidfile.read_text().strip() == str(proc.pid)
        port = int(state["listen"].rsplit(":", 1)[1])
        c = Client(port)
        try:
            assert c.bind("acct1", "bad")[1] == sim_mod.ESME_RINVPASWD
            assert c.bind("acct1", "pw1")[1] == 0
        finally:
            c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert '"event": "bind_refused"' in err and '"event": "bind"' in err
    assert not pidfile.exists()
    kinds = [json.loads(line)["event"] for line in events.read_text().splitlines()]
    assert kinds[:2] == ["bind_refused", "bind"] and kinds[-1] == "disconnect"


def test_cli_rejects_non_loopback_control(tmp_path):
    proc = subprocess.run([sys.executable, str(SIM_PATH), "--listen", "127.0.0.1:0",
                           "--control", "0.0.0.0:0", "--any-account"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "loopback" in proc.stderr


def test_second_bind_of_an_account_accepted_or_refused_as_set(sim, clients):
    first = clients()
    assert first.bind("acct1", "pw1")[1] == sim_mod.ESME_ROK
    assert sim.state()["second_bind"] == "accept"
    assert clients().bind("acct1", "pw1")[1] == sim_mod.ESME_ROK  # accepted: two binds at once
    assert acct(sim, "acct1")["binds_max"] == 2
    assert http(sim, "POST", "/second-bind", {"policy": "refuse"}) == (200, {"second_bind": "refuse"})
    second = clients()
    assert second.bind("acct1", "pw1")[1] == sim_mod.ESME_RALYBND
    assert second.is_closed_by_peer()  # and the session ends, so Kannel connects and binds again
    ev = sim.events()[-1]
    assert (ev["event"], ev["reason"], ev["status"]) == ("bind_refused", "second bind", sim_mod.ESME_RALYBND)
    assert clients().bind("acct2", "pw2")[1] == sim_mod.ESME_ROK  # another account: not a second bind
    assert acct(sim, "acct1")["binds_now"] == 2 and acct(sim, "acct1")["binds_refused"] == 1
    assert http(sim, "POST", "/second-bind", {"policy": "maybe"})[0] == 400
    sim.reset()
    assert sim.state()["second_bind"] == "accept"


def test_second_bind_refused_only_while_the_first_is_bound(sim, clients):
    sim.set_second_bind("refuse")
    first = clients()
    assert first.bind("acct1", "pw1")[1] == sim_mod.ESME_ROK
    first.close()
    sim.wait_for(lambda: acct(sim, "acct1")["binds_now"] == 0)
    assert clients().bind("acct1", "pw1")[1] == sim_mod.ESME_ROK


def test_bind_delay_set_through_the_control_api(sim, clients):
    assert http(sim, "POST", "/bind-delay", {"seconds": 0.3}) == (200, {"bind_delay": 0.3})
    started = time.monotonic()
    assert clients().bind("acct1", "pw1")[1] == sim_mod.ESME_ROK
    assert time.monotonic() - started >= 0.3
    assert http(sim, "POST", "/bind-delay", {"seconds": "slow"})[0] == 400
    sim.reset()
    assert sim.bind_delay == 0.0


# --------------------------------------------------------------------------- delivery receipts
def _read_receipt(client, status=0):
    """The next PDU must be a receipt deliver_sm; answer it with status; return it decoded."""
    command_id, _status, seq, body = client.read()
    assert command_id == sim_mod.DELIVER_SM, sim_mod.command_name(command_id)
    client.send(sim_mod.DELIVER_SM | sim_mod.RESP, b"\x00", seq=seq, status=status)
    return sim_mod.decode_sm(body)


def test_receipt_after_the_delay_with_the_standard_fields():
    with sim_mod.SmscSimulator(accounts=ACCOUNTS, receipt_delay=0.3) as s:
        c = Client(s.port)
        try:
            c.bind("acct1", "pw1")
            t0 = time.monotonic()
            message_id = c.submit(b"hello receipt", source="4711", destination="+4917",
                                  registered_delivery=1)[3].rstrip(b"\x00").decode()
            pdu = _read_receipt(c)
            assert time.monotonic() - t0 >= 0.3
            assert pdu["esm_class"] == sim_mod.ESM_CLASS_DELIVERY_RECEIPT
            # the receipt comes from the handset the message went to
            assert (pdu["source_addr"], pdu["destination_addr"]) == ("+4917", "4711")
            assert pdu["tlvs"][sim_mod.TLV_RECEIPTED_MESSAGE_ID] == message_id.encode() + b"\x00"
            assert pdu["tlvs"][sim_mod.TLV_MESSAGE_STATE] == b"\x02"
            text = sim_mod.gsm_decode(pdu["short_message"])
            assert re.fullmatch(r"id:%s sub:001 dlvrd:001 submit date:\d{10} done date:\d{10} "
                                r"stat:DELIVRD err:000 text:hello receipt" % message_id, text), text
            s.wait_for(lambda: s.state()["receipts"]["pending"] == 0)
            (ev,) = [e for e in s.events() if e["event"] == "receipt"]
            assert (ev["message_id"], ev["stat"], ev["account"]) == (message_id, "DELIVRD", "acct1")
            assert acct(s, "acct1")["receipts"] == 1 and acct(s, "acct1")["delivers"] == 0
            # no receipt asked for: none sent
            c.submit(b"no receipt", registered_delivery=0)
            time.sleep(0.5)
            assert acct(s, "acct1")["receipts"] == 1 and s.state()["receipts"]["pending"] == 0
        finally:
            c.close()


def test_receipt_goes_to_the_session_bound_when_it_is_due(sim, clients):
    sim.set_receipts(0.2)
    sender = clients()
    sender.bind("acct1", "pw1")
    message_id = sender.submit(b"x", registered_delivery=1)[3].rstrip(b"\x00").decode()
    sender.request(sim_mod.UNBIND)  # the node that sent it goes away before the receipt
    time.sleep(0.5)
    assert sim.state()["receipts"]["pending"] == 1  # held while the account is not bound
    other = clients()  # e.g. the survivor after a takeover
    other.bind("acct1", "pw1")
    pdu = _read_receipt(other)
    assert pdu["tlvs"][sim_mod.TLV_RECEIPTED_MESSAGE_ID] == message_id.encode() + b"\x00"
    ev = [e for e in sim.events() if e["event"] == "receipt"][-1]
    assert ev["session"] != [e for e in sim.events() if e["event"] == "submit"][0]["session"]


def test_receipt_sent_again_after_a_lost_session_and_ended_by_an_error(sim, clients):
    sim.set_receipts(0.1, "UNDELIV")
    first = clients()
    first.bind("acct1", "pw1")
    first.submit(b"x", registered_delivery=1)
    assert first.read()[0] == sim_mod.DELIVER_SM
    first.close()  # gone without answering
    second = clients()
    second.bind("acct1", "pw1")
    pdu = _read_receipt(second, status=sim_mod.ESME_RSYSERR)
    assert pdu["tlvs"][sim_mod.TLV_MESSAGE_STATE] == b"\x05"
    assert "stat:UNDELIV err:001" in sim_mod.gsm_decode(pdu["short_message"])
    sim.wait_for(lambda: sim.state()["receipts"]["pending"] == 0)
    kinds = [(e["event"], e.get("reason", "")[:22]) for e in sim.events()
             if e["event"].startswith("receipt")]
    assert kinds == [("receipt", ""), ("receipt_failed", "session closed: sessio"),
                     ("receipt", ""), ("receipt_failed", "deliver_sm_resp status")]


def test_receipt_expires_when_the_account_stays_unbound():
    with sim_mod.SmscSimulator(accounts=ACCOUNTS, receipt_delay=0, receipt_expiry=0.3) as s:
        c = Client(s.port)
        try:
            c.bind("acct1", "pw1", command_id=sim_mod.BIND_TRANSMITTER)  # cannot take deliver_sm
            message_id = c.submit(b"x", registered_delivery=1)[3].rstrip(b"\x00").decode()
            (ev,) = s.wait_for(lambda: [e for e in s.events() if e["event"] == "receipt_expired"])
            assert (ev["message_id"], ev["account"], ev["session"]) == (message_id, "acct1", None)
            assert acct(s, "acct1")["receipts"] == 0
        finally:
            c.close()


def test_receipts_set_through_the_control_api_and_reset(sim, clients):
    assert http(sim, "POST", "/receipts", {"delay": 0.1, "stat": "REJECTD"}) == (
        200, {"receipts": {"delay": 0.1, "stat": "REJECTD", "hold": False}})
    assert http(sim, "POST", "/receipts", {"delay": None}) == (
        200, {"receipts": {"delay": None, "stat": "REJECTD", "hold": False}})
    for bad in ({"delay": -1}, {"delay": "1"}, {"delay": True}, {"stat": "OK"}, {"hold": 1}):
        code, body = http(sim, "POST", "/receipts", bad)
        assert code == 400 and "error" in body, bad
    c = clients()
    c.bind("acct1", "pw1")
    c.submit(b"x", registered_delivery=1)
    time.sleep(0.4)
    assert acct(sim, "acct1")["receipts"] == 0  # receipts off
    sim.reset()
    assert sim.state()["receipts"] == {"delay": 1.0, "stat": "DELIVRD", "hold": False, "pending": 0}


def test_held_receipts_wait_until_released_then_go_to_the_session_bound_then(sim, clients):
    assert http(sim, "POST", "/receipts", {"delay": 0, "hold": True})[1]["receipts"]["hold"] is True
    sender = clients()
    sender.bind("acct1", "pw1")
    sender.submit(b"x", registered_delivery=1)
    time.sleep(0.5)
    assert acct(sim, "acct1")["receipts"] == 0 and sim.state()["receipts"]["pending"] == 1
    sender.request(sim_mod.UNBIND)
    other = clients()
    other.bind("acct1", "pw1")
    http(sim, "POST", "/receipts", {"hold": False})
    _read_receipt(other)
    assert acct(sim, "acct1")["receipts"] == 1


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_cli_rejects_a_bad_receipt_delay(value):
    proc = subprocess.run([sys.executable, str(SIM_PATH), "--listen", "127.0.0.1:0",
                           "--control", "127.0.0.1:0", "--any-account", "--receipt-delay", value],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--receipt-delay" in proc.stderr
