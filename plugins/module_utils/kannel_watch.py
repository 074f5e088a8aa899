# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the automatic-takeover watcher.

Used by the event source ``smsgw.cluster.kannel_health``, which polls the nodes and calls
``Watch.round`` after every poll. What the decisions read and record (mode, the running takeover,
the last decision) is the cluster's state file, ``watch_state.StateFile``. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import (
    from_utc_iso,
    utc_iso,
)

# The watcher's timing when its configuration names none: the same as cluster_model's defaults
# of kannel_watch_interval / kannel_watch_failure_seconds (a unit test holds them equal).
DEFAULT_INTERVAL = 5.0
DEFAULT_FAILURE_SECONDS = 30.0


class Poll(object):
    """One poll of one node, as the event source saw it."""

    def __init__(self, node, reachable, health="unknown", active_sets=(), error=None, denied=False,
                 store_down=False):
        self.node = node
        # the node's status page waits for the cluster's external DLR store, which does not
        # answer either: the store is the fault, not the node
        self.store_down = store_down
        self.reachable = reachable
        self.health = health
        self.active_sets = sorted(active_sets)
        self.error = error
        self.denied = denied  # a configuration error (wrong status password / address not allowed)

    @property
    def failed(self):
        """A poll that counts towards the failure window: no usable answer. Denied is an answer."""
        return not self.reachable and not self.denied

    @property
    def healthy(self):
        return self.reachable and not self.denied and self.health == "healthy"

    def seen(self):
        if self.denied:
            return "status page denied (%s)" % self.error
        if not self.reachable:
            return "no answer (%s)" % self.error
        return "%s, serves %s" % (self.health, ", ".join(self.active_sets) or "no set")


class Watch(object):
    """Hysteresis and decisions for one cluster of two nodes.

    A node is taken over when, and only when: it failed every poll for failure_seconds (one answer
    resets the count), its peer answered healthy in the same round, the peer does not serve its set
    already, the cluster is armed and no automatic takeover is recorded as running. The takeover
    playbook then confirms from the survivor itself that the node does not answer (the second
    observer). The record of the takeover is written, and the cluster disarmed, before the takeover
    event leaves this class.
    """

    def __init__(self, cluster, nodes, failure_seconds, state_file, log):
        if len(nodes) != 2:
            raise ValueError("cluster %s: a cluster has exactly two nodes, got %s"
                             % (cluster, ", ".join(nodes) or "none"))
        self.cluster = cluster
        self.nodes = sorted(nodes)
        self.failure_seconds = failure_seconds
        self.state_file = state_file
        self.log = log
        self.failing_since = dict.fromkeys(self.nodes)
        self.failed_for = dict.fromkeys(self.nodes, 0.0)  # how long the last failure lasted
        self.last_said = dict.fromkeys(self.nodes)

    def peer(self, node):
        return [n for n in self.nodes if n != node][0]

    def round(self, polls, now):
        """polls: {node: Poll} of one round; now: wall clock. Returns {node: (decision, reason,
        attempt)}; decision is ok | wait | hold | error | takeover."""
        state = self.state_file.read()
        state = self._follow_takeover(state, polls, now)
        out = {}
        for node in self.nodes:
            poll = polls[node]
            if poll.failed:
                if self.failing_since[node] is None:
                    self.failing_since[node] = now
            else:
                if self.failing_since[node] is not None:
                    self.failed_for[node] = now - self.failing_since[node]
                self.failing_since[node] = None
        for node in self.nodes:
            out[node] = self._decide(node, polls, state, now)
            state = self.state_file.read() if out[node][0] == "takeover" else state
        return out

    def failing_for(self, node, now):
        since = self.failing_since[node]
        return 0.0 if since is None else now - since

    def _decide(self, node, polls, state, now):
        poll, peer = polls[node], self.peer(node)
        peer_poll = polls[peer]
        seen = poll.seen()
        if poll.denied:
            return self._record_decision(node, now, "error", seen, "nothing",
                                         "the watcher is misconfigured, not the node: it never takes over "
                                         "on its own configuration error", every_time=True)
        if not poll.failed:
            was = self.last_said[node]
            why = "answers"
            if was and was[0] in ("wait", "hold"):
                why = "answers again after %.0f s of failed polls" % self.failed_for[node]
                if self.failed_for[node] < self.failure_seconds:
                    why += (", shorter than the failure window (%s s): a blip is not a failure"
                            % self.failure_seconds)
            return self._record_decision(node, now, "ok", seen, "nothing", why)
        failing = self.failing_for(node, now)
        seen = "%s for %.0f s" % (seen, failing)
        if failing < self.failure_seconds:
            return self._record_decision(node, now, "wait", seen, "nothing",
                                         "failing for less than the failure window (%s s); one answer resets it"
                                         % self.failure_seconds)
        record = state.get("takeover") or {}
        blockers = []
        if record.get("result") == "running":
            blockers.append("automatic takeover attempt %s of %s started at %s has not ended (a "
                            "watcher restarted while it ran does not start another; check "
                            "status.yml, then arm with watch.yml action=arm)"
                            % (record.get("attempt"), record.get("node"), record.get("started_at")))
        elif state["mode"] == "paused":
            blockers.append("automatic switching is paused (%s); resume with watch.yml "
                            "action=resume" % state.get("mode_reason"))
        elif state["mode"] == "disarmed":
            blockers.append("automatic switching is disarmed (%s); it never fails back: run "
                            "failback.yml, then watch.yml action=arm" % state.get("mode_reason"))
        if poll.store_down:
            blockers.append("the cluster's DLR store does not answer either: %s waits for it and "
                            "%s needs it too (they share it); taking over does not help, bring "
                            "the store back" % (node, peer))
        if node in peer_poll.active_sets:
            blockers.append("peer %s already serves %s's set" % (peer, node))
        elif not peer_poll.healthy:
            both = " (both nodes down: nothing is attempted)" if peer_poll.failed else ""
            blockers.append("peer %s is not healthy: %s%s; taking over onto it helps nobody"
                            % (peer, peer_poll.seen(), both))
        if blockers:
            return self._record_decision(node, now, "hold", seen + "; peer %s: %s" % (peer, peer_poll.seen()),
                                         "nothing", "; ".join(blockers))
        return self._start_takeover(node, peer, seen, failing, now)

    def _start_takeover(self, node, peer, seen, failing, now):
        why = ("failed every poll for %.0f s (window %s s), peer %s healthy, armed"
               % (failing, self.failure_seconds, peer))

        def claim(state):
            # re-checked under the lock: an operator's pause or another watcher may have come first
            if state["mode"] != "armed" or (state.get("takeover") or {}).get("result") == "running":
                return None
            attempt = int(state.get("attempts") or 0) + 1
            state.update(mode="disarmed", attempts=attempt, mode_changed_at=utc_iso(now),
                         mode_changed_by="watcher",
                         mode_reason="automatic takeover of %s (attempt %d)" % (node, attempt))
            state["takeover"] = {"node": node, "survivor": peer, "attempt": attempt,
                                 "started_at": utc_iso(now), "ended_at": None, "result": "running",
                                 "watcher_pid": os.getpid()}
            return state

        before, after = self.state_file.update(claim)
        if after is before:
            return self._record_decision(node, now, "hold", seen, "nothing",
                                         "the state changed meanwhile (mode %s): no takeover" % before["mode"])
        attempt = after["takeover"]["attempt"]
        return self._record_decision(node, now, "takeover", seen + "; peer %s healthy" % peer,
                                     "takeover of %s by %s started (attempt %d, cluster disarmed; the playbook "
                                     "first confirms from %s that %s does not answer)"
                                     % (node, peer, attempt, peer, node), why, attempt=attempt, every_time=True)

    def _follow_takeover(self, state, polls, now):
        """Settle a running takeover: served when the survivor serves the node's set; not served
        when the playbook ended without that (then the cluster is armed again and the node's
        failure window starts again)."""
        record = state.get("takeover") or {}
        if record.get("result") != "running":
            return state
        node, survivor = record["node"], record["survivor"]
        served = node in polls[survivor].active_sets

        def settle(st):
            rec = st.get("takeover") or {}
            if rec.get("attempt") != record["attempt"] or rec.get("result") != "running":
                return None
            if served:
                rec["result"], rec["served_at"] = "served", utc_iso(now)
                st["mode_reason"] = "automatic takeover of %s (attempt %s) served by %s" % (
                    node, rec["attempt"], survivor)
            elif rec.get("ended_at") and now >= from_utc_iso(rec["ended_at"]) + 1:
                # Only a round that began after the playbook ended can say its set is not
                # served: one in flight meanwhile may have read the survivor before the
                # activation (ended_at counts whole seconds, hence the second more).
                rec["result"] = "not served"
                if st["mode"] == "disarmed" and st.get("mode_changed_by") == "watcher":
                    st.update(mode="armed", mode_changed_at=utc_iso(now), mode_changed_by="watcher",
                              mode_reason="re-armed: takeover attempt %s of %s ended without %s "
                                          "serving its set" % (rec["attempt"], node, survivor))
            else:
                return None
            return st

        before, after = self.state_file.update(settle)
        if after is before:
            return before
        if served:
            self._record_decision(node, now, "ok" if not polls[node].failed else "hold",
                                  "%s serves %s's set" % (survivor, node),
                                  "recorded takeover attempt %s as served; the cluster stays disarmed"
                                  % record["attempt"],
                                  "no ping-pong: the watcher never fails back; run failback.yml -e node=%s when "
                                  "it is healthy, then watch.yml action=arm" % node, every_time=True)
        else:
            self.failing_since[node] = None if polls[node].reachable else now
            refused = after["takeover"].get("refused")
            if refused:
                # Another run (takeover, failback, deploy) is changing the cluster: not a failure
                # of the cluster, so stay armed, and try again no sooner than a whole window later.
                self._record_decision(node, now, "ok" if polls[node].reachable else "wait",
                                      "takeover attempt %s was refused: %s" % (record["attempt"], refused),
                                      "re-armed; %s's failure window starts again (the next attempt, if %s is "
                                      "still down and its set not served, no sooner than %s s from now)"
                                      % (node, node, self.failure_seconds),
                                      "another run holds the cluster lock; it changes the cluster now",
                                      every_time=True)
                return after
            self._record_decision(node, now, "ok" if polls[node].reachable else "wait",
                                  "takeover attempt %s ended; %s does not serve %s's set"
                                  % (record["attempt"], survivor, node),
                                  "re-armed; %s's failure window starts again" % node,
                                  "the takeover playbook refused or failed (its output above says why: e.g. the "
                                  "survivor still reaches %s, so only the watcher's path to it is broken)" % node,
                                  every_time=True)
        return after

    def _record_decision(self, node, now, decision, seen, did, why, attempt=None, every_time=False):
        """Log the decision (one line when it changes, every time for errors and takeovers) and
        keep it in the state file as the last decision (status.yml shows it)."""
        key = (decision, why)
        if every_time or self.last_said[node] != key:
            self.last_said[node] = key
            entry = {"at": utc_iso(now), "node": node, "decision": decision, "seen": seen,
                     "did": did, "why": why}
            self.log("%s %s %s: %s | seen: %s | did: %s | why: %s"
                     % (entry["at"], self.cluster, node, decision, seen, did, why))

            def remember(st):
                st["last_decision"] = entry
                return st
            self.state_file.update(remember)
        return decision, why, attempt
