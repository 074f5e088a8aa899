#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_info
short_description: Health verdict and per-set state of one Kannel gateway node
description:
  - Reads bearerbox's status.xml once and returns the gateway state, message counters and queue
    figures, every link and box, a health verdict C(healthy), C(degraded) or C(down) with the
    reasons, and for each configuration set it is given whether the node carries it
    (C(active)), does not (C(passive)) or carries part of it (C(partial)).
  - Read-only. An unreachable admin interface is a result (RV(health=down), RV(reachable=false)
    and the reason), not a failure. A C(Denied) answer (wrong password) fails the task, because it
    is a configuration error and not the node's health; it is not retried.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
extends_documentation_fragment:
  - smsgw.cluster.kannel_admin
options:
  sets:
    description:
      - >-
        The configuration sets to report on, as
        C({NAME: {links: [LINK_ID, ...], smsbox: ID, service_address: ADDRESS/PREFIX}}).
        C(links) are link ids (smsc-admin-id); C(smsbox) is the C(smsbox-id) of the set's smsbox
        (omit it for a set without one); C(service_address) is the set's client address (omit it,
        or null, for a set without one), looked up among the addresses of the host the module runs
        on (C(ip -j -4 addr show)). No other keys are accepted.
      - A set is active on this node when all its links are loaded by bearerbox and its smsbox is
        connected, passive when none of them is, partial otherwise.
    type: dict
    default: {}
  expect_active:
    description:
      - Names of the sets this node is expected to serve. When given, the verdict is C(degraded)
        if a link of an expected set is not online, its smsbox is not connected or its service
        address is not bound here, or if a link of a set that is not expected is loaded, its smsbox
        connected or its service address bound here.
      - When omitted, the sets recorded in O(serving_file) are expected when that option is
        given; otherwise only the gateway itself is judged.
    type: list
    elements: str
  serving_file:
    description:
      - Path of the node's recorded serving state (C(serving.json), written by takeover, failback
        and deploy), read on the node in the same run as the status page, so a playbook learns
        what the node should serve and what it does serve with one module run.
      - Returned as RV(serving). A file that is absent means nothing recorded (no set expected);
        a file that cannot be read or parsed is reported as a reason and expects no set.
    type: path
  command_password:
    description:
      - When given, also check that bearerbox accepts this password for commands (its
        admin-password), with a C(stop-smsc) that names no link and so changes nothing (bearerbox
        answers C(SMSC id not given)). A C(Denied) fails the task naming the admin URL, before a
        playbook changes anything that a later command would have to finish.
      - Only checked when the admin interface answers; RV(commands_allowed) reports it.
    type: str
  lock_directory:
    description:
      - The directory of the node's cluster lock file (the one smsgw.cluster.kannel_cluster_lock
        takes and releases); when given, its holder is returned as RV(lock), read in the same
        module run (status.yml shows who holds a cluster's lock).
      - A lock file that exists but cannot be read fails the task.
    type: path
  guard_config:
    description:
      - The node's runtime guard configuration (C(cluster-guard.json), written by
        smsgw.cluster.kannel_node). When given, the guard's record of the peer node is returned as
        RV(peer_silence), read in the same module run (takeover.yml asks the survivor whether and
        since when it has not reached the failed node).
    type: path
  dlr_store:
    description:
      - The cluster's external delivery-report store, as bearerbox.conf names it. bearerbox waits
        for that store, and its status page does not answer while the store is down; when the page
        does not answer, the module then checks whether the store does (a Redis PING from the host
        it runs on, no password needed) and names the store in RV(reasons) when it does not.
      - Omit it (or give C(storage=internal)) for a gateway that keeps receipts in memory.
    type: dict
    suboptions:
      storage:
        description: Kannel's C(dlr-storage).
        type: str
        choices: [internal, redis]
        required: true
      host:
        description: Host name or address of the store (required unless C(storage=internal)).
        type: str
      port:
        description: TCP port of the store (required unless C(storage=internal)).
        type: int
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to compare.
notes:
  - C(down) means the admin interface does not answer or the gateway is shutting down;
    C(degraded) covers a suspended or isolated gateway and the expectation checks above, and an
    admin interface that does not answer while the external O(dlr_store) does not answer either
    (bearerbox waits for its store, so the store is the fault, and the peer shares it).
seealso:
  - module: smsgw.cluster.kannel_link
"""

EXAMPLES = r"""
- name: Health of the local gateway
  smsgw.cluster.kannel_info:
    admin_password: "{{ kannel_status_password }}"
    sets:
      node-a: {links: [a-smpp-1, a-smpp-2], smsbox: node-a}
      node-b: {links: [b-smpp-1], smsbox: node-b}
    expect_active: [node-a]
  register: gw

- name: Fail when the node is not healthy
  ansible.builtin.assert:
    that: gw.health == 'healthy'
    fail_msg: "{{ inventory_hostname }}: {{ gw.reasons | join('; ') }}"
"""

RETURN = r"""
health:
  description: C(healthy), C(degraded) or C(down).
  returned: always
  type: str
  sample: degraded
reasons:
  description: Why the verdict is not C(healthy) (empty when it is). When the admin interface does
    not answer and O(dlr_store) does not either, the first reason names the store.
  returned: always
  type: list
  elements: str
  sample: ["link a-smpp-2 of expected-active set node-a is re-connecting"]
reachable:
  description: Whether the admin interface answered.
  returned: always
  type: bool
dlr_store_down:
  description: True when the admin interface did not answer and the external O(dlr_store) did not
    answer either (then RV(health=degraded)).
  returned: always
  type: bool
commands_allowed:
  description: True when O(command_password) was accepted for commands (a wrong one fails the
    task); null when it was not given.
  returned: when the admin interface answered
  type: bool
gateway:
  description: C(state) (running, suspended, isolated, ...), C(uptime) seconds, C(version),
    C(status_text). Empty when unreachable.
  returned: always
  type: dict
  sample: {"state": "running", "uptime": 62, "version": "1.4.5",
           "status_text": "running, uptime 0d 0h 1m 2s"}
queues:
  description: C(sms_sent_queued) (MT waiting for a link), C(sms_received_queued) (MO waiting for an
    smsbox), C(store_size), C(dlr_queued), C(links_queued) (sum of the links' queued). Empty
    when unreachable.
  returned: always
  type: dict
  sample: {"sms_sent_queued": 0, "sms_received_queued": 0, "store_size": 0, "dlr_queued": 0,
           "links_queued": 0}
sms:
  description: The gateway's SMS counters from status.xml (received/sent totals and queued,
    store size, rates).
  returned: always
  type: dict
dlr:
  description: The delivery-report store as status.xml names it - C(storage) (C(internal), C(redis),
    ...), C(queued) (entries waiting for their provider receipt; with an external store, the
    store's count for the whole cluster), C(received_total) and C(sent_total) (receipts received
    from links and sent to smsboxes since bearerbox started). Empty when unreachable.
  returned: always
  type: dict
  sample: {"storage": "redis", "queued": 2, "received_total": 0, "sent_total": 0}
links:
  description: Every link bearerbox has loaded, with C(id), C(admin_id), C(name), C(state),
    C(status_text), C(online_seconds), C(queued), C(failed), C(sms_received), C(sms_sent),
    C(dlr_received), C(dlr_sent).
  returned: always
  type: list
  elements: dict
boxes:
  description: Every connected box with C(type), C(id), C(ip), C(queue), C(state), C(uptime),
    C(status_text), C(ssl).
  returned: always
  type: list
  elements: dict
serving:
  description: The recorded serving state read from O(serving_file) - C(recorded) (the file
    exists), C(sets) (the sets it lists, null when absent or unreadable), C(changed_by),
    C(changed_at), C(error) (why it could not be read, else null).
  returned: when O(serving_file) is given
  type: dict
  sample: {"recorded": true, "sets": ["node-a"], "changed_by": "deploy",
           "changed_at": "2026-12-01T10:00:00Z", "error": null}
lock:
  description: The holder of the node's cluster lock as smsgw.cluster.kannel_cluster_lock
    C(state=query) returns it (the record with C(holder), C(age_seconds), C(expires_in_seconds)
    and C(expired)), or null when the lock is free.
  returned: when O(lock_directory) is given
  type: dict
peer_silence:
  description: The runtime guard's record of the peer - C(peer_reachable) (null when not known),
    C(silent_seconds) (since it last reached the peer, on this node's clock; null when not known)
    and C(fresh) (false when the guard is not updating its record, or the record or
    O(guard_config) cannot be read).
  returned: when O(guard_config) is given
  type: dict
  sample: {"peer_reachable": false, "silent_seconds": 12.4, "fresh": true}
sets:
  description: Per set name, C(state) (C(active), C(passive), C(partial), or C(unknown) when
    unreachable), C(expected_active), C(links) (id -> C(state), C(online_seconds), C(queued),
    C(failed); state C(absent) when not loaded), C(smsbox) (C(id), C(connected)), C(queued) and
    C(held) (ids of the links whose stand-in C(<id>.held) is loaded; the node keeps the messages
    queued for them; see smsgw.cluster.kannel_link C(state=held)), and C(service_address)
    (C({address, bound, interface}), C(bound) null when the host's addresses could not be read;
    null for a set without a service address). The addresses are read even when bearerbox does not
    answer.
  returned: always
  type: dict
  sample: {"node-a": {"state": "active", "expected_active": true, "queued": 0, "held": [],
                      "links": {"a-smpp-1": {"state": "online", "online_seconds": 12,
                                             "queued": 0, "failed": 0}},
                      "smsbox": {"id": "node-a", "connected": true},
                      "service_address": {"address": "10.213.74.35/24", "bound": true,
                                          "interface": "eth0"}}}
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.cluster_lock import (
    ClusterLock,
    LockError,
    operator_view,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.guard_node import load_json, peer_record
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdminDenied,
    KannelAdminError,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin_ansible import (
    kannel_admin,
    kannel_admin_argument_spec,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_health import (
    normalize_sets,
    report,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.serving_record import read_serving
from ansible_collections.smsgw.cluster.plugins.module_utils.service_address import (
    AddressError,
    read_addresses,
)


def guard_peer_record(path):
    """The runtime guard's record of the peer (its configuration names the record's file)."""
    try:
        cfg = load_json(path)
    except (OSError, ValueError):
        cfg = {}
    return peer_record(cfg)


def main():
    module = AnsibleModule(
        argument_spec=kannel_admin_argument_spec(
            sets=dict(type="dict", default={}),
            expect_active=dict(type="list", elements="str"),
            command_password=dict(type="str", no_log=True),
            serving_file=dict(type="path"),
            lock_directory=dict(type="path"),
            guard_config=dict(type="path"),
            dlr_store=dict(type="dict", options=dict(
                storage=dict(type="str", required=True, choices=["internal", "redis"]),
                host=dict(type="str"),
                port=dict(type="int"),
            ), required_if=[("storage", "redis", ("host", "port"))]),
        ),
        supports_check_mode=True,
    )
    sets, errors = normalize_sets(module.params["sets"] or {})
    if errors:
        module.fail_json(msg="invalid sets: %s; expected {NAME: {links: [LINK_ID, ...], smsbox: ID, "
                             "service_address: ADDRESS/PREFIX}}"
                         % "; ".join(errors))
    expect = module.params["expect_active"]
    serving = None
    if module.params["serving_file"]:
        serving = read_serving(module.params["serving_file"])
        if expect is None:
            expect = [name for name in serving["sets"] or [] if name in sets]
    if expect is not None:
        unknown = [name for name in expect if name not in sets]
        if unknown:
            module.fail_json(msg="expect_active names set(s) not in sets: %s (known: %s)"
                             % (", ".join(unknown), ", ".join(sorted(sets)) or "none"))
    admin = kannel_admin(module)
    commands = None
    if module.params["command_password"] is not None:
        commands = kannel_admin(module, password=module.params["command_password"])
    local_addresses, address_warning = None, None
    if any(spec["service_address"] for spec in sets.values()):
        try:
            local_addresses = read_addresses(module.run_command, module.get_bin_path("ip", required=True))
        except AddressError as e:
            address_warning = "service addresses not checked: %s" % e
    try:
        result = report(admin, sets, expect, commands, local_addresses,
                        dlr_store=module.params["dlr_store"])
        if address_warning:
            module.warn(address_warning)
            result["reasons"].append(address_warning)
            if result["health"] == "healthy":
                result["health"] = "degraded"
        if serving is not None:
            result["serving"] = serving
            if serving["error"]:
                result["reasons"].append(serving["error"])
                if result["health"] == "healthy":
                    result["health"] = "degraded"
        if module.params["lock_directory"]:
            result["lock"] = operator_view(ClusterLock(module.params["lock_directory"]).read(), time.time())
        if module.params["guard_config"]:
            result["peer_silence"] = guard_peer_record(module.params["guard_config"])
        module.exit_json(**result)
    except LockError as e:
        module.fail_json(msg="cluster lock: %s" % e)
    except KannelAdminDenied as e:
        module.fail_json(msg=str(e))
    except KannelAdminError as e:
        module.fail_json(msg="bearerbox admin interface: %s" % e)


if __name__ == "__main__":
    main()
