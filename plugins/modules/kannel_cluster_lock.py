#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_cluster_lock
short_description: Take, release or read the cluster lock on a node (one switch at a time)
description:
  - Takeover, failback and deploy's serving step take the cluster lock on the cluster's nodes
    before they read or change what the cluster serves, and release it at the end, so two runs
    (two operators, AWX jobs, the watcher) never change one cluster at once. The lock of a node
    is the file O(directory)/cluster-lock.json naming its holder.
  - The lock file is created complete and never over another one (a temporary file linked to the
    lock's name, which fails when the name exists), so of two runs racing for a free lock exactly
    one gets it. A lock past its expiry (its controller died) is taken over, and a lock of another
    run only with O(break_lock=true); the result says whose lock it was.
  - A lock held by another run makes the module fail with C(the cluster lock of CLUSTER is held
    by ...) naming the holder, when it was taken and when it expires (RV(refused) is true).
  - Taking the lock on the two nodes of a cluster is the caller's job, in one fixed order (sorted
    names), releasing what it took when the second is held (role smsgw.cluster.cluster_switch,
    C(tasks_from=lock_take)).
  - On the controller (action plugin), a take refused by the lock of a run of the same controller
    (O(holder.controller)) whose ansible-playbook process (its C(pid)) no longer runs is tried once
    more with O(gone_run_id) set to that run, so that a killed run's re-run need not wait for the expiry.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  cluster:
    description: Name of the cluster (its inventory group, C(kannel_cluster)); recorded and named in messages.
    type: str
    required: true
  state:
    description:
      - C(present) takes the lock for O(run_id) (a lock it holds already is kept as is).
      - C(absent) releases it if O(run_id) holds it; a lock of another run is left alone (RV(released) false).
      - C(query) only reads it (RV(lock)).
    type: str
    choices: [present, absent, query]
    default: present
  run_id:
    description: Identifies the run (unique per run); required with O(state=present) and O(state=absent).
    type: str
  holder:
    description: Who takes the lock, recorded in it and shown to a run that is refused.
    type: dict
    default: {}
    suboptions:
      playbook:
        description: The playbook (takeover, failback, deploy).
        type: str
      target:
        description: What it acts on (for example C(failed=node-a)).
        type: str
      controller:
        description: C(user@host) of the controller that runs it.
        type: str
      pid:
        description: Process id of ansible-playbook on the controller.
        type: str
      job_id:
        description: The AWX job id when the run is an AWX job.
        type: str
  expiry_seconds:
    description:
      - Seconds after which a lock that was not released (its controller died) may be taken over
        by another run. Recorded in the lock as its C(expires_at) (the node's clock).
    type: int
    default: 900
  break_lock:
    description: Take the lock even when another run holds it and it has not expired.
    type: bool
    default: false
  gone_run_id:
    description:
      - The run id of a holder known to be gone (its ansible-playbook no longer runs on the
        caller's own controller); the lock is taken over when, and only when, that run holds it.
    type: str
  directory:
    description: Directory of the lock file on the node.
    type: path
    default: /var/lib/kannel-cluster
attributes:
  check_mode:
    support: full
    description: Takes and releases nothing; a lock held by another run is still refused.
  diff_mode:
    support: none
    description: The lock is bookkeeping of a run; RV(lock) and RV(replaced) say what it holds.
seealso:
  - module: smsgw.cluster.kannel_serve
"""

EXAMPLES = r"""
- name: Take the cluster lock on a node
  smsgw.cluster.kannel_cluster_lock:
    cluster: lab_cluster
    run_id: "{{ run_id }}"
    holder:
      playbook: takeover
      target: failed=node-a
      controller: ops@bastion
  delegate_to: node-b

- name: Release it
  smsgw.cluster.kannel_cluster_lock:
    cluster: lab_cluster
    run_id: "{{ run_id }}"
    state: absent
  delegate_to: node-b
"""

RETURN = r"""
taken:
  description: Whether this run holds the lock now (with O(state=present); in check mode whether it could take it).
  returned: always
  type: bool
refused:
  description: True when another run holds the lock (the module failed).
  returned: always
  type: bool
how:
  description:
    - How it was taken - C(new), C(ours) (held already), C(expired) (a stale lock taken over),
      C(gone) (the lock of a run known to be gone), C(broken).
  returned: when taken
  type: str
replaced:
  description: The record of the expired or broken lock that was replaced.
  returned: when a lock was replaced
  type: dict
held_by:
  description: The record of the lock that refused this run (O(state=present)) or was left alone (O(state=absent)).
  returned: when another run holds the lock
  type: dict
lock:
  description:
    - The lock record held now (null when free) - cluster, run_id, playbook, target, controller, pid,
      job_id, taken_at, expires_at (UTC) and C(*_epoch), plus C(holder) (who, as a sentence),
      C(age_seconds), C(expires_in_seconds) and C(expired).
  returned: always
  type: dict
released:
  description: Whether O(state=absent) removed the lock.
  returned: always
  type: bool
path:
  description: The lock file.
  returned: always
  type: str
msg:
  description: What was done, or why not.
  returned: always
  type: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.cluster_lock import (
    ClusterLock,
    LockError,
    describe,
    new_record,
    operator_view,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent", "query"]),
            run_id=dict(type="str"),
            holder=dict(type="dict", default={}, options=dict(
                playbook=dict(type="str"), target=dict(type="str"), controller=dict(type="str"),
                pid=dict(type="str"), job_id=dict(type="str"))),
            expiry_seconds=dict(type="int", default=900),
            break_lock=dict(type="bool", default=False),
            gone_run_id=dict(type="str"),
            directory=dict(type="path", default="/var/lib/kannel-cluster"),
        ),
        required_if=[("state", "present", ["run_id"]), ("state", "absent", ["run_id"])],
        supports_check_mode=True,
    )
    p = module.params
    if p["expiry_seconds"] < 1:
        module.fail_json(msg="expiry_seconds must be at least 1, got %s" % p["expiry_seconds"])
    lock = ClusterLock(p["directory"])
    now = time.time()
    result = {"changed": False, "taken": False, "refused": False, "released": False,
              "path": lock.path}
    try:
        if p["state"] == "query":
            result["lock"] = operator_view(lock.read(), now)
            result["msg"] = result["lock"]["holder"] if result["lock"] else "the cluster lock is free"
        elif p["state"] == "absent":
            released, before = lock.release(p["run_id"], check_mode=module.check_mode)
            result.update(released=released, changed=released, lock=None if released else operator_view(before, now))
            if released:
                result["msg"] = "released the cluster lock"
            elif before is None:
                result["msg"] = "the cluster lock was free"
            else:
                result["held_by"] = operator_view(before, now)
                result["msg"] = ("left the cluster lock of %s alone: this run does not hold it"
                                 % describe(before))
        else:
            record = new_record(p["cluster"], p["run_id"], p["holder"], now, p["expiry_seconds"])
            out = lock.take(record, now, p["expiry_seconds"], break_lock=p["break_lock"],
                            gone_run_id=p["gone_run_id"], check_mode=module.check_mode)
            result.update(taken=out["taken"], changed=out["changed"], how=out["how"], msg=out["msg"])
            if out["replaced"]:
                result["replaced"] = operator_view(out["replaced"], now)
            if not out["taken"]:
                result.update(refused=True, held_by=operator_view(out["held_by"], now),
                              lock=operator_view(out["held_by"], now))
                module.fail_json(**result)
            result["lock"] = operator_view(lock.read(), now) if not module.check_mode else None
    except LockError as e:
        result["msg"] = "%s: %s" % (p["cluster"], e)
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
