#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_link
short_description: Make Kannel provider links active, passive, or held by a stand-in
description:
  - Makes the given bearerbox provider links (smsc groups) match one desired state in one task.
  - C(active) means the link's group file is in O(active_dir) (a copy of the file in
    O(available_dir), same mode and owner) and the link is loaded by bearerbox and online.
    Missing links are loaded with one C(graceful-restart) (bearerbox re-reads its configuration
    once and starts every new group, leaving unchanged ones running), a C(dead) one is started
    with C(start-smsc). C(add-smsc) per link is used instead when O(active_dir) holds files of
    links bearerbox has not loaded and that were not asked for (a graceful restart would load
    them too), or when bearerbox has no link loaded at all (its SMSC layer is not running).
  - C(passive) means the link is not loaded (absent from status.xml) and its file is not in
    O(active_dir), so bearerbox does not connect it at its next start either. A loaded link is
    removed with C(remove-smsc) after its file is deleted (so that a graceful restart or SIGHUP
    in between cannot load it again). Kannel 1.4.5 discards the messages queued for a link at its
    next routing pass after the removal (at most 30 s later, measured 7 s) unless another loaded
    link may take them.
  - C(held) means the link is passive and its stand-in is loaded instead, the group
    C(<id>.held) from O(available_dir) (written by the role smsgw.cluster.kannel_node for the
    node's own links), with the link's C(allowed-smsc-id) and a connection to a closed loopback
    port, so it never reaches the provider and never comes online. Kannel keeps the messages
    queued for the link while a usable link exists that is not online, so they stay in this
    node's store (across restarts too) until the link is active here again. The stand-in is
    loaded first (one C(graceful-restart)), then the link removed.
  - With C(active), stand-ins of the links that are loaded or in O(active_dir) are removed once the
    links are loaded (their queued messages then go to the links).
  - Bearerbox loads every file of O(active_dir), whatever its name. Files are copied there through
    a temporary file in the sibling directory C(<active_dir>.tmp), and before loading anything
    C(active) removes from O(active_dir) every file that is no link's file (C(<id>.conf)), e.g.
    the temporary file of an interrupted write, with a warning naming it.
  - Reads status.xml once, sends only the commands needed, then polls status.xml for all links
    together until every link is online (or gone), or O(wait_timeout) passes.
  - Kannel's link commands are not idempotent; this module is (it decides from the status first).
  - If the admin interface cannot be reached, O(state=passive) still removes the links' files from
    O(active_dir) (bearerbox is not running there, nothing is connected, and it must not connect
    them at its next start) and warns; O(state=active) fails without changing anything.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
extends_documentation_fragment:
  - smsgw.cluster.kannel_admin
options:
  links:
    description:
      - Link ids (the smsc-id and smsc-admin-id of the group; the file is C(<id>.conf)).
      - An id with no file in O(available_dir) that bearerbox does not know either is reported by
        name before any command is sent.
    type: list
    elements: str
    required: true
  state:
    description:
      - C(active) to load and connect the links, C(passive) to remove them, C(held) to remove
        them and keep their queued messages on this node (stand-ins loaded).
    type: str
    required: true
    choices: [active, passive, held]
  active_dir:
    description:
      - The directory bearerbox includes (C(include = "<active_dir>") in bearerbox.conf).
    type: path
    default: /etc/kannel/smsc-active
  available_dir:
    description:
      - The directory holding one smsc group file C(<id>.conf) per link, active or not.
    type: path
    default: /etc/kannel/smsc-available
  wait_timeout:
    description:
      - Seconds to wait, after the commands, until every link is online (O(state=active)) or
        gone from status.xml (O(state=passive)). On timeout the task fails naming the links that
        did not make it and their last state; changes already made are kept.
    type: float
    default: 30
  drain_timeout:
    description:
      - With O(state=passive), first wait up to this many seconds until the C(queued) figure of
        every loaded link is 0 and the gateway's queue of outgoing messages
        (C(<sms><sent><queued>)) is empty. If the time passes, fail naming the links still holding
        messages and the gateway figure, and change nothing (messages queued for a removed link
        stay in the store until the link is added again on this node).
      - The gateway figure is included because Kannel 1.4.5 counts a message waiting for a link
        that is not online (connecting, re-connecting) only there, never in the link's own
        C(queued), and cannot tell which link it waits for. Messages waiting for other links of the
        gateway therefore also hold the drain.
      - C(0) does not wait. Not used with O(state=held) (the stand-ins keep the messages).
    type: float
    default: 0
  require_online:
    description:
      - With O(state=active), whether a link must reach C(online). When false, a link that is
        loaded but C(connecting) or C(re-connecting) (provider unreachable or refusing the bind)
        counts as done; such links are listed in RV(not_online) and a warning names them.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads status.xml and reports the actions it would take; changes nothing.
  diff_mode:
    support: full
    description: Before and after state of each link (state in status.xml, file in active_dir).
notes:
  - A link that is connecting or re-connecting when O(state=active) is asked is left alone (it is
    loaded and retrying by itself); no command would make it connect sooner.
  - After C(stop-smsc) an SMPP link may still show C(online) or C(disconnected) for a moment before
    C(dead); such links are waited for before C(start-smsc) is sent.
  - When a running link's file in O(available_dir) changed, the copy in O(active_dir) is left as
    bearerbox loaded it and a warning says so. A changed group in O(active_dir) would be recreated
    by the next graceful restart or SIGHUP (Debian's logrotate sends one daily), which starts the
    new connection before the old one is gone (two binds of one provider account). Apply such a
    change with a bearerbox restart (deploy.yml does it) or by passivating and activating the link.
  - Kannel 1.4.5 re-reads its whole configuration on every C(add-smsc) (measured, 200 adds on a
    node with 200 links loaded take 11.4 s); one C(graceful-restart) loads the same 200 in 0.8 s
    and leaves unchanged links connected (no rebind seen by the provider).
seealso:
  - module: smsgw.cluster.kannel_info
"""

EXAMPLES = r"""
- name: Take over the peer's provider links
  smsgw.cluster.kannel_link:
    links: [peer-smpp-1, peer-smpp-2]
    state: active
    admin_password: "{{ kannel_admin_password }}"

- name: Give them back, once their queues are empty
  smsgw.cluster.kannel_link:
    links: [peer-smpp-1, peer-smpp-2]
    state: passive
    drain_timeout: 60
    admin_password: "{{ kannel_admin_password }}"

- name: Fence this node's own links, keeping the messages queued for them until failback
  smsgw.cluster.kannel_link:
    links: [home-smpp-1, home-smpp-2]
    state: held
    admin_password: "{{ kannel_admin_password }}"

- name: Activate links on another node from the controller's point of view
  smsgw.cluster.kannel_link:
    links: "{{ kannel_links | selectattr('home', 'eq', 'node-a') | map(attribute='id') | list }}"
    state: active
    admin_url: "http://{{ hostvars['node-a'].kannel_cluster_address }}:13000"
    admin_password: "{{ kannel_admin_password }}"
    wait_timeout: 60
    require_online: false
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: dict
  contains:
    link:
      description: Link id.
      type: str
    action:
      description: C(copy-config), C(delete-config), C(add-smsc), C(start-smsc), C(remove-smsc)
        or C(wait-drain).
      type: str
    reply:
      description: bearerbox's reply text for a command (not in check mode).
      type: str
      returned: for commands that were sent
  sample: [{"link": "s1", "action": "copy-config"}, {"link": "s1", "action": "add-smsc",
            "reply": "SMSC `s1' added"}]
links:
  description: Per link id, its state before and after. C(state) is the link's status in
    status.xml (C(online), C(connecting), C(re-connecting), C(disconnected), C(dead)) or C(absent)
    when bearerbox does not have it, C(unknown) when the admin interface was unreachable;
    C(config_active) says whether its file is in O(active_dir); C(held) whether its stand-in is
    loaded (its file is in O(active_dir) when the admin interface was unreachable).
    Stand-ins appear in RV(actions) under their own id C(<id>.held).
  returned: always
  type: dict
  sample: {"s1": {"before": {"state": "absent", "config_active": false, "held": true},
                  "after": {"state": "online", "config_active": true, "held": false}}}
not_online:
  description: Links loaded but not online when O(require_online=false), with their state.
  returned: always
  type: dict
  sample: {"s2": "re-connecting"}
reachable:
  description: Whether bearerbox's admin interface answered.
  returned: always
  type: bool
status_requests:
  description: How many status.xml reads the task made (one before, plus the polls).
  returned: always
  type: int
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin_ansible import (
    kannel_admin,
    kannel_admin_argument_spec,
    run_and_exit,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkManager


def main():
    module = AnsibleModule(
        argument_spec=kannel_admin_argument_spec(
            links=dict(type="list", elements="str", required=True),
            state=dict(type="str", required=True, choices=["active", "passive", "held"]),
            active_dir=dict(type="path", default="/etc/kannel/smsc-active"),
            available_dir=dict(type="path", default="/etc/kannel/smsc-available"),
            wait_timeout=dict(type="float", default=30),
            drain_timeout=dict(type="float", default=0),
            require_online=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    if not p["links"]:
        module.exit_json(changed=False, actions=[], links={}, not_online={}, reachable=True,
                         status_requests=0, elapsed=0.0)
    manager = LinkManager(kannel_admin(module), p["links"], p["state"], p["active_dir"],
                          p["available_dir"], wait_timeout=p["wait_timeout"],
                          drain_timeout=p["drain_timeout"], require_online=p["require_online"],
                          check_mode=module.check_mode)
    dirs = [p["active_dir"]] if p["state"] == "passive" else [p["active_dir"], p["available_dir"]]
    for d in dirs:
        if not os.path.isdir(d):
            module.fail_json(msg="directory %s does not exist (active_dir/available_dir); deploy the "
                                 "node configuration first" % d)
    run_and_exit(module, manager, started)


if __name__ == "__main__":
    main()
