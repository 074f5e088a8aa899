# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serving sets on one node (smsgw.cluster.kannel_serve): the order in which
links and smsboxes are released and activated, and what to do when bearerbox does not answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import copy_atomically, same_file
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_gateway import (
    GatewayNotStopped,
    stop_gateway,
    unit_pids,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import held_id, links_by_admin_id
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import (
    SUFFIX,
    present,
    sweep,
    temp_dir,
    wanted_ids,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.task_error import TaskError


# A bearerbox started just now (a deploy's restart) listens within ~0.2 s.
STARTING_GRACE = 5.0


def stop_unanswering_gateway(admin, error, must_stop, run, unit, timeout, check_mode=False,
                             systemctl="systemctl", sleep=None, clock=None, smsbox_units=()):
    """(error, gateway_stopped) for a bearerbox whose status read failed with `error`.

    What a bearerbox that does not answer has loaded cannot be read: when this node must stop
    serving sets with links (`must_stop`), only a gateway that is gone surely does not serve them,
    so its unit's processes are killed (kannel_gateway.stop_gateway). A refusal while the unit has
    a process is a bearerbox starting: it gets STARTING_GRACE s to answer first; then error is
    None (go on as usual). Silence (hung) gets no grace. A killed bearerbox is started again
    (through its start-up guard) and, once it answers, error is None too. Raises GatewayNotStopped.
    """
    if not must_stop:
        return error, None
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    if error.refused and unit_pids(run, unit, systemctl)[0]:
        deadline = clock() + STARTING_GRACE
        while error.refused and clock() < deadline:
            sleep(0.2)
            try:
                admin.status()
                return None, None
            except KannelUnreachable as e:
                error = e
    stopped = stop_gateway(unit, run, timeout=timeout, check_mode=check_mode, systemctl=systemctl,
                           sleep=sleep, clock=clock)
    if not stopped["killed"]:
        return error, stopped
    # An smsbox whose bearerbox vanished re-executes itself and then ignores SIGTERM for its
    # unit's whole TimeoutStopSec (30 s, measured), and bearerbox's start waits for it (PartOf=).
    # The smsboxes of the sets this node gives up go the same way; the clients' messages are in
    # bearerbox's store already.
    for smsbox in smsbox_units:
        try:
            stop_gateway(smsbox, run, timeout=timeout, systemctl=systemctl, sleep=sleep, clock=clock)
        except GatewayNotStopped:
            pass  # the release stops it through systemd like any other smsbox
    # Started again at once rather than after RestartSec: the record is written, so the start-up
    # guard loads only what it lists (stand-ins of the own links), and the release goes on here as
    # for any running bearerbox. One that does not come back is left to the caller.
    rc = run([systemctl, "restart", unit])[0]  # start would wait out RestartSec
    deadline = clock() + timeout
    while rc == 0 and clock() < deadline:
        try:
            admin.status()
            stopped["restarted"] = True
            return None, stopped
        except KannelUnreachable as e:
            error = e
        sleep(0.2)
    stopped["restarted"] = False
    return error, stopped


def arrange_for_start(sets, serve, own_set, active_dir, available_dir, check_mode=False):
    """While bearerbox is not running: active_dir as bearerbox must find it at its start, so that a
    passive link is never loaded, not for a moment. First every file not wanted there is swept out
    (smsc_active's rule: what fences a node, so it never depends on the copies); then the served
    sets' link files and, while the own set is not served, the stand-ins of its links are copied
    from available_dir (where they differ). One module run, whatever the number of links.
    Returns (ids copied, names removed, stand-ins missing from available_dir: the messages queued
    for their links may be discarded at the start, as the start-up guard warns too). A served
    link's file missing from available_dir raises OSError (after the sweep)."""
    served_links = [link for name in serve for link in sets[name]["links"]]
    keep = wanted_ids(sets, serve, own_set,
                      dict((link, held_id(link)) for link in sets[own_set]["links"]),
                      present=[link + SUFFIX for link in served_links])
    removed = sweep(active_dir, keep, check_mode=check_mode)
    copied, missing = [], []
    for ident in sorted(keep):
        src = os.path.join(available_dir, ident + SUFFIX)
        dst = os.path.join(active_dir, ident + SUFFIX)
        if not os.path.exists(src):
            missing.append(ident)
        elif not same_file(src, dst):
            if not check_mode:
                copy_atomically(src, dst, tmp_dir=temp_dir(active_dir))
            copied.append(ident)
    missing_links = [ident for ident in missing if ident in served_links]
    if missing_links:
        raise OSError("%s missing from %s: deploy the node (kannel_node_files writes them)"
                      % (", ".join(ident + SUFFIX for ident in missing_links), available_dir))
    return copied, removed, missing


def held_or_loaded_reader(admin):
    """Server's held_or_loaded from bearerbox's status page (one read per question); a bearerbox
    that does not answer has nothing loaded (the link step then says why)."""
    def held_or_loaded(links):
        try:
            loaded = set(links_by_admin_id(admin.status()))
        except KannelUnreachable:
            return False
        return all(link in loaded or held_id(link) in loaded for link in links)
    return held_or_loaded


class Server(object):
    """The order of operations for every caller that changes what a node serves: kannel_serve
    (deploy, takeover's fence, failback) and the runtime guard giving up its own set
    (guard_release.release_own_set). Managers are made by the factories (LinkManager,
    SmsboxManager; fakes in unit tests).

    links_go_anyway: when the own set's stand-ins cannot be loaded, its links are removed all the
    same (their queued messages may be lost). The guard's choice: nobody is there to act on a
    failure, and a bind left open while the peer serves the set is the worse harm. kannel_serve
    fails instead, and the takeover stops before anything else serves the set.

    held_or_loaded: callable(links) -> True when bearerbox has, for every one of these links, the
    link or its stand-in loaded (None: never asked). When the own set comes back (failback) with
    its stand-ins loaded, its smsbox starts before its links are activated: a message accepted then
    waits for the stand-in, moves to the link once it is loaded, and the clients' gap does not
    include Kannel starting the links (about 1.3 s for 200). Without them the smsbox waits for the
    links: Kannel would refuse a message no loaded link may take (403 Not routable).

    Each step records `started` (seconds from `started`, the caller's clock origin: the module's
    start) and `seconds`, from which failback works out the clients' gap."""

    def __init__(self, sets, serve, own_set, links_factory, smsbox_factory, active_dir=None,
                 links_go_anyway=False, held_or_loaded=None, started=None):
        self.sets, self.serve, self.own = sets, list(serve), own_set
        self.links_factory, self.smsbox_factory = links_factory, smsbox_factory
        self.active_dir = active_dir  # None: no sweep (check mode, the guard)
        self.links_go_anyway = links_go_anyway
        self.held_or_loaded = held_or_loaded
        self.started = time.monotonic() if started is None else started
        self.steps, self.warnings, self.changed, self.not_online = [], [], False, {}

    def step(self, name, target, manager):
        """Run a link or smsbox manager; keep what it did, when and for how long, when it did
        anything."""
        started = time.monotonic()
        try:
            result = manager.run()
        finally:
            self.warnings.extend(manager.warnings)
            if manager.actions:
                self.steps.append({"step": name, "target": target, "actions": list(manager.actions),
                                   "started": round(started - self.started, 3),
                                   "seconds": round(time.monotonic() - started, 3)})
            self.changed = self.changed or manager.changed
        return result

    def links_of(self, names):
        return [link for name in names for link in self.sets[name]["links"]]

    def run(self):
        unserved = [name for name in sorted(self.sets) if name not in self.serve]
        # The own set's links go before any smsbox: the provider bind is what must never overlap
        # with the peer's, and a message its smsbox still accepts waits for the stand-ins. A set
        # held for the peer is drained, so its smsbox stops first (nothing new to wait for).
        if self.own in unserved and self.sets[self.own]["links"]:
            self.hold(self.sets[self.own]["links"])
        for name in unserved:
            if self.sets[name]["smsbox"]:
                self.step("smsbox-stop", name, self.smsbox_factory(name, "passive"))
        passive = self.links_of(name for name in unserved if name != self.own)
        if passive:
            self.step("passive", passive, self.links_factory(passive, "passive"))
        early = [name for name in self.serve if self.accepts_before_its_links(name)]
        for name in early:
            self.step("smsbox-start", name, self.smsbox_factory(name, "active"))
        active = self.links_of(self.serve)
        if active:
            result = self.step("active", active, self.links_factory(active, "active"))
            self.not_online = result.get("not_online", {})
        for name in self.serve:
            if self.sets[name]["smsbox"] and name not in early:
                self.step("smsbox-start", name, self.smsbox_factory(name, "active"))
        self.sweep()

    def accepts_before_its_links(self, name):
        """The own set's smsbox may start first: each of its links or its stand-in is loaded."""
        links = self.sets[name]["links"]
        return bool(name == self.own and self.sets[name]["smsbox"] and links
                    and self.held_or_loaded is not None and self.held_or_loaded(links))

    def hold(self, links):
        try:
            self.step("hold", links, self.links_factory(links, "held"))
        except TaskError as e:
            if not self.links_go_anyway:
                raise
            self.warnings.append("the stand-ins of %s could not be loaded (%s): removing the links "
                                 "anyway; the messages queued for them may be discarded, see "
                                 "bearerbox's log" % (", ".join(links), e))
            self.step("passive", links, self.links_factory(links, "passive"))

    def sweep(self):
        """Out of active_dir with every file not wanted there now (module_utils/smsc_active.py)."""
        if self.active_dir is None:
            return
        own_links = self.sets[self.own]["links"]
        keep = wanted_ids(self.sets, self.serve, self.own,
                          dict((link, held_id(link)) for link in own_links),
                          present=present(self.active_dir))
        swept = sweep(self.active_dir, keep)
        if swept:
            self.changed = True
            self.steps.append({"step": "sweep", "target": self.active_dir,
                               "actions": [{"link": name, "action": "delete-config"}
                                           for name in swept]})
            self.warnings.append("removed from %s what is no served link's file: %s"
                                 % (self.active_dir, ", ".join(swept)))
