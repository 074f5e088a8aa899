# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health verdict of one node and the state of each configuration set on it, judged from a
parsed status page (smsgw.cluster.kannel_info, and smsgw.cluster.kannel_serve's confirmation), and
the node's recorded serving state (read by module_utils/serving_record.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.smsgw.cluster.plugins.module_utils import dlr_store as dlr_store_probe
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import (
    find_box,
    held_id,
    links_by_admin_id,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.service_address import (
    AddressError,
    bound,
    split_cidr,
)


def normalize_sets(raw):
    """Validate {name: {links: [...], smsbox: id, service_address: cidr}}; returns (sets, errors)."""
    sets, errors = {}, []
    for name, spec in raw.items():
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            errors.append("set %s is not a dict" % name)
            continue
        extra = sorted(set(spec) - set(("links", "smsbox", "service_address")))
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
        address = spec.get("service_address")
        if address is not None:
            try:
                split_cidr(address)
            except AddressError as e:
                errors.append("set %s: service_address %s" % (name, e))
                address = None
        sets[str(name)] = {"links": list(links), "smsbox": box, "service_address": address}
    return sets, errors


def address_report(spec, local_addresses):
    """Where the set's service address is bound on this host; None for a set without one.
    local_addresses: parse_addresses() entries, or None when they could not be read."""
    address = spec.get("service_address")
    if not address:
        return None
    if local_addresses is None:
        return {"address": address, "bound": None, "interface": None}
    holders = bound(local_addresses, split_cidr(address)[0])
    return {"address": address, "bound": bool(holders),
            "interface": holders[0]["interface"] if holders else None}


def set_report(name, spec, status, expected, local_addresses=None):
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
            "queued": sum(v["queued"] for v in links.values()), "held": held,
            "service_address": address_report(spec, local_addresses)}


def address_reasons(name, expected, address):
    """Why a set's service address is where it should not be (or missing where it should be)."""
    if not address or address["bound"] is None or expected is None:
        return []
    if expected and not address["bound"]:
        return ["service address %s of expected-active set %s is not bound on this node (its "
                "clients cannot reach it here)" % (address["address"], name)]
    if not expected and address["bound"]:
        return ["service address %s of set %s (not expected active here) is bound on %s"
                % (address["address"], name, address["interface"])]
    return []


def judge(status, sets, expect_active, local_addresses=None):
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
        rep = set_report(name, spec, status, expected, local_addresses)
        reports[name] = rep
        reasons.extend(address_reasons(name, expected, rep["service_address"]))
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


def store_reason(store, timeout):
    """Why an unanswered status page may be the DLR store's doing, or None (dlr_store.probe)."""
    why = dlr_store_probe.probe(store, timeout)
    if why is None:
        return None
    return ("the DLR store (%s) does not answer: %s. bearerbox waits for it: its status page, "
            "sending and receipts stall until the store is back (nothing is lost), and it does not "
            "start without it. Both nodes use this store: bring it back, taking over does not help"
            % (dlr_store_probe.describe(store), why))


def report(admin, sets, expect_active, commands=None, local_addresses=None, dlr_store=None):
    """One status read judged: kannel_info's result. commands: a KannelAdmin with the command
    password to check (raises KannelAdminDenied when it is wrong), or None. local_addresses: the
    host's addresses (service_address.parse_addresses), None when unread or not needed.
    dlr_store: {storage, host, port} of an external DLR store, probed when the page does not
    answer."""
    try:
        status = admin.status()
    except KannelUnreachable as e:
        reports = dict((name, {"state": "unknown", "expected_active": None if expect_active is None
                               else name in expect_active, "links": {}, "smsbox": None,
                               "queued": None, "held": [],
                               "service_address": address_report(sets[name], local_addresses)})
                       for name in sorted(sets))
        store = store_reason(dlr_store, admin.timeout) if dlr_store else None
        # A node that waits for its shared store is degraded, not down: the store is the fault,
        # the peer needs it too, and taking the node over would not help (kannel_watch holds).
        return dict(changed=False, health="degraded" if store else "down", reachable=False,
                    dlr_store_down=bool(store),
                    reasons=([store] if store else []) + [
                        "admin interface unreachable: %s (bearerbox not running, or wrong "
                        "admin_url)" % e],
                    gateway={}, queues={}, sms={}, dlr={}, links=[], boxes=[], sets=reports)
    health, reasons, reports = judge(status, sets, expect_active, local_addresses)
    if commands is not None:
        commands.command("stop-smsc")  # raises KannelAdminDenied on a wrong password
    return dict(changed=False, health=health, reasons=reasons, reachable=True, dlr_store_down=False,
                commands_allowed=None if commands is None else True,
                gateway=status["gateway"], queues=queues_of(status), sms=status["sms"],
                dlr=status["dlr"], links=status["links"], boxes=status["boxes"], sets=reports)
