# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting or stopping one client set's smsbox and confirming it in bearerbox's box list
(smsgw.cluster.kannel_smsbox and smsgw.cluster.kannel_serve)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelUnreachable
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import find_box
from ansible_collections.smsgw.cluster.plugins.module_utils.task_error import TaskError


class SmsboxError(TaskError):
    """An smsbox manager's failure."""


class SmsboxManager(object):
    """run_command(argv) -> (rc, out, err); admin has status()."""

    def __init__(self, run_command, systemctl, admin, set_id, service, state, wait_timeout=30.0,
                 check_mode=False, sleep=time.sleep, clock=time.monotonic):
        self.run_command = run_command
        self.systemctl = systemctl
        self.admin = admin
        self.set_id = set_id
        self.service = service
        self.state = state
        self.wait_timeout = float(wait_timeout)
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        self.actions = []
        self.warnings = []
        self.changed = False
        self.before = {}
        self.after = {}

    def unit(self):
        rc, out, err = self.run_command([self.systemctl, "is-active", self.service])
        active = out.strip() in ("active", "activating", "reloading")
        rc2, out2, err2 = self.run_command([self.systemctl, "is-enabled", self.service])
        enabled_text = out2.strip()
        if enabled_text == "" and (err2 or "").strip() and rc2 != 0 and "No such file" in err2:
            raise SmsboxError("systemd unit %s does not exist: %s (deploy the node configuration "
                              "first)" % (self.service, err2.strip()))
        if out.strip() == "" and "not-found" in (err or ""):
            raise SmsboxError("systemd unit %s not found" % self.service)
        enabled = enabled_text in ("enabled", "enabled-runtime", "static", "alias", "indirect",
                                   "generated")
        return active, enabled

    def box_connected(self):
        return find_box(self.admin.status(), self.set_id) is not None

    def systemctl_do(self, verb):
        self.actions.append(verb)
        self.changed = True
        if self.check_mode:
            return
        rc, out, err = self.run_command([self.systemctl, verb, self.service])
        if rc != 0:
            raise SmsboxError("systemctl %s %s failed (rc=%d): %s. See `journalctl -u %s`."
                              % (verb, self.service, rc, (err or out).strip(), self.service),
                              **self.result())

    def wait_box(self, want):
        deadline = self.clock() + self.wait_timeout
        delay = 0.05
        while True:
            connected = self.box_connected()
            if connected == want:
                return connected, True
            if self.clock() >= deadline:
                return connected, False
            self.sleep(delay)
            delay = min(delay * 2, 0.5)

    def run(self):
        active, enabled = self.unit()
        try:
            box = self.box_connected()
            reachable = True
        except KannelUnreachable as e:
            if self.state == "active":
                raise SmsboxError(
                    "cannot start smsbox %s: bearerbox admin interface unreachable (%s), so the box "
                    "could not be confirmed. Nothing was changed. Start bearerbox first or fix "
                    "admin_url." % (self.set_id, e))
            box, reachable = None, False
            self.warnings.append("bearerbox admin interface unreachable (%s): could not confirm "
                                 "that smsbox %s left bearerbox's status" % (e, self.set_id))
        self.before = {"unit_active": active, "unit_enabled": enabled, "box_connected": box}

        if self.state == "active":
            if not enabled:
                self.systemctl_do("enable")
            if not active:
                self.systemctl_do("start")
            if self.check_mode:
                self.after = {"unit_active": True, "unit_enabled": True, "box_connected": True}
                return self.result()
            connected, ok = self.wait_box(True)
            self.after = {"unit_active": True, "unit_enabled": True, "box_connected": connected}
            if not ok:
                state_now = self.unit()[0]
                self.after["unit_active"] = state_now
                raise SmsboxError(
                    "smsbox %s did not appear in bearerbox's status within %.0f s (unit %s is %s). "
                    "Check `journalctl -u %s` and the smsbox log: wrong bearerbox-port or smsbox-id, "
                    "or bearerbox's box-allow-ip."
                    % (self.set_id, self.wait_timeout, self.service,
                       "active" if state_now else "not active", self.service), **self.result())
            return self.result()

        if active:
            self.systemctl_do("stop")
        if enabled:
            self.systemctl_do("disable")
        if self.check_mode or not reachable:
            self.after = {"unit_active": False, "unit_enabled": False,
                          "box_connected": False if reachable else None}
            return self.result()
        try:
            connected, ok = self.wait_box(False)
        except KannelUnreachable as e:
            self.warnings.append("bearerbox admin interface became unreachable (%s)" % e)
            connected, ok = None, True
        self.after = {"unit_active": False, "unit_enabled": False, "box_connected": connected}
        if not ok:
            raise SmsboxError(
                "smsbox %s is still connected to bearerbox %.0f s after its unit %s was stopped: "
                "another smsbox with smsbox-id %s is running (started outside systemd?). Find it "
                "with `ps -ef | grep smsbox`." % (self.set_id, self.wait_timeout, self.service,
                                                  self.set_id), **self.result())
        return self.result()

    def result(self):
        return dict(changed=self.changed, service=self.service, actions=list(self.actions),
                    before=self.before, after=self.after or self.before,
                    diff=dict(before=self.before, after=self.after or self.before))
