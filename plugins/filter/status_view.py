# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""status.yml's fleet view (the rules: module_utils/status_view.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: status_fleet
short_description: The fleet view of status.yml's report
description:
  - Adds each cluster's C(verdict) (normal, taken over, node down, degraded) to the report, and a
    C(verdicts) map (cluster to verdict).
  - Returns the report, the fleet summary (one line per cluster), and the clusters whose tables
    status.yml prints (all of a one-cluster report, else those not normal or whose lock is held).
positional: selected
options:
  _input:
    description: The report of status.yml (its C(clusters)).
    type: dict
    required: true
  selected:
    description: The cluster the report was limited to (C(-e cluster=NAME)), if any.
    type: str
"""

EXAMPLES = r"""
- name: One line per cluster
  ansible.builtin.debug:
    msg: "{{ (report | smsgw.cluster.status_fleet).lines }}"
"""

RETURN = r"""
_value:
  description: C(report) (the report with verdicts), C(lines) (the fleet summary) and C(detailed)
    (the clusters to show in full).
  type: dict
"""

from ansible_collections.smsgw.cluster.plugins.module_utils.status_view import fleet_view


def status_fleet(report, selected=None):
    return fleet_view(report, selected)


class FilterModule:
    def filters(self):
        return {"status_fleet": status_fleet}
