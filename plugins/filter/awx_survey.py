# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX survey specs whose node choices come from the inventory (awx/configure.yml uses them).

Typed-in choices go stale the day a node is renamed or a cluster added; generated ones follow the
inventory each time awx/configure.yml runs. The confirmation question pairs with the check in
roles/cluster_switch/tasks/confirm_request.yml: the job template sets smsgw_confirm_required, the survey asks
CONFIRM_VAR, and the playbook refuses unless the answer is the chosen node's name.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: awx_node_survey
short_description: AWX survey spec with the inventory's gateway nodes as choices
description:
  - Builds the survey of a job template that acts on one gateway node (takeover, failback) - a
    multiple choice of every node of group C(kannel_nodes), grouped by cluster in the question's
    description, and a confirmation question (type the node's name again).
  - Refuses an inventory whose nodes lack C(kannel_cluster) or whose clusters do not have exactly
    two nodes, naming the node or cluster.
positional: hostvars, variable, question
options:
  _input:
    description: The node names (C(groups['kannel_nodes'])).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars); each node's C(kannel_cluster) names its cluster.
    type: dict
    required: true
  variable:
    description: The playbook variable the chosen node goes into (C(failed), C(node)).
    type: str
    required: true
  question:
    description: The question shown above the node choices.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Takeover survey from the inventory
  ansible.builtin.set_fact:
    survey: >-
      {{ groups['kannel_nodes'] | smsgw.cluster.awx_node_survey(hostvars, 'failed',
         'Which node failed?') }}
"""

RETURN = r"""
_value:
  description: An AWX survey spec (name, description, spec) for the survey_spec option of
    awx.awx.job_template and awx.awx.workflow_job_template.
  type: dict
"""

from ansible.errors import AnsibleFilterError

CONFIRM_VAR = "smsgw_confirm"


def node_clusters(nodes, hostvars):
    """{cluster: [nodes, sorted]} from each node's kannel_cluster; every cluster has two nodes."""
    if not nodes:
        raise AnsibleFilterError("awx_node_survey: the inventory has no host in group kannel_nodes")
    clusters = {}
    for node in nodes:
        cluster = (hostvars.get(node) or {}).get("kannel_cluster")
        if not isinstance(cluster, str) or not cluster:
            raise AnsibleFilterError(
                "awx_node_survey: node %s has no kannel_cluster (the name of its cluster group)" % node)
        clusters.setdefault(cluster, []).append(str(node))
    for cluster, members in sorted(clusters.items()):
        if len(members) != 2:
            raise AnsibleFilterError(
                "awx_node_survey: cluster %s has %d node(s) (%s); a cluster has exactly two"
                % (cluster, len(members), ", ".join(sorted(members))))
    return {cluster: sorted(members) for cluster, members in clusters.items()}


def node_survey(nodes, hostvars, variable, question):
    """The survey spec: one node of the inventory, then the confirmation."""
    clusters = node_clusters(nodes, hostvars)
    choices = sorted(node for members in clusters.values() for node in members)
    where = "; ".join("%s: %s" % (cluster, ", ".join(members)) for cluster, members in sorted(clusters.items()))
    return {
        "name": question,
        "description": "Generated from the inventory by awx/configure.yml (%s)." % where,
        "spec": [
            {
                "question_name": question,
                "question_description": "A node of the inventory (%s). Re-run awx/configure.yml "
                                        "after changing the inventory's nodes." % where,
                "required": True,
                "type": "multiplechoice",
                "variable": variable,
                "choices": choices,
                "default": "",
            },
            {
                "question_name": "Confirm: type the node's name again",
                "question_description": "The job refuses to run unless this is exactly the node "
                                        "chosen above.",
                "required": True,
                "type": "text",
                "variable": CONFIRM_VAR,
                "min": 1,
                "max": max(len(node) for node in choices),
                "default": "",
            },
        ],
    }


class FilterModule:
    def filters(self):
        return {"awx_node_survey": node_survey}
