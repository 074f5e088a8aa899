"""kannel_service_address decisions with a fake `ip` / `arping` runner that keeps the node's
addresses the way iproute2 would."""
import json

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.service_address import (
    AddressError,
    parse_addresses,
    split_cidr,
)
from ansible_collections.smsgw.cluster.plugins.modules.kannel_service_address import ServiceAddress

BINS = {"ip": "/usr/sbin/ip", "arping": "/usr/sbin/arping"}


class FakeNode(object):
    """Interfaces -> [(address, prefix)]; answers `ip -j -4 addr show`, `ip addr add|del` and
    `arping`, recording every command."""

    def __init__(self, **interfaces):
        self.interfaces = dict((name, list(addrs)) for name, addrs in interfaces.items())
        self.calls = []
        self.fail = {}

    def __call__(self, argv):
        self.calls.append(argv)
        tool = argv[0].rsplit("/", 1)[-1]
        if tool in self.fail:
            return 2, "", self.fail[tool]
        if tool == "arping":
            return 0, "Sent 2 probes (2 broadcast(s))\n", ""
        if argv[1:] == ["-j", "-4", "addr", "show"]:
            return 0, json.dumps([
                {"ifname": name, "addr_info": [{"family": "inet", "local": a, "prefixlen": p}
                                               for a, p in addrs]}
                for name, addrs in sorted(self.interfaces.items())]), ""
        verb, cidr, dev = argv[2], argv[3], argv[5]
        ip, prefix = cidr.split("/")
        entry = (ip, int(prefix))
        if verb == "add":
            if entry in self.interfaces[dev]:
                return 2, "", "RTNETLINK answers: File exists"
            self.interfaces[dev].append(entry)
        else:
            if entry not in self.interfaces[dev]:
                return 2, "", "RTNETLINK answers: Cannot assign requested address"
            self.interfaces[dev].remove(entry)
        return 0, "", ""

    def changes(self):
        return [" ".join([c[0].rsplit("/", 1)[-1]] + c[1:]) for c in self.calls
                if c[1:] != ["-j", "-4", "addr", "show"]]


def node(**extra):
    interfaces = {"lo": [("127.0.0.1", 8)], "eth0": [("10.0.0.31", 24)]}
    for name, addrs in extra.items():
        interfaces.setdefault(name, [])
        interfaces[name] = interfaces[name] + addrs
    return FakeNode(**interfaces)


def run(fake, state="present", check_mode=False, **kw):
    kw.setdefault("interface_of", "10.0.0.31")
    return ServiceAddress(fake, BINS, "10.0.0.35/24", state, check_mode=check_mode, **kw).run()


def test_present_binds_on_the_cluster_address_interface_and_announces():
    fake = node()
    res = run(fake)
    assert fake.changes() == ["ip addr add 10.0.0.35/24 dev eth0",
                              "arping -U -c 2 -w 1 -I eth0 10.0.0.35"]
    assert ("10.0.0.35", 24) in fake.interfaces["eth0"]
    assert res["changed"] and res["announced"] and res["interface"] == "eth0"
    assert res["before"] == [] and res["after"] == [{"interface": "eth0", "prefix": 24}]
    assert res["diff"] == {"before": {"bound_on": []},
                           "after": {"bound_on": [{"interface": "eth0", "prefix": 24}]}}


def test_present_again_changes_nothing_and_does_not_announce():
    fake = node(eth0=[("10.0.0.35", 24)])
    res = run(fake)
    assert fake.changes() == [] and res["changed"] is False and res["announced"] is False


def test_present_moves_it_from_another_interface_or_prefix():
    fake = node(eth0=[("10.0.0.35", 32)], eth1=[("10.0.0.35", 24)])
    res = run(fake, interface="eth0", interface_of=None)
    assert fake.changes() == ["ip addr del 10.0.0.35/32 dev eth0", "ip addr del 10.0.0.35/24 dev eth1",
                              "ip addr add 10.0.0.35/24 dev eth0",
                              "arping -U -c 2 -w 1 -I eth0 10.0.0.35"]
    assert fake.interfaces["eth1"] == [] and res["changed"]


def test_explicit_interface_wins_over_interface_of():
    fake = node(eth1=[])
    res = run(fake, interface="eth1", announce=False)
    assert fake.changes() == ["ip addr add 10.0.0.35/24 dev eth1"]
    assert res["announced"] is False


def test_absent_releases_it_everywhere_without_announcing():
    fake = node(eth0=[("10.0.0.35", 24)], eth1=[("10.0.0.35", 24)])
    res = run(fake, state="absent", interface_of=None)
    assert fake.changes() == ["ip addr del 10.0.0.35/24 dev eth0", "ip addr del 10.0.0.35/24 dev eth1"]
    assert res["after"] == [] and res["interface"] is None and res["changed"]


def test_absent_when_not_bound_changes_nothing():
    fake = node()
    res = run(fake, state="absent")
    assert fake.changes() == [] and res["changed"] is False


@pytest.mark.parametrize("state, holders", [("present", []), ("absent", [("10.0.0.35", 24)])])
def test_check_mode_reports_without_running(state, holders):
    fake = node(eth0=holders)
    res = run(fake, state=state, check_mode=True)
    assert fake.changes() == [] and res["changed"] and res["actions"]
    assert fake.interfaces["eth0"][1:] == holders


def test_no_interface_carries_the_cluster_address():
    fake = node()
    with pytest.raises(AddressError, match="no interface of this node carries 10.0.0.99"):
        run(fake, interface_of="10.0.0.99")
    assert fake.changes() == []


def test_missing_arping_fails_before_anything_changes():
    fake = node()
    with pytest.raises(AddressError, match="iputils-arping"):
        ServiceAddress(fake, {"ip": "/usr/sbin/ip", "arping": None}, "10.0.0.35/24", "present",
                       interface_of="10.0.0.31").run()
    assert fake.changes() == []


def test_failed_ip_command_names_it():
    fake = node()
    fake.fail["ip"] = "RTNETLINK answers: Operation not permitted"
    with pytest.raises(AddressError, match="ip -j -4 addr show.*Operation not permitted"):
        run(fake)


@pytest.mark.parametrize("text", ["10.0.0.35", "10.0.0.350/24", "10.0.0.35/33", "10.0.0.35/x", "",
                                  "10.0.0.35\n/24"])
def test_malformed_address_is_refused(text):
    with pytest.raises(AddressError, match="not an IPv4 address with a prefix"):
        split_cidr(text)


def test_parse_addresses_skips_links_without_ipv4():
    out = json.dumps([{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.0.0.31",
                                                        "prefixlen": 24}]},
                      {"ifname": "eth1"}])
    assert parse_addresses(out) == [{"interface": "eth0", "address": "10.0.0.31", "prefix": 24}]
