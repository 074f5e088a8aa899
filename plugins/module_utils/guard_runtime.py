# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime guard of a cluster node: `kannel-cluster-guard watch` (kannel-cluster-guard.service)
and `kannel-cluster-guard peer-silence` (the runtime guard's record of the peer, guard_node.peer_record).

Every `interval` seconds, the start-up guard's rule while the node runs (a frozen node resumes, a
cut-off node heals), plus the quorum rule. See watch() for the loop. The runtime guard only ever
gives up this node's OWN set, never a set it holds for a failed peer, so the two nodes can never
both give up the same set. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import json
import os
import socket
import sys
import time

from ansible_collections.smsgw.cluster.plugins.module_utils import guard_node, guard_peer, guard_release
from ansible_collections.smsgw.cluster.plugins.module_utils.guard_node import log
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import DeniedBackoff


def connects(address, timeout):
    host, _colon, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
        return True
    except OSError:
        return False


def quorum_reached(addresses, timeout):
    """A quorum address ("IPv4:port") that accepts a TCP connection, or None. All are tried at
    once, so a check takes at most `timeout` however many there are (cluster_model's margins).
    Unlike the peer's port, a refused connection does not count: a quorum address is configured
    as a listening port, so a refusal may as well come from a firewall on this side."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(addresses)) as pool:
        reached = list(pool.map(lambda a: connects(a, timeout), addresses))
    return next((a for a, ok in zip(addresses, reached) if ok), None)


def runtime_verdict(cfg, claimed, peer_sets, cut_off_seconds):
    """Why this node must give up its own set now, or None. Pure: the loop measures, this decides.

    claimed: sets serving.json lists; peer_sets: sets the peer has active (None: no answer);
    cut_off_seconds: since the peer or a quorum address was last reached (None: quorum off)."""
    own = cfg["node"]
    if own not in claimed:
        return None
    if peer_sets is not None:
        if own in peer_sets:
            return "peer %s has set %s active" % (cfg["peer"], own)
        return None
    if cut_off_seconds is None:
        return None  # peer unreachable, no quorum: it may be the peer that is down
    quorum = cfg["quorum"]
    if cut_off_seconds >= float(quorum["seconds"]):
        return ("cut off: reached neither peer %s nor a quorum address (%s) for %d s "
                "(kannel_quorum_seconds=%s)" % (cfg["peer"], ", ".join(quorum["addresses"]),
                                                cut_off_seconds, quorum["seconds"]))
    return None


def write_state(cfg, state):
    try:
        os.makedirs(os.path.dirname(cfg["state_file"]), exist_ok=True)
        guard_node.write_json_atomic(cfg["state_file"], state)
    except OSError as e:
        log("cannot write %s (%s)" % (cfg["state_file"], e))


def read_state(cfg):
    try:
        state = guard_node.load_json(cfg["state_file"])
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


class RuntimeGuard:
    """One runtime guard: remembers when the peer and a quorum address were last reached."""

    def __init__(self, cfg, clock=time.monotonic, wall=time.time):
        self.cfg, self.clock, self.wall = cfg, clock, wall
        now = clock()
        # Counting starts with the guard: a node never gives up within its first quorum period.
        self.peer_seen = self.quorum_seen = now
        self.peer_reachable = None
        # A give-up whose runtime change has not finished. Kept in the state file (/run: not
        # across a reboot, when bearerbox starts afresh through the start-up guard) because the
        # guard may be restarted in the middle of one (deploy's handler restarts it): the new
        # process finishes it, or links of a set serving.json no longer lists stay loaded.
        self.releasing = bool(read_state(cfg).get("releasing"))
        self.denied = DeniedBackoff(2 * float(cfg["interval"]), guard_peer.DENIED_CAP)
        quorum = cfg.get("quorum", {})
        self.quorum = quorum.get("addresses", []) if quorum.get("enabled") else []

    def ask_peer(self, timeout):
        """(reached, sets) as probe_peer, but after a Denied the peer's bearerbox is asked again
        only as kannel_status.DeniedBackoff allows; meanwhile a TCP connection to its admin port
        tells whether its host answers (a Denied means that too), so the quorum rule sees the
        same as before. Logs once when the Denied answers begin and once when they end."""
        now = self.clock()
        if not self.denied.may_ask(now):
            return guard_peer.peer_host_answers(self.cfg, timeout), None
        reached, sets, denied = guard_peer.probe_peer(self.cfg, timeout)
        if sets is not None:
            if self.denied.accepted():
                log("peer %s accepts the status password again"
                    % guard_peer.host_of(self.cfg["peer_admin_url"]))
        elif denied or self.denied.active:
            # while denied, no status at all is a late Denied too (bearerbox sleeps before it)
            if self.denied.denied(now):
                log("%s. Asking again in %.0f s, then ever less often (at most every %.0f s)"
                    % (guard_peer.denied_message(self.cfg), self.denied.wait(), guard_peer.DENIED_CAP))
        return reached, sets

    def save(self):
        now = self.clock()
        write_state(self.cfg, {"peer": self.cfg["peer"], "peer_reachable": self.peer_reachable,
                               "peer_seen_at": self.wall() - (now - self.peer_seen),
                               "updated_at": self.wall(), "releasing": self.releasing})

    def set_releasing(self, releasing):
        self.releasing = releasing
        self.save()

    def step(self):
        """One check; returns the reason it gave up the own set, or None."""
        timeout = min(1.0, float(self.cfg["interval"]))
        reached, peer_sets = self.ask_peer(timeout)
        if reached:
            self.peer_seen = self.quorum_seen = self.clock()  # the peer counts as quorum
        elif self.quorum and quorum_reached(self.quorum, timeout):
            self.quorum_seen = self.clock()
        # read after the peer and quorum answers, which may wait out their timeouts: a takeover on
        # this node that writes serving.json and binds the peer's address meanwhile is seen, not
        # undone by this step's sweep of the addresses of sets serving.json does not list
        serving = guard_node.read_serving(self.cfg)
        if reached != self.peer_reachable:
            self.peer_reachable = reached
            log("peer %s %s" % (self.cfg["peer"], "answers" if reached else "does not answer"))
        now = self.clock()
        self.save()
        if serving is None:
            return None
        reason = runtime_verdict(self.cfg, set(serving.get("sets", [])), peer_sets,
                                 (now - self.quorum_seen) if self.quorum else None)
        if reason:
            self.give_up_own_set(serving, reason)
        elif self.releasing and self.cfg["node"] not in serving.get("sets", []):
            self.give_up_own_set(None, "finishing the unfinished give-up (a failed release, or "
                                       "this guard was restarted in the middle of one)")
        elif guard_release.own_links_left_loaded(self.cfg, serving):
            self.give_up_own_set(None, "own links loaded while serving.json does not list the set")
        else:
            if self.releasing:
                # serving.json lists the own set (again, or the give-up was never recorded):
                # nothing of this guard's to finish
                self.set_releasing(False)
            # serving.json is the intent (playbooks write it first): an address of a set it does
            # not list (left by a freeze, a cut, a hand) goes, whoever gave the set up
            guard_node.release_service_addresses(self.cfg, serving.get("sets", []))
        return reason

    def give_up_own_set(self, serving, reason):
        """The one place the runtime guard changes what this node serves: record the give-up in
        serving.json (unless retrying), then make the runtime follow it (release_own_set). A
        failed release is retried at the next step; only a give-up of this guard's own is retried,
        never a playbook's change of serving.json (takeover/failback apply those themselves)."""
        # recorded before serving.json changes: a guard killed from here on resumes the release
        self.set_releasing(True)
        if serving is not None:
            guard_node.record_give_up(self.cfg, serving, {self.cfg["node"]}, reason, "runtime guard")
        else:
            log("set %s: %s" % (self.cfg["node"], reason))
        guard_release.release_own_set(self.cfg)
        self.set_releasing(False)


def watch(cfg):
    """The runtime guard's loop: RuntimeGuard.step() every `interval` seconds; it reads serving.json and
    the peer, decides with runtime_verdict(), and applies a give-up with give_up_own_set()."""
    guard = RuntimeGuard(cfg)
    quorum = cfg.get("quorum", {})
    log("watching peer %s every %s s; quorum %s" % (
        cfg["peer"], cfg["interval"], ("on: %s, %s s" % (", ".join(quorum["addresses"]), quorum["seconds"]))
        if quorum.get("enabled") else "off"))
    while True:
        started = time.monotonic()
        try:
            guard.step()
        except Exception as e:  # pylint: disable=broad-except
            # Never let one failed step end the guard (e.g. an http.client error, which is no
            # OSError): a restart resets the quorum timers, and a guard that fails at every step
            # would, restarted each time, never count to a cut-off. The next step tries again.
            log("check failed (%s: %s)" % (type(e).__name__, e))
        time.sleep(max(0.0, float(cfg["interval"]) - (time.monotonic() - started)))


def peer_silence(cfg):
    """`kannel-cluster-guard peer-silence`: peer_record as one line of JSON."""
    sys.stdout.write(json.dumps(guard_node.peer_record(cfg)) + "\n")
    return 0
