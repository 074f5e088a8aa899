# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health verdict of one node and the state of each configuration set on it, judged from a
parsed status page (smsgw.cluster.kannel_info, and smsgw.cluster.kannel_serve's confirmation), and
the node's recorded serving state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import (
    find_box,
    held_id,
    links_by_admin_id,
)


def normalize_sets(raw):
    """Validate {name: {links: [...], smsbox: id}}; returns (sets, errors)."""
    sets, errors = {}, []
    for name, spec in raw.items():
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            errors.append("set %s is not a dict" % name)
            continue
        extra = sorted(set(spec) - set(("links", "smsbox")))
        if extra:
            errors.append("set %s has unknown key(s) %s" % (name, ", ".join(extra)))
        links = spec.get("links") or []
        if isinstance(links, str) or not isinstance(links, list) or \
                not all(isinstance(x, str) for x in links):
            errors.append("set %s: links must be a list of link ids" % name)
            links = []
        box = spec.get("smsbox")
        if box is not None and not isinstance(box, str):
            errors.append("set %s: smsbox must be a string" % name)
            box = None
        sets[str(name)] = {"links": list(links), "smsbox": box}
    return sets, errors


def set_report(name, spec, status, expected):
    by_id = links_by_admin_id(status)
    links = {}
    for link_id in spec.get("links") or []:
        link = by_id.get(link_id)
        if link is None:
            links[link_id] = {"state": "absent", "online_seconds": None, "queued": 0, "failed": 0}
        else:
            links[link_id] = {"state": link["state"], "online_seconds": link["online_seconds"],
                              "queued": link["queued"], "failed": link["failed"]}
    box_id = spec.get("smsbox")
    smsbox = None
    parts = [v["state"] != "absent" for v in links.values()]
    if box_id:
        box = find_box(status, box_id)
        smsbox = {"id": box_id, "connected": box is not None,
                  "state": box["state"] if box else "absent"}
        parts.append(box is not None)
    if parts and all(parts):
        state = "active"
    elif not any(parts):
        state = "passive"
    else:
        state = "partial"
    held = [link_id for link_id in spec.get("links") or [] if held_id(link_id) in by_id]
    return {"state": state, "expected_active": expected, "links": links, "smsbox": smsbox,
            "queued": sum(v["queued"] for v in links.values()), "held": held}


def judge(status, sets, expect_active):
    """Return (health, reasons, set reports) for a parsed status."""
    reasons = []
    health = "healthy"
    gw_state = status["gateway"]["state"]
    if gw_state in ("suspended", "isolated"):
        health = "degraded"
        reasons.append("gateway is %s (admin `resume' puts it back to running)" % gw_state)
    elif gw_state != "running":
        health = "down"
        reasons.append("gateway state is %r" % status["gateway"]["status_text"])

    reports = {}
    for name in sorted(sets):
        spec = sets[name] or {}
        expected = None if expect_active is None else name in expect_active
        rep = set_report(name, spec, status, expected)
        reports[name] = rep
        if expected is True:
            for link_id, info in sorted(rep["links"].items()):
                if info["state"] != "online":
                    reasons.append("link %s of expected-active set %s is %s"
                                   % (link_id, name, "not loaded" if info["state"] == "absent"
                                      else info["state"]))
            if rep["smsbox"] and not rep["smsbox"]["connected"]:
                reasons.append("smsbox %s of expected-active set %s is not connected to bearerbox"
                               % (rep["smsbox"]["id"], name))
        elif expected is False:
            for link_id, info in sorted(rep["links"].items()):
                if info["state"] != "absent":
                    reasons.append("link %s of set %s (not expected active here) is loaded (%s)"
                                   % (link_id, name, info["state"]))
            if rep["smsbox"] and rep["smsbox"]["connected"]:
                reasons.append("smsbox %s of set %s (not expected active here) is connected"
                               % (rep["smsbox"]["id"], name))
    if health == "healthy" and reasons:
        health = "degraded"
    return health, reasons, reports


def queues_of(status):
    sms = status["sms"]
    return {
        "sms_sent_queued": sms["sent_queued"],
        "sms_received_queued": sms["received_queued"],
        "store_size": sms["store_size"],
        "dlr_queued": status["dlr"]["queued"],
        "links_queued": sum(link["queued"] for link in status["links"]),
    }


def read_serving(path):
    """The recorded serving state at path -> {recorded, sets, changed_by, changed_at, error}."""
    state = {"recorded": False, "sets": None, "changed_by": None, "changed_at": None, "error": None}
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return state
    except OSError as e:
        state.update(recorded=True, error="cannot read %s: %s" % (path, e.strerror))
        return state
    state["recorded"] = True
    try:
        doc = json.loads(text)
        sets = doc["sets"]
        if not isinstance(sets, list) or not all(isinstance(x, str) for x in sets):
            raise ValueError("sets is not a list of set names")
    except (ValueError, KeyError, TypeError) as e:
        state["error"] = "%s is not a serving state ({\"sets\": [...]}): %s" % (path, e)
        return state
    state.update(sets=sets, changed_by=doc.get("changed_by"), changed_at=doc.get("changed_at"))
    return state


def report(admin, sets, expect_active, commands=None):
    """One status read judged: kannel_info's result. commands: a KannelAdmin with the command
    password to check (raises KannelAdminDenied when it is wrong), or None."""
    try:
        status = admin.status()
    except KannelUnreachable as e:
        reports = dict((name, {"state": "unknown", "expected_active": None if expect_active is None
                               else name in expect_active, "links": {}, "smsbox": None,
                               "queued": None, "held": []}) for name in sorted(sets))
        return dict(changed=False, health="down", reachable=False,
                    reasons=["admin interface unreachable: %s (bearerbox not running, or wrong "
                             "admin_url)" % e],
                    gateway={}, queues={}, sms={}, links=[], boxes=[], sets=reports)
    health, reasons, reports = judge(status, sets, expect_active)
    if commands is not None:
        commands.command("stop-smsc")  # raises KannelAdminDenied on a wrong password
    return dict(changed=False, health=health, reasons=reasons, reachable=True,
                commands_allowed=None if commands is None else True,
                gateway=status["gateway"], queues=queues_of(status), sms=status["sms"],
                links=status["links"], boxes=status["boxes"], sets=reports)
