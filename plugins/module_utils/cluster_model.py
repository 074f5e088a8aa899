# -*- coding: utf-8 -*-
# Copyright: (c) 2026, smsgw.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory model of a fleet of two-node clusters: its checks and each node's derived model.

Standard library only. The input is plain data: `nodes` maps every inventory host of the group
kannel_nodes (and every host the checks run for) to its variables (only those this module reads, see
NODE_VARS), `groups` maps group names to host lists. fleet_model() checks and derives every host at
once, so a fleet's cost on the controller is one pass over the inventory rather than one template
rendering per host that reads every other host again. Every error names the inventory variable to
fix; the texts are the operator's interface (tests/playbooks/test_inventory_validation.py).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import HELD_SUFFIX

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


def _matches(pattern, value):
    return pattern.match(str(value)) is not None


def _unsafe(value):
    text = str(value)
    return any(u in text for u in KANNEL_UNSAFE)


def _ip_of(service_address):
    """The address of an 'address/prefix' service address."""
    return str(service_address).split('/', maxsplit=1)[0]


def _escaped(value):
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


class Fleet:
    """The inventory as the checks see it: nodes' variables, groups, and the defaults of the
    settings (cluster_model_settings) and of kannel_node's variables (NODE_DEFAULT_VARS)."""

    def __init__(self, nodes, groups, settings, node_defaults):
        self.nodes, self.groups = nodes, groups
        self.settings, self.node_defaults = settings, node_defaults
        self.gateway_nodes = list(groups.get('kannel_nodes') or [])
        # node address -> node, and (node, the service address, whose it is) of every set, in order
        self.node_addresses, self.service_addresses = {}, []
        for host in self.gateway_nodes:
            hv = nodes.get(host, {})
            if 'kannel_cluster_address' in hv:
                self.node_addresses[str(hv['kannel_cluster_address'])] = host
            sets = hv.get('kannel_client_sets')
            if isinstance(sets, dict):
                for other_set, other in sets.items():
                    if isinstance(other, dict) and other.get('service_address') is not None:
                        self.service_addresses.append((host, _ip_of(other['service_address']),
                                                       "set '%s' of cluster '%s'" % (other_set, hv.get('kannel_cluster', '?'))))

    def node_default(self, hv, var):
        return hv.get(var, self.node_defaults[var])

    def errors(self, me):
        """One host's inventory errors, in the order an operator reads them (empty: consistent)."""
        hv = self.nodes[me]
        out = []
        if me not in self.gateway_nodes:
            out.append('%s: a gateway node must be in the inventory group kannel_nodes' % me)
        cluster = hv.get('kannel_cluster')
        if not _matches(NAME_RE, cluster) or 'include' in str(cluster):
            out.append("kannel_cluster: '%s' %s (starting with a letter or digit), and not the word 'include'"
                       % (_escaped(cluster), NAME_RULE))
        elif cluster not in self.groups:
            out.append("kannel_cluster: '%s' is not an inventory group (it must name the cluster's group)" % cluster)
        elif me not in self.groups[cluster]:
            out.append("kannel_cluster: this node is not a member of group '%s'" % cluster)
        elif len(self.groups[cluster]) != 2:
            members = self.groups[cluster]
            out.append("kannel_cluster: group '%s' has %d hosts (%s); a cluster has exactly two nodes"
                       % (cluster, len(members), ', '.join(members)))
        else:
            ctx = _Cluster(self, me)
            for check in (ctx.node_names, ctx.peer_checks, ctx.passwords, ctx.settings_checks, ctx.fence, ctx.links,
                          ctx.client_sets, ctx.dlr_store, ctx.sms_services):
                out.extend(check())
        out.extend(lock_errors(hv.get('kannel_cluster_lock_seconds', self.settings['kannel_cluster_lock_seconds'])))
        return out

    def model(self, me, redis_defaults):
        """One (checked) host's derived model, kannel_model (docs/DESIGN.md)."""
        return node_model(me, self.nodes[me], self.groups, self.nodes, self.settings,
                          self.node_default(self.nodes[me], 'kannel_node_guard_interval'), redis_defaults)


def lock_errors(lock_seconds):
    if not _matches(LOCK_SECONDS_RE, lock_seconds):
        return ["kannel_cluster_lock_seconds: '%s' is not a whole number of seconds" % lock_seconds]
    if to_int(lock_seconds) < LOCK_MIN_SECONDS:
        return ["kannel_cluster_lock_seconds: %s is shorter than 300 s: a lock could expire under a legitimate "
                "run (a failback drains for up to 120 s by default and each activation waits up to 30 s), and a "
                "second run would then go ahead beside it" % lock_seconds]
    return []


class _Cluster:
    """The checks of one node whose group names a cluster of two (each method returns errors)."""

    def __init__(self, fleet, me):
        self.fleet, self.me = fleet, me
        self.hv = fleet.nodes[me]
        self.cluster = self.hv['kannel_cluster']
        self.members = fleet.groups[self.cluster]
        self.peer = [n for n in self.members if n != me][0]
        self.pv = fleet.nodes.get(self.peer, {})
        self.setting = settings_of(self.hv, fleet.settings)
        self.hint = CLUSTER_VAR_HINT % self.cluster

    def node_names(self):
        # Node names name the client sets, smsbox ids, units and files, and go into commands.
        return ["inventory host '%s' of cluster '%s': a node's inventory host name %s (starting with a letter "
                "or digit), and not the word 'include'; rename the host (ansible_host keeps its address)"
                % (_escaped(node), self.cluster, NAME_RULE)
                for node in self.members if not _matches(NAME_RE, node) or 'include' in node]

    def peer_checks(self):
        hv, pv, peer, cluster = self.hv, self.pv, self.peer, self.cluster
        out = []
        if peer not in self.fleet.gateway_nodes:
            out.append("kannel_cluster: the peer %s of cluster '%s' is not in group kannel_nodes" % (peer, cluster))
        if pv.get('kannel_cluster') != cluster:
            out.append("kannel_cluster: the peer %s has kannel_cluster=%s, this node has '%s' (set it once in the "
                       "vars of group %s)" % (peer, pv.get('kannel_cluster', '(undefined)'), cluster, cluster))
        address = hv.get('kannel_cluster_address')
        if not _matches(IPV4_RE, address):
            out.append("kannel_cluster_address: '%s' is not an IPv4 address" % address)
        elif 'kannel_cluster_address' in pv and pv['kannel_cluster_address'] == address:
            out.append('kannel_cluster_address: %s and %s have the same address %s' % (self.me, peer, address))
        if 'kannel_cluster_address' not in pv:
            out.append('kannel_cluster_address: not defined for the peer %s' % peer)
        for var in CLUSTER_VARS:
            if var not in pv:
                out.append('%s: not defined for the peer %s (cluster variables belong in the vars of group %s)'
                           % (var, peer, cluster))
            elif pv[var] != hv.get(var):
                out.append('%s: differs between %s and %s %s' % (var, self.me, peer, self.hint))
        return out

    def passwords(self):
        out = []
        for var in ('kannel_admin_password', 'kannel_status_password'):
            value = self.hv.get(var)
            if len(value) < 8:
                out.append('%s: must be at least 8 characters' % var)
            elif ' ' in value:
                out.append("%s: may not contain double quotes, spaces or newlines (it is written into Kannel's "
                           "config and URLs)" % var)
            elif _unsafe(value):
                out.append('%s: %s' % (var, KANNEL_VALUE_RULE))
        if self.hv.get('kannel_admin_password') == self.hv.get('kannel_status_password'):
            out.append('kannel_status_password: must differ from kannel_admin_password')
        return out

    def settings_checks(self):
        """Quorum, watcher and fence timing (docs/DESIGN.md "Runtime guard and quorum")."""
        setting, pv, out = self.setting, self.pv, []
        for var, default in self.fleet.settings.items():
            if var != 'kannel_fence_timeout' and pv.get(var, default) != setting[var]:
                out.append('%s: differs between %s and %s %s' % (var, self.me, self.peer, self.hint))
        on = quorum_on(self.hv)
        if quorum_on(pv) != on:
            out.append('kannel_quorum: differs between %s and %s %s' % (self.me, self.peer, self.hint))
        own = [self.hv.get('kannel_cluster_address'), pv.get('kannel_cluster_address', '')]
        for index, address in enumerate(setting['kannel_quorum_addresses']):
            parts = str(address).split(':')
            if len(parts) != 2 or not _matches(IPV4_RE, parts[0]) or not _matches(PORT_RE, parts[1]) \
                    or not 1 <= to_int(parts[1]) <= 65535:
                out.append("kannel_quorum_addresses[%d]: '%s' is not IPv4:port (a TCP port that accepts connections, "
                           "e.g. 192.0.2.10:22)" % (index, address))
            elif parts[0] in own:
                out.append("kannel_quorum_addresses[%d]: '%s' is a node of the cluster; a quorum address is a third "
                           "host (e.g. the watcher's)" % (index, address))
        for var in ('kannel_quorum_seconds', 'kannel_watch_interval', 'kannel_watch_failure_seconds',
                    'kannel_fence_timeout'):
            if to_int(setting[var]) < 1:
                out.append('%s: %s must be at least 1 (seconds)' % (var, setting[var]))
        if on:
            out.extend(self.quorum_margins())
        return out

    def quorum_margins(self):
        setting = self.setting
        guard_interval = self.fleet.node_default(self.hv, 'kannel_node_guard_interval')
        guard_cycle = to_int(guard_interval) + 2
        margin = 2 * to_int(setting['kannel_watch_interval']) + 2 * guard_cycle + 2
        quorum_seconds = to_int(setting['kannel_quorum_seconds'])
        if not setting['kannel_quorum_addresses']:
            return ['kannel_quorum: true needs at least one address in kannel_quorum_addresses (with none, a node '
                    'that only loses its peer would give up its set, on both nodes at once)']
        if quorum_seconds < 2 * guard_cycle:
            return ['kannel_quorum_seconds: %s is shorter than two runtime guard cycles (%d s): one lost probe '
                    'would make a node give up its set' % (setting['kannel_quorum_seconds'], 2 * guard_cycle)]
        if to_int(setting['kannel_watch_failure_seconds']) < quorum_seconds + margin:
            return ['kannel_watch_failure_seconds: %s s is shorter than kannel_quorum_seconds (%s s) + %d s margin '
                    '(2 x kannel_watch_interval + 2 x runtime guard cycle (%s s + 2 s of probes) + 2 s to give up) '
                    '= %d s: the watcher could take over a cut-off node before it has given up its set. Raise '
                    'kannel_watch_failure_seconds or lower kannel_quorum_seconds'
                    % (setting['kannel_watch_failure_seconds'], setting['kannel_quorum_seconds'], margin,
                       guard_interval, quorum_seconds + margin)]
        return []

    def fence(self):
        command = self.hv.get('kannel_fence_command')
        if command is None:
            return []
        if not isinstance(command, str):
            return ['kannel_fence_command: must be one command line (a string) for %s, e.g. "virsh destroy %s"; '
                    'got a %s' % (self.me, self.me, type(command).__name__)]
        if not command.strip():
            return ['kannel_fence_command: empty for %s; remove it, or give the command that powers the node off'
                    % self.me]
        if '\n' in command:
            return ['kannel_fence_command: one command line only (no newlines); put a longer procedure into a script']
        return []

    def links(self):
        out, ids = [], []
        for index, link in enumerate(self.hv.get('kannel_links') or []):
            lid = link.get('id')
            where = 'kannel_links[%d] (id %s)' % (index, _escaped(lid))
            if not _matches(NAME_RE, lid):
                out.append("%s.id: '%s' %s (it names files and units)" % (where, _escaped(lid), NAME_RULE))
            elif 'include' in lid:
                out.append('%s.id: %s' % (where, KANNEL_VALUE_RULE))
            elif lid == 'smsc-placeholder':
                out.append("%s.id: 'smsc-placeholder' is reserved (bearerbox's placeholder link)" % where)
            elif lid.endswith(HELD_SUFFIX):
                out.append("%s.id: '%s' ends in '%s', which names a link's stand-in (kannel_node): choose another id"
                           % (where, lid, HELD_SUFFIX))
            elif lid in ids:
                out.append("%s.id: '%s' is used by more than one link" % (where, lid))
            ids.append(lid)
            out.extend(self.link_fields(where, link))
        return out

    def link_fields(self, where, link):
        out = []
        if link.get('home') not in self.members:
            out.append("%s.home: '%s' is not a node of cluster '%s' (%s)"
                       % (where, link.get('home'), self.cluster, ', '.join(self.members)))
        if not 1 <= to_int(link.get('port')) <= 65535:
            out.append('%s.port: %s is not a TCP port' % (where, link.get('port')))
        for field in ('host', 'username', 'password', 'system_type'):
            if _unsafe(link.get(field) or ''):
                out.append('%s.%s: %s' % (where, field, KANNEL_VALUE_RULE))
        # SMPP 3.4 C-octet string limits; Kannel truncates longer values and the bind is refused.
        password, username = str(link.get('password', '')), str(link.get('username', ''))
        if len(password) > 8:
            out.append('%s.password: %d characters; SMPP 3.4 allows at most 8 (Kannel truncates it and the '
                       'provider refuses the bind)' % (where, len(password)))
        if len(username) > 15:
            out.append("%s.username: '%s' is longer than 15 characters (SMPP 3.4 system_id)" % (where, username))
        if len(str(link.get('system_type') or '')) > 12:
            out.append('%s.system_type: longer than 12 characters (SMPP 3.4 system_type)' % where)
        if link.get('throughput') is not None and link['throughput'] <= 0:
            out.append('%s.throughput: must be > 0 (omit it for no limit)' % where)
        for key, value in (link.get('options') or {}).items():
            if not _matches(FIELD_RE, key):
                out.append("%s.options: '%s' is not a Kannel field name (lower case, digits, '-')" % (where, key))
            elif key in RESERVED_SMSC_FIELDS:
                out.append("%s.options: '%s' is set by the role from the link's own keys; remove it from options"
                           % (where, key))
            elif 'include' in key:
                out.append("%s.options: '%s' holds the word 'include' (Kannel reads such a line as an include "
                           "directive)" % (where, key))
            elif _unsafe(value):
                out.append('%s.options.%s: %s' % (where, key, KANNEL_VALUE_RULE))
        return out

    def client_sets(self):
        sets = self.hv.get('kannel_client_sets') or {}
        out = ["kannel_client_sets: no set for node '%s' (every node of cluster '%s' needs one; accounts may be [])"
               % (node, self.cluster) for node in self.members if node not in sets]
        # the service addresses of the other clusters of the inventory
        self.elsewhere = dict((address, whose) for host, address, whose in self.fleet.service_addresses
                              if host not in self.members)
        self.own_service_ips = [_ip_of(c['service_address']) for c in sets.values()
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
                out.extend(self.account('%s.accounts[%d] (%s)' % (where, index, _escaped(acct['username'])),
                                        set_name, acct))
        return out

    def service_address(self, where, set_name, cset):
        """The service address moves with the set (kannel_service_address); two holders of one address,
        or one that is a node's own address, would take traffic from the wrong node or cut a node off."""
        out = []
        sa, si = cset.get('service_address'), cset.get('service_interface')
        if sa is not None:
            parts = str(sa).split('/')
            if len(parts) != 2 or not _matches(IPV4_RE, parts[0]) or not _matches(PREFIX_RE, parts[1]):
                out.append("%s.service_address: '%s' is not an IPv4 address with a prefix length (1-32), e.g. "
                           "192.0.2.50/24" % (where, sa))
            else:
                out.extend(self.service_ip(where, set_name, sa, parts))
        elif si is not None:
            out.append('%s.service_interface: given without service_address (the interface is where the set\'s '
                       'service address is bound)' % where)
        if si is not None and not _matches(INTERFACE_RE, si):
            out.append("%s.service_interface: '%s' is not a network interface name (at most 15 letters, digits, "
                       "'_', '.', ':', '@', '-')" % (where, si))
        # smsbox binds its sendsms port to sendsms_interface when it starts, on whichever node serves the
        # set, before the set's service address is bound there (kannel_node serve.yml).
        sif = cset.get('sendsms_interface')
        if sif is not None and not _matches(IPV4_RE, sif):
            out.append("%s.sendsms_interface: '%s' is not an IPv4 address" % (where, _escaped(sif)))
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
        if not _matches(USERNAME_RE, username):
            out.append("%s.username: '%s' may only hold letters, digits, '_', '.', '@', '+', '-'"
                       % (where, _escaped(username)))
        elif 'include' in username:
            out.append('%s.username: %s' % (where, KANNEL_VALUE_RULE))
        elif username in self.users:
            out.append("%s.username: '%s' is used by more than one account of the cluster" % (where, username))
        self.users.append(username)
        if len(acct['password']) == 0:
            out.append('%s.password: must be non-empty without double quotes or newlines' % where)
        elif _unsafe(acct['password']):
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
            if not _matches(FIELD_RE, key):
                out.append("%s.options: '%s' is not a Kannel field name (lower case, digits, '-')" % (where, key))
            elif key in ('user-allow-ip', 'user-deny-ip'):
                out.append("%s.options: '%s' is set by the role from the account's allowed_ips / denied_ips; use "
                           "those" % (where, key))
            elif key in RESERVED_USER_FIELDS:
                out.append("%s.options: '%s' is set by the role; remove it from options" % (where, key))
            elif 'include' in key:
                out.append("%s.options: '%s' holds the word 'include' (Kannel reads such a line as an include "
                           "directive)" % (where, key))
            elif _unsafe(value):
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
                if not _matches(IP_PATTERN_RE, ip):
                    out.append("%s.%s[%d]: '%s' is not an IPv4 address or a Kannel pattern with '*' for one number "
                               "(e.g. 192.0.2.10 or 10.0.*.*)" % (where, key, index, _escaped(ip)))
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
        elif not _matches(HOSTNAME_RE, host):
            out.append("kannel_dlr_store.host: '%s' is not a host name or IPv4 address" % host)
        port, database = store.get('port'), store.get('database')
        if port is not None and not 1 <= port <= 65535:
            out.append('kannel_dlr_store.port: %s is not a TCP port (1-65535; Redis listens on 6379)' % port)
        if database is not None and not 0 <= database <= 15:
            out.append('kannel_dlr_store.database: %s is not a Redis database number (0-15)' % database)
        if store.get('key_prefix') is not None and not _matches(KEY_PREFIX_RE, store['key_prefix']):
            out.append("kannel_dlr_store.key_prefix: '%s' may only hold letters, digits, '_', '.', '-' (at most 64; "
                       "it begins every key Kannel writes)" % store['key_prefix'])
        if store.get('ttl') is not None and store['ttl'] < 0:
            out.append('kannel_dlr_store.ttl: %s must be 0 (keep entries forever) or more seconds' % store['ttl'])
        if not isinstance(password, str) or ' ' in password or _unsafe(password):
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
        if not _matches(FIELD_RE, key):
            out.append("%s: '%s' is not a Kannel field name (lower case, digits, '-')" % (where, key))
        elif key == 'group':
            out.append("%s: 'group' is written by the role; remove it" % where)
        elif isinstance(value, (dict, list, tuple, set)):
            out.append('%s.%s: must be a string, number or boolean' % (where, key))
        elif _unsafe(value):
            out.append('%s.%s: %s' % (where, key, KANNEL_VALUE_RULE))
    return out


LINK_DEFAULTS = (('system_type', ''), ('transceiver', True), ('throughput', None), ('reconnect_delay', 10),
                 ('enquire_link_interval', 30), ('max_pending_submits', 10), ('options', {}))


def node_model(me, hv, groups, nodes, settings, guard_interval, redis_defaults):
    """kannel_model of a node whose inventory passed the checks (docs/DESIGN.md)."""
    cluster = hv['kannel_cluster']
    members = list(groups[cluster])
    peer = [n for n in members if n != me][0]
    client_sets, links = hv['kannel_client_sets'], hv['kannel_links']
    model_links = []
    for link in links:
        entry = dict(LINK_DEFAULTS)
        entry.update((k, v) for k, v in link.items() if v is not None)
        entry['options'] = link.get('options') or {}
        entry['tags'] = ['acct-' + a['username'] for cset in client_sets.values() for a in cset['accounts']
                         if link['id'] in a['links']] or ['unused-' + link['id']]
        model_links.append(entry)
    sets = {}
    for node in members:
        cset = client_sets[node]
        sets[node] = {
            'home': node, 'smsbox': node, 'links': [link['id'] for link in links if link.get('home') == node],
            'sendsms_port': to_int(cset['sendsms_port']),
            'accounts': [{'username': a['username'], 'password': a['password'], 'links': a['links'],
                          'tag': 'acct-' + a['username'], 'options': a.get('options') or {},
                          'allowed_ips': a.get('allowed_ips'), 'denied_ips': a.get('denied_ips')}
                         for a in cset['accounts']],
            'service_address': cset.get('service_address'), 'service_interface': cset.get('service_interface'),
            'sendsms_interface': cset.get('sendsms_interface'), 'sms_services': cset.get('sms_services')}
    setting = settings_of(hv, settings)
    guard_cycle = to_int(guard_interval) + 2
    dlr = {'storage': setting['kannel_dlr_storage']}
    if dlr['storage'] == 'redis':
        dlr.update(redis_defaults)
        dlr.update((k, v) for k, v in (setting['kannel_dlr_store'] or {}).items() if v is not None)
        dlr['password'] = setting['kannel_dlr_store_password']
    quorum_seconds = to_int(setting['kannel_quorum_seconds'])
    return {
        'cluster': cluster, 'node': me, 'peer': peer, 'nodes': members,
        'address': hv['kannel_cluster_address'], 'peer_address': nodes[peer]['kannel_cluster_address'],
        'links': model_links, 'sets': sets,
        'service_addresses': dict((name, {'address': s['service_address'], 'interface': s['service_interface']})
                                  for name, s in sets.items() if s['service_address'] is not None),
        'quorum': {'enabled': quorum_on(hv), 'addresses': setting['kannel_quorum_addresses'],
                   'seconds': quorum_seconds, 'takeover_wait_seconds': quorum_seconds + 2 * guard_cycle + 2,
                   'watch_min_failure_seconds': quorum_seconds + 2 * to_int(setting['kannel_watch_interval'])
                   + 2 * guard_cycle + 2},
        'watch': {'interval': to_int(setting['kannel_watch_interval']),
                  'failure_seconds': to_int(setting['kannel_watch_failure_seconds'])},
        'fence': {'configured': hv.get('kannel_fence_command') is not None,
                  'timeout': to_int(setting['kannel_fence_timeout'])},
        'dlr': dlr,
        'lock': {'seconds': to_int(setting['kannel_cluster_lock_seconds'])},
        'info_sets': dict((name, {'smsbox': s['smsbox'], 'links': s['links'], 'service_address': s['service_address']})
                          for name, s in sets.items()),
    }


def fleet_model(nodes, groups, hosts, settings, node_defaults, redis_defaults):
    """Check and derive every host of `hosts` in one pass -> {'errors': {host: [...]} (hosts with
    errors only), 'models': {host: kannel_model} (hosts without), 'report': the errors as the lines
    an operator reads, 'summary': one line per model, without secrets}."""
    fleet = Fleet(nodes, groups, settings, node_defaults)
    errors, models = {}, {}
    for host in hosts:
        found = fleet.errors(host)
        if found:
            errors[host] = found
        else:
            models[host] = fleet.model(host, redis_defaults)
    report = []
    for host, found in errors.items():
        report += ['Inventory errors for node %s:' % host] + found
    return {'errors': errors, 'models': models, 'report': report,
            'summary': [summary(model) for model in models.values()]}


def summary(model):
    sets = model['sets']
    return ('cluster %s: node %s (%s), peer %s (%s); home links %s, peer links %s'
            % (model['cluster'], model['node'], model['address'], model['peer'], model['peer_address'],
               ','.join(sets[model['node']]['links']), ','.join(sets[model['peer']]['links'])))
