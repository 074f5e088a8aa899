# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether one judged status read shows a node serving exactly the sets it should."""

from __future__ import annotations

DOCUMENTATION = r"""
name: serving_exactly
short_description: A judged status read shows the node healthy, serving exactly these sets
description:
  - True when the read (smsgw.cluster.kannel_info's result, or smsgw.cluster.kannel_serve's
    confirmation) is C(healthy) and every set of the cluster is C(active) where it is served and
    C(passive) where it is not; false for a read that failed, was skipped or lacks a set.
  - Also false when a set's service address was not looked at (C(bound) null, as in
    kannel_serve's confirmation, read before serve.yml binds the addresses), which that read cannot
    tell.
positional: sets, serving
options:
  _input:
    description: The read, with C(health) and C(sets) (set -> C(state)).
    type: dict
    required: true
  sets:
    description: Every set of the cluster (C(kannel_model.nodes)).
    type: list
    elements: str
    required: true
  serving:
    description: The sets the node serves.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Read until the node serves exactly its sets
  smsgw.cluster.kannel_info:
    admin_password: "{{ kannel_status_password }}"
    sets: "{{ kannel_model.info_sets }}"
    expect_active: "{{ kannel_node_serving }}"
  register: kannel_node_info
  until: kannel_node_info is smsgw.cluster.serving_exactly(kannel_model.nodes, kannel_node_serving)
  retries: 30
  delay: 1
"""

RETURN = r"""
_value:
  description: Whether the read shows exactly that.
  type: bool
"""


def serving_exactly(read, sets, serving):
    reports = (read or {}).get("sets") or {}
    if (read or {}).get("health") != "healthy":
        return False
    for name in sets:
        report = reports.get(name) or {}
        if report.get("state") != ("active" if name in serving else "passive"):
            return False
        if report.get("service_address") and report["service_address"].get("bound") is None:
            return False
    return True


class TestModule:
    def tests(self):
        return {"serving_exactly": serving_exactly}
