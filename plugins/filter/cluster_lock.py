# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What taking the cluster lock came to, from the one task that took it node by node.

roles/cluster_switch/tasks/lock_take.yml takes the lock with one task looping over the nodes in
sorted order (it stops at the first node whose lock another run holds); this reads that task's
results so the refusals and the report after it need no Jinja bookkeeping per node.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: cluster_lock_outcome
short_description: What a looped smsgw.cluster.kannel_cluster_lock take came to
description:
  - Reads the per-node results of one C(smsgw.cluster.kannel_cluster_lock) task that looped over
    the cluster's nodes (loop variable C(cluster_lock_node), or C(item)) and says which nodes this
    run holds now, which node refused it (another run holds the lock there), which nodes could not
    be reached or locked, and which expired, gone or broken locks were replaced.
positional: check_mode
options:
  _input:
    description: The C(results) of the registered loop.
    type: list
    elements: dict
    required: true
  check_mode:
    description: A check-mode run holds no lock, whatever the module said.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Note what the take came to
  ansible.builtin.set_fact:
    taken: "{{ tries.results | smsgw.cluster.cluster_lock_outcome(ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description:
    - C(nodes) (held now, in the order taken), C(refused) (null, or C(node), C(msg), C(lock) of
      the refusal), C(unreachable) (nodes not reached or not locked for an error),
      C(unreachable_why) (the last such error, at most about 200 characters), C(not_reached)
      (per node the connection could not reach, why, at most about 200 characters; a node not
      in it was reached, so takeover.yml does not probe it again), C(notes) (one line per
      replaced lock, the node's name then the message).
  type: dict
"""

from ansible_collections.smsgw.cluster.plugins.module_utils.report_text import shorten

WHY_LENGTH = 200


def node_of(result):
    return result.get(result.get("ansible_loop_var") or "item")


def cluster_lock_outcome(results, check_mode=False):
    out = {"nodes": [], "refused": None, "unreachable": [], "unreachable_why": "", "not_reached": {},
           "notes": []}
    for result in results:
        if result.get("skipped"):
            continue
        node = node_of(result)
        if result.get("taken") and not check_mode:
            out["nodes"].append(node)
        if result.get("refused"):
            out["refused"] = {"node": node, "msg": result.get("msg"), "lock": result.get("lock")}
        elif result.get("unreachable") or result.get("failed"):
            out["unreachable"].append(node)
            out["unreachable_why"] = shorten(result.get("msg") or "unreachable", WHY_LENGTH)
            if result.get("unreachable"):
                out["not_reached"][node] = out["unreachable_why"]
        if result.get("replaced"):
            out["notes"].append("%s: %s" % (node, result.get("msg")))
    return out


class FilterModule:
    def filters(self):
        return {"cluster_lock_outcome": cluster_lock_outcome}
