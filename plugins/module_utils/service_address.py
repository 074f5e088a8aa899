# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an IPv4 address is bound on this host, read from iproute2's JSON output
(`ip -j -4 addr show`). Used by kannel_service_address (moves a client set's service address) and
kannel_info (reports where a set's service address is bound)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# \Z, not $: with re.match `$` also matches before a trailing newline.
IPV4 = re.compile(r"^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\Z")


class AddressError(Exception):
    pass


def split_cidr(text):
    """'192.0.2.5/24' -> ('192.0.2.5', 24); AddressError for anything else."""
    parts = str(text).split("/")
    if len(parts) != 2 or not IPV4.match(parts[0]) or not parts[1].isdigit() \
            or not 1 <= int(parts[1]) <= 32:
        raise AddressError("%r is not an IPv4 address with a prefix length (1-32), e.g. "
                           "192.0.2.50/24" % (text,))
    return parts[0], int(parts[1])


def parse_addresses(json_text):
    """[{interface, address, prefix}] for every IPv4 address of `ip -j -4 addr show`."""
    try:
        links = json.loads(json_text or "[]")
    except ValueError as e:
        raise AddressError("cannot read the output of `ip -j -4 addr show`: %s" % e)
    found = []
    for link in links:
        for info in link.get("addr_info") or []:
            if info.get("family", "inet") == "inet" and info.get("local"):
                found.append({"interface": link.get("ifname"), "address": info["local"],
                              "prefix": info.get("prefixlen")})
    return found


def read_addresses(run_command, ip_bin):
    """run_command(argv) -> (rc, out, err), as AnsibleModule.run_command."""
    rc, out, err = run_command([ip_bin, "-j", "-4", "addr", "show"])
    if rc != 0:
        raise AddressError("`ip -j -4 addr show` failed (rc=%d): %s" % (rc, (err or out).strip()))
    return parse_addresses(out)


def bound(entries, address):
    """The entries that hold `address` (an IPv4 address without prefix)."""
    return [e for e in entries if e["address"] == address]
