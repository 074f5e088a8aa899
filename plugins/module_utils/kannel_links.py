# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Making provider links active, passive or held in one bearerbox, with their files (smsgw.cluster.kannel_link
and smsgw.cluster.kannel_serve)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import copy_atomically
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import (
    HELD_SUFFIX,
    held_id,
    links_by_admin_id,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import (
    LINK_ID_RE,
    sweep,
    temp_dir,
)

SETTLING = ("disconnected",)
LOADED_NOT_ONLINE = ("connecting", "re-connecting")


class LinkError(Exception):
    def __init__(self, msg, **extra):
        super(LinkError, self).__init__(msg)
        self.msg = msg
        self.extra = extra


def _same_file(src, dst):
    """True when dst exists with src's content, mode and owner."""
    try:
        s, d = os.stat(src), os.stat(dst)
    except OSError:
        return False
    if (s.st_mode & 0o7777, s.st_uid, s.st_gid) != (d.st_mode & 0o7777, d.st_uid, d.st_gid):
        return False
    if s.st_size != d.st_size:
        return False
    with open(src, "rb") as a, open(dst, "rb") as b:
        return a.read() == b.read()


class LinkManager(object):
    """Decides and applies; separated from AnsibleModule so unit tests can drive it."""

    def __init__(self, admin, links, state, active_dir, available_dir, wait_timeout=30.0,
                 drain_timeout=0.0, require_online=True, check_mode=False, sleep=time.sleep,
                 clock=time.monotonic, stand_ins=False):
        self.admin = admin
        self.ids = []
        for link in links:
            if link not in self.ids:
                self.ids.append(link)
        self.state = state
        self.active_dir = active_dir
        self.available_dir = available_dir
        self.wait_timeout = float(wait_timeout)
        self.drain_timeout = float(drain_timeout)
        self.require_online = require_online
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        # True for the manager of stand-ins (<id>.held) a held/active run delegates to: they are
        # done once loaded, they never come online.
        self.stand_ins = stand_ins
        self.actions = []
        self.warnings = []
        self.changed = False
        self.status_requests = 0
        self.reachable = True
        self.before = {}
        self.after = {}
        self.not_online = {}
        self.loaded_count = None
        self.loaded_ids = set()
        self.before_loaded = None
        self.gateway_queued = 0

    # ------------------------------------------------------------- helpers
    def available_path(self, link):
        return os.path.join(self.available_dir, link + ".conf")

    def active_path(self, link):
        return os.path.join(self.active_dir, link + ".conf")

    def read_states(self):
        self.status_requests += 1
        status = self.admin.status()
        by_id = links_by_admin_id(status)
        self.loaded_ids = set(by_id)
        self.loaded_count = len(status["links"])
        self.gateway_queued = status["sms"]["sent_queued"]
        return dict((link, by_id.get(link)) for link in self.ids)

    @staticmethod
    def state_of(entry):
        return entry["state"] if entry else "absent"

    def poll(self, done, timeout, first=None):
        """Poll status.xml (all links per read) until done(states) or timeout. Returns states."""
        deadline = self.clock() + timeout
        states = first
        delay = 0.02
        while True:
            if states is not None and done(states):
                return states, True
            if self.clock() >= deadline:
                return states, False
            self.sleep(delay)
            delay = min(delay * 2, 0.25)
            states = self.read_states()

    def record(self, link, action, **extra):
        item = {"link": link, "action": action}
        item.update(extra)
        self.actions.append(item)

    def describe(self, states, links):
        return ", ".join("%s (%s)" % (link, self.state_of(states.get(link)) if states else "unknown")
                         for link in links)

    # ------------------------------------------------------------- checks
    def validate_ids(self):
        bad = [link for link in self.ids if not LINK_ID_RE.match(link)]
        if bad:
            raise LinkError("invalid link id(s): %s (letters, digits and _ . @ + - only; the id is "
                            "also the file name <id>.conf)" % ", ".join(repr(b) for b in bad))
        held = [link for link in self.ids if link.endswith(HELD_SUFFIX)]
        if held and not self.stand_ins:
            raise LinkError("link id(s) %s end in %r, which names a link's stand-in: give the "
                            "link's own id (state=held loads its stand-in)"
                            % (", ".join(held), HELD_SUFFIX))

    def unknown_ids(self, states):
        unknown = []
        for link in self.ids:
            in_status = states is not None and states.get(link) is not None
            if in_status or os.path.exists(self.available_path(link)):
                continue
            if self.state == "passive" and os.path.exists(self.active_path(link)):
                continue
            unknown.append(link)
        return unknown

    def fail_no_stand_in(self, stand_ins):
        if stand_ins:
            raise LinkError(
                "no stand-in file %s in %s: the role smsgw.cluster.kannel_node writes one "
                "(<id>%s.conf) for each link whose home is the node; deploy the node (deploy.yml) "
                "or check the links' home. Nothing was changed."
                % (", ".join("%s.conf" % x for x in stand_ins), self.available_dir, HELD_SUFFIX),
                unknown_links=stand_ins)

    def fail_unknown(self, unknown):
        if self.stand_ins:
            self.fail_no_stand_in(unknown)
        if unknown:
            raise LinkError(
                "unknown link id(s): %s: no %s/<id>.conf and not loaded by bearerbox. Check the "
                "ids against kannel_links and that the node's configuration was deployed."
                % (", ".join(unknown), self.available_dir), unknown_links=unknown)

    # ------------------------------------------------------------- run
    def stray_files(self, to_add):
        """Ids with a file in active_dir that bearerbox has not loaded and that are not asked for."""
        ids = [name[:-5] for name in sorted(os.listdir(self.active_dir)) if name.endswith(".conf")]
        return [link for link in ids if link not in self.loaded_ids and link not in to_add]

    def sweep_strays(self):
        """Before anything that makes bearerbox read its configuration: out with every file of
        active_dir that is no link's file (a writer killed mid-write; bearerbox loads any file)."""
        swept = sweep(self.active_dir, check_mode=self.check_mode)
        if swept:
            self.changed = True
            self.warnings.append(
                "%s %s from %s: no link's file (<id>.conf), e.g. the temporary file of an "
                "interrupted write; bearerbox would load it at its next configuration read"
                % ("would remove" if self.check_mode else "removed", ", ".join(swept),
                   self.active_dir))

    def take_out(self, link):
        """Delete the file of a link bearerbox could not load: it would stop its next start."""
        os.unlink(self.active_path(link))
        self.record(link, "delete-config", path=self.active_path(link))

    def run(self):
        self.validate_ids()
        try:
            states = self.read_states()
        except KannelUnreachable as e:
            self.reachable = False
            return self.run_unreachable(str(e))
        self.fail_unknown(self.unknown_ids(states))
        self.before_loaded = self.loaded_count

        for link in self.ids:
            self.before[link] = {"state": self.state_of(states[link]),
                                 "config_active": os.path.exists(self.active_path(link)),
                                 "held": self.is_held(link)}

        # A link that was just stopped shows `disconnected` (or still `online`) for a moment;
        # start-smsc / remove-smsc in that window fail. Let it settle first.
        settling = [link for link in self.ids if self.state_of(states[link]) in SETTLING]
        if settling:
            states, ok = self.poll(
                lambda s: not any(self.state_of(s[link]) in SETTLING for link in settling),
                self.wait_timeout, first=states)
            if not ok:
                raise LinkError("links still disconnecting after %.0f s: %s"
                                % (self.wait_timeout, self.describe(states, settling)))

        if self.state == "active":
            self.activate(states)
            self.release_stand_ins()
        elif self.state == "held":
            self.hold()
        else:
            self.passivate(states)
        for link in self.ids:
            if self.check_mode:
                held = {"held": True, "active": False}.get(self.state, self.before[link]["held"])
            else:
                held = self.is_held(link)
            self.after.setdefault(link, dict(self.before[link]))["held"] = held
        return self.result()

    # ------------------------------------------------------------- stand-ins
    def is_held(self, link):
        """The link's stand-in is loaded, or (bearerbox down) its file is in active_dir."""
        if not self.reachable:
            return os.path.exists(self.active_path(held_id(link)))
        return held_id(link) in self.loaded_ids

    def delegate(self, ids, state):
        """Run a manager for stand-ins with this one's settings; adopt its actions and warnings."""
        sub = LinkManager(self.admin, ids, state, self.active_dir, self.available_dir,
                          wait_timeout=self.wait_timeout, require_online=False,
                          check_mode=self.check_mode, sleep=self.sleep, clock=self.clock,
                          stand_ins=True)
        try:
            sub.run()
        finally:
            self.actions.extend(sub.actions)
            self.warnings.extend(sub.warnings)
            self.changed = self.changed or sub.changed
            self.status_requests += sub.status_requests
        return sub

    def hold(self):
        # Stand-ins first, so that from the moment a link is removed its queued messages have a
        # usable (never online) link to wait for; Kannel discards a message that has none.
        self.delegate([held_id(link) for link in self.ids], "active")
        self.drain_timeout = 0.0
        self.passivate(self.read_states())

    def release_stand_ins(self):
        """Once the links are loaded, unload their stand-ins: the queued messages move to them."""
        held = [held_id(link) for link in self.ids
                if held_id(link) in self.loaded_ids or os.path.exists(self.active_path(held_id(link)))]
        if held:
            self.delegate(held, "passive")  # raises unless every one of them is gone
            self.loaded_ids.difference_update(held)

    def run_unreachable(self, reason):
        if self.state == "active":
            raise LinkError(
                "cannot activate %s: %s. Nothing was changed. Start bearerbox (it loads every link "
                "whose file is in %s) or fix admin_url/timeout."
                % (", ".join(self.ids), reason, self.active_dir),
                reachable=False)
        self.fail_unknown(self.unknown_ids(None))
        if self.state == "held":
            self.fail_no_stand_in([held_id(link) for link in self.ids
                                   if not os.path.exists(self.available_path(held_id(link)))])
        removed = []
        for link in self.ids:
            present = os.path.exists(self.active_path(link))
            self.before[link] = {"state": "unknown", "config_active": present,
                                 "held": self.is_held(link)}
            if self.state == "held":
                self.put_stand_in_file(link)
            self.after[link] = {"state": "unknown", "config_active": False,
                                "held": self.state == "held" or self.before[link]["held"]}
            if present:
                self.record(link, "delete-config", path=self.active_path(link))
                if not self.check_mode:
                    os.unlink(self.active_path(link))
                removed.append(link)
                self.changed = True
        self.warnings.append(
            "bearerbox admin interface unreachable (%s); assumed bearerbox is not running, so no link "
            "is connected. %s so that bearerbox does not load them at its next start%s."
            % (reason, ("Removed the files of %s from %s" % (", ".join(removed), self.active_dir))
               if removed else "No link file was in %s" % self.active_dir,
               "; their stand-ins' files are there, so the messages queued for them are kept"
               if self.state == "held" else ""))
        return self.result()

    def put_stand_in_file(self, link):
        src = self.available_path(held_id(link))
        dst = self.active_path(held_id(link))
        if not _same_file(src, dst):
            self.record(held_id(link), "copy-config", path=dst)
            if not self.check_mode:
                copy_atomically(src, dst, tmp_dir=temp_dir(self.active_dir))
            self.changed = True

    def activate(self, states):
        to_copy, to_add, to_start, stale_running = [], [], [], []
        for link in self.ids:
            st = self.state_of(states[link])
            src = self.available_path(link)
            if os.path.exists(src) and not _same_file(src, self.active_path(link)):
                if st in ("absent", "dead") or not os.path.exists(self.active_path(link)):
                    to_copy.append(link)
                else:
                    stale_running.append(link)
            if st == "absent":
                to_add.append(link)
            elif st == "dead":
                to_start.append(link)
        missing_src = [link for link in to_add + to_start
                       if not os.path.exists(self.available_path(link))
                       and not os.path.exists(self.active_path(link))]
        if missing_src:
            raise LinkError("cannot load %s: no %s/<id>.conf to copy into %s"
                            % (", ".join(missing_src), self.available_dir, self.active_dir))
        if stale_running:
            self.warnings.append(
                "the file of running link(s) %s in %s differs from %s and was NOT updated: a "
                "changed group there would be recreated by the next graceful restart or SIGHUP "
                "(logrotate) with a second bind overlapping the first. Apply the change with a "
                "bearerbox restart (deploy.yml) or by passivating and activating the link(s)."
                % (", ".join(stale_running), self.active_dir, self.available_dir))

        def copy(link):
            self.record(link, "copy-config", path=self.active_path(link))
            if not self.check_mode:
                copy_atomically(self.available_path(link), self.active_path(link),
                                tmp_dir=temp_dir(self.active_dir))
            self.changed = True

        self.sweep_strays()
        for link in to_copy:
            copy(link)

        stray = self.stray_files(to_add)
        if to_add and stray:
            self.warnings.append(
                "%s holds files of links bearerbox has not loaded: %s. A graceful restart (or a "
                "SIGHUP, e.g. from logrotate) would load them, so the links asked for were added "
                "one by one instead. Remove those files, or activate those links."
                % (self.active_dir, ", ".join(stray)))
        one_by_one = bool(stray) or self.before_loaded == 0
        commands = [("start-smsc", x) for x in to_start]
        if one_by_one:
            commands += [("add-smsc", x) for x in to_add]
        elif to_add:
            commands.append(("graceful-restart", None))

        failures = []
        for command, link in commands:
            self.changed = True
            targets = to_add if link is None else [link]  # a graceful restart loads every link added
            if self.check_mode:
                for target in targets:
                    self.record(target, command)
                continue
            res = self.admin.command(command, link)
            for target in targets:
                self.record(target, command, reply=res["reply"])
            if not res["ok"]:
                failures.append((link or ", ".join(to_add), command, res["reply"]))
                if command == "add-smsc" and not self.before[link]["config_active"]:
                    self.take_out(link)

        if self.check_mode:
            for link in self.ids:
                self.after[link] = {"state": "online" if link in to_add + to_start
                                    else self.state_of(states[link]), "config_active": True}
            return

        failed_ids = [f[0] for f in failures]
        waiting = [link for link in self.ids if link not in failed_ids]

        def done(s):
            for link in waiting:
                st = self.state_of(s[link])
                if st == "online":
                    continue
                if not self.require_online and st in LOADED_NOT_ONLINE:
                    continue
                return False
            return True

        states, ok = self.poll(done, self.wait_timeout, first=states if not (to_add or to_start)
                               else None)
        not_loaded = [link for link in to_add if not one_by_one and states[link] is None]
        for link in not_loaded:
            if not self.before[link]["config_active"]:
                self.take_out(link)
        for link in self.ids:
            self.after[link] = {"state": self.state_of(states[link]),
                                "config_active": os.path.exists(self.active_path(link))}
            if self.after[link]["state"] in LOADED_NOT_ONLINE and not self.stand_ins:
                self.not_online[link] = self.after[link]["state"]
        if not_loaded:
            raise LinkError(
                "bearerbox did not load %s within %.0f s of graceful-restart. Kannel 1.4.5 answers "
                "`Restarting gracefully' and then silently does nothing when any file of its "
                "configuration has an error (the reason is only in bearerbox's log; check the "
                "files with /usr/lib/kannel/test/test_cfg). Their files were taken out of %s again "
                "so that they do not stop bearerbox's next start; run the task again once fixed."
                % (", ".join(not_loaded), self.wait_timeout, self.active_dir), **self.result())
        if failures:
            hint = ("bearerbox gives the reason only in its log; a `Could not add/re-start' usually "
                    "means a syntax error in one of the included files (check them with "
                    "/usr/lib/kannel/test/test_cfg) or that the link changed state meanwhile (run "
                    "the task again).")
            if self.before_loaded == 0 and any(f[1] == "add-smsc" for f in failures):
                hint = ("bearerbox has no link loaded at all: Kannel 1.4.5 starts its SMSC layer "
                        "only when its configuration has an smsc group at start-up, and refuses "
                        "every add-smsc otherwise. Keep a placeholder group loaded in "
                        "bearerbox.conf (e.g. smsc = loopback with an allowed-smsc-id no account "
                        "has) and restart bearerbox; the links whose files are in %s are loaded "
                        "then. Otherwise: " % self.active_dir) + hint
            raise LinkError(
                "bearerbox refused: %s. %s" % ("; ".join("%s %s -> %r" % (c, link, r)
                                                         for link, c, r in failures), hint),
                **self.result())
        if not ok:
            late = [link for link in waiting if self.state_of(states[link]) != "online"]
            raise LinkError(
                "timed out after %.0f s waiting for link(s) to come online: %s. The configuration "
                "change was made and bearerbox keeps retrying; connecting/re-connecting means the "
                "provider is unreachable or refuses the bind (check host, port, credentials and "
                "the provider, and bearerbox's log), or set require_online=false to accept loaded "
                "links." % (self.wait_timeout, self.describe(states, late)), **self.result())
        if self.not_online:
            self.warnings.append("loaded but not online: %s" % ", ".join(
                "%s (%s)" % kv for kv in sorted(self.not_online.items())))

    def passivate(self, states):
        loaded = [link for link in self.ids if states[link] is not None]
        if loaded and self.drain_timeout > 0:
            if self.check_mode:
                for link in loaded:
                    if states[link]["queued"]:
                        self.record(link, "wait-drain", queued=states[link]["queued"])
                if self.gateway_queued:
                    self.warnings.append("would first wait for the gateway's %d queued outgoing "
                                         "messages (drain_timeout)" % self.gateway_queued)
            else:
                def drained(s):
                    return (self.gateway_queued == 0
                            and all(not s[link] or not s[link]["queued"] for link in loaded))
                states, ok = self.poll(drained, self.drain_timeout, first=states)
                if not ok:
                    holding = ["%s (%d queued)" % (link, states[link]["queued"])
                               for link in loaded if states[link] and states[link]["queued"]]
                    if self.gateway_queued:
                        holding.append("the gateway (%d outgoing messages queued, not attributed "
                                       "to a link: waiting for a link that is not online)"
                                       % self.gateway_queued)
                    raise LinkError(
                        "messages still queued after drain_timeout=%.0f s: %s. Nothing was "
                        "changed. Wait for the providers to accept them, raise drain_timeout, or "
                        "set drain_timeout=0 to remove the links anyway (their messages then stay "
                        "in the store until the links are activated on this node again)."
                        % (self.drain_timeout, "; ".join(holding)), changed=False)
                loaded = [link for link in self.ids if states[link] is not None]

        # Files first: a graceful restart or SIGHUP (logrotate) between a remove-smsc and the
        # file's deletion would load the link again.
        for link in self.ids:
            path = self.active_path(link)
            if os.path.exists(path):
                self.record(link, "delete-config", path=path)
                if not self.check_mode:
                    os.unlink(path)
                self.changed = True

        failures = []
        for link in loaded:
            self.changed = True
            if self.check_mode:
                self.record(link, "remove-smsc")
                continue
            res = self.admin.command("remove-smsc", link)
            self.record(link, "remove-smsc", reply=res["reply"])
            if not res["ok"]:
                failures.append((link, res["reply"]))

        if loaded and not self.check_mode:
            failed_ids = [f[0] for f in failures]
            waiting = [link for link in loaded if link not in failed_ids]
            states, ok = self.poll(lambda s: all(s[link] is None for link in waiting),
                                   self.wait_timeout)
            # Removed by someone else meanwhile (the runtime guard giving up the same own set
            # while a playbook holds it): gone is what was asked, so its `Could not remove' is not
            # a failure.
            failures = [f for f in failures if states is None or states[f[0]] is not None]
            if failures or not ok:
                for link in self.ids:
                    self.after[link] = {"state": self.state_of(states[link]),
                                        "config_active": os.path.exists(self.active_path(link))}
                parts = []
                if failures:
                    parts.append("bearerbox refused: %s" % "; ".join(
                        "remove-smsc %s -> %r" % f for f in failures))
                if not ok:
                    parts.append("timed out after %.0f s waiting for %s to leave status.xml"
                                 % (self.wait_timeout, self.describe(
                                     states, [lk for lk in waiting if states[lk] is not None])))
                raise LinkError("; ".join(parts) + ". Their files are already out of %s (bearerbox "
                                "does not load them at its next start); run the task again to "
                                "unload them, see bearerbox's log." % self.active_dir,
                                **self.result())

        for link in self.ids:
            self.after[link] = {"state": "absent", "config_active": False}

    def result(self):
        links = {}
        for link in self.ids:
            if link in self.before:
                links[link] = {"before": self.before[link],
                               "after": self.after.get(link, self.before[link])}
        return dict(
            changed=self.changed,
            actions=self.actions,
            links=links,
            not_online=self.not_online,
            reachable=self.reachable,
            status_requests=self.status_requests,
            diff=dict(before=dict((k, v["before"]) for k, v in links.items()),
                      after=dict((k, v["after"]) for k, v in links.items())),
        )
