# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The start-up guard of a cluster node: `kannel-cluster-guard bearerbox` (ExecStartPre of
kannel-bearerbox.service) and `kannel-cluster-guard smsbox SET` (ExecCondition of
kannel-smsbox@SET.service). Never connect a set that the peer serves.

A node that was taken over while it could not be reached (dead, frozen, cut off) still believes
it serves its set: its serving.json was not changed. Before bearerbox starts, the guard asks the
peer which sets it serves and gives up every such set here (serving.json and the link files
bearerbox would load); while this node's own set is not served here, its links' stand-ins are
loaded instead (they keep the messages queued for the links until failback; Kannel discards a
message no loaded link may take). It also releases the service address of every set it does not
serve (and binds none: the playbooks do that once the set's links and smsbox are up). When the peer
cannot be asked within wait_seconds, the policy `peer_unreachable` decides: serve (start as
serving.json says: the peer is down, or the cluster cold-starts) or withhold (serve nothing of this
node's own set until an operator acts). Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils import guard_node, guard_peer, smsc_active
from ansible_collections.smsgw.cluster.plugins.module_utils.guard_node import log


def peer_active_sets(cfg):
    """Start-up: ask the peer until it answers or wait_seconds have passed. A Denied is not asked
    again (another wrong password only delays the peer's admin interface more): no status."""
    deadline = time.monotonic() + float(cfg.get("wait_seconds", 15))
    while True:
        _reached, sets, denied = guard_peer.probe_peer(cfg, 2)
        if sets is not None:
            return sets
        if denied:
            log(guard_peer.denied_message(cfg) + "; not asked again at this start")
            return None
        if time.monotonic() >= deadline:
            log("peer %s did not answer" % guard_peer.host_of(cfg["peer_admin_url"]))
            return None
        time.sleep(1)


def set_stand_ins(cfg, serving):
    """Before any link file goes: from bearerbox's start on, the messages it finds in its store for
    this node's own links have a usable link (that never connects) and are kept. When the node
    serves its own set, stand-ins left by an interrupted failback go where their link's file is
    there to take the messages (never otherwise: Kannel would discard them)."""
    stand_ins = cfg.get("stand_ins", {})
    if cfg["node"] in serving.get("sets", []):
        removed = []
        for link, stand_in in sorted(stand_ins.items()):
            path = os.path.join(cfg["active_dir"], "%s.conf" % stand_in)
            if os.path.exists(os.path.join(cfg["active_dir"], "%s.conf" % link)) and guard_node.remove(path):
                removed.append(stand_in)
        if removed:
            log("removed stand-ins %s: this node serves set %s" % (", ".join(removed), cfg["node"]))
        return []
    placed = [s for s in sorted(stand_ins.values()) if guard_node.copy_into_active(cfg, s)]
    if placed:
        log("loaded stand-ins %s: messages queued for set %s stay here until failback"
            % (", ".join(placed), cfg["node"]))
    return placed


def decide(cfg, serving):
    claimed = set(serving.get("sets", []))
    if not claimed:
        log("this node serves nothing")
        return
    peer_sets = peer_active_sets(cfg)
    if peer_sets is None:
        if cfg.get("peer_unreachable", "serve") == "withhold" and cfg["node"] in claimed:
            guard_node.record_give_up(cfg, serving, {cfg["node"]},
                                      "peer unreachable at start (policy withhold)", "start-up guard")
        else:
            log("peer unreachable: starting with %s (policy serve)" % ", ".join(sorted(claimed)))
        return
    # peer_sets are the sets the peer's own record claims (claimed_sets), not all it has active:
    # its own set counts only while no stand-in of it is loaded there. A node that holds the
    # peer's set (a takeover) gives it up only when the peer really serves it again. Were the
    # peer's loaded links enough, a survivor restarting while the home node is still releasing
    # (a frozen node resumed: stand-ins loaded, links not yet removed) would give the set up too,
    # and the set would end served by neither node. The own set is given up whenever the peer has
    # it active: of the two nodes, the one that gives up first keeps the promise (never both).
    conflict = claimed & peer_sets
    if conflict:
        guard_node.record_give_up(cfg, serving, conflict, "peer %s serves it" % cfg["peer"],
                                  "start-up guard")
    else:
        log("peer %s serves %s; starting with %s"
            % (cfg["peer"], ", ".join(sorted(peer_sets)) or "nothing", ", ".join(sorted(claimed))))


def sweep_active_dir(cfg, serving):
    """Before bearerbox starts: it loads every file of the directory it includes, so out with all
    that is not a served link's file or a stand-in the own set needs (module_utils/smsc_active.py:
    the rule kannel_serve and kannel_link follow too), e.g. the link files of a set serving.json
    does not list (an interrupted takeover records the fence before it removes them) or the
    temporary file of a writer killed mid-write. serving None (no serving state yet): only what is
    no link's file at all."""
    active_dir = cfg["active_dir"]
    keep = None
    if serving is not None:
        keep = smsc_active.wanted_ids(cfg["sets"], serving.get("sets", []), cfg["node"],
                                      cfg.get("stand_ins", {}), smsc_active.present(active_dir))
    removed = smsc_active.sweep(active_dir, keep)
    if removed:
        log("removed from %s what bearerbox must not load (no served link's file): %s"
            % (active_dir, ", ".join(removed)))
    return removed


def guard_bearerbox(cfg):
    serving = guard_node.read_serving(cfg)
    if serving is None:
        log("no serving state yet: nothing to guard")
        guard_node.release_service_addresses(cfg, [])
        sweep_active_dir(cfg, None)
        return 0
    decide(cfg, serving)
    guard_node.release_service_addresses(cfg, serving.get("sets", []))
    set_stand_ins(cfg, serving)
    sweep_active_dir(cfg, serving)
    return 0


def guard_smsbox(cfg, name):
    serving = (guard_node.read_serving(cfg) or {}).get("sets", [])
    if name in serving:
        return 0
    log("smsbox %s not started: this node does not serve set %s" % (name, name))
    return 1
