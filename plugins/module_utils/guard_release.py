# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime guard giving up this node's own set on its own bearerbox (release_own_set), with
the modules' own order and managers (kannel_serving.Server, LinkManager, SmsboxManager) over the
admin client's standard-library transport, and noticing own links left loaded after serving.json
dropped the set. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils import guard_node, kannel_status
from ansible_collections.smsgw.cluster.plugins.module_utils.guard_node import log
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminError,
    KannelUnreachable,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_gateway import (
    GatewayNotStopped,
    run_subprocess,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkManager
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_serving import (
    Server,
    stop_unanswering_gateway,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_smsbox import SmsboxManager

# A playbook that stops serving the own set here (kannel_serve: the record, then the hold)
# removes its links within seconds of writing serving.json; only links left after this long are
# the guard's to give up (a bearerbox that resumed after a takeover fenced it, an interrupted run).
STRAY_OWN_LINKS_GRACE = 10.0

# How long each wait of a give-up lasts (a link leaving, a stand-in loading, a killed unit going,
# bearerbox answering after its restart); what is not done by then is retried at the next step.
RELEASE_TIMEOUT = 10.0


def local_admin(cfg, timeout=5):
    """This node's bearerbox, asked with the admin password (admin commands and status)."""
    return KannelAdmin(cfg["admin_url"], cfg["admin_password"], timeout)


def local_loaded(cfg):
    """Admin-ids bearerbox on this node has loaded, or None when it does not answer."""
    try:
        return set(kannel_status.links_by_admin_id(local_admin(cfg, 2).status()))
    except KannelAdminError:
        return None


def stop_if_unanswering(cfg, admin, spec, smsbox_unit):
    """A bearerbox that does not answer may be hung with its sessions open: its unit's processes
    are killed and it is started again through the start-up guard, which loads only what
    serving.json lists (kannel_serving.stop_unanswering_gateway, as kannel_serve does). spec: the
    own set's links and smsbox. Returns why the give-up cannot be confirmed (the processes did not
    go), or None."""
    try:
        admin.status()
        return None
    except KannelUnreachable as e:
        unreachable = e
    try:
        error, stopped = stop_unanswering_gateway(
            admin, unreachable, [cfg["node"]] if spec["links"] else [], run_subprocess,
            cfg.get("bearerbox_unit", "kannel-bearerbox.service"),
            RELEASE_TIMEOUT, smsbox_units=[smsbox_unit] if spec["smsbox"] else [])
    except GatewayNotStopped as e:
        not_stopped = "bearerbox does not answer and could not be stopped: %s" % e
        log(not_stopped)
        return not_stopped
    if stopped and stopped["killed"]:
        log("bearerbox did not answer: killed its unit %s (%s, processes %s), gone after %.2f s; "
            "%s" % (stopped["unit"], stopped["signal"], ", ".join(str(pid) for pid in stopped["pids"]),
                    stopped["seconds"], "started again through its start-up guard" if error is None
                    else "not answering after a start (%s)" % error))
    return None


def say_steps(server):
    """The journal's account of a give-up: one line per command, with bearerbox's reply; the
    links one command acted on (a graceful restart loads several) on one line."""
    said = []  # [what, targets, reply]
    for step in server.steps:
        for action in step["actions"]:
            if not isinstance(action, dict):  # an smsbox manager's systemctl verb
                said.append(["smsbox %s:" % step["target"], [action], None])
            elif said and said[-1][0] == action["action"] and said[-1][2] == action.get("reply"):
                said[-1][1].append(action["link"])
            else:
                said.append([action["action"], [action["link"]], action.get("reply")])
    for what, targets, reply in said:
        log("%s %s%s" % (what, ", ".join(targets), " -> %s" % reply if reply else ""))
    for warning in server.warnings:
        log(warning)


def release_own_set(cfg):
    """This node's runtime stops serving its own set, in the order kannel_serve follows
    (kannel_serving.Server): its service address released first, then its links held (stand-ins
    loaded so the messages queued for them are kept, then each link's file out and the link
    removed: its bind ends), then its smsbox stopped. Only the own set: a set held for the peer is
    drained by failback. A bearerbox that does not answer is killed and started again first
    (stop_if_unanswering); when its end cannot be confirmed this raises OSError once the rest is
    done, so the give-up is retried. A link someone else removed meanwhile (a playbook holding the
    same set) is no failure."""
    own = cfg["node"]
    # first the clients: the set's service address goes before its links (break before make)
    guard_node.release_service_addresses(cfg, [s for s in cfg["sets"] if s != own])
    own_set = {own: {"links": list(cfg["sets"][own]["links"]), "smsbox": cfg["sets"][own].get("smsbox")}}
    smsbox_unit = "%s%s.service" % (cfg["smsbox_unit_prefix"], own)
    admin = local_admin(cfg)
    not_stopped = stop_if_unanswering(cfg, admin, own_set[own], smsbox_unit)

    def links(ids, state):
        return LinkManager(admin, ids, state, cfg["active_dir"], cfg["available_dir"],
                           wait_timeout=RELEASE_TIMEOUT, require_online=False)

    def smsbox(name, state):
        return SmsboxManager(run_subprocess, "systemctl", admin, own_set[name]["smsbox"],
                             smsbox_unit, state, wait_timeout=RELEASE_TIMEOUT)

    server = Server(own_set, [], own, links, smsbox, links_go_anyway=True)
    try:
        server.run()
    finally:
        say_steps(server)
    steps = [step["step"] for step in server.steps]
    # the operator's line (README, fault runbook): where the set's queued messages are now; not
    # when the hold failed and the links were removed without stand-ins (Server said so)
    if "hold" in steps and "passive" not in steps:
        log("loaded stand-ins of %s: messages queued for set %s stay here until failback"
            % (", ".join(own_set[own]["links"]), own))
    if not_stopped:
        raise OSError(not_stopped)


def own_links_left_loaded(cfg, serving):
    """This node's own links bearerbox still has loaded although serving.json has not listed the
    own set for STRAY_OWN_LINKS_GRACE s (by its file's age), or []. Only the own set: a set held for
    the peer is drained by failback first."""
    own = cfg["node"]
    if own in serving.get("sets", []):
        return []
    try:
        if time.time() - os.stat(cfg["serving_file"]).st_mtime < STRAY_OWN_LINKS_GRACE:
            return []
    except OSError:
        return []
    left = sorted((local_loaded(cfg) or set()).intersection(cfg["sets"][own]["links"]))
    if left:
        log("links %s of set %s still loaded although serving.json has not listed the set for "
            "over %d s: giving them up" % (", ".join(left), own, STRAY_OWN_LINKS_GRACE))
    return left
