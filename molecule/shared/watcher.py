"""Tools of the watch scenario and benchmarks/watch.py: the automatic-takeover watcher run as an
operator runs it (the launcher written by watcher.yml, in its own process group, its output in a
file), its one-line decisions, and when the provider saw a failed node's links bound again."""
import json
import os
import re
import signal
import subprocess
import time

import pytest


class Watcher:
    """The watcher process (the launcher in its own process group, output to a log file)."""

    def __init__(self, cluster, launcher, log_dir, state_dir=None):
        """state_dir: the watcher's kannel_watch_state_dir (default: log_dir/state, as the lab's
        inventories set it)."""
        self.cluster, self.launcher, self.log_dir = cluster, launcher, log_dir
        self.state_file = os.path.join(state_dir or os.path.join(log_dir, "state"),
                                       cluster.name + ".json")
        self.proc = None
        self.log_path = None
        self.runs = 0

    def start(self, *args):
        self.runs += 1
        self.log_path = os.path.join(self.log_dir, "run-%d.log" % self.runs)
        with open(self.log_path, "w") as out:
            self.proc = subprocess.Popen([self.launcher, self.cluster.name] + list(args),
                                         cwd=self.log_dir, env=self.cluster.env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_watching(self, timeout=60):
        """Wait for the first decision about each node (ok on a healthy cluster)."""
        for node in self.cluster.nodes:
            self.wait_decision(node, "ok", timeout)

    def state(self):
        """The cluster's state file (armed/paused/disarmed, attempts, the last takeover)."""
        with open(self.state_file, encoding="utf-8") as fh:
            return json.load(fh)

    def action(self, action, *extra):
        """watch.yml as an operator runs it (arm, pause, resume, show)."""
        return self.cluster.playbook_ok("watch.yml", "-e", "cluster=%s" % self.cluster.name,
                                        "-e", "action=%s" % action, *extra)

    def output(self, since=0):
        """The run's output from character `since` on (a length of it read before a fault: the
        watcher and its takeover runs share one output for a whole run)."""
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()[since:]

    def decisions(self, node=None, decision=None):
        """The watcher's one-line decisions in this run, optionally of one node / kind."""
        pattern = r"^\S+ %s %s: %s \|.*$" % (re.escape(self.cluster.name),
                                           re.escape(node) if node else r"\S+", decision or r"\S+")
        return re.findall(pattern, self.output(), re.M)

    def wait_for(self, what, check, timeout):
        deadline = time.time() + timeout
        while True:
            found = check()
            if found:
                return found
            if self.proc.poll() is not None:
                pytest.fail("the watcher ended (rc %s) while waiting for %s:\n%s"
                            % (self.proc.returncode, what, self.output()[-6000:]))
            if time.time() > deadline:
                pytest.fail("timed out after %s s waiting for %s; watcher output:\n%s"
                            % (timeout, what, self.output()[-6000:]))
            time.sleep(0.5)

    def wait_decision(self, node, decision, timeout, text="", after=0):
        """Wait for a decision line of node (containing text); `after`: how many such lines there
        were already (count them before the fault). Returns the new lines."""
        return self.wait_for("decision %s of %s %s" % (decision, node, text),
                             lambda: [d for d in self.decisions(node, decision) if text in d][after:],
                             timeout)

    def count(self, node, decision, text=""):
        return len([d for d in self.decisions(node, decision) if text in d])

    def wait_output(self, text, timeout, since=0):
        return self.wait_for(repr(text), lambda: text in self.output(since), timeout)

    def stop(self, sig=signal.SIGTERM):
        """Stop the whole process group (as systemd stops the service), takeover runs included."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def bound_on(cluster, account, peer_address, since):
    """When account was last bound from peer_address since `since` (simulator clock), or None."""
    times = [e["t"] for e in cluster.sim("/events")
             if e["event"] == "bind" and e["account"] == account and e["t"] >= since
             and e["peer"].startswith(peer_address + ":")]
    return max(times) if times else None


def wait_set_bound_on_survivor(cluster, failed, survivor, since, timeout=180):
    """Every link of the failed node's set bound from the survivor after `since`: returns when
    the last one bound (simulator clock)."""
    accounts = [link["username"] for link in cluster.vars["kannel_links"] if link["home"] == failed]
    found = {}

    def all_bound():
        found.update({a: bound_on(cluster, a, cluster.address[survivor], since) for a in accounts})
        return all(found.values())
    cluster.wait_until("%s bound on %s" % (accounts, survivor), all_bound, timeout)
    return max(found.values())
