#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_service_address
short_description: Bind or release a client set's service address on this node
description:
  - A client set's service address (see the C(kannel_client_sets.<set>.service_address) inventory
    variable) is the address its clients send to. It is bound only on the node that serves the set;
    this module binds it there (O(state=present)) or releases it (O(state=absent)) with iproute2.
  - O(state=present) binds the address on O(interface) (or on the interface that carries
    O(interface_of)), first releasing it from any other interface or prefix length it is bound
    with, and then announces it with gratuitous ARP (C(arping -U), Debian package
    C(iputils-arping)), so neighbours on the segment send to this node at once instead of
    to the node that held it before.
  - O(state=absent) releases the address from every interface that holds it.
  - C(changed) only when an address was added or removed; nothing is announced when nothing changed.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  address:
    description:
      - The address with its prefix length, for example C(10.213.74.35/24).
    type: str
    required: true
  state:
    description:
      - C(present) to bind the address here, C(absent) to release it.
    type: str
    choices: [present, absent]
    default: present
  interface:
    description:
      - The interface to bind the address to. One of O(interface) or O(interface_of) is needed
        with O(state=present).
    type: str
  interface_of:
    description:
      - An IPv4 address of this node (its cluster address); the address is bound to the interface
        that carries it. Ignored when O(interface) is given.
    type: str
  announce:
    description:
      - Send gratuitous ARP for the address after binding it.
    type: bool
    default: true
  announce_count:
    description:
      - Number of gratuitous ARP packets, one second apart (the first goes out at once; the task
        takes about max(count - 1, 1) seconds).
    type: int
    default: 2
attributes:
  check_mode:
    support: full
    description: Reads where the address is bound and reports what it would do.
  diff_mode:
    support: full
    description: The interfaces holding the address before and after.
notes:
  - Needs iproute2 (C(ip)) and, with O(announce), C(arping) from iputils-arping, and
    CAP_NET_ADMIN / CAP_NET_RAW on the node (root).
  - The address is not made persistent (no ifupdown or networkd file); after a reboot a node binds
    it again only when a playbook makes it serve the set.
seealso:
  - module: smsgw.cluster.kannel_smsbox
  - module: smsgw.cluster.kannel_info
"""

EXAMPLES = r"""
- name: Clients of set node-a reach this node from now on
  smsgw.cluster.kannel_service_address:
    address: 10.213.74.35/24
    interface_of: "{{ kannel_cluster_address }}"

- name: This node no longer answers for set node-a
  smsgw.cluster.kannel_service_address:
    address: 10.213.74.35/24
    state: absent
"""

RETURN = r"""
address:
  description: The address (with prefix) that was managed.
  returned: always
  type: str
  sample: 10.213.74.35/24
interface:
  description: The interface the address is bound to after the task (null when absent).
  returned: always
  type: str
  sample: eth0
actions:
  description: The commands run (or that would run in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["ip addr add 10.213.74.35/24 dev eth0", "arping -U -c 2 -w 1 -I eth0 10.213.74.35"]
before:
  description: Where the address was bound before the task, as a list of C({interface, prefix}).
  returned: always
  type: list
  elements: dict
  sample: []
after:
  description: Where the address is bound after the task.
  returned: always
  type: list
  elements: dict
  sample: [{"interface": "eth0", "prefix": 24}]
announced:
  description: Whether gratuitous ARP was sent.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.service_address import (
    IPV4,
    AddressError,
    bound,
    read_addresses,
    split_cidr,
)


class ServiceAddress(object):
    """run_command(argv) -> (rc, out, err); bins: {'ip': path, 'arping': path or None}."""

    def __init__(self, run_command, bins, address, state, interface=None, interface_of=None,
                 announce=True, announce_count=2, check_mode=False):
        self.run_command = run_command
        self.bins = bins
        self.cidr = address
        self.ip, self.prefix = split_cidr(address)
        self.state = state
        self.interface = interface
        self.interface_of = interface_of
        self.announce = announce
        self.announce_count = announce_count
        self.check_mode = check_mode
        self.actions = []
        self.changed = False
        self.announced = False

    def target_interface(self, entries):
        if self.interface:
            return self.interface
        if not self.interface_of or not IPV4.match(self.interface_of):
            raise AddressError("state=present needs interface, or interface_of with an IPv4 address "
                               "of this node (got %r)" % (self.interface_of,))
        holders = bound(entries, self.interface_of)
        if not holders:
            raise AddressError(
                "no interface of this node carries %s (interface_of), so there is nowhere to bind "
                "%s; set the set's service_interface in the inventory, or check the node's "
                "kannel_cluster_address" % (self.interface_of, self.cidr))
        return holders[0]["interface"]

    def do(self, argv, label):
        self.actions.append(label)
        self.changed = True
        if self.check_mode:
            return
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise AddressError("%s failed (rc=%d): %s" % (label, rc, (err or out).strip()))

    def release(self, holder):
        self.do([self.bins["ip"], "addr", "del", "%s/%s" % (self.ip, holder["prefix"]), "dev",
                 holder["interface"]],
                "ip addr del %s/%s dev %s" % (self.ip, holder["prefix"], holder["interface"]))

    def run(self):
        entries = read_addresses(self.run_command, self.bins["ip"])
        holders = [{"interface": e["interface"], "prefix": e["prefix"]} for e in bound(entries, self.ip)]
        want = None
        if self.state == "present":
            iface = self.target_interface(entries)
            want = {"interface": iface, "prefix": self.prefix}
            if self.announce and not self.bins.get("arping"):
                raise AddressError("arping not found on the node: install Debian's iputils-arping "
                                   "(role smsgw.cluster.kannel_node installs it) or set announce=false")
        for holder in holders:
            if holder != want:
                self.release(holder)
        if want is not None and want not in holders:
            self.do([self.bins["ip"], "addr", "add", self.cidr, "dev", want["interface"]],
                    "ip addr add %s dev %s" % (self.cidr, want["interface"]))
            if self.announce:
                # arping waits a second after each probe; the deadline ends it after the last one.
                argv = [self.bins["arping"], "-U", "-c", str(self.announce_count), "-w",
                        str(max(self.announce_count - 1, 1)), "-I", want["interface"], self.ip]
                self.do(argv, " ".join(["arping"] + argv[1:]))
                self.announced = True
        after = [want] if want is not None else []
        return dict(changed=self.changed, address=self.cidr,
                    interface=want["interface"] if want else None, actions=list(self.actions),
                    before=holders, after=after, announced=self.announced,
                    diff=dict(before={"bound_on": holders}, after={"bound_on": after}))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            interface=dict(type="str"),
            interface_of=dict(type="str"),
            announce=dict(type="bool", default=True),
            announce_count=dict(type="int", default=2),
        ),
        required_if=[("state", "present", ("interface", "interface_of"), True)],
        supports_check_mode=True,
    )
    p = module.params
    if p["announce_count"] < 1:
        module.fail_json(msg="announce_count must be at least 1 (got %d)" % p["announce_count"])
    bins = {"ip": module.get_bin_path("ip", required=True), "arping": module.get_bin_path("arping")}
    manager = None
    try:
        manager = ServiceAddress(module.run_command, bins, p["address"], p["state"],
                                 interface=p["interface"], interface_of=p["interface_of"],
                                 announce=p["announce"], announce_count=p["announce_count"],
                                 check_mode=module.check_mode)
        result = manager.run()
    except AddressError as e:
        module.fail_json(msg="service address %s: %s" % (p["address"], e),
                         changed=bool(manager and manager.changed),
                         actions=manager.actions if manager else [])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
