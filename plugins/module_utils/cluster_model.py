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

from ansible_collections.smsgw.cluster.plugins.module_utils.cluster_rules import (
    ClientSetRules,
    CLUSTER_VAR_HINT,
    CLUSTER_VARS,
    escaped,
    FIELD_RE,
    ip_of,
    IPV4_RE,
    KANNEL_VALUE_RULE,
    lock_errors,
    matches,
    NAME_RE,
    NAME_RULE,
    PORT_RE,
    quorum_on,
    RESERVED_SMSC_FIELDS,
    settings_of,
    to_int,
    unsafe,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import HELD_SUFFIX


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
                        self.service_addresses.append((host, ip_of(other['service_address']),
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
        if not matches(NAME_RE, cluster) or 'include' in str(cluster):
            out.append("kannel_cluster: '%s' %s (starting with a letter or digit), and not the word 'include'"
                       % (escaped(cluster), NAME_RULE))
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


class _Cluster(ClientSetRules):
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
                % (escaped(node), self.cluster, NAME_RULE)
                for node in self.members if not matches(NAME_RE, node) or 'include' in node]

    def peer_checks(self):
        hv, pv, peer, cluster = self.hv, self.pv, self.peer, self.cluster
        out = []
        if peer not in self.fleet.gateway_nodes:
            out.append("kannel_cluster: the peer %s of cluster '%s' is not in group kannel_nodes" % (peer, cluster))
        if pv.get('kannel_cluster') != cluster:
            out.append("kannel_cluster: the peer %s has kannel_cluster=%s, this node has '%s' (set it once in the "
                       "vars of group %s)" % (peer, pv.get('kannel_cluster', '(undefined)'), cluster, cluster))
        address = hv.get('kannel_cluster_address')
        if not matches(IPV4_RE, address):
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
            elif unsafe(value):
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
            if len(parts) != 2 or not matches(IPV4_RE, parts[0]) or not matches(PORT_RE, parts[1]) \
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
            where = 'kannel_links[%d] (id %s)' % (index, escaped(lid))
            if not matches(NAME_RE, lid):
                out.append("%s.id: '%s' %s (it names files and units)" % (where, escaped(lid), NAME_RULE))
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
            if unsafe(link.get(field) or ''):
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
            if not matches(FIELD_RE, key):
                out.append("%s.options: '%s' is not a Kannel field name (lower case, digits, '-')" % (where, key))
            elif key in RESERVED_SMSC_FIELDS:
                out.append("%s.options: '%s' is set by the role from the link's own keys; remove it from options"
                           % (where, key))
            elif 'include' in key:
                out.append("%s.options: '%s' holds the word 'include' (Kannel reads such a line as an include "
                           "directive)" % (where, key))
            elif unsafe(value):
                out.append('%s.options.%s: %s' % (where, key, KANNEL_VALUE_RULE))
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
        # the one definition of a stand-in's id (<link id><suffix>), for the role's templates
        'held_suffix': HELD_SUFFIX,
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
