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
    converges when it is run again); stops the smsbox of every set not served; loads the
    stand-ins of the node's own links before removing them when its own set is not served
    (their queued messages stay, see smsgw.cluster.kannel_link C(state=held)); removes the links
    of the other sets not served (after their queues drained, O(drain_timeout)); loads the links
    of the served sets (one graceful restart); starts their smsboxes; removes from O(active_dir)
    every file that is not a served link's file or a stand-in the own set needs (bearerbox loads
    any file there at its next start, e.g. the temporary file of an interrupted write); then
    reads the status page once more and judges it as smsgw.cluster.kannel_info does with the
    served sets expected (RV(health), RV(sets)).
  - Every step is skipped when it is already in the wanted state; a second run changes nothing.
  - A bearerbox that does not answer changes nothing but the record (RV(bearerbox_running) is
    false), so the caller can start bearerbox with exactly the wanted link files and run the
    module again.
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
  description: False when bearerbox did not answer; then only the record was written.
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
    C(active), C(smsbox-start)), C(target) (links or set) and C(actions) (the admin commands and
    unit operations).
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
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import write_atomically
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminDenied,
    KannelAdminError,
    KannelUnreachable,
    kannel_admin_argument_spec,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_gateway import (
    GatewayNotStopped,
    stop_gateway,
    unit_pids,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_health import (
    normalize_sets,
    read_serving,
    report,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkError, LinkManager
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_smsbox import (
    SmsboxError,
    SmsboxManager,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import held_id
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import (
    present,
    sweep,
    wanted_ids,
)


# A bearerbox started just now (a deploy's restart) listens within ~0.2 s.
STARTING_GRACE = 5.0


def stop_unanswering_gateway(admin, error, must_stop, run, unit, timeout, check_mode=False,
                             systemctl="systemctl", sleep=None, clock=None, smsbox_units=()):
    """(error, gateway_stopped) for a bearerbox whose status read failed with `error`.

    What a bearerbox that does not answer has loaded cannot be read: when this node must stop
    serving sets with links (`must_stop`), only a gateway that is gone surely does not serve them,
    so its unit's processes are killed (kannel_gateway.stop_gateway). A refusal while the unit has
    a process is a bearerbox starting: it gets STARTING_GRACE s to answer first; then error is
    None (go on as usual). Silence (hung) gets no grace. A killed bearerbox is started again
    (through its start-up guard) and, once it answers, error is None too. Raises GatewayNotStopped.
    """
    if not must_stop:
        return error, None
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    if error.refused and unit_pids(run, unit, systemctl)[0]:
        deadline = clock() + STARTING_GRACE
        while error.refused and clock() < deadline:
            sleep(0.2)
            try:
                admin.status()
                return None, None
            except KannelUnreachable as e:
                error = e
    stopped = stop_gateway(unit, run, timeout=timeout, check_mode=check_mode, systemctl=systemctl,
                           sleep=sleep, clock=clock)
    if not stopped["killed"]:
        return error, stopped
    # An smsbox whose bearerbox vanished re-executes itself and then ignores SIGTERM for its
    # unit's whole TimeoutStopSec (30 s, measured), and bearerbox's start waits for it (PartOf=).
    # The smsboxes of the sets this node gives up go the same way; the clients' messages are in
    # bearerbox's store already.
    for smsbox in smsbox_units:
        try:
            stop_gateway(smsbox, run, timeout=timeout, systemctl=systemctl, sleep=sleep, clock=clock)
        except GatewayNotStopped:
            pass  # the release stops it through systemd like any other smsbox
    # Started again at once rather than after RestartSec: the record is written, so the start-up
    # guard loads only what it lists (stand-ins of the own links), and the release goes on here as
    # for any running bearerbox. One that does not come back is left to the caller.
    rc = run([systemctl, "restart", unit])[0]  # start would wait out RestartSec
    deadline = clock() + timeout
    while rc == 0 and clock() < deadline:
        try:
            admin.status()
            stopped["restarted"] = True
            return None, stopped
        except KannelUnreachable as e:
            error = e
        sleep(0.2)
    stopped["restarted"] = False
    return error, stopped


def write_record(path, sets, changed_by):
    """serving.json, written atomically (a reader never sees half a file)."""
    doc = {"sets": sets, "changed_by": changed_by,
           "changed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_atomically(path, json.dumps(doc, indent=4, sort_keys=True) + "\n", mode=0o644)


class Server(object):
    """The order of operations; managers are made by the factories so unit tests can fake them."""

    def __init__(self, sets, serve, own_set, links_factory, smsbox_factory, active_dir=None):
        self.sets, self.serve, self.own = sets, list(serve), own_set
        self.links_factory, self.smsbox_factory = links_factory, smsbox_factory
        self.active_dir = active_dir  # None: no sweep (check mode)
        self.steps, self.warnings, self.changed, self.not_online = [], [], False, {}

    def step(self, name, target, manager):
        """Run a link or smsbox manager; keep what it did when it did anything."""
        try:
            result = manager.run()
        finally:
            self.warnings.extend(manager.warnings)
            if manager.actions:
                self.steps.append({"step": name, "target": target, "actions": list(manager.actions)})
            self.changed = self.changed or manager.changed
        return result

    def links_of(self, names):
        return [link for name in names for link in self.sets[name]["links"]]

    def run(self):
        unserved = [name for name in sorted(self.sets) if name not in self.serve]
        for name in unserved:
            if self.sets[name]["smsbox"]:
                self.step("smsbox-stop", name, self.smsbox_factory(name, "passive"))
        if self.own in unserved and self.sets[self.own]["links"]:
            self.step("hold", self.sets[self.own]["links"],
                      self.links_factory(self.sets[self.own]["links"], "held"))
        passive = self.links_of(name for name in unserved if name != self.own)
        if passive:
            self.step("passive", passive, self.links_factory(passive, "passive"))
        active = self.links_of(self.serve)
        if active:
            result = self.step("active", active, self.links_factory(active, "active"))
            self.not_online = result.get("not_online", {})
        for name in self.serve:
            if self.sets[name]["smsbox"]:
                self.step("smsbox-start", name, self.smsbox_factory(name, "active"))
        self.sweep()

    def sweep(self):
        """Out of active_dir with every file not wanted there now (module_utils/smsc_active.py)."""
        if self.active_dir is None:
            return
        own_links = self.sets[self.own]["links"]
        keep = wanted_ids(self.sets, self.serve, self.own,
                          dict((link, held_id(link)) for link in own_links),
                          present=present(self.active_dir))
        swept = sweep(self.active_dir, keep)
        if swept:
            self.changed = True
            self.steps.append({"step": "sweep", "target": self.active_dir,
                               "actions": [{"link": name, "action": "delete-config"}
                                           for name in swept]})
            self.warnings.append("removed from %s what is no served link's file: %s"
                                 % (self.active_dir, ", ".join(swept)))


def main():
    module = AnsibleModule(
        argument_spec=kannel_admin_argument_spec(
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
        ),
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    sets, errors = normalize_sets(p["sets"])
    unknown = sorted(set(p["serve"] + [p["own_set"]]) - set(sets))
    if unknown:
        errors.append("serve/own_set name set(s) not in sets: %s (sets: %s)"
                      % (", ".join(unknown), ", ".join(sorted(sets)) or "none"))
    if errors:
        module.fail_json(msg="invalid arguments: %s" % "; ".join(errors))
    serve = sorted(set(p["serve"]))

    before = read_serving(p["serving_file"])
    if before["error"]:
        module.warn("the recorded serving state was not readable and is replaced: %s" % before["error"])
    recorded = p["record"] and (before["sets"] is None or sorted(before["sets"]) != serve)
    if recorded and not module.check_mode:
        write_record(p["serving_file"], serve, p["changed_by"])
    result = dict(recorded=bool(recorded), serving={"before": before["sets"], "after": serve},
                  diff={"before": {"sets": before["sets"]}, "after": {"sets": serve}})

    admin = KannelAdmin(p["admin_url"], p["admin_password"], p["timeout"])
    systemctl = module.get_bin_path("systemctl", required=True)
    result["gateway_stopped"] = None
    try:
        admin.status()
        unreachable = None
    except KannelUnreachable as e:
        unreachable = e
    except KannelAdminDenied as e:
        module.fail_json(msg=str(e), changed=bool(recorded), **result)
    must_stop = [name for name in sorted(sets) if name not in serve and sets[name]["links"]]
    if unreachable is not None:
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
                changed=bool(recorded), gateway_stopped=e.result,
                **dict((k, v) for k, v in result.items() if k != "gateway_stopped"))
    if unreachable is not None:
        stopped = result["gateway_stopped"] or {}
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
        module.exit_json(changed=bool(recorded or stopped.get("killed") or stopped.get("would_kill")),
                         bearerbox_running=False, steps=[], not_online={},
                         elapsed=round(time.monotonic() - started, 3), **result)

    stopped = result["gateway_stopped"]
    if stopped and stopped["killed"]:
        module.warn("bearerbox did not answer: killed its unit %s (%s, processes %s), gone after "
                    "%.2f s, and started it again through its start-up guard"
                    % (stopped["unit"], stopped["signal"],
                       ", ".join(str(pid) for pid in stopped["pids"]), stopped["seconds"]))

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
                    active_dir=None if module.check_mode else p["active_dir"])
    try:
        server.run()
        confirmation = report(admin, sets, serve)
    except (LinkError, SmsboxError) as e:
        for w in server.warnings:
            module.warn(w)
        extra = dict((k, v) for k, v in e.extra.items() if k not in result and k != "changed")
        module.fail_json(msg=e.msg, changed=server.changed or bool(recorded), steps=server.steps,
                         elapsed=round(time.monotonic() - started, 3), **dict(result, **extra))
    except KannelAdminError as e:
        module.fail_json(msg="bearerbox admin interface: %s" % e, steps=server.steps,
                         changed=server.changed or bool(recorded), **result)
    for w in server.warnings:
        module.warn(w)
    result.update(changed=server.changed or bool(recorded), bearerbox_running=True,
                  steps=server.steps, not_online=server.not_online,
                  health=confirmation["health"], reasons=confirmation["reasons"],
                  sets=confirmation["sets"], queues=confirmation["queues"],
                  elapsed=round(time.monotonic() - started, 3))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
