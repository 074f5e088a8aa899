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

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin_ansible import (
    kannel_admin,
    kannel_admin_argument_spec,
    run_and_exit,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_smsbox import SmsboxManager


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
    manager = SmsboxManager(module.run_command, systemctl, kannel_admin(module), p["set"], service,
                            p["state"], wait_timeout=p["wait_timeout"], check_mode=module.check_mode)
    run_and_exit(module, manager, started, fields=lambda: dict(
        changed=manager.changed, actions=manager.actions, service=service))


if __name__ == "__main__":
    main()
