#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_serve
short_description: Make a Kannel node serve exactly a list of configuration sets, in one run
description:
  - The activation and release steps of takeover, failback and deploy as one module run on the
    node, so a set is unserved only for the time Kannel needs, not for round trips in between.
  - In this order; records the wanted sets in O(serving_file) (the intent, so an interrupted run
    converges when it is run again); when its own set is not served, loads the stand-ins of the
    node's own links and then removes them (their queued messages stay, see
    smsgw.cluster.kannel_link C(state=held)), first of all because the provider bind is what must
    never overlap; stops the smsbox of every set not served; removes the links of the other sets
    not served (after their queues drained, O(drain_timeout)); loads the links
    of the served sets (one graceful restart); starts their smsboxes (the own set's smsbox before
    its links when each of them or its stand-in is loaded, as when it comes back from the peer;
    a message accepted meanwhile waits for the stand-in, and the clients' gap does not include
    Kannel starting the links); removes from O(active_dir)
    every file that is not a served link's file or a stand-in the own set needs (bearerbox loads
    any file there at its next start, e.g. the temporary file of an interrupted write); then
    reads the status page once more and judges it as smsgw.cluster.kannel_info does with the
    served sets expected (RV(health), RV(sets)).
  - Every step is skipped when it is already in the wanted state; a second run changes nothing.
  - A bearerbox that does not answer changes nothing but the record and O(active_dir), which gets
    exactly the files bearerbox must start with (the served sets' links, the own links' stand-ins
    while the own set is not served; nothing else), so the caller can start bearerbox and run the
    module again (RV(bearerbox_running) is false).
  - Except when the node must stop serving a set (a set with links is not in O(serve)) and
    bearerbox does not answer while its unit still has a process (hung, that is stopped by a
    signal, blocked or deadlocked; it keeps its provider sessions open, whatever its link files
    say). Then every process of O(bearerbox_service) is killed (SIGKILL through systemd, which also
    reaches a stopped process; the kernel closes its sockets) and the module waits until they are
    gone (RV(gateway_stopped)). When that cannot be confirmed within O(wait_timeout) the task
    fails. A connection refused by a unit that has a process (bearerbox starting) is first given
    a few seconds to answer. The smsboxes of the sets it stops serving are killed with it (one
    whose bearerbox vanished ignores SIGTERM). A killed bearerbox is started again at once
    through its start-up guard, which loads only what the recorded serving state lists, and the
    module goes on as with any running bearerbox (RV(bearerbox_running) is false only when it
    did not answer again within O(wait_timeout); systemd still restarts it,
    C(Restart=on-failure)).
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
extends_documentation_fragment:
  - smsgw.cluster.kannel_admin
options:
  serve:
    description: Names of the sets this node serves afterwards (may be empty).
    type: list
    elements: str
    required: true
  sets:
    description:
      - Every set of the cluster, as for smsgw.cluster.kannel_info O(smsgw.cluster.kannel_info#module:sets),
        each with its C(links) and C(smsbox).
    type: dict
    required: true
  own_set:
    description:
      - The node's own set (its home set). When it is not served, its links are held (stand-ins
        loaded first) instead of removed.
    type: str
    required: true
  record:
    description: Write O(serving_file) first when it does not list exactly O(serve).
    type: bool
    default: true
  changed_by:
    description: Who changes the serving state, recorded in O(serving_file).
    type: str
    default: ansible
  serving_file:
    description: The node's recorded serving state.
    type: path
    default: /var/lib/kannel-cluster/serving.json
  smsbox_service:
    description: The smsbox unit of a set; C(%s) is replaced by the set name.
    type: str
    default: kannel-smsbox@%s
  active_dir:
    description: Directory bearerbox includes (copies of the loaded links' files).
    type: path
    default: /etc/kannel/smsc-active
  available_dir:
    description: Directory of every link's file and of the own links' stand-ins.
    type: path
    default: /etc/kannel/smsc-available
  bearerbox_service:
    description:
      - The bearerbox unit, killed when it does not answer and the node must stop serving a set.
    type: str
    default: kannel-bearerbox.service
  wait_timeout:
    description: Seconds each step waits for links and smsboxes to reach their state.
    type: float
    default: 30
  drain_timeout:
    description:
      - Seconds to wait for the queues of removed links to empty first (0 = do not wait). When
        they do not empty in time the task fails with the served sets unchanged on this node
        except their smsboxes, which are already stopped; the caller gives the clients back.
    type: float
    default: 0
attributes:
  check_mode:
    support: full
    description: Reports every step that would run; changes nothing (a bearerbox that would be
      killed is not, RV(gateway_stopped) says C(would_kill)).
  diff_mode:
    support: full
    description: The recorded sets before and after.
seealso:
  - module: smsgw.cluster.kannel_link
  - module: smsgw.cluster.kannel_smsbox
  - module: smsgw.cluster.kannel_info
"""

EXAMPLES = r"""
- name: The survivor serves both sets (takeover of node-a)
  smsgw.cluster.kannel_serve:
    serve: [node-a, node-b]
    own_set: node-b
    sets:
      node-a: {links: [A1, A2], smsbox: node-a}
      node-b: {links: [B1, B2], smsbox: node-b}
    changed_by: takeover of node-a
    admin_password: "{{ kannel_admin_password }}"
  register: served

- name: Fail unless every set is active
  ansible.builtin.assert:
    that: served.sets.values() | map(attribute='state') | unique | list == ['active']
"""

RETURN = r"""
recorded:
  description: True when O(serving_file) was written.
  returned: always
  type: bool
serving:
  description: C(before) (the sets recorded before, null when there was no record) and C(after).
  returned: always
  type: dict
  sample: {"before": ["node-b"], "after": ["node-a", "node-b"]}
bearerbox_running:
  description: False when bearerbox did not answer; then only the record and O(active_dir) were
    written.
  returned: always
  type: bool
gateway_stopped:
  description:
    - Set when bearerbox did not answer and the node must stop serving a set (else null).
    - C(unit), C(signal) (C(SIGKILL)), C(pids) (the unit's processes found), C(killed) (false
      when the unit had no process, so nothing to kill), C(confirmed) (the processes are gone),
      C(seconds) (from the kill to the confirmation), C(restarted) (started again and answering);
      C(would_kill) in check mode.
  returned: always
  type: dict
  sample: {"unit": "kannel-bearerbox.service", "signal": "SIGKILL", "pids": [812], "killed": true,
           "confirmed": true, "seconds": 0.11, "active_state": "activating", "restarted": true}
steps:
  description: What ran, in order, each with C(step) (C(smsbox-stop), C(hold), C(passive),
    C(active), C(smsbox-start), C(sweep); C(arrange) when bearerbox did not answer), C(target)
    (links, set or directory), C(actions) (the admin commands, unit operations and files), and
    for the steps of links and smsboxes C(started) (seconds from the module's start, as
    RV(elapsed)) and C(seconds) (how long the step took).
  returned: always
  type: list
  elements: dict
not_online:
  description: Links of served sets that are loaded but not online yet (the provider refuses or is
    unreachable; bearerbox keeps retrying), with their state.
  returned: always
  type: dict
health:
  description: The confirmation read after the change, as smsgw.cluster.kannel_info's C(health).
  returned: when bearerbox answered
  type: str
reasons:
  description: Why RV(health) is not C(healthy).
  returned: when bearerbox answered
  type: list
  elements: str
sets:
  description: Per set, as smsgw.cluster.kannel_info's C(sets), from the confirmation read.
  returned: when bearerbox answered
  type: dict
queues:
  description: Queue figures from the confirmation read, as smsgw.cluster.kannel_info's C(queues).
  returned: when bearerbox answered
  type: dict
links:
  description: The links loaded, from the confirmation read, as smsgw.cluster.kannel_info's C(links).
  returned: when bearerbox answered
  type: list
boxes:
  description: The boxes connected, from the confirmation read, as smsgw.cluster.kannel_info's C(boxes).
  returned: when bearerbox answered
  type: list
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdminDenied,
    KannelUnreachable,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin_ansible import (
    kannel_admin,
    kannel_admin_argument_spec,
    run_and_exit,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_gateway import GatewayNotStopped
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_health import (
    normalize_sets,
    report,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkManager
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_serving import (
    Server,
    arrange_for_start,
    held_or_loaded_reader,
    stop_unanswering_gateway,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.serving_record import read_serving, write_record
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_smsbox import SmsboxManager


ARGUMENT_SPEC = kannel_admin_argument_spec(
    serve=dict(type="list", elements="str", required=True),
    sets=dict(type="dict", required=True),
    own_set=dict(type="str", required=True),
    record=dict(type="bool", default=True),
    changed_by=dict(type="str", default="ansible"),
    serving_file=dict(type="path", default="/var/lib/kannel-cluster/serving.json"),
    smsbox_service=dict(type="str", default="kannel-smsbox@%s"),
    active_dir=dict(type="path", default="/etc/kannel/smsc-active"),
    available_dir=dict(type="path", default="/etc/kannel/smsc-available"),
    bearerbox_service=dict(type="str", default="kannel-bearerbox.service"),
    wait_timeout=dict(type="float", default=30),
    drain_timeout=dict(type="float", default=0),
)


def checked_sets(module):
    """The sets and the ones to serve, or the module fails naming what is wrong."""
    p = module.params
    sets, errors = normalize_sets(p["sets"])
    unknown = sorted(set(p["serve"] + [p["own_set"]]) - set(sets))
    if unknown:
        errors.append("serve/own_set name set(s) not in sets: %s (sets: %s)"
                      % (", ".join(unknown), ", ".join(sorted(sets)) or "none"))
    if errors:
        module.fail_json(msg="invalid arguments: %s" % "; ".join(errors))
    return sets, sorted(set(p["serve"]))


def record_serving(module, serve):
    """Write the serving record first (the guards follow it); returns (recorded, result)."""
    p = module.params
    before = read_serving(p["serving_file"])
    if before["error"]:
        module.warn("the recorded serving state was not readable and is replaced: %s" % before["error"])
    recorded = bool(p["record"] and (before["sets"] is None or sorted(before["sets"]) != serve))
    if recorded and not module.check_mode:
        write_record(p["serving_file"], serve, p["changed_by"])
    return recorded, dict(recorded=recorded, serving={"before": before["sets"], "after": serve},
                          diff={"before": {"sets": before["sets"]}, "after": {"sets": serve}})


def stop_if_unanswering(module, admin, systemctl, sets, serve, recorded, result, started):
    """When bearerbox does not answer, stop the gateway if this node must give up a set, and
    exit; when the kill brought it back, warn and return so that serving goes on."""
    p = module.params
    result["gateway_stopped"] = unreachable = None
    try:
        admin.status()
    except KannelUnreachable as e:
        unreachable = e
    except KannelAdminDenied as e:
        module.fail_json(msg=str(e), changed=recorded, **result)
    if unreachable is None:
        return
    must_stop = [name for name in sorted(sets) if name not in serve and sets[name]["links"]]
    try:
        unreachable, result["gateway_stopped"] = stop_unanswering_gateway(
            admin, unreachable, must_stop, module.run_command, p["bearerbox_service"],
            p["wait_timeout"], check_mode=module.check_mode, systemctl=systemctl,
            smsbox_units=[p["smsbox_service"].replace("%s", name) for name in sorted(sets)
                          if name not in serve and sets[name]["smsbox"]])
    except GatewayNotStopped as e:
        module.fail_json(
            msg="bearerbox does not answer (%s) and this node must stop serving %s, but its "
                "gateway could not be stopped: %s. Make sure the node is off (power, console) "
                "or its bearerbox is gone before anything else serves %s."
                % (unreachable, ", ".join(must_stop), e, ", ".join(must_stop)),
            changed=recorded, gateway_stopped=e.result,
            **dict((k, v) for k, v in result.items() if k != "gateway_stopped"))
    stopped = result["gateway_stopped"] or {}
    if unreachable is None:
        if stopped.get("killed"):
            module.warn("bearerbox did not answer: killed its unit %s (%s, processes %s), gone after "
                        "%.2f s, and started it again through its start-up guard"
                        % (stopped["unit"], stopped["signal"],
                           ", ".join(str(pid) for pid in stopped["pids"]), stopped["seconds"]))
        return
    if stopped.get("killed"):
        module.warn("bearerbox does not answer (%s): killed its unit %s (%s, processes %s), "
                    "gone after %.2f s; it did not answer again after a start; serving state "
                    "recorded"
                    % (unreachable, stopped["unit"], stopped["signal"],
                       ", ".join(str(pid) for pid in stopped["pids"]), stopped["seconds"]))
    elif stopped.get("would_kill"):
        module.warn("bearerbox does not answer (%s): a real run would kill its unit %s (%s)"
                    % (unreachable, stopped["unit"], stopped["signal"]))
    else:
        module.warn("bearerbox does not answer (%s): only the serving state was recorded"
                    % unreachable)
    try:
        copied, removed, missing = arrange_for_start(sets, serve, p["own_set"], p["active_dir"],
                                                     p["available_dir"], check_mode=module.check_mode)
    except OSError as e:
        module.fail_json(msg="bearerbox is not running and its link directory %s cannot be made "
                             "ready for its start: %s" % (p["active_dir"], e),
                         changed=recorded, bearerbox_running=False, **result)
    if missing:
        module.warn("no stand-in file for %s in %s (deploy the node): the messages queued for "
                    "their links may be discarded at bearerbox's start" % (", ".join(missing), p["available_dir"]))
    steps = [{"step": "arrange", "target": p["active_dir"],
              "actions": [{"link": ident, "action": "copy-config"} for ident in copied]
              + [{"link": name, "action": "delete-config"} for name in removed]}] \
        if copied or removed else []
    module.exit_json(changed=bool(recorded or stopped.get("killed") or stopped.get("would_kill")
                                  or steps),
                     bearerbox_running=False, steps=steps, not_online={},
                     elapsed=round(time.monotonic() - started, 3), **result)


def serve_sets(module, admin, systemctl, sets, serve, recorded, result, started):
    """Bring links and smsboxes to what serve asks for, confirm it from the status page, exit."""
    p = module.params

    def links_factory(links, state):
        return LinkManager(admin, links, state, p["active_dir"], p["available_dir"],
                           wait_timeout=p["wait_timeout"],
                           drain_timeout=p["drain_timeout"] if state == "passive" else 0,
                           require_online=False, check_mode=module.check_mode)

    def smsbox_factory(name, state):
        return SmsboxManager(module.run_command, systemctl, admin, sets[name]["smsbox"],
                             p["smsbox_service"].replace("%s", name), state,
                             wait_timeout=p["wait_timeout"], check_mode=module.check_mode)

    server = Server(sets, serve, p["own_set"], links_factory, smsbox_factory,
                    active_dir=None if module.check_mode else p["active_dir"],
                    held_or_loaded=held_or_loaded_reader(admin), started=started)

    def done_so_far():
        return dict(result, changed=server.changed or recorded, steps=server.steps)

    def serve_and_confirm():
        server.run()
        confirmation = report(admin, sets, serve)
        return dict(done_so_far(), bearerbox_running=True, not_online=server.not_online,
                    health=confirmation["health"], reasons=confirmation["reasons"],
                    sets=confirmation["sets"], queues=confirmation["queues"],
                    links=confirmation["links"], boxes=confirmation["boxes"])

    run_and_exit(module, server, started, run=serve_and_confirm, fields=done_so_far)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    started = time.monotonic()
    sets, serve = checked_sets(module)
    recorded, result = record_serving(module, serve)
    admin = kannel_admin(module)
    systemctl = module.get_bin_path("systemctl", required=True)
    stop_if_unanswering(module, admin, systemctl, sets, serve, recorded, result, started)
    serve_sets(module, admin, systemctl, sets, serve, recorded, result, started)


if __name__ == "__main__":
    main()
