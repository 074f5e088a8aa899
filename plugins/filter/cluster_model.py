# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory model of every gateway node at once (role cluster_model runs it once per play).

The rules live in module_utils/cluster_model.py; this plugin only reads the inventory: each node's
variables once (every `hostvars[host]` costs the controller a full variable merge of that host, so a
check per host that read every other host grew with the square of the fleet).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: cluster_model
short_description: Check the gateway nodes' inventory and derive each node's kannel_model
description:
  - Checks every host of I(_input) against the rules of role C(smsgw.cluster.cluster_model)
    (two nodes per cluster, shared cluster variables, links, client sets, service addresses across
    all clusters of the inventory, quorum and watcher timing, DLR store, cluster lock) and derives
    the C(kannel_model) of each host that passed.
  - Reads each host's variables once from C(hostvars).
positional: hostvars, groups, settings, node_defaults, redis_defaults
options:
  _input:
    description: The hosts to check (the play's hosts).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  groups:
    description: C(groups).
    type: dict
    required: true
  settings:
    description: The defaults of the cluster's safety settings (C(cluster_model_settings)).
    type: dict
    required: true
  node_defaults:
    description: The defaults of the kannel_node variables the checks read
      (C(kannel_node_admin_port), C(kannel_node_smsbox_port), C(kannel_node_guard_interval)).
    type: dict
    required: true
  redis_defaults:
    description: Defaults of C(kannel_dlr_store)'s keys for a redis store.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check and derive every node once
  ansible.builtin.set_fact:
    fleet: >-
      {{ ansible_play_hosts_all | smsgw.cluster.cluster_model(hostvars, groups, cluster_model_settings,
         cluster_model_node_defaults, cluster_model_dlr_redis_defaults) }}
  run_once: true
  no_log: true
"""

RETURN = r"""
_value:
  description: C(errors) (host -> list of messages, only hosts with errors) and C(models)
    (host -> kannel_model, the hosts without errors).
  type: dict
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.smsgw.cluster.plugins.module_utils.cluster_model import fleet_model
from ansible_collections.smsgw.cluster.plugins.module_utils.cluster_rules import NODE_VARS

# The types of one client set of kannel_client_sets (the role's meta/argument_specs.yml checks
# that kannel_client_sets is a dict; its keys are the set names, so the sets are checked here).
CLIENT_SET_SPEC = {
    "type": "dict", "required": True, "options": {
        "sendsms_port": {"type": "int", "required": True},
        "service_address": {"type": "str"},
        "service_interface": {"type": "str"},
        "sendsms_interface": {"type": "str"},
        "sms_services": {"type": "list", "elements": "dict"},
        "accounts": {"type": "list", "elements": "dict", "required": True, "options": {
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "links": {"type": "list", "elements": "str", "required": True},
            "allowed_ips": {"type": "list", "elements": "str"},
            "denied_ips": {"type": "list", "elements": "str"},
            "options": {"type": "dict", "default": {}},
        }},
    }}


def _read(hostvars, host, names):
    """The variables `names` of one host (one variable merge)."""
    hv = hostvars[host]
    return dict((name, hv[name]) for name in names if name in hv)


def client_set_type_errors(client_sets):
    """ansible-core's argument validation of each client set's types (messages name the set)."""
    spec = {"kannel_client_sets": {"type": "dict", "required": True,
                                   "options": dict((name, CLIENT_SET_SPEC) for name in client_sets)}}
    result = ArgumentSpecValidator(spec).validate({"kannel_client_sets": client_sets})
    return list(result.error_messages)


def cluster_model(hosts, hostvars, groups, settings, node_defaults, redis_defaults):
    names = NODE_VARS + tuple(settings)
    hosts = list(hosts)
    nodes = {}
    for host in list(groups.get("kannel_nodes") or []) + hosts:
        if host not in nodes:
            nodes[host] = _read(hostvars, host, names)
    # the peers of the hosts checked, also when a peer is missing from kannel_nodes
    for host in hosts:
        for member in groups.get(str(nodes[host].get("kannel_cluster")), []) or []:
            if member not in nodes:
                nodes[member] = _read(hostvars, member, names)
    # checked before the rules, which read the sets' fields (the play stops on these as on any error)
    type_errors = dict((host, client_set_type_errors(nodes[host].get("kannel_client_sets") or {}))
                       for host in hosts)
    if any(type_errors.values()):
        errors = dict((host, found) for host, found in type_errors.items() if found)
        report = []
        for host, found in errors.items():
            report += ["Inventory errors for node %s:" % host] + found
        return {"errors": errors, "models": {}, "report": report, "summary": []}
    return fleet_model(nodes, groups, hosts, settings, node_defaults, redis_defaults)


class FilterModule:
    def filters(self):
        return {"cluster_model": cluster_model}
