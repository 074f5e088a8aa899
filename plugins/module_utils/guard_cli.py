# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line of the node's guard (roles/kannel_node/files/kannel_cluster_guard.py,
installed by smsgw.cluster.kannel_node as kannel_node_guard_command):

  kannel-cluster-guard bearerbox     ExecStartPre of kannel-bearerbox.service (guard_start)
  kannel-cluster-guard smsbox SET    ExecCondition of kannel-smsbox@SET.service (guard_start)
  kannel-cluster-guard watch         kannel-cluster-guard.service, the runtime guard (guard_runtime)
  kannel-cluster-guard peer-silence  JSON {"peer_reachable", "silent_seconds", "fresh"} from the
                                     runtime guard's state file (guard_node.peer_record; takeover.yml
                                     reads the same record with kannel_info's guard_config)

Standard library only, as every module the guard imports: a node has no Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

from ansible_collections.smsgw.cluster.plugins.module_utils import guard_node, guard_runtime, guard_start

CONFIG = "/etc/kannel/cluster-guard.json"


def main(argv):
    cfg = guard_node.load_json(CONFIG)
    guard_node.SECRETS[:] = [cfg.get("status_password"), cfg.get("admin_password")]
    if argv[1:2] == ["bearerbox"]:
        return guard_start.guard_bearerbox(cfg)
    if argv[1:2] == ["smsbox"] and len(argv) == 3:
        return guard_start.guard_smsbox(cfg, argv[2])
    if argv[1:2] == ["watch"]:
        return guard_runtime.watch(cfg)
    if argv[1:2] == ["peer-silence"]:
        return guard_runtime.peer_silence(cfg)
    sys.stderr.write("usage: kannel-cluster-guard bearerbox | smsbox SET | watch | peer-silence\n")
    return 2
