#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_watch_state
short_description: Read or change whether the automatic-takeover watcher may act on a cluster
description:
  - Reads and changes the state file of the automatic-takeover watcher (event source
    smsgw.cluster.kannel_health, rulebook smsgw.cluster.auto_takeover) for one cluster, on the
    witness host where the watcher runs, C(<state_dir>/<cluster>.json). The watcher re-reads it at
    every poll, so a change takes effect within one poll interval and survives a restart of the
    watcher.
  - C(armed) - the watcher takes over a node that is really down. C(paused) - it takes nothing
    over (maintenance window) until resumed. C(disarmed) - it took a node over and never fails
    back by itself; the operator arms it again after failback.
  - Changes are made under the file's lock and written atomically.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  cluster:
    description:
      - Name of the cluster (its inventory group, C(kannel_cluster)).
      - One of O(cluster) and O(clusters) is required.
    type: str
  clusters:
    description:
      - Names of several clusters whose states one run reads (O(action=query) only), returned
        in RV(states); a fleet's status reads every cluster in one module run.
    type: list
    elements: str
  state_dir:
    description: Directory of the watcher's state files on this host.
    type: path
    default: /var/lib/smsgw-watch
  action:
    description:
      - C(query) reads the state. C(pause) stops automatic takeovers; C(resume) ends a pause;
        C(arm) allows them again after an automatic takeover (after failback), and also ends a pause.
      - C(ended) is the rulebook's note that the takeover playbook of O(attempt) returned; the watcher
        then records whether the survivor serves the node's set (and re-arms when it does not).
        The takeover playbook sends it itself, with O(reason), when it was refused because another
        run held the cluster lock; the watcher logs that reason and stays armed.
      - C(resume) refuses a disarmed cluster (RV(msg) says to arm it after failback).
    type: str
    choices: [query, pause, resume, arm, ended]
    default: query
  attempt:
    description: The takeover attempt number, with O(action=ended).
    type: int
  reason:
    description:
      - A note recorded with the operator's change (for example a ticket number); with
        O(action=ended), why the takeover was refused (the holder of the cluster lock).
    type: str
  by:
    description: Who made the change, recorded in the state.
    type: str
    default: operator
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the mode before and after.
seealso:
  - module: smsgw.cluster.kannel_info
"""

EXAMPLES = r"""
- name: Pause automatic switching for a maintenance window
  smsgw.cluster.kannel_watch_state:
    cluster: lab_cluster
    action: pause
    reason: "change 4711, provider maintenance"

- name: Read the watcher's state
  smsgw.cluster.kannel_watch_state:
    cluster: lab_cluster
  register: watch

- name: Read the watcher's state of several clusters
  smsgw.cluster.kannel_watch_state:
    clusters: [site_north, site_south]
  register: watch_fleet
"""

RETURN = r"""
state:
  description: The cluster's watcher state after the action (before it, in check mode).
  returned: with O(cluster)
  type: dict
  contains:
    mode:
      description: C(armed), C(paused) or C(disarmed).
      type: str
    mode_reason:
      description: Why the mode is what it is.
      type: str
    takeover:
      description: The last automatic takeover (node, survivor, attempt, started_at, ended_at, result).
      type: dict
    last_decision:
      description: The watcher's last logged decision (at, node, decision, seen, did, why).
      type: dict
msg:
  description: What was done, or why nothing was.
  returned: always
  type: str
recorded:
  description: Whether the state file exists (false - no watcher ever ran or was set for the cluster).
  returned: with O(cluster)
  type: bool
states:
  description: Each cluster's RV(state) and RV(recorded), by cluster name.
  returned: with O(clusters)
  type: dict
  sample: {"site_north": {"state": {"mode": "armed"}, "recorded": true}}
refused:
  description: True when the action was refused (resume of a disarmed cluster).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import (
    OPERATOR_ACTIONS,
    StateFile,
    WatchStateError,
    operator_change,
    takeover_ended,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cluster=dict(type="str"),
            clusters=dict(type="list", elements="str"),
            state_dir=dict(type="path", default="/var/lib/smsgw-watch"),
            action=dict(type="str", default="query",
                        choices=["query", "pause", "resume", "arm", "ended"]),
            attempt=dict(type="int"),
            reason=dict(type="str"),
            by=dict(type="str", default="operator"),
        ),
        required_if=[("action", "ended", ["attempt"])],
        required_one_of=[("cluster", "clusters")],
        mutually_exclusive=[("cluster", "clusters")],
        supports_check_mode=True,
    )
    p = module.params
    if p["clusters"] is not None:
        query_clusters(module)
    store = StateFile(p["state_dir"], p["cluster"])
    result = {"msg": "", "refused": False}

    def change(state):
        if p["action"] in OPERATOR_ACTIONS:
            new, result["msg"] = operator_change(state, p["action"], p["by"], note=p["reason"])
            result["refused"] = result["msg"].startswith("Refused")
        elif p["action"] == "ended":
            new = takeover_ended(state, p["attempt"], refused=p["reason"])
            result["msg"] = ("takeover attempt %s recorded as ended" % p["attempt"] if new != state
                             else "nothing to record: attempt %s is not the running takeover"
                             % p["attempt"])
        else:
            new = state
        result["before"], result["after"] = state, new
        return None if module.check_mode else new

    try:
        if p["action"] == "query" or module.check_mode:
            change(store.read())
        else:
            store.update(change)
    except (WatchStateError, ValueError) as e:
        module.fail_json(msg="%s: %s" % (p["cluster"], e))
    before, after = result.pop("before"), result.pop("after")
    result["changed"] = after != before
    result["state"] = before if module.check_mode else after
    result["recorded"] = store.exists()
    if not result["msg"]:
        result["msg"] = "%s: %s (%s)" % (p["cluster"], after["mode"], after.get("mode_reason"))
    if module._diff:
        result["diff"] = {"before": "mode: %s\n" % before["mode"], "after": "mode: %s\n" % after["mode"]}
    if result["refused"]:
        module.fail_json(**result)
    module.exit_json(**result)


def query_clusters(module):
    p = module.params
    if p["action"] != "query":
        module.fail_json(msg="clusters reads states only (action=query); to %s, name one cluster "
                             "with cluster" % p["action"])
    states = {}
    for cluster in p["clusters"]:
        store = StateFile(p["state_dir"], cluster)
        try:
            states[cluster] = {"state": store.read(), "recorded": store.exists()}
        except (WatchStateError, ValueError) as e:
            module.fail_json(msg="%s: %s" % (cluster, e))
    module.exit_json(changed=False, states=states, msg="%d clusters read" % len(states), refused=False)


if __name__ == "__main__":
    main()
