# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster lock: one run at a time changes what a cluster serves.

Takeover, failback, deploy's serving step (and the watcher's takeover, which is takeover.yml)
take it on the cluster's nodes before they read or change the serving state and release it at the
end, so it is seen by every controller (an operator's shell, AWX, the watcher's host). The lock of
a node is one JSON file (default ``/var/lib/kannel-cluster/cluster-lock.json``) naming its holder:

  cluster, run_id (unique per run), playbook, target, controller (user@host), pid, job_id (AWX),
  taken_at, expires_at (UTC, the node's clock; ``*_epoch`` the same as numbers)

Rules (``take``):
  - the file is created complete or not at all, and never over another one: written to a
    temporary file, then ``os.link`` to the lock's name, which fails when the name exists
    (rename-no-replace). Two runs racing for a free lock: exactly one link succeeds.
  - a lock held by the same run_id is ours (a re-take changes nothing);
  - a lock past its expires_at (its controller died) is taken over, so is one whose run the
    caller knows is gone (gone_run_id: a run of the same controller whose process has ended),
    and one held by another run only when breaking is asked for; each is said in the result. Replacing an existing lock is
    done under ``flock`` on a guard file beside it (so two runs cannot both replace the same stale
    lock) and still by link-no-replace after removing the judged file (a plain taker that comes in
    between wins, and the replacing run refuses);
  - an unreadable lock file counts as held (by an unknown holder) until its file is older than the
    expiry; it is never silently ignored.
``release`` removes the lock only when it is held by the given run_id.

Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import (
    exclusive_lock,
    write_new,
)

DEFAULT_DIR = "/var/lib/kannel-cluster"
LOCK_NAME = "cluster-lock.json"
GUARD_NAME = ".cluster-lock.guard"
HOLDER_FIELDS = ("playbook", "target", "controller", "pid", "job_id")


class LockError(Exception):
    """The lock file cannot be written or removed (permissions, disk)."""


def utc_iso(when):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def new_record(cluster, run_id, holder, now, expiry_seconds):
    """The lock record of a run taking the lock at `now` (the node's clock)."""
    record = {"cluster": cluster, "run_id": run_id}
    for field in HOLDER_FIELDS:
        record[field] = (holder or {}).get(field)
    record.update(taken_at=utc_iso(now), taken_at_epoch=int(now),
                  expires_at=utc_iso(now + expiry_seconds), expires_at_epoch=int(now + expiry_seconds))
    return record


def describe(record):
    """'root@ctl (takeover failed=east, pid 42, AWX job 7)' - who holds the lock, for messages."""
    if record.get("unreadable"):
        return "an unknown holder (the lock file %s is unreadable: %s)" % (
            record.get("path"), record.get("unreadable"))
    what = " ".join(str(record[k]) for k in ("playbook", "target") if record.get(k))
    extra = ["pid %s" % record["pid"]] if record.get("pid") else []
    if record.get("job_id"):
        extra.append("AWX job %s" % record["job_id"])
    return "%s (%s)" % (record.get("controller") or "an unknown controller",
                        ", ".join([what or "unknown playbook"] + extra))


def expired(record, now):
    return now >= (record.get("expires_at_epoch") or 0)


def operator_view(record, now):
    """The record with the figures an operator reads (status.yml), or None for a free lock."""
    if record is None:
        return None
    out = dict(record)
    out.update(holder=describe(record), age_seconds=max(0, int(now - (record.get("taken_at_epoch") or now))),
               expires_in_seconds=max(0, int((record.get("expires_at_epoch") or now) - now)),
               expired=expired(record, now))
    return out


def refusal(record, now):
    """Why a run may not go on, naming the holder: 'the cluster lock of C is held by ... since ...'."""
    since = record.get("taken_at_epoch") or now
    return ("the cluster lock of %s is held by %s since %s (%d s ago; it expires at %s, in %d s)"
            % (record.get("cluster") or "this cluster", describe(record), record.get("taken_at"),
               max(0, now - since), record.get("expires_at"),
               max(0, (record.get("expires_at_epoch") or now) - now)))


class ClusterLock(object):
    """The lock file of one node."""

    def __init__(self, directory=None, name=LOCK_NAME):
        self.directory = directory or DEFAULT_DIR
        self.path = os.path.join(self.directory, name)
        self.guard_path = os.path.join(self.directory, GUARD_NAME)

    def read(self):
        """The holder's record, or None when the lock is free."""
        try:
            with open(self.path) as fh:
                text = fh.read()
            st = os.stat(self.path)
        except (IOError, OSError) as e:
            if e.errno == errno.ENOENT:
                return None
            raise LockError("cannot read %s: %s" % (self.path, e))
        try:
            record = json.loads(text)
            if not isinstance(record, dict) or "run_id" not in record:
                raise ValueError("not a lock record")
            return record
        except ValueError as e:
            # A file we cannot read still means someone took the lock: it expires by its age.
            return {"unreadable": str(e), "path": self.path, "run_id": None,
                    "taken_at": utc_iso(st.st_mtime), "taken_at_epoch": int(st.st_mtime)}

    def _guarded(self):
        return exclusive_lock(self.guard_path, 0o600)

    def _link_new(self, record):
        """Create the lock file holding record unless it exists: True when created."""
        return write_new(self.path, json.dumps(record, indent=2, sort_keys=True) + "\n", mode=0o644)

    def take(self, record, now, expiry_seconds, break_lock=False, gone_run_id=None, check_mode=False):
        """Try to take the lock for record (new_record()). gone_run_id: the run id of a holder the
        caller knows is gone (its process no longer runs on the caller's own controller); only
        that lock is taken over. Returns a dict: taken (bool), changed (bool), held_by (the holder
        that keeps us out, or None), replaced (the record we took over or broke, or None), how
        ('new' | 'ours' | 'expired' | 'gone' | 'broken' | None), and msg."""
        try:
            if not os.path.isdir(self.directory):
                if check_mode:
                    return self._result(True, False, how="new", msg="the lock is free (check mode: not taken)")
                os.makedirs(self.directory, 0o755)
            current = self.read()
            if current is None:
                if check_mode:
                    return self._result(True, False, how="new", msg="the lock is free (check mode: not taken)")
                if self._link_new(record):
                    return self._result(True, True, how="new", msg="took the cluster lock")
                current = self.read()  # someone came in between
                if current is None:  # ... and was gone again at once: try once more
                    if self._link_new(record):
                        return self._result(True, True, how="new", msg="took the cluster lock")
                    current = self.read() or {}
            if current.get("run_id") == record["run_id"]:
                return self._result(True, False, how="ours", msg="this run holds the cluster lock already")
            stale = self._stale(current, now, expiry_seconds)
            gone = bool(gone_run_id) and current.get("run_id") == gone_run_id
            if not (stale or gone or break_lock):
                return self._result(False, False, held_by=current, msg=refusal(current, now))
            how = "expired" if stale else "gone" if gone else "broken"
            if check_mode:
                return self._result(True, False, how=how, replaced=current,
                                    msg=self._replaced_msg(how, current, now) + " (check mode: not taken)")
            with self._guarded():
                again = self.read()
                if again != current:  # it changed since we judged it: judge again next run
                    return self._result(False, False, held_by=again or current,
                                        msg=refusal(again or current, now))
                try:
                    os.unlink(self.path)
                except OSError as e:
                    if e.errno != errno.ENOENT:
                        raise
                if not self._link_new(record):
                    holder = self.read() or current
                    return self._result(False, False, held_by=holder, msg=refusal(holder, now))
            return self._result(True, True, how=how, replaced=current,
                                msg=self._replaced_msg(how, current, now))
        except (IOError, OSError) as e:
            raise LockError("cannot take the lock %s: %s" % (self.path, e))

    def release(self, run_id, check_mode=False):
        """Remove the lock if run_id holds it. Returns (released, holder before)."""
        try:
            if not os.path.isdir(self.directory):
                return False, None
            with self._guarded():
                current = self.read()
                if current is None or current.get("run_id") != run_id:
                    return False, current
                if not check_mode:
                    os.unlink(self.path)
                return True, current
        except (IOError, OSError) as e:
            raise LockError("cannot release the lock %s: %s" % (self.path, e))

    @staticmethod
    def _stale(record, now, expiry_seconds):
        if record.get("unreadable"):
            return now >= (record.get("taken_at_epoch") or 0) + expiry_seconds
        return expired(record, now)

    @staticmethod
    def _replaced_msg(how, record, now):
        if how == "gone":
            return ("took over the cluster lock of %s, taken at %s: that ansible-playbook (pid %s) no "
                    "longer runs on this controller" % (describe(record), record.get("taken_at"),
                                                        record.get("pid")))
        if how == "expired":
            return ("took over the expired cluster lock of %s, taken at %s, expired at %s (%d s ago): "
                    "its run did not release it (its controller died or lost the node)"
                    % (describe(record), record.get("taken_at"), record.get("expires_at") or "?",
                       max(0, now - (record.get("expires_at_epoch") or record.get("taken_at_epoch") or now))))
        return ("broke the cluster lock of %s, taken at %s (%d s ago), as asked (cluster_lock_break=true)"
                % (describe(record), record.get("taken_at"),
                   max(0, now - (record.get("taken_at_epoch") or now))))

    @staticmethod
    def _result(taken, changed, held_by=None, replaced=None, how=None, msg=""):
        return {"taken": taken, "changed": changed, "held_by": held_by, "replaced": replaced,
                "how": how, "msg": msg}
