# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The automatic-takeover watcher's state file and the operator's changes to it.

Used by the watcher's decisions (``kannel_watch.Watch``), the event source
``smsgw.cluster.kannel_health`` and the module ``smsgw.cluster.kannel_watch_state`` (the operator's
pause / resume / arm, ``status.yml``). Standard library only.

The state of a cluster lives in one JSON file on the witness host (``<state_dir>/<cluster>.json``),
so the watcher, the operator's commands and status.yml see the same thing and it survives a restart
of the watcher. It is changed only under an exclusive lock (``<cluster>.lock``) and replaced
atomically. Its fields:

  mode             armed | paused | disarmed (disarmed: after an automatic takeover; the operator
                   arms again after failback)
  mode_reason, mode_changed_at, mode_changed_by
  attempts         automatic takeovers started so far (the attempt number)
  takeover         the last automatic takeover: node, survivor, attempt, started_at, ended_at,
                   result (running | served | not served), refused (why, when the playbook was
                   refused because another run held the cluster lock). Written *before* the takeover starts:
                   a watcher restarted while one runs finds it and starts no second one.
  last_decision    the watcher's last logged decision: at, node, seen, did, why
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import contextlib
import copy
import errno
import json
import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import (
    exclusive_lock,
    write_atomically,
)

DEFAULT_STATE_DIR = "/var/lib/smsgw-watch"
MODES = ("armed", "paused", "disarmed")
OPERATOR_ACTIONS = ("arm", "pause", "resume")


def utc_iso(when=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))


def from_utc_iso(text):
    """The wall-clock time of a utc_iso() text (whole seconds)."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def initial_state(cluster):
    return {"cluster": cluster, "mode": "armed",
            "mode_reason": "no state recorded yet (armed by default)", "mode_changed_at": None,
            "mode_changed_by": None, "attempts": 0, "takeover": None, "last_decision": None}


class WatchStateError(Exception):
    """The state file cannot be read or written."""


class StateFile(object):
    """The state file of one cluster."""

    def __init__(self, state_dir, cluster):
        self.state_dir = state_dir or DEFAULT_STATE_DIR
        self.cluster = cluster
        self.path = os.path.join(self.state_dir, cluster + ".json")
        self.lock_path = os.path.join(self.state_dir, cluster + ".lock")

    def exists(self):
        return os.path.exists(self.path)

    def read(self):
        try:
            with open(self.path) as fh:
                data = json.load(fh)
        except IOError as e:
            if e.errno == errno.ENOENT:
                return initial_state(self.cluster)
            raise WatchStateError("cannot read %s: %s" % (self.path, e))
        except ValueError as e:
            raise WatchStateError("%s is not valid JSON (%s): fix or remove it" % (self.path, e))
        state = initial_state(self.cluster)
        state.update(data)
        if state["mode"] not in MODES:
            raise WatchStateError("%s: mode %r is not one of %s"
                                  % (self.path, state["mode"], ", ".join(MODES)))
        return state

    @contextlib.contextmanager
    def locked(self):
        locked = False
        try:
            if not os.path.isdir(self.state_dir):
                os.makedirs(self.state_dir, 0o755)
            with exclusive_lock(self.lock_path, 0o644):
                locked = True
                yield
        except OSError as e:
            if locked:  # raised by the caller's block, not by taking the lock
                raise
            raise WatchStateError("cannot lock %s: %s" % (self.lock_path, e))

    def _write(self, state):
        try:
            write_atomically(self.path, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o644)
        except OSError as e:
            raise WatchStateError("cannot write %s: %s" % (self.path, e))

    def update(self, change):
        """Apply change(state) -> new state (or None: keep) under the lock; return (before, after)."""
        with self.locked():
            before = self.read()
            after = change(copy.deepcopy(before))
            if after is not None and after != before:
                self._write(after)
                return before, after
            return before, before


def operator_change(state, action, by, when=None, note=None):
    """The operator's arm / pause / resume -> (new state, message). new state == state: no change."""
    if action not in OPERATOR_ACTIONS:
        raise ValueError("action must be one of %s, got %r" % (", ".join(OPERATOR_ACTIONS), action))
    cluster, mode = state["cluster"], state["mode"]
    new = copy.deepcopy(state)
    running = (state.get("takeover") or {}).get("result") == "running"
    if action == "pause":
        if mode == "paused":
            return state, "%s is already paused: the watcher takes nothing over" % cluster
        if mode == "disarmed":
            return state, ("%s is disarmed (%s): the watcher takes nothing over; nothing to pause"
                           % (cluster, state.get("mode_reason")))
        target, reason = "paused", note or "paused by the operator"
    elif action == "resume":
        if mode == "armed":
            return state, "%s is already armed" % cluster
        if mode == "disarmed":
            return state, ("Refused: %s is disarmed (%s), not paused. After failback, arm it with "
                           "action=arm." % (cluster, state.get("mode_reason")))
        target, reason = "armed", note or "resumed by the operator"
    else:
        if mode == "armed" and not running:
            return state, "%s is already armed" % cluster
        target, reason = "armed", note or "armed by the operator"
        if running:
            # the operator decided: a takeover whose end was never recorded is history now
            new["takeover"]["result"] = "abandoned"
            new["takeover"]["ended_at"] = new["takeover"].get("ended_at") or utc_iso(when)
    new.update(mode=target, mode_reason=reason, mode_changed_at=utc_iso(when), mode_changed_by=by)
    return new, "%s: %s -> %s (%s)" % (cluster, mode, target, reason)


def takeover_ended(state, attempt, when=None, refused=None):
    """The rulebook's note that the takeover playbook of `attempt` returned (whatever its result),
    or the playbook's own note, with `refused` (why), that it was refused before it changed
    anything because another run held the cluster lock."""
    record = state.get("takeover") or {}
    if record.get("attempt") != attempt or record.get("ended_at"):
        return state
    new = copy.deepcopy(state)
    new["takeover"]["ended_at"] = utc_iso(when)
    if refused:
        new["takeover"]["refused"] = refused
    return new
