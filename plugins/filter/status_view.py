# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""status.yml's fleet view (the rules: module_utils/status_view.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: status_verdicts
short_description: Add each cluster's verdict to status.yml's report
description:
  - Adds C(verdict) (normal, taken over, node down, degraded) to each cluster of the report and
    C(verdicts) (cluster -> verdict) to the report.
  - The same plugin file has C(status_fleet_lines) (the fleet summary, one line per cluster, of a
    report with verdicts; option I(selected) names a cluster the report was limited to) and
    C(status_detailed) (the clusters whose tables status.yml prints: all of a one-cluster report, else
    those not normal or whose cluster lock is held).
positional: selected
options:
  _input:
    description: status.yml's report (C(clusters)).
    type: dict
    required: true
  selected:
    description: The cluster the report was limited to (C(-e cluster=NAME)), if any.
    type: str
"""

EXAMPLES = r"""
- name: One line per cluster
  ansible.builtin.debug:
    msg: "{{ status_report | smsgw.cluster.status_verdicts | smsgw.cluster.status_fleet_lines }}"
"""

RETURN = r"""
_value:
  description: The report with verdicts.
  type: dict
"""

from ansible_collections.smsgw.cluster.plugins.module_utils.status_view import detailed, fleet_lines, with_verdicts


def status_verdicts(report):
    return with_verdicts(report)


def status_fleet_lines(report, selected=None):
    return fleet_lines(report, selected)


def status_detailed(report):
    return detailed(report)


class FilterModule:
    def filters(self):
        return {"status_verdicts": status_verdicts, "status_fleet_lines": status_fleet_lines,
                "status_detailed": status_detailed}
