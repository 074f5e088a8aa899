# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Making provider links active, passive or held in one bearerbox, with their files (smsgw.cluster.kannel_link
and smsgw.cluster.kannel_serve)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import copy_atomically, same_file
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_link_activation import Activation
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_link_state import SETTLING, LinkError
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import (
    HELD_SUFFIX,
    held_id,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import (
    LINK_ID_RE,
    sweep,
    temp_dir,
)


class LinkManager(Activation):
    """Decides and applies; separated from AnsibleModule so unit tests can drive it."""

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
        if not same_file(src, dst):
            self.record(held_id(link), "copy-config", path=dst)
            if not self.check_mode:
                copy_atomically(src, dst, tmp_dir=temp_dir(self.active_dir))
            self.changed = True

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
