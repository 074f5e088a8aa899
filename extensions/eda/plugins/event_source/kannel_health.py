# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""smsgw.cluster.kannel_health: poll both nodes of a Kannel cluster and decide about takeovers."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
import types
from typing import Any

import yaml

DOCUMENTATION = r"""
---
short_description: Poll the nodes of a smsgw.cluster Kannel cluster and decide about takeovers.
description:
  - >-
    Reads every node's bearerbox C(status.xml) with the status password every O(interval) seconds,
    with the collection's Kannel client and status parser, and puts one event per node per poll on
    the queue, C({"kannel_health": {cluster, node, peer, reachable, health, active_sets, error,
    failing_for, decision, reason, attempt, polled_at}}).
  - >-
    C(decision) is C(ok), C(wait) (failing, shorter than O(failure_seconds)), C(hold) (failing long
    enough, but something forbids a takeover; C(reason) says what), C(error) (the watcher's own
    configuration is wrong, e.g. the status page answered C(Denied)) or C(takeover). A C(takeover)
    decision is recorded in the cluster's state file, and the cluster disarmed, before the event is
    put on the queue; the rulebook smsgw.cluster.auto_takeover runs the takeover on it.
  - >-
    A takeover is decided only when the node failed every poll for O(failure_seconds) (one answer
    resets it), its peer answered healthy in the same poll and does not serve the node's set yet,
    and the cluster is armed (state file, see the module smsgw.cluster.kannel_watch_state) with no
    automatic takeover recorded as running.
  - >-
    After C(Denied) (wrong status password, or the watcher's address is not in the node's
    admin-allow-ip) that node is not asked again, because bearerbox answers every further wrong
    password one second later than the last and blocks its admin interface meanwhile; an error
    event and log line follow at every poll until the watcher is restarted with a fixed setting.
  - >-
    Every decision is logged as one line (node, what was seen, what was done, why) on standard
    output and in C(<state_dir>/<cluster>.log).
options:
  config:
    description:
      - >-
        Path of the watcher configuration (JSON or YAML) written by the role smsgw.cluster.kannel_watcher
        from the inventory, C({clusters: {NAME: {nodes: {NODE: {admin_url}}, status_password, sets,
        interval, failure_seconds, state_dir}}}). The watcher reads no Ansible inventory itself.
    type: str
    required: true
  cluster:
    description: The cluster of O(config) to watch.
    type: str
    required: true
  interval:
    description: Seconds between polls (overrides the configuration; default 5).
    type: float
  failure_seconds:
    description:
      - >-
        Seconds a node must fail every poll before it is taken over (overrides the configuration;
        default 30). At least twice O(interval), so a single missed poll never counts.
    type: float
  timeout:
    description: Seconds one status request may take (default the smaller of 2 and O(interval)).
    type: float
  state_dir:
    description: Directory of the cluster's state file (overrides the configuration).
    type: str
"""

EXAMPLES = r"""
- smsgw.cluster.kannel_health:
    config: /etc/smsgw-watch/clusters.json
    cluster: lab_cluster
"""


def _load_collection_code():
    """The collection's Kannel client, status judge, watcher decisions and state, from the installed
    collection or, run stand-alone (ansible-rulebook -S, a checkout), from the tree this file is in."""
    try:
        from ansible_collections.smsgw.cluster.plugins.module_utils import (
            kannel_admin, kannel_health, kannel_watch, watch_state)
        return kannel_admin, kannel_watch, kannel_health, watch_state
    except ImportError:
        pass
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4))
    importlib.import_module("ansible_collections")  # the namespace package of ansible-core
    for name, path in (("ansible_collections.smsgw", None), ("ansible_collections.smsgw.cluster", root)):
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [path] if path else []
            sys.modules[name] = pkg
    from ansible_collections.smsgw.cluster.plugins.module_utils import (
        kannel_admin, kannel_health, kannel_watch, watch_state)
    return kannel_admin, kannel_watch, kannel_health, watch_state


kannel_admin, kannel_watch, kannel_health, watch_state = _load_collection_code()


class SettingsError(ValueError):
    """The watcher refuses to start: its settings are wrong."""


def _number(name, value, where):
    if isinstance(value, bool):
        raise SettingsError("%s: %s must be a number of seconds, got %r" % (where, name, value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError("%s: %s must be a number of seconds, got %r" % (where, name, value))
    if not number > 0:
        raise SettingsError("%s: %s must be greater than 0, got %s" % (where, name, value))
    return number


def load_settings(args):
    """Validate the arguments and the configuration file -> settings dict. Raises SettingsError
    with a message naming the setting and the valid choices."""
    where = "smsgw.cluster.kannel_health"
    unknown = sorted(set(args) - {"config", "cluster", "interval", "failure_seconds", "timeout",
                                  "state_dir"})
    if unknown:
        raise SettingsError("%s: unknown argument(s) %s; valid: config, cluster, interval, "
                            "failure_seconds, timeout, state_dir" % (where, ", ".join(unknown)))
    for name in ("config", "cluster"):
        if not args.get(name):
            raise SettingsError("%s: argument %s is required" % (where, name))
    path = args["config"]
    try:
        with open(path) as fh:
            config = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as e:
        raise SettingsError("%s: cannot read config %s: %s (write it with the role "
                            "smsgw.cluster.kannel_watcher)" % (where, path, e))
    clusters = (config or {}).get("clusters") if isinstance(config, dict) else None
    if not isinstance(clusters, dict) or not clusters:
        raise SettingsError("%s: config %s has no clusters" % (where, path))
    name = args["cluster"]
    if name not in clusters:
        raise SettingsError("%s: unknown cluster %r; config %s has: %s"
                            % (where, name, path, ", ".join(sorted(clusters))))
    cluster = clusters[name] or {}
    where = "%s cluster %s" % (where, name)
    nodes = cluster.get("nodes") or {}
    if not isinstance(nodes, dict) or len(nodes) != 2:
        raise SettingsError("%s: nodes must name exactly two nodes with their admin_url, got %r"
                            % (where, sorted(nodes) if isinstance(nodes, dict) else nodes))
    for node, spec in nodes.items():
        url = spec.get("admin_url", "") if isinstance(spec, dict) else ""
        if not str(url).startswith(("http://", "https://")):
            raise SettingsError("%s: node %s needs admin_url http(s)://ADDRESS:PORT" % (where, node))
    password = cluster.get("status_password")
    if not password or not isinstance(password, str):
        raise SettingsError("%s: status_password is missing (kannel_status_password of the "
                            "inventory)" % where)
    sets = cluster.get("sets") or {}
    if sorted(sets) != sorted(nodes):
        raise SettingsError("%s: sets must have one set per node (%s), got %s"
                            % (where, ", ".join(sorted(nodes)), ", ".join(sorted(sets)) or "none"))
    sets, errors = kannel_health.normalize_sets(sets)
    if errors:
        raise SettingsError("%s: sets: %s" % (where, "; ".join(errors)))

    def pick(key, default):
        value = args.get(key)
        return cluster.get(key, default) if value is None else value

    interval = _number("interval", pick("interval", kannel_watch.DEFAULT_INTERVAL), where)
    failure = _number("failure_seconds", pick("failure_seconds", kannel_watch.DEFAULT_FAILURE_SECONDS), where)
    if failure < 2 * interval:
        raise SettingsError("%s: failure_seconds (%s) must be at least twice interval (%s): a "
                            "single missed poll must never look like a failed node"
                            % (where, failure, interval))
    timeout = _number("timeout", args.get("timeout") or min(2.0, interval), where)
    state_dir = pick("state_dir", watch_state.DEFAULT_STATE_DIR)
    dlr_store = cluster.get("dlr_store") or None  # {storage, host, port}: probed when a page hangs
    if dlr_store is not None and (not isinstance(dlr_store, dict)
                                  or not {"storage", "host", "port"} <= set(dlr_store)):
        raise SettingsError("%s: dlr_store must be {storage, host, port}, got %r" % (where, dlr_store))
    return {"dlr_store": dlr_store, "cluster": name, "nodes": {n: nodes[n]["admin_url"] for n in sorted(nodes)},
            "password": password, "sets": sets, "interval": interval, "failure_seconds": failure,
            "timeout": timeout, "state_dir": state_dir}


class Poller(object):
    """Reads one node's status page; remembers a Denied and never asks that node again."""

    def __init__(self, node, url, password, sets, timeout, fetch=None, dlr_store=None):
        self.node = node
        self.dlr_store = dlr_store
        self.admin = kannel_admin.KannelAdmin(url, password, timeout, fetch=fetch)
        self.sets = sets
        self.denied = None

    def poll(self):
        if self.denied:
            return kannel_watch.Poll(self.node, reachable=True, denied=True, error=self.denied)
        try:
            info = kannel_health.report(self.admin, self.sets, None, dlr_store=self.dlr_store)
        except kannel_admin.KannelAdminDenied as e:
            self.denied = "%s (not asked again until the watcher restarts)" % e
            return kannel_watch.Poll(self.node, reachable=True, denied=True, error=self.denied)
        except kannel_admin.KannelAdminError as e:  # a bad reply: something else answers there
            return kannel_watch.Poll(self.node, reachable=False, health="down", error=str(e))
        if not info["reachable"]:
            return kannel_watch.Poll(self.node, reachable=False, health=info["health"],
                                     error="; ".join(info["reasons"]),
                                     store_down=info["dlr_store_down"])
        active = [name for name, rep in info["sets"].items() if rep["state"] == "active"]
        return kannel_watch.Poll(self.node, reachable=True, health=info["health"],
                                 active_sets=active,
                                 error="; ".join(info["reasons"]) or None)


def make_logger(settings):
    path = os.path.join(settings["state_dir"], settings["cluster"] + ".log")

    def log(line):
        print(line, flush=True)  # the watcher's journal
        with open(path, "a") as fh:  # the morning-after file beside the state
            fh.write(line + "\n")
    return log


async def main(queue: asyncio.Queue[Any], args: dict[str, Any], fetch=None) -> None:
    """Poll forever; `fetch(url, timeout) -> text` replaces HTTP in tests."""
    settings = load_settings(args)
    state = watch_state.StateFile(settings["state_dir"], settings["cluster"])
    try:
        if not state.exists():
            state.update(lambda st: dict(
                st, mode_reason="armed by default at the watcher's first start",
                mode_changed_at=watch_state.utc_iso(), mode_changed_by="watcher"))
        state.read()
    except watch_state.WatchStateError as e:
        raise SettingsError("smsgw.cluster.kannel_health cluster %s: state: %s"
                            % (settings["cluster"], e))
    log = make_logger(settings)
    nodes = settings["nodes"]
    watch = kannel_watch.Watch(settings["cluster"], list(nodes), settings["failure_seconds"],
                               state, log)
    pollers = {n: Poller(n, url, settings["password"], settings["sets"], settings["timeout"], fetch,
                        dlr_store=settings["dlr_store"])
               for n, url in nodes.items()}
    log("%s %s: watching %s every %s s, takeover after %s s of failed polls, state %s"
        % (watch_state.utc_iso(), settings["cluster"], ", ".join(
            "%s (%s)" % (n, pollers[n].admin.safe_url) for n in sorted(nodes)),
           settings["interval"], settings["failure_seconds"], state.path))
    while True:
        started = time.monotonic()
        now = time.time()  # a failure counts from the start of the poll that missed, not its timeout
        polls = dict(zip(pollers, await asyncio.gather(
            *(asyncio.to_thread(p.poll) for p in pollers.values()))))
        try:
            decisions = watch.round(polls, now)
        except watch_state.WatchStateError as e:
            log("%s %s: error | seen: state unusable (%s) | did: nothing | why: no decision "
                "without the cluster's state" % (watch_state.utc_iso(now), settings["cluster"], e))
            decisions = {n: ("error", "state unusable: %s" % e, None) for n in polls}
        for node in sorted(polls):
            poll, (decision, reason, attempt) = polls[node], decisions[node]
            await queue.put({"kannel_health": {
                "cluster": settings["cluster"], "node": node, "peer": watch.peer(node),
                "reachable": poll.reachable, "health": poll.health,
                "active_sets": poll.active_sets, "error": poll.error,
                "failing_for": round(watch.failing_for(node, now), 1),
                "decision": decision, "reason": reason, "attempt": attempt,
                "polled_at": watch_state.utc_iso(now)}})
        await asyncio.sleep(max(0.0, settings["interval"] - (time.monotonic() - started)))


if __name__ == "__main__":
    # python kannel_health.py CONFIG CLUSTER: print the events instead of queueing them

    class _PrintQueue(asyncio.Queue):
        async def put(self, event):
            print(json.dumps(event))

    asyncio.run(main(_PrintQueue(), {"config": sys.argv[1], "cluster": sys.argv[2]}))
