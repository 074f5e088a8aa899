# -*- coding: utf-8 -*-
# Copyright: (c) 2026, smsgw.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory rules shared by every check of module_utils/cluster_model.py: the variables read,
the patterns and limits values must meet, and the checks of client sets (accounts, service
addresses, the DLR store, incoming-message services) as ClientSetRules, a part of its cluster
checks. Standard library only; every error names the inventory variable to fix.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

# The cluster variables every node of a cluster must share (set in the vars of the cluster's group).
CLUSTER_VARS = ("kannel_admin_password", "kannel_status_password", "kannel_links", "kannel_client_sets")
# kannel_node's variables these checks depend on; their defaults come from the caller.
NODE_DEFAULT_VARS = ("kannel_node_admin_port", "kannel_node_smsbox_port", "kannel_node_guard_interval")
NODE_VARS = ("kannel_cluster", "kannel_cluster_address", "kannel_quorum", "kannel_fence_command") \
    + CLUSTER_VARS + NODE_DEFAULT_VARS

RESERVED_SMSC_FIELDS = frozenset([
    'group', 'smsc', 'smsc-id', 'smsc-admin-id', 'allowed-smsc-id', 'denied-smsc-id', 'preferred-smsc-id',
    'host', 'port', 'smsc-username', 'smsc-password', 'system-type', 'transceiver-mode', 'throughput',
    'reconnect-delay', 'enquire-link-interval', 'max-pending-submits'])
RESERVED_USER_FIELDS = frozenset(['group', 'username', 'password', 'name', 'forced-smsc', 'default-smsc',
                                  'user-allow-ip', 'user-deny-ip'])
SERVICE_ACTIONS = ('get-url', 'url', 'post-url', 'post-xml', 'text', 'file', 'exec')
# Patterns end in \Z: `$` also matches before a trailing newline.
_OCTET = r'(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])'
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\Z')
IPV4_RE = re.compile(r'^%s([.]%s){3}\Z' % (_OCTET, _OCTET))
FIELD_RE = re.compile(r'^[a-z0-9][a-z0-9-]*\Z')
# An address or a Kannel wildcard pattern ('*' for one number, e.g. 10.0.*.*) of an IP list.
IP_PATTERN_RE = re.compile(r'^(%s|[*])([.](%s|[*])){3}\Z' % (_OCTET, _OCTET))
USERNAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.@+-]*\Z')
INTERFACE_RE = re.compile(r'^[A-Za-z0-9_.:@-]{1,15}\Z')
PREFIX_RE = re.compile(r'^([1-9]|[12][0-9]|3[0-2])\Z')
PORT_RE = re.compile(r'^[0-9]+\Z')
HOSTNAME_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z')
KEY_PREFIX_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z')
LOCK_SECONDS_RE = re.compile(r'^[0-9]+$')
# What a value written into a Kannel config cannot hold (measured with test_cfg of Kannel 1.4.5):
# a newline ends the line; `\"` and `\\` are read as escapes; and the parser takes any line that
# holds "include" anywhere (case-sensitive) for an include directive whose file is the whole value:
# bearerbox and smsbox stop at start, and test_cfg prints the line.
KANNEL_UNSAFE = ('\n', '\r', '"', '\\', 'include')
KANNEL_VALUE_RULE = ("may not contain double quotes, backslashes, newlines or the word 'include' (Kannel's "
                     "config parser cannot carry them: a line holding 'include' is read as an include directive)")
NAME_RULE = "may only hold letters, digits, '_', '.', '-'"
CLUSTER_VAR_HINT = "(cluster variables belong in the vars of group %s, not in host vars)"
LOCK_MIN_SECONDS = 300


def matches(pattern, value):
    return pattern.match(str(value)) is not None


def unsafe(value):
    text = str(value)
    return any(u in text for u in KANNEL_UNSAFE)


def ip_of(service_address):
    """The address of an 'address/prefix' service address."""
    return str(service_address).split('/', maxsplit=1)[0]


def escaped(value):
    """A name as shown in a message: JSON-escaped, so a newline in it cannot split the message."""
    return json.dumps(str(value))[1:-1]


def to_int(value, default=0):
    """Jinja's `int` filter: a whole number, a float's whole part, or default."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def to_bool(value):
    """Ansible's `bool` filter."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    return str(value).lower() in ('yes', 'on', '1', 'true')


def settings_of(node_vars, defaults):
    """The cluster's safety settings as a node has them, defaults applied."""
    return dict((var, node_vars.get(var, default)) for var, default in defaults.items())


def quorum_on(node_vars):
    return to_bool(node_vars.get('kannel_quorum', len(node_vars.get('kannel_quorum_addresses') or []) > 0))


def lock_errors(lock_seconds):
    if not matches(LOCK_SECONDS_RE, lock_seconds):
        return ["kannel_cluster_lock_seconds: '%s' is not a whole number of seconds" % lock_seconds]
    if to_int(lock_seconds) < LOCK_MIN_SECONDS:
        return ["kannel_cluster_lock_seconds: %s is shorter than 300 s: a lock could expire under a legitimate "
                "run (a failback drains for up to 120 s by default and each activation waits up to 30 s), and a "
                "second run would then go ahead beside it" % lock_seconds]
    return []


def service_errors(where, svc):
    out = []
    if 'keyword' not in svc and 'keyword-regex' not in svc:
        out.append("%s: needs keyword (or keyword-regex); 'default' is the service for messages no other keyword "
                   "matches" % where)
    actions = [key for key in svc if key in SERVICE_ACTIONS]
    if len(actions) != 1:
        out.append('%s: needs exactly one of %s (what Kannel does with a matching message); has %s'
                   % (where, ', '.join(SERVICE_ACTIONS), ', '.join(actions) or 'none'))
    for key, value in svc.items():
        if not matches(FIELD_RE, key):
            out.append("%s: '%s' is not a Kannel field name (lower case, digits, '-')" % (where, key))
        elif key == 'group':
            out.append("%s: 'group' is written by the role; remove it" % where)
        elif isinstance(value, (dict, list, tuple, set)):
            out.append('%s.%s: must be a string, number or boolean' % (where, key))
        elif unsafe(value):
            out.append('%s.%s: %s' % (where, key, KANNEL_VALUE_RULE))
    return out


class ClientSetRules:
    """The client-set checks of a cluster's node (a part of cluster_model._Cluster)."""

    def client_sets(self):
        sets = self.hv.get('kannel_client_sets') or {}
        out = ["kannel_client_sets: no set for node '%s' (every node of cluster '%s' needs one; accounts may be [])"
               % (node, self.cluster) for node in self.members if node not in sets]
        # the service addresses of the other clusters of the inventory
        self.elsewhere = dict((address, whose) for host, address, whose in self.fleet.service_addresses
                              if host not in self.members)
        self.own_service_ips = [ip_of(c['service_address']) for c in sets.values()
                                if isinstance(c, dict) and c.get('service_address') is not None]
        self.links_by_id = dict((link.get('id'), link) for link in self.hv.get('kannel_links') or [])
        self.users, self.ports, self.addresses = [], [], {}
        reserved = [str(self.fleet.node_default(self.hv, var))
                    for var in ('kannel_node_admin_port', 'kannel_node_smsbox_port')]
        for set_name, cset in sets.items():
            where = "kannel_client_sets['%s']" % set_name
            if set_name not in self.members:
                out.append("%s: '%s' is not a node of cluster '%s' (%s); sets are keyed by their home node"
                           % (where, set_name, self.cluster, ', '.join(self.members)))
            port = cset['sendsms_port']
            if not 1 <= to_int(port) <= 65535:
                out.append('%s.sendsms_port: %s is not a TCP port' % (where, port))
            elif to_int(port) in self.ports:
                out.append('%s.sendsms_port: %s is used by another client set' % (where, port))
            elif str(port) in reserved:
                out.append("%s.sendsms_port: %s is bearerbox's admin or smsbox port" % (where, port))
            self.ports.append(to_int(port))
            out.extend(self.service_address(where, set_name, cset))
            for index, acct in enumerate(cset['accounts']):
                out.extend(self.account('%s.accounts[%d] (%s)' % (where, index, escaped(acct['username'])),
                                        set_name, acct))
        return out

    def service_address(self, where, set_name, cset):
        """The service address moves with the set (kannel_service_address); two holders of one address,
        or one that is a node's own address, would take traffic from the wrong node or cut a node off."""
        out = []
        sa, si = cset.get('service_address'), cset.get('service_interface')
        if sa is not None:
            parts = str(sa).split('/')
            if len(parts) != 2 or not matches(IPV4_RE, parts[0]) or not matches(PREFIX_RE, parts[1]):
                out.append("%s.service_address: '%s' is not an IPv4 address with a prefix length (1-32), e.g. "
                           "192.0.2.50/24" % (where, sa))
            else:
                out.extend(self.service_ip(where, set_name, sa, parts))
        elif si is not None:
            out.append('%s.service_interface: given without service_address (the interface is where the set\'s '
                       'service address is bound)' % where)
        if si is not None and not matches(INTERFACE_RE, si):
            out.append("%s.service_interface: '%s' is not a network interface name (at most 15 letters, digits, "
                       "'_', '.', ':', '@', '-')" % (where, si))
        # smsbox binds its sendsms port to sendsms_interface when it starts, on whichever node serves the
        # set, before the set's service address is bound there (kannel_node serve.yml).
        sif = cset.get('sendsms_interface')
        if sif is not None and not matches(IPV4_RE, sif):
            out.append("%s.sendsms_interface: '%s' is not an IPv4 address" % (where, escaped(sif)))
        elif sif is not None and (str(sif) in self.fleet.node_addresses or str(sif) in self.own_service_ips
                                  or str(sif) in self.elsewhere):
            out.append("%s.sendsms_interface: %s is a node's or a set's service address, which only one node has at "
                       "a time: give an address every node has (e.g. 127.0.0.1 for a proxy on each node), or omit "
                       "it and restrict clients with allowed_ips and a firewall" % (where, sif))
        return out

    def service_ip(self, where, set_name, sa, parts):
        out, ip = [], parts[0]
        octets = [int(o) for o in ip.split('.')]
        host_bits = 2 ** (32 - int(parts[1]))
        host_part = (octets[0] * 16777216 + octets[1] * 65536 + octets[2] * 256 + octets[3]) % host_bits
        if host_bits >= 4 and host_part in (0, host_bits - 1):
            out.append("%s.service_address: '%s' is the network or broadcast address of its prefix; choose a host "
                       "address" % (where, sa))
        elif ip in self.fleet.node_addresses:
            out.append('%s.service_address: %s is the kannel_cluster_address of node %s; a service address must be '
                       'an address of its own' % (where, ip, self.fleet.node_addresses[ip]))
        elif ip in self.addresses:
            out.append("%s.service_address: %s is also the service address of set '%s'; each set needs its own"
                       % (where, ip, self.addresses[ip]))
        elif ip in self.elsewhere:
            out.append('%s.service_address: %s is also the service address of %s; each set needs its own'
                       % (where, ip, self.elsewhere[ip]))
        self.addresses[ip] = set_name
        return out

    def account(self, where, set_name, acct):
        out, username = [], acct['username']
        if not matches(USERNAME_RE, username):
            out.append("%s.username: '%s' may only hold letters, digits, '_', '.', '@', '+', '-'"
                       % (where, escaped(username)))
        elif 'include' in username:
            out.append('%s.username: %s' % (where, KANNEL_VALUE_RULE))
        elif username in self.users:
            out.append("%s.username: '%s' is used by more than one account of the cluster" % (where, username))
        self.users.append(username)
        if len(acct['password']) == 0:
            out.append('%s.password: must be non-empty without double quotes or newlines' % where)
        elif unsafe(acct['password']):
            out.append('%s.password: %s' % (where, KANNEL_VALUE_RULE))
        if len(acct['links']) == 0:
            out.append('%s.links: an account needs at least one link' % where)
        for lid in acct['links']:
            if lid not in self.links_by_id:
                out.append("%s.links: '%s' is not the id of a link in kannel_links" % (where, lid))
            elif self.links_by_id[lid].get('home') != set_name:
                out.append("%s.links: link '%s' has home '%s', the account's set is '%s' (an account may only use "
                           "links of its own home)" % (where, lid, self.links_by_id[lid].get('home'), set_name))
        for key, value in (acct.get('options') or {}).items():
            if not matches(FIELD_RE, key):
                out.append("%s.options: '%s' is not a Kannel field name (lower case, digits, '-')" % (where, key))
            elif key in ('user-allow-ip', 'user-deny-ip'):
                out.append("%s.options: '%s' is set by the role from the account's allowed_ips / denied_ips; use "
                           "those" % (where, key))
            elif key in RESERVED_USER_FIELDS:
                out.append("%s.options: '%s' is set by the role; remove it from options" % (where, key))
            elif 'include' in key:
                out.append("%s.options: '%s' holds the word 'include' (Kannel reads such a line as an include "
                           "directive)" % (where, key))
            elif unsafe(value):
                out.append('%s.options.%s: %s' % (where, key, KANNEL_VALUE_RULE))
        # Kannel lets a request through when its address is in user-allow-ip, or when user-deny-ip is
        # unset or does not match it (measured on 1.4.5: user-allow-ip alone restricts nothing), so the
        # role writes allowed_ips with user-deny-ip "*.*.*.*"; denied_ips alone is a deny list.
        if acct.get('allowed_ips') is not None and acct.get('denied_ips') is not None:
            out.append('%s.denied_ips: give allowed_ips or denied_ips, not both (with allowed_ips every other '
                       'address is denied)' % where)
        for key in ('allowed_ips', 'denied_ips'):
            if acct.get(key) is None:
                continue
            if len(acct[key]) == 0:
                out.append('%s.%s: empty; omit it (no restriction) or list the addresses' % (where, key))
            for index, ip in enumerate(acct[key]):
                if not matches(IP_PATTERN_RE, ip):
                    out.append("%s.%s[%d]: '%s' is not an IPv4 address or a Kannel pattern with '*' for one number "
                               "(e.g. 192.0.2.10 or 10.0.*.*)" % (where, key, index, escaped(ip)))
        return out

    def dlr_store(self):
        """The delivery-report store (issue 20)."""
        storage, store = self.setting['kannel_dlr_storage'], self.setting['kannel_dlr_store'] or {}
        password = self.setting['kannel_dlr_store_password']
        if storage != 'redis':
            if len(store) > 0:
                return ["kannel_dlr_store: set, but kannel_dlr_storage is '%s' (valid choices: internal, redis); set "
                        "kannel_dlr_storage=redis to use the store, or remove kannel_dlr_store" % storage]
            return []
        out, host = [], store.get('host')
        if host is None or str(host).strip() == '':
            out.append('kannel_dlr_store.host: required with kannel_dlr_storage=redis (the Redis server both nodes '
                       'use, e.g. {host: 192.0.2.30})')
        elif not matches(HOSTNAME_RE, host):
            out.append("kannel_dlr_store.host: '%s' is not a host name or IPv4 address" % host)
        port, database = store.get('port'), store.get('database')
        if port is not None and not 1 <= port <= 65535:
            out.append('kannel_dlr_store.port: %s is not a TCP port (1-65535; Redis listens on 6379)' % port)
        if database is not None and not 0 <= database <= 15:
            out.append('kannel_dlr_store.database: %s is not a Redis database number (0-15)' % database)
        if store.get('key_prefix') is not None and not matches(KEY_PREFIX_RE, store['key_prefix']):
            out.append("kannel_dlr_store.key_prefix: '%s' may only hold letters, digits, '_', '.', '-' (at most 64; "
                       "it begins every key Kannel writes)" % store['key_prefix'])
        if store.get('ttl') is not None and store['ttl'] < 0:
            out.append('kannel_dlr_store.ttl: %s must be 0 (keep entries forever) or more seconds' % store['ttl'])
        if not isinstance(password, str) or ' ' in password or unsafe(password):
            out.append('kannel_dlr_store_password: may not contain spaces; %s' % KANNEL_VALUE_RULE)
        return out

    def sms_services(self):
        """Each set's own incoming-message services (issue 20)."""
        out = []
        for set_name, cset in (self.hv.get('kannel_client_sets') or {}).items():
            if cset.get('sms_services') is None:
                continue
            where = "kannel_client_sets['%s'].sms_services" % set_name
            if len(cset['sms_services']) == 0:
                out.append('%s: empty; give at least one service (e.g. {keyword: default, catch-all: true, get-url: '
                           '"http://..."}) or remove it to use kannel_node_sms_services' % where)
            for index, svc in enumerate(cset['sms_services']):
                out.extend(service_errors('%s[%d]' % (where, index), svc))
        return out
