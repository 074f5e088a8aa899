#!/usr/bin/env python3
"""SMPP 3.4 provider (SMSC) simulator for the smsgw.cluster tests and lab. Python 3 stdlib only.

Kannel's ``smsc = smpp`` links bind to it (bind_transceiver, bind_transmitter or bind_receiver),
send enquire_link, submit_sm and unbind. Every bind, refused bind, unbind, disconnect, submit and
deliver is recorded in memory, logged to stderr and (with ``--events``) appended to a JSON-lines
file. A small HTTP/1.0 JSON control API on loopback reports the state and sends MO (deliver_sm).

Command line::

    python3 lab/smsc_sim.py --listen 10.213.74.1:2775 --control 127.0.0.1:8775 \\
        (--accounts FILE | --any-account) [--events FILE] [--pidfile FILE] \\
        [--system-id NAME] [--dc0-charset gsm|latin-1|utf-8|ascii] [--bind-delay SECONDS] \\
        [--second-bind accept|refuse] [--receipt-delay SECONDS|off] [--receipt-stat STAT] [--verbose]

``--accounts FILE``: JSON object ``{"system_id": "password", ...}``. An unknown system_id is refused
with ESME_RINVSYSID (0x0F), a wrong password with ESME_RINVPASWD (0x0E).

Control API (``--control``, loopback only; every answer is JSON)::

    GET  /health                 {"ok": true}
    GET  /state                  {"accounts": {sysid: {binds_now, binds_max, binds_total, unbinds,
                                  disconnects, submits, delivers, enquire_links, binds_refused,
                                  peers: [ip, ...]}}, "listen": "host:port", "second_bind":
                                  "accept"|"refuse", "sessions": [...]}
    GET  /messages[?account=X]   submit events (oldest first)
    GET  /events[?account=X]     all events
    POST /reset                  clear events and counters (binds_max := binds_now,
                                 peers := peers of the sessions bound now)
    POST /deliver                {"account", "source", "destination", "text"[, "data_coding"]}
                                 -> deliver_sm on one bound (transceiver/receiver) session of the
                                 account ("+49.." goes as TON international, letters as
                                 alphanumeric, other digits as TON unknown); answers {"ok", "session", "sequence", "resp_status"}
                                 (404 if no session can take it, 504 if no deliver_sm_resp in 5 s)
    POST /refuse                 {"account", "refuse": true|false} -> while true, the account's
                                 binds are answered ESME_RBINDFAIL (a provider refusing it);
                                 answers {"refusing": [account, ...]}; /reset ends every refusal
    POST /kick                   {"account"} -> drop every session of the account (TCP close,
                                 recorded as disconnect), answers {"kicked": n}
    POST /second-bind            {"policy": "accept"|"refuse"} -> how a bind of an account that is
                                 bound already (on another session) is answered: accept (counted,
                                 binds_now 2) or refuse with ESME_RALYBND and close the session,
                                 as most real providers do (recorded as bind_refused, reason
                                 "second bind"); answers
                                 {"second_bind": policy}; /reset sets accept again; also
                                 ``--second-bind``; ``/state`` shows it
    POST /bind-delay             {"seconds": x} -> answer binds x seconds late from now on (as
                                 ``--bind-delay``; see below); answers {"bind_delay": x}; /reset
                                 restores the start value
    POST /receipts               {"delay": x|null, "stat": "DELIVRD"|"UNDELIV"|...} -> how later
                                 submits that ask for a receipt are answered (as
                                 ``--receipt-delay``/``--receipt-stat``, see below); answers
                                 {"receipts": {"delay", "stat", "hold"}}; /reset restores the
                                 start values. {"hold": true} keeps every receipt that falls due
                                 (as if no session were bound) until {"hold": false}: a test
                                 switches the account to the other node in between

Delivery receipts: a submit_sm with registered_delivery & 1 is answered, ``--receipt-delay`` s
(default 1; ``off``: never) after it, with a deliver_sm (esm_class 0x04, TLVs receipted_message_id
and message_state, short_message ``id:<message_id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done
date:YYMMDDhhmm stat:DELIVRD err:000 text:<first 20 characters>``, source and destination swapped)
on the session of that account bound when it is due, not necessarily the one that submitted
(after a takeover the other node binds the account). While no session is bound, or one closes or
does not answer within 5 s, it is sent again every 0.2 s, for up to 300 s (``receipt_expiry``); an
error deliver_sm_resp ends it. ``/state`` shows ``receipts: {delay, stat, pending}``; the account
counter ``receipts`` counts receipt deliver_sm sent (``delivers`` counts MO).

Events (JSON lines; ``t`` is epoch seconds)::

    {"t", "event": "bind"|"bind_refused"|"unbind"|"disconnect"|"submit"|"deliver",
     "account", "peer": "ip:port", "session", "binds_now", ...}

``bind`` adds ``bind_type`` (transceiver|transmitter|receiver), ``system_type``,
``interface_version``; ``bind_refused`` adds ``status`` and ``reason``; ``disconnect`` means the TCP
connection of a bound session closed without unbind (it counts as an unbind: ``unbinds`` grows,
``binds_now`` drops) and adds ``reason``; ``submit`` adds ``source``, ``destination``, ``text``,
``message_id``, ``data_coding``, ``esm_class``, ``registered_delivery``, ``short_message_hex``,
``udh`` (hex or null) and ``tlvs``; ``deliver`` adds ``source``, ``destination``, ``text``,
``sequence``; ``receipt`` (a receipt deliver_sm sent) adds ``message_id``, ``stat``, ``sequence``;
``receipt_failed`` adds ``message_id`` and ``reason``; ``receipt_expired`` (no session, ``session``
null) adds ``message_id`` and ``stat``. An event is recorded before the PDU answering (or carrying) it is written, so a
client that has the response already finds the event in the state. The events file also receives
``{"event": "reset"}`` lines (never kept in memory).

``--bind-delay`` (``bind_delay``) answers binds late, like a slow provider. Kannel 1.4.5 bearerbox
sometimes PANICs (gwlist_remove_producer assertion in bb_smscconn_killed) when a bind is refused
within milliseconds of its start; a delay of ~1 s avoids that race in tests of refused binds.

Python API (tests)::

    sim = SmscSimulator(listen=("127.0.0.1", 0), control=("127.0.0.1", 0),
                        accounts={"acct": "pw"} or None (= any account), events_path=None,
                        system_id="smscsim", dc0_charset="gsm", bind_delay=0.0, verbose=False,
                        receipt_delay=1.0 (None = no receipts), receipt_stat="DELIVRD",
                        receipt_expiry=300.0)
    sim.start(); sim.port; sim.control_port
    sim.state(); sim.messages(account=None); sim.events(account=None); sim.reset()
    sim.deliver(account, source, destination, text, data_coding=None, timeout=5.0)
    sim.set_receipts(delay, stat="DELIVRD")
    sim.kick(account); sim.wait_for(lambda: ..., timeout=5.0); sim.stop()
    with SmscSimulator(...) as sim: ...
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import json
import os
import signal
import struct
import sys
import threading
import time
import traceback
import urllib.parse

# --------------------------------------------------------------------------- SMPP constants
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
QUERY_SM = 0x00000003
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
REPLACE_SM = 0x00000007
CANCEL_SM = 0x00000008
BIND_TRANSCEIVER = 0x00000009
OUTBIND = 0x0000000B
ENQUIRE_LINK = 0x00000015
SUBMIT_MULTI = 0x00000021
ALERT_NOTIFICATION = 0x00000102
DATA_SM = 0x00000103
RESP = 0x80000000

ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F

TLV_SC_INTERFACE_VERSION = 0x0210
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427

ESM_CLASS_DELIVERY_RECEIPT = 0x04
# stat: word of a receipt's text -> SMPP 3.4 message_state (5.2.28)
RECEIPT_STATES = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6,
                  "UNKNOWN": 7, "REJECTD": 8}

BIND_TYPES = {
    BIND_TRANSCEIVER: "transceiver",
    BIND_TRANSMITTER: "transmitter",
    BIND_RECEIVER: "receiver",
}

COMMAND_NAMES = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_TRANSMITTER: "bind_transmitter",
    QUERY_SM: "query_sm",
    SUBMIT_SM: "submit_sm",
    DELIVER_SM: "deliver_sm",
    UNBIND: "unbind",
    REPLACE_SM: "replace_sm",
    CANCEL_SM: "cancel_sm",
    BIND_TRANSCEIVER: "bind_transceiver",
    OUTBIND: "outbind",
    ENQUIRE_LINK: "enquire_link",
    SUBMIT_MULTI: "submit_multi",
    ALERT_NOTIFICATION: "alert_notification",
    DATA_SM: "data_sm",
}

HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024


def command_name(command_id):
    if command_id in COMMAND_NAMES:
        return COMMAND_NAMES[command_id]
    if command_id & RESP and (command_id & ~RESP) in COMMAND_NAMES:
        return COMMAND_NAMES[command_id & ~RESP] + "_resp"
    return "0x%08x" % command_id


class PduError(ValueError):
    """A PDU body that cannot be decoded."""


# --------------------------------------------------------------------------- PDU encode/decode
def encode_pdu(command_id, command_status, sequence_number, body=b""):
    return HEADER.pack(HEADER.size + len(body), command_id, command_status, sequence_number) + body


def decode_header(data):
    """(command_length, command_id, command_status, sequence_number) from the first 16 bytes."""
    return HEADER.unpack_from(data, 0)


def cstring(value, encoding="latin-1"):
    if isinstance(value, str):
        value = value.encode(encoding)
    return value + b"\x00"


def encode_tlv(tag, value):
    return struct.pack(">HH", tag, len(value)) + value


class BodyReader:
    """Sequential reader over a PDU body; raises PduError on truncation."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def remaining(self):
        return len(self.data) - self.pos

    def cstring(self, max_len=256):
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise PduError("C-string without NUL at offset %d" % self.pos)
        if end - self.pos >= max_len:
            raise PduError("C-string too long at offset %d" % self.pos)
        value = self.data[self.pos:end]
        self.pos = end + 1
        return value.decode("latin-1")

    def u8(self):
        if self.remaining() < 1:
            raise PduError("body truncated at offset %d" % self.pos)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, n):
        if self.remaining() < n:
            raise PduError("body truncated: need %d octets at offset %d" % (n, self.pos))
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        return value

    def tlvs(self):
        out = {}
        while self.remaining() > 0:
            if self.remaining() < 4:
                raise PduError("truncated TLV header at offset %d" % self.pos)
            tag, length = struct.unpack_from(">HH", self.data, self.pos)
            self.pos += 4
            out[tag] = self.octets(length)
        return out


def decode_bind(body):
    r = BodyReader(body)
    return {
        "system_id": r.cstring(66),
        "password": r.cstring(66),
        "system_type": r.cstring(66),
        "interface_version": r.u8(),
        "addr_ton": r.u8(),
        "addr_npi": r.u8(),
        "address_range": r.cstring(41),
    }


def encode_bind(system_id, password, system_type="", interface_version=0x34, addr_ton=0,
                addr_npi=0, address_range=""):
    return (cstring(system_id) + cstring(password) + cstring(system_type)
            + bytes([interface_version, addr_ton, addr_npi]) + cstring(address_range))


def decode_sm(body):
    """Decode a submit_sm or deliver_sm body (same layout)."""
    r = BodyReader(body)
    pdu = {
        "service_type": r.cstring(6),
        "source_addr_ton": r.u8(),
        "source_addr_npi": r.u8(),
        "source_addr": r.cstring(21),
        "dest_addr_ton": r.u8(),
        "dest_addr_npi": r.u8(),
        "destination_addr": r.cstring(21),
        "esm_class": r.u8(),
        "protocol_id": r.u8(),
        "priority_flag": r.u8(),
        "schedule_delivery_time": r.cstring(17),
        "validity_period": r.cstring(17),
        "registered_delivery": r.u8(),
        "replace_if_present_flag": r.u8(),
        "data_coding": r.u8(),
        "sm_default_msg_id": r.u8(),
    }
    sm_length = r.u8()
    pdu["short_message"] = r.octets(sm_length)
    pdu["tlvs"] = r.tlvs()
    return pdu


def encode_sm(source_addr, destination_addr, short_message, data_coding=0, esm_class=0,
              source_addr_ton=1, source_addr_npi=1, dest_addr_ton=1, dest_addr_npi=1,
              service_type="", protocol_id=0, priority_flag=0, schedule_delivery_time="",
              validity_period="", registered_delivery=0, replace_if_present_flag=0,
              sm_default_msg_id=0, tlvs=None):
    """Encode a submit_sm/deliver_sm body; a short_message over 254 octets goes in message_payload."""
    tlvs = dict(tlvs or {})
    if len(short_message) > 254:
        tlvs[TLV_MESSAGE_PAYLOAD] = short_message
        short_message = b""
    body = (cstring(service_type) + bytes([source_addr_ton, source_addr_npi]) + cstring(source_addr)
            + bytes([dest_addr_ton, dest_addr_npi]) + cstring(destination_addr)
            + bytes([esm_class, protocol_id, priority_flag]) + cstring(schedule_delivery_time)
            + cstring(validity_period)
            + bytes([registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id,
                     len(short_message)])
            + short_message)
    for tag, value in tlvs.items():
        body += encode_tlv(tag, value)
    return body


# --------------------------------------------------------------------------- text coding
# GSM 03.38 default alphabet (unpacked septets, one per octet) and its extension table.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(GSM_BASIC) == 128
GSM_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
           0x3E: "]", 0x40: "|", 0x65: "€"}
GSM_ENCODE = {ch: bytes([i]) for i, ch in enumerate(GSM_BASIC) if i != 0x1B}
GSM_ENCODE.update({ch: bytes([0x1B, code]) for code, ch in GSM_EXT.items()})


def gsm_decode(data):
    out = []
    escape = False
    for octet in data:
        octet &= 0x7F
        if escape:
            out.append(GSM_EXT.get(octet, GSM_BASIC[octet]))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(GSM_BASIC[octet])
    return "".join(out)


def gsm_encode(text):
    """Unpacked GSM 03.38 octets, or None if a character is not in the alphabet."""
    out = bytearray()
    for ch in text:
        code = GSM_ENCODE.get(ch)
        if code is None:
            return None
        out += code
    return bytes(out)


def decode_text(data, data_coding, dc0_charset="gsm"):
    """(text, charset used) for a short message by its SMPP data_coding."""
    if data_coding in (0x00, 0x01):
        charset = dc0_charset if data_coding == 0 else "ascii"
    elif data_coding == 0x03:
        charset = "latin-1"
    elif data_coding == 0x06:
        charset = "iso8859-5"
    elif data_coding == 0x07:
        charset = "iso8859-8"
    elif data_coding == 0x08:
        charset = "ucs2"
    elif data_coding in (0x02, 0x04):
        charset = "binary"
    elif 0xF0 <= data_coding <= 0xFF:
        charset = "binary" if data_coding & 0x04 else "gsm"
    elif 0x10 <= data_coding <= 0x3F:  # GSM 03.38 general data coding group
        charset = {0: "gsm", 1: "binary", 2: "ucs2"}.get((data_coding >> 2) & 0x03, "latin-1")
    else:
        charset = "latin-1"
    if charset == "gsm":
        return gsm_decode(data), charset
    if charset == "ucs2":
        return data.decode("utf-16-be", errors="replace"), charset
    if charset == "binary":
        return data.hex(), charset
    return data.decode(charset, errors="replace"), charset


def encode_text(text, data_coding=None, dc0_charset="gsm"):
    """(octets, data_coding) for an MO text: GSM default alphabet if possible, else UCS2."""
    if data_coding is None:
        octets = gsm_encode(text) if dc0_charset == "gsm" else None
        if dc0_charset != "gsm":
            try:
                octets = text.encode(dc0_charset)
            except UnicodeEncodeError:
                octets = None
        if octets is not None:
            return octets, 0
        return text.encode("utf-16-be"), 8
    if data_coding == 0:
        if dc0_charset == "gsm":
            octets = gsm_encode(text)
            if octets is None:
                raise ValueError("text is not in the GSM 03.38 alphabet")
            return octets, 0
        return text.encode(dc0_charset), 0
    if data_coding == 1:
        return text.encode("ascii"), 1
    if data_coding == 3:
        return text.encode("latin-1"), 3
    if data_coding == 8:
        return text.encode("utf-16-be"), 8
    raise ValueError("unsupported data_coding %r for deliver" % (data_coding,))


def check_receipts(delay, stat):
    """ValueError unless delay (seconds or None) and stat are valid receipt settings."""
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float))
                              or not 0 <= delay <= 3600):
        raise ValueError("delay must be a number of seconds from 0 to 3600, or null (no receipts)")
    if stat not in RECEIPT_STATES:
        raise ValueError("stat must be one of %s" % ", ".join(sorted(RECEIPT_STATES)))


def receipt_text(message_id, submitted, done, stat="DELIVRD", text=""):
    """The short_message of a delivery receipt in the de-facto standard format (SMPP 3.4
    appendix B), which Kannel parses when a receipt lacks the message_state TLV."""
    delivered = 1 if stat == "DELIVRD" else 0
    return "id:%s sub:001 dlvrd:%03d submit date:%s done date:%s stat:%s err:%03d text:%s" % (
        message_id, delivered, time.strftime("%y%m%d%H%M", time.gmtime(submitted)),
        time.strftime("%y%m%d%H%M", time.gmtime(done)), stat, 0 if delivered else 1, text[:20])


# --------------------------------------------------------------------------- helpers
def parse_hostport(value):
    """'host:port' or '[v6]:port' -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("expected HOST:PORT, got %r" % value)
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fmt_hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class _Account:
    __slots__ = ("binds_now", "binds_max", "binds_total", "unbinds", "disconnects", "submits",
                 "delivers", "receipts", "enquire_links", "binds_refused", "peers")

    def __init__(self):
        self.binds_now = 0
        self.binds_max = 0
        self.binds_total = 0
        self.unbinds = 0
        self.disconnects = 0
        self.submits = 0
        self.delivers = 0
        self.receipts = 0
        self.enquire_links = 0
        self.binds_refused = 0
        self.peers = set()

    def as_dict(self):
        d = {name: getattr(self, name) for name in self.__slots__ if name != "peers"}
        d["peers"] = sorted(self.peers)
        return d


class _Session:
    def __init__(self, sim, sid, reader, writer):
        self.sim = sim
        self.id = sid
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer_ip = peer[0]
        self.peer = fmt_hostport(peer[0], peer[1])
        self.account = None
        self.bind_type = None
        self.bound = False
        self.closing = False
        self.seq = itertools.count(1)
        self.pending = {}  # sequence -> future for responses to our requests
        self.bound_at = None

    def next_seq(self):
        return next(self.seq) & 0x7FFFFFFF or next(self.seq)

    def send(self, command_id, status, seq, body=b""):
        if self.writer.is_closing():
            return
        self.writer.write(encode_pdu(command_id, status, seq, body))
        if self.sim.verbose:
            self.sim._log("session %d -> %s status=0x%02x seq=%d" % (
                self.id, command_name(command_id), status, seq))

    def describe(self):
        return {"session": self.id, "peer": self.peer, "account": self.account,
                "bind_type": self.bind_type, "bound": self.bound, "bound_at": self.bound_at}


# --------------------------------------------------------------------------- simulator
class SmscSimulator:
    """SMPP 3.4 SMSC simulator running its own asyncio loop in a daemon thread (start once)."""

    def __init__(self, listen=("127.0.0.1", 0), control=("127.0.0.1", 0), accounts=None,
                 events_path=None, system_id="smscsim", dc0_charset="gsm", verbose=False,
                 log=None, bind_delay=0.0, second_bind="accept", receipt_delay=1.0,
                 receipt_stat="DELIVRD", receipt_expiry=300.0):
        if control is not None and not is_loopback(control[0]):
            raise ValueError("the control API listens on loopback only, not %r" % (control[0],))
        self.listen_addr = (listen[0], int(listen[1]))
        self.control_addr = None if control is None else (control[0], int(control[1]))
        self.accounts = None if accounts is None else dict(accounts)
        self.events_path = events_path
        self.system_id = system_id
        self.dc0_charset = dc0_charset
        self.verbose = verbose
        self.bind_delay = self._initial_bind_delay = float(bind_delay)
        self._refused = set()
        self.set_second_bind(second_bind)
        self._initial_receipts = (receipt_delay, receipt_stat)
        self.set_receipts(receipt_delay, receipt_stat)
        self.receipt_expiry = float(receipt_expiry)
        self._receipt_tasks = {}  # message_id -> asyncio task delivering its receipt
        self._log_stream = log
        self.port = None
        self.control_port = None
        self._lock = threading.RLock()
        self._events = []
        self._stats = {}
        if self.accounts is not None:
            for name in self.accounts:
                self._stats[name] = _Account()
        self._sessions = {}
        self._session_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._msgid_prefix = "%06x" % (int(time.time()) & 0xFFFFFF)
        self._events_file = None
        self._loop = None
        self._thread = None
        self._servers = []
        self._started = threading.Event()
        self._start_error = None
        self._stopping = None

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout=10.0):
        if self._thread is not None:
            raise RuntimeError("already started")
        if self.events_path:
            self._events_file = open(self.events_path, "a", encoding="utf-8")
        self._thread = threading.Thread(target=self._run, name="smsc-sim", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("simulator did not start within %ss" % timeout)
        if self._start_error is not None:
            self._thread.join(timeout)
            self._thread = None
            if self._events_file is not None:
                self._events_file.close()
                self._events_file = None
            raise self._start_error
        return self

    def stop(self, timeout=10.0):
        if self._thread is None:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:
                pass
        self._thread.join(timeout)
        self._thread = None
        if self._events_file is not None:
            self._events_file.close()
            self._events_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start() or logged
            if not self._started.is_set():
                self._start_error = exc
                self._started.set()
            else:
                self._log("simulator loop failed: %r" % (exc,))
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self):
        self._stopping = asyncio.Event()
        smpp = await asyncio.start_server(self._handle_smpp, self.listen_addr[0],
                                          self.listen_addr[1], reuse_address=True)
        self._servers.append(smpp)
        self.port = smpp.sockets[0].getsockname()[1]
        if self.control_addr is not None:
            ctl = await asyncio.start_server(self._handle_http, self.control_addr[0],
                                             self.control_addr[1], reuse_address=True)
            self._servers.append(ctl)
            self.control_port = ctl.sockets[0].getsockname()[1]
        self._log("listening for SMPP on %s, control API on %s" % (
            self.listen, "-" if self.control_port is None
            else fmt_hostport(self.control_addr[0], self.control_port)))
        self._started.set()
        await self._stopping.wait()
        for task in list(self._receipt_tasks.values()):
            task.cancel()
        for server in self._servers:
            server.close()
        for session in list(self._sessions.values()):
            session.closing = True
            session.writer.close()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                pass
        # let the session handlers record their disconnects
        for _ in range(50):
            if not self._sessions:
                break
            await asyncio.sleep(0.01)

    @property
    def listen(self):
        return fmt_hostport(self.listen_addr[0], self.port or self.listen_addr[1])

    # ------------------------------------------------------------ recording
    def _log(self, line):
        stream = self._log_stream or sys.stderr
        try:
            stream.write("%s smsc_sim: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), line))
            stream.flush()
        except (OSError, ValueError):
            pass

    def _account(self, name):
        acct = self._stats.get(name)
        if acct is None:
            acct = self._stats[name] = _Account()
        return acct

    def _record(self, event, session, account=None, **fields):
        """Record an event of session (None: of account, on no session)."""
        if session is not None:
            account = session.account
        with self._lock:
            acct = self._stats.get(account) if account is not None else None
            ev = {"t": time.time(), "event": event, "account": account,
                  "peer": session.peer if session else None,
                  "session": session.id if session else None,
                  "binds_now": acct.binds_now if acct else 0}
            ev.update(fields)
            self._events.append(ev)
            line = json.dumps(ev, ensure_ascii=False, sort_keys=False)
            if self._events_file is not None:
                try:
                    self._events_file.write(line + "\n")
                    self._events_file.flush()
                except (OSError, ValueError) as exc:
                    self._log("cannot write events file: %s" % exc)
        self._log(line)
        return ev

    def _unbound(self, session, event, **fields):
        """Session leaves the bound state (unbind or disconnect)."""
        if not session.bound:
            return
        with self._lock:
            session.bound = False
            acct = self._account(session.account)
            acct.binds_now -= 1
            acct.unbinds += 1
            if event == "disconnect":
                acct.disconnects += 1
        self._record(event, session, bind_type=session.bind_type, **fields)

    # ------------------------------------------------------------ SMPP
    async def _handle_smpp(self, reader, writer):
        session = _Session(self, next(self._session_ids), reader, writer)
        with self._lock:
            self._sessions[session.id] = session
        reason = "peer closed the connection"
        try:
            while True:
                try:
                    header = await reader.readexactly(HEADER.size)
                except asyncio.IncompleteReadError as exc:
                    reason = ("peer closed the connection" if not exc.partial
                              else "peer closed the connection inside a PDU header")
                    break
                length, command_id, status, seq = decode_header(header)
                if length < HEADER.size or length > MAX_PDU:
                    session.send(GENERIC_NACK, ESME_RINVCMDLEN, seq)
                    reason = "invalid command_length %d" % length
                    break
                try:
                    body = await reader.readexactly(length - HEADER.size)
                except asyncio.IncompleteReadError:
                    reason = "peer closed the connection inside a PDU"
                    break
                if self.verbose:
                    self._log("session %d <- %s status=0x%02x seq=%d len=%d" % (
                        session.id, command_name(command_id), status, seq, length))
                if command_id in BIND_TYPES and self.bind_delay > 0:
                    await asyncio.sleep(self.bind_delay)
                if not self._dispatch(session, command_id, status, seq, body):
                    reason = "unbind"
                    break
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            reason = "connection error: %s" % (exc,)
        except asyncio.CancelledError:
            reason = "simulator stopping"
        except Exception as exc:  # noqa: BLE001 - a simulator bug must not go unnoticed
            reason = "simulator error: %r" % (exc,)
            self._log("session %d: %s\n%s" % (session.id, reason, traceback.format_exc()))
        finally:
            if session.closing and reason == "peer closed the connection":
                reason = "closed by the simulator"
            self._unbound(session, "disconnect", reason=reason)
            for fut in session.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("session closed"))
            with self._lock:
                self._sessions.pop(session.id, None)
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 1)
            except (Exception, asyncio.CancelledError):  # noqa: BLE001
                pass

    def _dispatch(self, session, command_id, status, seq, body):
        """Handle one PDU; False ends the session (after unbind_resp)."""
        if command_id in BIND_TYPES:
            self._on_bind(session, command_id, seq, body)
        elif command_id == ENQUIRE_LINK:
            if session.bound:
                with self._lock:
                    self._account(session.account).enquire_links += 1
            session.send(ENQUIRE_LINK | RESP, ESME_ROK, seq)
        elif command_id == SUBMIT_SM:
            self._on_submit(session, seq, body)
        elif command_id == UNBIND:
            self._unbound(session, "unbind")
            session.send(UNBIND | RESP, ESME_ROK, seq)
            return False
        elif command_id & RESP:
            fut = session.pending.pop(seq, None)
            if fut is not None and not fut.done():
                fut.set_result((command_id, status))
            elif command_id == UNBIND | RESP:
                return False
        else:
            session.send(GENERIC_NACK, ESME_RINVCMDID, seq)
        return True

    def _on_bind(self, session, command_id, seq, body):
        resp_id = command_id | RESP
        if session.bound:
            session.send(resp_id, ESME_RALYBND, seq, cstring(self.system_id))
            return
        try:
            bind = decode_bind(body)
        except PduError as exc:
            session.send(resp_id, ESME_RBINDFAIL, seq, cstring(self.system_id))
            self._log("session %d: undecodable bind: %s" % (session.id, exc))
            return
        sysid, password = bind["system_id"], bind["password"]
        refusal = None
        if sysid in self._refused:
            refusal = (ESME_RBINDFAIL, "refused through the control API")
        elif self.second_bind == "refuse" and sysid in self._stats and self._stats[sysid].binds_now:
            refusal = (ESME_RALYBND, "second bind")
        elif self.accounts is not None:
            if sysid not in self.accounts:
                refusal = (ESME_RINVSYSID, "unknown system_id")
            elif self.accounts[sysid] != password:
                refusal = (ESME_RINVPASWD, "wrong password")
        if refusal is not None:
            session.account = sysid
            with self._lock:
                if sysid in self._stats:
                    self._stats[sysid].binds_refused += 1
            self._record("bind_refused", session, bind_type=BIND_TYPES[command_id],
                         status=refusal[0], reason=refusal[1], system_type=bind["system_type"])
            session.account = None
            session.send(resp_id, refusal[0], seq, cstring(self.system_id))
            if refusal[1] == "second bind":
                # Such a provider also ends the session; Kannel 1.4.5 would otherwise sit on the
                # open, unbound connection and never bind again (measured).
                session.closing = True
                session.writer.close()
            return
        with self._lock:
            session.account = sysid
            session.bind_type = BIND_TYPES[command_id]
            session.bound = True
            session.bound_at = time.time()
            acct = self._account(sysid)
            acct.binds_now += 1
            acct.binds_total += 1
            acct.binds_max = max(acct.binds_max, acct.binds_now)
            acct.peers.add(session.peer_ip)
        self._record("bind", session, bind_type=session.bind_type,
                     system_type=bind["system_type"],
                     interface_version=bind["interface_version"])
        session.send(resp_id, ESME_ROK, seq,
                     cstring(self.system_id) + encode_tlv(TLV_SC_INTERFACE_VERSION, b"\x34"))

    def _on_submit(self, session, seq, body):
        if not session.bound or session.bind_type == "receiver":
            session.send(SUBMIT_SM | RESP, ESME_RINVBNDSTS, seq)
            return
        try:
            sm = decode_sm(body)
        except PduError as exc:
            session.send(SUBMIT_SM | RESP, ESME_RINVMSGLEN, seq)
            self._log("session %d: undecodable submit_sm: %s" % (session.id, exc))
            return
        payload = sm["short_message"]
        if not payload and TLV_MESSAGE_PAYLOAD in sm["tlvs"]:
            payload = sm["tlvs"][TLV_MESSAGE_PAYLOAD]
        udh = None
        if sm["esm_class"] & 0x40 and payload:
            udh_len = payload[0] + 1
            udh, payload = payload[:udh_len], payload[udh_len:]
        text, charset = decode_text(payload, sm["data_coding"], self.dc0_charset)
        message_id = "%s%06x" % (self._msgid_prefix, next(self._message_ids))
        with self._lock:
            self._account(session.account).submits += 1
        self._record(
            "submit", session, source=sm["source_addr"], destination=sm["destination_addr"],
            text=text, message_id=message_id, data_coding=sm["data_coding"], charset=charset,
            esm_class=sm["esm_class"], registered_delivery=sm["registered_delivery"],
            source_ton=sm["source_addr_ton"], source_npi=sm["source_addr_npi"],
            dest_ton=sm["dest_addr_ton"], dest_npi=sm["dest_addr_npi"],
            service_type=sm["service_type"], short_message_hex=sm["short_message"].hex(),
            udh=None if udh is None else udh.hex(),
            tlvs={"0x%04x" % tag: value.hex() for tag, value in sm["tlvs"].items()},
            sequence=seq)
        session.send(SUBMIT_SM | RESP, ESME_ROK, seq, cstring(message_id))
        if sm["registered_delivery"] & 0x01 and self.receipt_delay is not None:
            self._receipt_tasks[message_id] = asyncio.get_running_loop().create_task(self._receipt(
                session.account, message_id, sm, text, time.time(), self.receipt_delay,
                self.receipt_stat))

    def _receiving_session(self, account):
        """The account's session that takes deliver_sm now (the oldest bound transceiver or
        receiver), whichever peer bound it; None if there is none."""
        with self._lock:
            candidates = [s for s in self._sessions.values()
                          if s.bound and s.account == account
                          and s.bind_type in ("transceiver", "receiver")
                          and not s.writer.is_closing()]
        return min(candidates, key=lambda s: s.id) if candidates else None

    async def _receipt(self, account, message_id, sm, text, submitted, delay, stat):
        """Deliver the receipt of one submit `delay` s after it, on the session of the account
        bound at that moment (after a takeover: the other node's), like a provider: while no
        session is bound, or one closes or does not answer, it is sent again, until
        receipt_expiry s after it was due. A deliver_sm_resp with an error status ends it."""
        try:
            await asyncio.sleep(delay)
            deadline = time.monotonic() + self.receipt_expiry
            short_message = receipt_text(message_id, submitted, time.time(), stat,
                                         "".join(c for c in text if c in GSM_ENCODE))
            body = encode_sm(sm["destination_addr"], sm["source_addr"],
                             gsm_encode(short_message), esm_class=ESM_CLASS_DELIVERY_RECEIPT,
                             source_addr_ton=sm["dest_addr_ton"],
                             source_addr_npi=sm["dest_addr_npi"],
                             dest_addr_ton=sm["source_addr_ton"],
                             dest_addr_npi=sm["source_addr_npi"],
                             tlvs={TLV_RECEIPTED_MESSAGE_ID: cstring(message_id),
                                   TLV_MESSAGE_STATE: bytes([RECEIPT_STATES[stat]])})
            while True:
                session = None if self.receipts_held else self._receiving_session(account)
                if session is not None:
                    failure = await self._send_receipt(session, body, message_id, stat)
                    if failure is None:
                        return
                    self._record("receipt_failed", session, message_id=message_id,
                                 reason=failure)
                    if failure.startswith("deliver_sm_resp status"):
                        return
                if time.monotonic() >= deadline:
                    self._record("receipt_expired", None, account=account,
                                 message_id=message_id, stat=stat)
                    return
                await asyncio.sleep(0.2)
        finally:
            self._receipt_tasks.pop(message_id, None)

    async def _send_receipt(self, session, body, message_id, stat):
        """One deliver_sm of a receipt; None when answered OK, else why not."""
        seq = session.next_seq()
        fut = asyncio.get_running_loop().create_future()
        session.pending[seq] = fut
        with self._lock:
            self._account(session.account).receipts += 1
        self._record("receipt", session, message_id=message_id, stat=stat, sequence=seq)
        session.send(DELIVER_SM, ESME_ROK, seq, body)
        try:
            await session.writer.drain()
            command_id, status = await asyncio.wait_for(fut, 5.0)
        except asyncio.TimeoutError:
            session.pending.pop(seq, None)
            return "no deliver_sm_resp within 5 s"
        except (ConnectionError, OSError) as exc:
            return "session closed: %s" % (exc,)
        if command_id != DELIVER_SM | RESP or status != ESME_ROK:
            return "deliver_sm_resp status 0x%02x (%s)" % (status, command_name(command_id))
        return None

    @staticmethod
    def _address(addr):
        """(ton, npi, digits): '+49..' international, letters alphanumeric, else unknown/ISDN."""
        if addr.startswith("+"):
            return 1, 1, addr[1:]
        if any(c.isalpha() for c in addr):
            return 5, 0, addr
        return 0, 1, addr

    async def _deliver(self, account, source, destination, text, data_coding=None, timeout=5.0):
        session = self._receiving_session(account)
        if session is None:
            raise LookupError("no transceiver/receiver session of account %r is bound" % (account,))
        octets, dc = encode_text(text, data_coding, self.dc0_charset)
        src_ton, src_npi, src = self._address(source)
        dst_ton, dst_npi, dst = self._address(destination)
        body = encode_sm(src, dst, octets, data_coding=dc, source_addr_ton=src_ton,
                         source_addr_npi=src_npi, dest_addr_ton=dst_ton, dest_addr_npi=dst_npi)
        seq = session.next_seq()
        fut = asyncio.get_running_loop().create_future()
        session.pending[seq] = fut
        with self._lock:
            self._account(account).delivers += 1
        self._record("deliver", session, source=source, destination=destination, text=text,
                     data_coding=dc, sequence=seq)
        session.send(DELIVER_SM, ESME_ROK, seq, body)
        await session.writer.drain()
        result = {"ok": True, "session": session.id, "sequence": seq, "resp_status": None}
        try:
            command_id, status = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            session.pending.pop(seq, None)
            result["ok"] = False
            result["error"] = "no deliver_sm_resp within %ss" % timeout
            return result
        result["resp_status"] = status
        result["resp_command"] = command_name(command_id)
        result["ok"] = command_id == DELIVER_SM | RESP and status == ESME_ROK
        return result

    async def _kick(self, account):
        with self._lock:
            sessions = [s for s in self._sessions.values() if s.account == account and s.bound]
        for s in sessions:
            s.closing = True
            s.writer.close()
        return len(sessions)

    # ------------------------------------------------------------ queries (any thread)
    def state(self):
        with self._lock:
            return {
                "accounts": {name: acct.as_dict() for name, acct in sorted(self._stats.items())},
                "listen": self.listen,
                "second_bind": self.second_bind,
                "receipts": {"delay": self.receipt_delay, "stat": self.receipt_stat,
                             "hold": self.receipts_held, "pending": len(self._receipt_tasks)},
                "sessions": [s.describe() for s in sorted(self._sessions.values(),
                                                          key=lambda s: s.id)],
            }

    def events(self, account=None):
        with self._lock:
            return [dict(e) for e in self._events if account is None or e["account"] == account]

    def messages(self, account=None):
        return [e for e in self.events(account) if e["event"] == "submit"]

    def reset(self):
        with self._lock:
            self._events.clear()
            self._refused.clear()
            self.second_bind = "accept"
            self.bind_delay = self._initial_bind_delay
            self.set_receipts(*self._initial_receipts)
            bound = {}
            for s in self._sessions.values():
                if s.bound:
                    bound.setdefault(s.account, set()).add(s.peer_ip)
            for name, acct in list(self._stats.items()):
                if self.accounts is None and name not in bound:
                    del self._stats[name]
                    continue
                acct.binds_max = acct.binds_now
                acct.binds_total = acct.unbinds = acct.disconnects = acct.submits = 0
                acct.delivers = acct.receipts = acct.enquire_links = acct.binds_refused = 0
                acct.peers = set(bound.get(name, ()))
            if self._events_file is not None:
                self._events_file.write(json.dumps({"t": time.time(), "event": "reset"}) + "\n")
                self._events_file.flush()
        self._log("reset")

    def _call(self, coro, timeout):
        if self._loop is None or self._thread is None:
            coro.close()
            raise RuntimeError("simulator not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def deliver(self, account, source, destination, text, data_coding=None, timeout=5.0):
        """Send deliver_sm (MO) on one bound session of account; returns the result dict.

        Raises LookupError if no transceiver/receiver session of the account is bound."""
        return self._call(self._deliver(account, source, destination, text, data_coding, timeout),
                          timeout + 2)

    def refuse(self, account, refuse=True):
        """Refuse (or accept again) the account's binds; returns the accounts refused now."""
        with self._lock:
            (self._refused.add if refuse else self._refused.discard)(account)
            return sorted(self._refused)

    def set_second_bind(self, policy):
        """accept|refuse a bind of an account already bound on another session; returns it."""
        if policy not in ("accept", "refuse"):
            raise ValueError("policy must be accept or refuse, not %r" % (policy,))
        self.second_bind = policy
        return policy

    def set_receipts(self, delay, stat="DELIVRD", hold=False):
        """Answer submits that ask for a receipt with one `delay` s later (None: never), with
        this stat; while `hold`, receipts that fall due wait (and expire as unbound ones do).
        Returns {"delay", "stat", "hold"}. Receipts already scheduled keep their own delay."""
        check_receipts(delay, stat)
        if not isinstance(hold, bool):
            raise ValueError("hold must be true or false")
        self.receipt_delay = None if delay is None else float(delay)
        self.receipt_stat = stat
        self.receipts_held = hold
        return {"delay": self.receipt_delay, "stat": stat, "hold": hold}

    def kick(self, account):
        """Close every bound session of account at TCP level; returns how many."""
        return self._call(self._kick(account), 5)

    def wait_for(self, predicate, timeout=5.0, interval=0.02, message=None):
        """Poll predicate() until it returns a truthy value (returned); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(message or "condition not met within %ss; state: %s" % (
                    timeout, json.dumps(self.state())))
            time.sleep(interval)

    # ------------------------------------------------------------ HTTP control API
    async def _handle_http(self, reader, writer):
        status, payload = 500, {"error": "internal error"}
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    asyncio.TimeoutError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split()
            if len(parts) < 2:
                status, payload = 400, {"error": "bad request line"}
            else:
                method, target = parts[0].upper(), parts[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = b""
                if length:
                    body = await asyncio.wait_for(reader.readexactly(min(length, 1 << 20)), 10)
                status, payload = await self._route(method, target, body)
        except Exception as exc:  # noqa: BLE001 - answered as 500
            status, payload = 500, {"error": "%s: %s" % (type(exc).__name__, exc)}
        finally:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            reasons = {200: "OK", 400: "Bad Request", 404: "Not Found",
                       405: "Method Not Allowed", 500: "Internal Server Error",
                       504: "Gateway Timeout"}
            try:
                writer.write(("HTTP/1.0 %d %s\r\nContent-Type: application/json\r\n"
                              "Content-Length: %d\r\nConnection: close\r\n\r\n"
                              % (status, reasons.get(status, "Status"), len(data))).encode()
                             + data)
                await writer.drain()
                writer.close()
            except (ConnectionError, OSError):
                pass

    async def _route(self, method, target, body):
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path.rstrip("/") or "/"
        gets = {
            "/health": lambda: {"ok": True},
            "/state": self.state,
            "/messages": lambda: self.messages(query.get("account")),
            "/events": lambda: self.events(query.get("account")),
        }
        posts = ("/reset", "/deliver", "/kick", "/refuse", "/second-bind", "/bind-delay",
                 "/receipts")
        if path in gets:
            if method not in ("GET", "HEAD"):
                return 405, {"error": "use GET for %s" % path}
            return 200, gets[path]()
        if path not in posts:
            return 404, {"error": "no such endpoint %s" % path}
        if method != "POST":
            return 405, {"error": "use POST for %s" % path}
        if path == "/reset":
            self.reset()
            return 200, {"ok": True}
        try:
            args = json.loads(body.decode("utf-8") or "{}")
            if not isinstance(args, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return 400, {"error": "invalid JSON body: %s" % exc}
        if path == "/kick":
            if not isinstance(args.get("account"), str):
                return 400, {"error": "account is required"}
            return 200, {"kicked": await self._kick(args["account"])}
        if path == "/bind-delay":
            seconds = args.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 30:
                return 400, {"error": "seconds must be a number from 0 to 30"}
            self.bind_delay = float(seconds)
            return 200, {"bind_delay": self.bind_delay}
        if path == "/receipts":
            try:
                return 200, {"receipts": self.set_receipts(
                    args.get("delay", self.receipt_delay), args.get("stat", self.receipt_stat),
                    args.get("hold", self.receipts_held))}
            except ValueError as exc:
                return 400, {"error": str(exc)}
        if path == "/second-bind":
            try:
                return 200, {"second_bind": self.set_second_bind(args.get("policy"))}
            except ValueError as exc:
                return 400, {"error": str(exc)}
        if path == "/refuse":
            if not isinstance(args.get("account"), str) or not isinstance(args.get("refuse", True), bool):
                return 400, {"error": "account (string) is required, refuse must be true or false"}
            return 200, {"refusing": self.refuse(args["account"], args.get("refuse", True))}
        missing = [k for k in ("account", "source", "destination", "text")
                   if not isinstance(args.get(k), str)]
        if missing:
            return 400, {"error": "missing string field(s): %s" % ", ".join(missing)}
        try:
            result = await self._deliver(args["account"], args["source"], args["destination"],
                                         args["text"], args.get("data_coding"),
                                         float(args.get("timeout", 5.0)))
        except LookupError as exc:
            return 404, {"error": str(exc)}
        except ValueError as exc:
            return 400, {"error": str(exc)}
        except ConnectionError as exc:
            return 500, {"error": "session closed before deliver_sm_resp: %s" % exc}
        if result["resp_status"] is None:
            return 504, result
        return 200, result


# --------------------------------------------------------------------------- CLI
def main(argv=None):
    ap = argparse.ArgumentParser(description="SMPP 3.4 SMSC simulator with a JSON control API.")
    ap.add_argument("--listen", required=True, metavar="HOST:PORT", help="SMPP listen address")
    ap.add_argument("--control", required=True, metavar="HOST:PORT",
                    help="control API address (loopback only)")
    grp = ap.add_mutually_exclusive_group(required=True)
    grp.add_argument("--accounts", metavar="FILE", help="JSON object system_id -> password")
    grp.add_argument("--any-account", action="store_true", help="accept every bind")
    ap.add_argument("--events", metavar="FILE", help="append events as JSON lines")
    ap.add_argument("--pidfile", metavar="FILE")
    ap.add_argument("--system-id", default="smscsim", help="system_id in bind responses")
    ap.add_argument("--dc0-charset", default="gsm", choices=("gsm", "latin-1", "utf-8", "ascii"),
                    help="how data_coding 0 is decoded/encoded (Kannel's default is GSM 03.38)")
    ap.add_argument("--bind-delay", type=float, default=0.0, metavar="SECONDS",
                    help="answer binds this much later (a slow provider)")
    ap.add_argument("--second-bind", default="accept", choices=("accept", "refuse"),
                    help="answer to a bind of an account bound already on another session")
    ap.add_argument("--receipt-delay", default="1", metavar="SECONDS|off",
                    help="answer a submit that asks for a receipt with one this much later")
    ap.add_argument("--receipt-stat", default="DELIVRD", choices=sorted(RECEIPT_STATES),
                    help="stat of the receipts")
    ap.add_argument("--verbose", action="store_true", help="also log every PDU")
    args = ap.parse_args(argv)
    try:
        receipt_delay = None if args.receipt_delay == "off" else float(args.receipt_delay)
    except ValueError:
        ap.error("--receipt-delay must be a number of seconds or off")

    try:
        listen = parse_hostport(args.listen)
        control = parse_hostport(args.control)
    except ValueError as exc:
        ap.error(str(exc))
    if not is_loopback(control[0]):
        ap.error("--control must be a loopback address")
    accounts = None
    if args.accounts:
        try:
            with open(args.accounts, encoding="utf-8") as fh:
                accounts = json.load(fh)
        except (OSError, ValueError) as exc:
            ap.error("cannot read --accounts %s: %s" % (args.accounts, exc))
        if not isinstance(accounts, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in accounts.items()):
            ap.error("--accounts must hold a JSON object of string -> string")

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        check_receipts(receipt_delay, args.receipt_stat)
    except ValueError as exc:
        ap.error("--receipt-delay: %s" % exc)
    sim = SmscSimulator(listen=listen, control=control, accounts=accounts,
                        events_path=args.events, system_id=args.system_id,
                        dc0_charset=args.dc0_charset, verbose=args.verbose,
                        bind_delay=args.bind_delay, second_bind=args.second_bind,
                        receipt_delay=receipt_delay, receipt_stat=args.receipt_stat)
    # The pidfile is there, whole, before the control endpoint answers: callers wait for
    # /health and then read it.
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w", encoding="ascii") as fh:
            fh.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    try:
        sim.start()
    except OSError as exc:
        print("smsc_sim: cannot listen: %s" % exc, file=sys.stderr)
        if args.pidfile:
            os.unlink(args.pidfile)
        return 1
    try:
        while not stop.wait(0.5):
            if sim._thread is None or not sim._thread.is_alive():
                print("smsc_sim: event loop died", file=sys.stderr)
                return 1
    finally:
        sim.stop()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
        sim._log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
