# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's guard (roles/kannel_node/files/kannel_cluster_guard.py) on its own node: its log,
serving.json as the guard reads and changes it, the link files and stand-ins in the directory
bearerbox includes, and the service addresses it releases. Standard library only: the node runs
it without Ansible (the role installs it with the rest of the guard's library)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

from ansible_collections.smsgw.cluster.plugins.module_utils import atomic_file, serving_record, smsc_active
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_scrub import scrub
from ansible_collections.smsgw.cluster.plugins.module_utils.service_address import (
    AddressError,
    read_addresses,
    split_cidr,
)

# The passwords the log must never show (set from the configuration by guard_cli.main()).
SECRETS = []


def log(msg):
    # Goes to the journal of the unit that runs the guard. Exception texts may echo a URL, and the
    # admin interface takes its passwords only in the query: scrubbed, plain and URL-encoded.
    sys.stdout.write("kannel-cluster-guard: %s\n" % scrub(msg, *SECRETS))
    sys.stdout.flush()


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json_atomic(path, data):
    atomic_file.write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o644)


def remove(path):
    """True if this call removed it (the other guard may have been first)."""
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False


def read_serving(cfg):
    """serving.json as {"sets": [...]}, or None when absent (serving_record.read_serving). One that
    cannot be read counts as serving nothing (the file is left as it is for an operator to see):
    nothing connects until it is fixed."""
    state = serving_record.read_serving(cfg["serving_file"])
    if not state["recorded"]:
        return None
    if state["error"]:
        log("%s: serving nothing until it is fixed (deploy.yml, or takeover/failback, rewrites it)"
            % state["error"])
        return {"sets": []}
    return {"sets": state["sets"]}


def record_give_up(cfg, serving, sets, reason, by):
    """serving.json without `sets` (serving_record.write_record); `serving` follows it."""
    serving["sets"] = [s for s in serving.get("sets", []) if s not in sets]
    serving_record.write_record(cfg["serving_file"], serving["sets"], "%s: %s" % (by, reason))
    log("gave up set(s) %s: %s" % (", ".join(sorted(sets)), reason))


def copy_into_active(cfg, name):
    """smsc-available/<name>.conf into smsc-active/ (same mode and owner); True if it was copied."""
    src = os.path.join(cfg["available_dir"], "%s.conf" % name)
    dst = os.path.join(cfg["active_dir"], "%s.conf" % name)
    if not os.path.exists(src):
        log("no stand-in file %s (deploy the node): messages queued for its link may be "
            "discarded" % src)
        return False
    if os.path.exists(dst):
        return False
    # the temporary file outside the directory bearerbox includes: a guard killed mid-copy must
    # not leave a second copy of a group there for the next start to load
    atomic_file.copy_atomically(src, dst, tmp_dir=smsc_active.temp_dir(cfg["active_dir"]))
    return True


def run_command(argv):
    """argv -> (rc, stdout, stderr), as AnsibleModule.run_command (service_address.read_addresses)."""
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=10, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def release_service_addresses(config, serving_sets):
    """Remove from this host the service address of every set not in serving_sets, from whatever
    interface holds it: a node that was frozen or cut off while its set moved to the peer may still
    hold it, and two holders split the set's clients. Binds nothing. config["service_addresses"]:
    {set: {"address": "A.B.C.D/P", "interface": name or null}} (sets without one are absent).
    Returns the released "address/prefix dev interface" strings."""
    unserved = {split_cidr(spec["address"])[0]: name
                for name, spec in sorted(config.get("service_addresses", {}).items())
                if name not in serving_sets}
    if not unserved:
        return []
    try:
        held = [e for e in read_addresses(run_command, "ip") if e["address"] in unserved]
    except AddressError as e:
        log("cannot read this node's addresses (%s): service addresses of set(s) %s not checked"
            % (e, ", ".join(sorted(set(unserved.values())))))
        return []
    released = []
    for entry in held:
        cidr = "%s/%s" % (entry["address"], entry["prefix"])
        where = "%s dev %s" % (cidr, entry["interface"])
        rc, _out, err = run_command(["ip", "addr", "del", cidr, "dev", entry["interface"]])
        if rc == 0:
            released.append(where)
            log("released service address %s of set %s: this node does not serve it"
                % (where, unserved[entry["address"]]))
        else:
            log("could not release service address %s of set %s: %s"
                % (where, unserved[entry["address"]], err.strip()))
    return released


# what peer_record says when the runtime guard's record cannot be read
PEER_NOT_KNOWN = {"peer_reachable": None, "fresh": False, "silent_seconds": None}


def peer_record(cfg, now=None):
    """How long this node has not reached its peer, measured on this node's clock; fresh=false
    when the runtime guard is not updating its state (the survivor's view of a failed node, for
    takeover.yml: smsgw.cluster.kannel_info's guard_config, or `kannel-cluster-guard peer-silence`)."""
    try:
        state = load_json(cfg["state_file"])
        now = time.time() if now is None else now
        fresh = now - float(state["updated_at"]) <= 3 * float(cfg["interval"]) + 2
        return {"peer_reachable": bool(state["peer_reachable"]), "fresh": fresh,
                "silent_seconds": round(max(0.0, now - float(state["peer_seen_at"])), 1)}
    except (OSError, ValueError, KeyError, TypeError):
        return dict(PEER_NOT_KNOWN)
