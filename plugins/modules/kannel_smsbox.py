#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_smsbox
short_description: Start or stop the smsbox of one client set and confirm it in bearerbox's status
description:
  - O(state=active) enables and starts the systemd unit of the set's smsbox and waits until
    bearerbox's status.xml lists the box (C(<boxes><box><type>smsbox</type><id>SET</id>)).
  - O(state=passive) stops and disables the unit and waits until the box has left status.xml.
  - Only the systemctl calls that are needed are made; C(changed) only when one was made.
  - O(state=active) needs bearerbox's admin interface (the box can only be confirmed there) and
    fails without changing anything when it is unreachable. O(state=passive) still stops and
    disables the unit then, and warns that the box could not be confirmed gone.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
extends_documentation_fragment:
  - smsgw.cluster.kannel_admin
options:
  set:
    description:
      - The client set, which is also the smsbox's C(smsbox-id).
    type: str
    required: true
  service:
    description:
      - The systemd unit. Defaults to C(kannel-smsbox@<set>).
    type: str
  state:
    description:
      - C(active) to run the set's smsbox, C(passive) to not run it.
    type: str
    required: true
    choices: [active, passive]
  wait_timeout:
    description:
      - Seconds to wait for the box to appear in (or leave) bearerbox's status.xml.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    description: Reads the unit and status.xml and reports what it would do.
  diff_mode:
    support: full
    description: Unit active/enabled and box connected, before and after.
notes:
  - Needs systemd on the managed node. smsbox takes about 1.5 s to stop.
seealso:
  - module: smsgw.cluster.kannel_link
  - module: smsgw.cluster.kannel_info
"""

EXAMPLES = r"""
- name: Serve the peer's clients here
  smsgw.cluster.kannel_smsbox:
    set: node-b
    state: active
    admin_password: "{{ kannel_admin_password }}"

- name: Stop serving them
  smsgw.cluster.kannel_smsbox:
    set: node-b
    state: passive
    wait_timeout: 15
    admin_password: "{{ kannel_admin_password }}"
"""

RETURN = r"""
service:
  description: The unit that was managed.
  returned: always
  type: str
  sample: kannel-smsbox@node-b
actions:
  description: The systemctl actions taken (or that would be taken in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [enable, start]
before:
  description: C(unit_active), C(unit_enabled), C(box_connected) (null when bearerbox was
    unreachable) before the task.
  returned: always
  type: dict
  sample: {"unit_active": false, "unit_enabled": false, "box_connected": false}
after:
  description: The same figures after the task.
  returned: always
  type: dict
  sample: {"unit_active": true, "unit_enabled": true, "box_connected": true}
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminDenied,
    KannelAdminError,
    KannelUnreachable,
    kannel_admin_argument_spec,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import find_box


class SmsboxError(Exception):
    def __init__(self, msg, **extra):
        super(SmsboxError, self).__init__(msg)
        self.msg = msg
        self.extra = extra


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


def main():
    module = AnsibleModule(
        argument_spec=kannel_admin_argument_spec(
            set=dict(type="str", required=True),
            service=dict(type="str"),
            state=dict(type="str", required=True, choices=["active", "passive"]),
            wait_timeout=dict(type="float", default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    service = p["service"] or "kannel-smsbox@%s" % p["set"]
    systemctl = module.get_bin_path("systemctl", required=True)
    admin = KannelAdmin(p["admin_url"], p["admin_password"], p["timeout"], module=module)
    manager = SmsboxManager(module.run_command, systemctl, admin, p["set"], service, p["state"],
                            wait_timeout=p["wait_timeout"], check_mode=module.check_mode)
    try:
        result = manager.run()
    except SmsboxError as e:
        for w in manager.warnings:
            module.warn(w)
        extra = dict(e.extra)
        extra.setdefault("changed", manager.changed)
        extra.setdefault("actions", manager.actions)
        extra.setdefault("service", service)
        module.fail_json(msg=e.msg, elapsed=round(time.monotonic() - started, 3), **extra)
    except KannelAdminDenied as e:
        module.fail_json(msg=str(e), changed=manager.changed, actions=manager.actions,
                         service=service)
    except KannelAdminError as e:
        module.fail_json(msg="bearerbox admin interface: %s" % e, changed=manager.changed,
                         actions=manager.actions, service=service)
    for w in manager.warnings:
        module.warn(w)
    result["elapsed"] = round(time.monotonic() - started, 3)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
