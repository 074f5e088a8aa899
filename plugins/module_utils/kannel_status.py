# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse Kannel 1.4.5 bearerbox ``status.xml`` into plain data.

Facts this relies on (measured, see docs): status.xml is served as text/plain with HTTP 200 even for
a wrong password, whose body is ``Denied`` wrapped in ``<gateway>``; link status texts are
``online Ns``, ``connecting``, ``re-connecting``, ``disconnected``, ``dead``; box status texts are
``on-line 0d 0h 0m 20s``; the gateway status is ``running|suspended|isolated|...,
uptime 0d 0h 1m 2s``; ``<version>`` spans several lines. Links are keyed by ``admin-id``/``id``,
never by position.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

LINK_STATES = ("online", "connecting", "re-connecting", "disconnected", "dead")

_DURATION_RE = re.compile(r"^\s*(\d+)d\s+(\d+)h\s+(\d+)m\s+(\d+)s\s*$")
_LINK_ONLINE_RE = re.compile(r"^\s*online\s+(\d+)s\s*$")
_VERSION_RE = re.compile(r"version\s+`([^']*)'")


class KannelStatusError(Exception):
    """status.xml could not be used."""


class KannelDenied(KannelStatusError):
    """bearerbox answered ``Denied`` (wrong password or address not allowed)."""


class KannelBadStatus(KannelStatusError):
    """The answer is not a bearerbox status.xml page."""


def is_denied(text):
    """True when a bearerbox answer is its ``Denied`` reply (plain, or wrapped in <gateway>)."""
    if text is None:
        return False
    stripped = text.strip()
    if stripped == "Denied":
        return True
    return bool(re.match(r"^(<\?xml[^>]*\?>\s*)?<gateway>\s*Denied\s*</gateway>$", stripped))


class DeniedBackoff(object):
    """When to ask a bearerbox again after it answered ``Denied`` (a wrong password).

    Measured: bearerbox sleeps before each ``Denied`` one second longer than before the last one
    (reset only by an accepted password) and answers one admin request at a time, so asking
    again at every poll delays every other client of its admin interface, a takeover's included
    (measured with a poll a second: ~2 s), and the asker's own requests time out. After
    the n-th ``Denied`` in a row the next question waits ``first * 2 ** (n - 1)`` seconds, at most
    ``cap``. The caller logs when denied() or accepted() returns True: once per change.
    """

    def __init__(self, first, cap):
        self.first, self.cap = float(first), float(cap)
        self.count = 0  # Denied answers in a row
        self.next_at = None

    @property
    def active(self):
        return self.count > 0

    def may_ask(self, now):
        return self.count == 0 or now >= self.next_at

    def wait(self):
        """Seconds until the next question after the latest Denied."""
        # the exponent bounded: a mismatch lasting days must not overflow the float
        return min(self.cap, self.first * 2 ** min(self.count - 1, 40))

    def denied(self, now):
        """A Denied (or, while denied, no usable answer: a late Denied looks like a timeout).
        True when it starts a run of them."""
        self.count += 1
        self.next_at = now + self.wait()
        return self.count == 1

    def accepted(self):
        """A status page was served. True when it ends a run of Denied answers."""
        ended = self.count > 0
        self.count, self.next_at = 0, None
        return ended


def parse_duration(text):
    """``0d 0h 1m 2s`` -> 62; None when the text has another shape."""
    if text is None:
        return None
    m = _DURATION_RE.match(text)
    if not m:
        return None
    d, h, mi, s = (int(x) for x in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def parse_link_status(text):
    """``online 12s`` -> ("online", 12); ``re-connecting`` -> ("re-connecting", None)."""
    text = (text or "").strip()
    m = _LINK_ONLINE_RE.match(text)
    if m:
        return "online", int(m.group(1))
    if text in LINK_STATES:
        return text, None
    return (text or "unknown"), None


def parse_box_status(text):
    """``on-line 0d 0h 0m 20s`` -> ("online", 20); other texts are kept as they are."""
    text = (text or "").strip()
    if text.startswith("on-line"):
        return "online", parse_duration(text[len("on-line"):])
    return (text or "unknown"), None


def parse_gateway_status(text):
    """``running, uptime 0d 0h 1m 2s`` -> ("running", 62)."""
    text = (text or "").strip()
    state, sep, rest = text.partition(",")
    uptime = None
    if sep:
        rest = rest.strip()
        if rest.startswith("uptime"):
            uptime = parse_duration(rest[len("uptime"):])
    return state.strip() or "unknown", uptime


def _text(elem, path, default=None):
    if elem is None:
        return default
    found = elem.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def _int(elem, path, default=0):
    value = _text(elem, path)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return default


def _rates(value):
    if not value:
        return []
    out = []
    for part in value.split(","):
        try:
            out.append(float(part))
        except ValueError:
            pass
    return out


def _status_root(xml_text):
    """The <gateway> element of a status.xml answer; raises for anything that is not one."""
    if isinstance(xml_text, bytes):
        xml_text = xml_text.decode("utf-8", "replace")
    if is_denied(xml_text):
        raise KannelDenied("bearerbox answered Denied")
    if not xml_text or "<gateway" not in xml_text:
        raise KannelBadStatus("the answer is not a bearerbox status.xml page (first bytes: %r)"
                              % (xml_text or "")[:60])
    try:
        root = ET.fromstring(xml_text.strip().encode("utf-8"))
    except ET.ParseError as e:
        raise KannelBadStatus("status.xml is not well-formed XML: %s" % e)
    if root.tag != "gateway":
        raise KannelBadStatus("status.xml root element is <%s>, not <gateway>" % root.tag)
    return root


def _gateway(root):
    version_text = _text(root, "version", "") or ""
    m = _VERSION_RE.search(version_text)
    state, uptime = parse_gateway_status(_text(root, "status"))
    return {
        "state": state,
        "uptime": uptime,
        "status_text": _text(root, "status"),
        "version": m.group(1) if m else None,
    }


def _sms(sms_el):
    return {
        "received_total": _int(sms_el, "received/total"),
        "received_queued": _int(sms_el, "received/queued"),
        "sent_total": _int(sms_el, "sent/total"),
        "sent_queued": _int(sms_el, "sent/queued"),
        "store_size": _int(sms_el, "storesize"),
        "inbound": _rates(_text(sms_el, "inbound")),
        "outbound": _rates(_text(sms_el, "outbound")),
    }


def _dlr(dlr_el):
    return {
        "received_total": _int(dlr_el, "received/total"),
        "sent_total": _int(dlr_el, "sent/total"),
        "queued": _int(dlr_el, "queued"),
        "storage": _text(dlr_el, "storage"),
    }


def _link(el):
    status_text = _text(el, "status", "")
    lstate, online = parse_link_status(status_text)
    link_id = _text(el, "id")
    return {
        "id": link_id,
        "admin_id": _text(el, "admin-id") or link_id,
        "name": _text(el, "name"),
        "state": lstate,
        "status_text": status_text,
        "online_seconds": online,
        "queued": _int(el, "queued"),
        "failed": _int(el, "failed"),
        "sms_received": _int(el, "sms/received"),
        "sms_sent": _int(el, "sms/sent"),
        "dlr_received": _int(el, "dlr/received"),
        "dlr_sent": _int(el, "dlr/sent"),
    }


def _box(el):
    status_text = _text(el, "status", "")
    bstate, b_uptime = parse_box_status(status_text)
    return {
        "type": _text(el, "type"),
        "id": _text(el, "id"),
        "ip": _text(el, "IP"),
        "queue": _int(el, "queue"),
        "state": bstate,
        "status_text": status_text,
        "uptime": b_uptime,
        "ssl": _text(el, "ssl") == "yes",
    }


def _children(root, group, tag):
    el = root.find(group)
    return el.findall(tag) if el is not None else []


def parse_status(xml_text):
    """Parse status.xml text into a dict.

    Returns ``{"gateway": {...}, "sms": {...}, "dlr": {...}, "links": [...], "boxes": [...]}``.
    Raises KannelDenied for the ``Denied`` answer and KannelBadStatus for anything that is not a
    status page.
    """
    root = _status_root(xml_text)
    return {"gateway": _gateway(root), "sms": _sms(root.find("sms")), "dlr": _dlr(root.find("dlr")),
            "links": [_link(el) for el in _children(root, "smscs", "smsc")],
            "boxes": [_box(el) for el in _children(root, "boxes", "box")]}


def links_by_admin_id(status):
    """Map admin-id (falling back to id) -> link dict. Later duplicates do not hide earlier ones."""
    out = {}
    for link in status.get("links", []):
        key = link.get("admin_id") or link.get("id")
        out.setdefault(key, link)
    return out


# A link's stand-in ("held link"): an smsc group with the admin-id <link id>.held, the link's
# allowed-smsc-id and a connection that can never be made (a closed loopback port). While it is loaded,
# Kannel keeps the messages queued for the link (a usable link that is not online) instead of
# discarding them (no usable link at all), and no provider ever sees a bind from it. The role
# kannel_node writes the files (<id>.held.conf) and cluster_model reserves the suffix.
HELD_SUFFIX = ".held"


def held_id(link_id):
    return link_id + HELD_SUFFIX


def find_box(status, box_id, box_type="smsbox"):
    for box in status.get("boxes", []):
        if box.get("id") == box_id and box.get("type") == box_type:
            return box
    return None
