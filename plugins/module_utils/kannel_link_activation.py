# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Making links active in one bearerbox: which files to copy, which links to add or restart,
the commands that load them and the wait until they are online (part of LinkManager)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import copy_atomically, same_file
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_link_state import LOADED_NOT_ONLINE, LinkError, LinkState
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import temp_dir


class Activation(LinkState):
    """The activate step of LinkManager, with the helpers only it uses."""

    def activate(self, states):
        to_copy, to_add, to_start = self.plan_activation(states)
        self.sweep_strays()
        for link in to_copy:
            self.copy_in(link)
        one_by_one = self.warn_unloaded_files(to_add) or self.before_loaded == 0
        failures = self.load(to_add, to_start, one_by_one)
        if self.check_mode:
            for link in self.ids:
                self.after[link] = {"state": "online" if link in to_add + to_start
                                    else self.state_of(states[link]), "config_active": True}
            return
        failed_ids = [f[0] for f in failures]
        waiting = [link for link in self.ids if link not in failed_ids]
        states, ok = self.poll(self.loaded_as_asked(waiting), self.wait_timeout,
                               first=states if not (to_add or to_start) else None)
        not_loaded = [link for link in to_add if not one_by_one and states[link] is None]
        for link in not_loaded:
            if not self.before[link]["config_active"]:
                self.take_out(link)
        for link in self.ids:
            self.after[link] = {"state": self.state_of(states[link]),
                                "config_active": os.path.exists(self.active_path(link))}
            if self.after[link]["state"] in LOADED_NOT_ONLINE and not self.stand_ins:
                self.not_online[link] = self.after[link]["state"]
        self.fail_activation(not_loaded, failures)
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

    def plan_activation(self, states):
        """Which files to copy into active_dir, which links to add and which to restart."""
        to_copy, to_add, to_start, stale_running = [], [], [], []
        for link in self.ids:
            st = self.state_of(states[link])
            src = self.available_path(link)
            if os.path.exists(src) and not same_file(src, self.active_path(link)):
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
        return to_copy, to_add, to_start

    def copy_in(self, link):
        self.record(link, "copy-config", path=self.active_path(link))
        if not self.check_mode:
            copy_atomically(self.available_path(link), self.active_path(link),
                            tmp_dir=temp_dir(self.active_dir))
        self.changed = True

    def warn_unloaded_files(self, to_add):
        """True when active_dir holds files of other links bearerbox has not loaded: a graceful
        restart would load them too, so the links asked for must be added one by one."""
        stray = self.stray_files(to_add)
        if to_add and stray:
            self.warnings.append(
                "%s holds files of links bearerbox has not loaded: %s. A graceful restart (or a "
                "SIGHUP, e.g. from logrotate) would load them, so the links asked for were added "
                "one by one instead. Remove those files, or activate those links."
                % (self.active_dir, ", ".join(stray)))
        return bool(stray)

    def load(self, to_add, to_start, one_by_one):
        """Send the commands that load the links; returns the refused ones (id, command, reply)."""
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
        return failures

    def loaded_as_asked(self, waiting):
        """The poll's goal: every link waited for online (or, without require_online, loaded)."""
        def done(s):
            for link in waiting:
                st = self.state_of(s[link])
                if st == "online":
                    continue
                if not self.require_online and st in LOADED_NOT_ONLINE:
                    continue
                return False
            return True
        return done

    def fail_activation(self, not_loaded, failures):
        if not_loaded:
            raise LinkError(
                "bearerbox did not load %s within %.0f s of graceful-restart. Kannel 1.4.5 answers "
                "`Restarting gracefully' and then silently does nothing when any file of its "
                "configuration has an error (the reason is only in bearerbox's log; check the "
                "files with /usr/lib/kannel/test/test_cfg). Their files were taken out of %s again "
                "so that they do not stop bearerbox's next start; run the task again once fixed."
                % (", ".join(not_loaded), self.wait_timeout, self.active_dir), **self.result())
        if not failures:
            return
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
