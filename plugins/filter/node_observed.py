# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role kannel_node's view of a node (tasks/observe.yml, tasks/probe.yml): what one read
found, in one controller-side step per node (a fleet's status pays each task per node)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: node_observed
short_description: The observed view of a node from its kannel_info read
description:
  - Returns C(probe) (C(reachable), C(reason)) and C(observed) (the role kannel_node's
    C(kannel_node_observed)) from the registered result of the role's kannel_info read.
  - A read that could not reach the node (ignore_unreachable) or a probe that found it unreachable
    gives C(reachable=false), C(health=down) and the reason, not a failure.
positional: probe, host, probe_timeout, placeholder_id
options:
  _input:
    description: The registered kannel_info result (skipped when the probe found the node unreachable).
    type: dict
    required: true
  probe:
    description: The connection probe's C(kannel_node_probe), or none when there was no probe.
    type: dict
  host:
    description: The node's inventory name.
    type: str
    required: true
  probe_timeout:
    description: The probe's bound in seconds (in the reason).
    type: int
    required: true
  placeholder_id:
    description: The admin-id of the placeholder link, left out of C(links).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Remember what was observed
  ansible.builtin.set_fact:
    kannel_node_observed: "{{ (info | smsgw.cluster.node_observed(none, inventory_hostname, 3, 'placeholder')).observed }}"
"""

RETURN = r"""
_value:
  description: C(probe) and C(observed).
  type: dict
"""

from ansible_collections.smsgw.cluster.plugins.module_utils.report_text import shorten


def _unreachable_reason(host, probe_timeout, msg):
    # tasks/probe.yml's wording
    return "%s cannot be reached within %s s (%s)" % (host, probe_timeout, shorten(msg or "", 120))


def node_observed(info, probe, host, probe_timeout, placeholder_id):
    probe = dict(probe) if probe else {"reachable": True, "reason": None}
    if info.get("unreachable"):
        probe = {"reachable": False, "reason": _unreachable_reason(host, probe_timeout, info.get("msg"))}
    if probe["reachable"]:
        i = info
    else:
        i = {"reachable": False, "health": "down", "reasons": [probe["reason"]], "sets": {}, "queues": {},
             "dlr": {}, "links": [], "boxes": [],
             "serving": {"recorded": False, "sets": None, "changed_by": None, "changed_at": None}}
    serving = i["serving"]
    observed = {
        "reachable": i["reachable"], "health": i["health"], "reasons": i["reasons"],
        "serving": (serving.get("sets") or []) if i["reachable"] or serving["recorded"] else None,
        "recorded": serving["recorded"], "changed_by": serving["changed_by"],
        "changed_at": serving["changed_at"],
        "active": [name for name, s in i["sets"].items() if s.get("state") == "active"],
        "sets": i["sets"], "queues": i["queues"], "dlr": i["dlr"],
        "links": [link for link in i["links"] if link.get("id") != placeholder_id],
        "boxes": i["boxes"], "lock": i.get("lock"), "peer_silence": i.get("peer_silence"),
    }
    return {"probe": probe, "observed": observed}


class FilterModule:
    def filters(self):
        return {"node_observed": node_observed}
