# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime guard giving up this node's own set on its own bearerbox (release_own_set), through
the collection's admin client (module_utils/kannel_admin.py, its standard-library transport), and
noticing own links left loaded after serving.json dropped the set. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

from ansible_collections.smsgw.cluster.plugins.module_utils import guard_node, kannel_gateway, kannel_status
from ansible_collections.smsgw.cluster.plugins.module_utils.guard_node import log
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelAdmin, KannelAdminError

# A playbook that stops serving the own set here (kannel_serve: record, smsboxes, then the hold)
# removes its links within seconds of writing serving.json; only links left after this long are
# the guard's to give up (a bearerbox that resumed after a takeover fenced it, an interrupted run).
STRAY_OWN_LINKS_GRACE = 10.0


def admin_command(cfg, command, smsc=None):
    """The reply text of one admin command to this node's bearerbox (KannelAdmin.command)."""
    return KannelAdmin(cfg["admin_url"], cfg["admin_password"], 5).command(command, smsc)["reply"]


def local_loaded(cfg):
    """Admin-ids bearerbox on this node has loaded, or None when it does not answer."""
    try:
        return set(kannel_status.links_by_admin_id(
            KannelAdmin(cfg["admin_url"], cfg["admin_password"], 2).status()))
    except KannelAdminError:
        return None


def wait_loaded(cfg, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        loaded = local_loaded(cfg)
        if loaded is not None and check(loaded):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def drop_unserved_link_files(cfg, serving):
    """Whatever the branch: bearerbox must not load a link of a set serving.json does not list.
    An interrupted takeover can leave a fenced node's files behind (serving.json written first)."""
    removed = []
    for name in sorted(set(cfg["sets"]) - set(serving.get("sets", []))):
        for link in cfg["sets"][name]["links"]:
            if guard_node.remove(os.path.join(cfg["active_dir"], "%s.conf" % link)):
                removed.append(link)
    if removed:
        log("removed the link files of sets this node does not serve: %s" % ", ".join(removed))
    return removed


def hold_own_links(cfg, stand_ins, loaded):
    """The stand-ins into the include directory and, with bearerbox answering, loaded by one
    graceful restart: from then on the messages queued for the own links have a link to wait on."""
    placed = [s for s in stand_ins if guard_node.copy_into_active(cfg, s)]
    if loaded is not None and placed:
        log("graceful-restart -> %s" % admin_command(cfg, "graceful-restart"))
        if not wait_loaded(cfg, lambda ids: ids.issuperset(stand_ins)):
            log("stand-ins %s not loaded within 10 s: removing the links anyway (their queued "
                "messages may be discarded; see bearerbox's log)" % ", ".join(stand_ins))
    if stand_ins:
        log("loaded stand-ins %s: messages queued for set %s stay here until failback"
            % (", ".join(stand_ins), cfg["node"]))


def remove_own_links(cfg, links, loaded):
    for link in links:
        if link in loaded:
            log("remove-smsc %s -> %s" % (link, admin_command(cfg, "remove-smsc", link)))
    if not wait_loaded(cfg, lambda ids: not ids.intersection(links)):
        log("links %s still loaded 10 s after remove-smsc: see bearerbox's log" % ", ".join(links))


def stop_unanswering_bearerbox(cfg):
    """(not_stopped, killed) for a bearerbox that does not answer: its unit's processes killed
    (kannel_gateway.stop_gateway); not_stopped says why when their end cannot be confirmed."""
    try:
        stopped = kannel_gateway.stop_gateway(cfg.get("bearerbox_unit", "kannel-bearerbox.service"))
    except kannel_gateway.GatewayNotStopped as e:
        not_stopped = "bearerbox does not answer and could not be stopped: %s" % e
        log(not_stopped)
        return not_stopped, False
    if stopped["killed"]:
        log("bearerbox did not answer: killed its unit %s (%s, processes %s), gone after "
            "%.2f s; its link files are out, it restarts with only the stand-ins"
            % (stopped["unit"], stopped["signal"],
               ", ".join(str(pid) for pid in stopped["pids"]), stopped["seconds"]))
    else:
        log("bearerbox is not running: its link files are out, it loads only the "
            "stand-ins at its next start")
    return None, stopped["killed"]


def stop_own_smsbox(cfg, killed):
    unit = "%s%s.service" % (cfg["smsbox_unit_prefix"], cfg["node"])
    if killed:
        # an smsbox whose bearerbox vanished ignores SIGTERM for its whole TimeoutStopSec
        try:
            kannel_gateway.stop_gateway(unit)
        except kannel_gateway.GatewayNotStopped as e:
            log("smsbox %s: %s" % (unit, e))
    stop = subprocess.run(["systemctl", "disable", "--now", "--quiet", unit], check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log("stopped smsbox %s (%s)" % (unit, "ok" if stop.returncode == 0 else stop.stdout.strip()))


def release_own_set(cfg):
    """This node's runtime stops serving its own set, as `kannel_link state=held` and serve.yml do:
    its service address released, stand-ins loaded first (one graceful restart), so the messages
    queued for the links are kept; then the link files out and each link removed (its bind ends);
    then its smsbox stopped. The links go before the smsbox: the provider bind is what must not
    overlap; a message the smsbox still accepts waits for the stand-ins until failback. A
    bearerbox that does not answer may be hung with its sessions open: once its link files are
    out, its unit's processes are killed (kannel_gateway.stop_gateway) and systemd restarts it
    through the start-up guard with only the stand-ins; when their end cannot be confirmed this
    raises OSError, so the give-up is retried. A link someone else removed meanwhile (a playbook
    holding the same set) is no failure."""
    own = cfg["node"]
    others = [s for s in cfg["sets"] if s != own]
    # first the clients: the set's service address goes before its links (break before make)
    guard_node.release_service_addresses(cfg, others)
    links = cfg["sets"][own]["links"]
    stand_ins = [cfg["stand_ins"][link] for link in links if link in cfg.get("stand_ins", {})]
    loaded = local_loaded(cfg)
    hold_own_links(cfg, stand_ins, loaded)
    drop_unserved_link_files(cfg, {"sets": others})
    not_stopped, killed = None, False
    if loaded is not None:
        remove_own_links(cfg, links, loaded)
    else:
        not_stopped, killed = stop_unanswering_bearerbox(cfg)
    stop_own_smsbox(cfg, killed)
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
