# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The takeover's quorum wait (the rule: module_utils/quorum_wait.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: quorum_wait
short_description: How long a takeover waits for an unreachable node to give up its set under quorum
description:
  - For a failed node that could be neither reached nor fenced, with quorum on, says how long the
    survivor waits before activating anything, C(kannel_model.quorum.takeover_wait_seconds) less the
    time since the survivor last reached the node (the whole time when its runtime guard's record
    is not fresh), rounded up; no wait when the survivor still reaches the node.
positional: quorum, node, peer
options:
  _input:
    description: The survivor's record of the failed node (C(kannel-cluster-guard peer-silence)),
      with C(peer_reachable), C(fresh) and C(silent_seconds).
    type: dict
    required: true
  quorum:
    description: The failed node's C(kannel_model.quorum) (C(seconds), C(takeover_wait_seconds)).
    type: dict
    required: true
  node:
    description: The failed node.
    type: str
    required: true
  peer:
    description: The survivor.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Quorum - work out the wait
  ansible.builtin.set_fact:
    cluster_switch_quorum: >-
      {{ hostvars[kannel_model.peer].cluster_switch_silence
         | smsgw.cluster.quorum_wait(kannel_model.quorum, inventory_hostname, kannel_model.peer) }}
"""

RETURN = r"""
_value:
  description: C(seconds) (whole seconds to wait, 0 for none), C(by) (C(quorum), or C(peer guard)
    when the survivor still reaches the node) and C(msg) (what the wait is for, for the operator).
  type: dict
"""

from ansible_collections.smsgw.cluster.plugins.module_utils.quorum_wait import quorum_wait


class FilterModule:
    def filters(self):
        return {"quorum_wait": quorum_wait}
