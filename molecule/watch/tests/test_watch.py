"""Automatic switching on the watch scenario's two nodes (watch1, watch2), with the real watcher:
ansible-rulebook running the rulebook smsgw.cluster.auto_takeover with the event source
smsgw.cluster.kannel_health on the controller (the lab's witness host), started with the launcher
that `watcher.yml` writes, exactly as the README tells an operator.

Tests run in file order and share the watcher and the nodes. Every case asserts that no provider
account was ever bound from both nodes at once (the simulator's event log), and the timings go to
artifacts/watch-report.json. The first cases run with the package's defaults (poll every 5 s, take
over after 30 s): the blips (20 s) are shorter than that window, and the kill is measured with
them. Cases about the watcher's logic then run with a 15 s window (watcher.yml -e
kannel_watch_failure_seconds=15), to keep the scenario short.

Faults are injected in the nodes: a node killed (podman kill), frozen (podman pause), its admin
port silent (an `ip rule` that refuses the replies of port 13000: the image has iproute2, no
iptables), or silent only towards the watcher (the same rule for replies to 10.213.74.1 only: the
peer still reaches it, and the node's SMPP sessions to the provider on 10.213.74.1 are untouched).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from story import GUARD, BindWatch, Cluster
from watcher import Watcher, wait_set_bound_on_survivor

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = Cluster(SCENARIO)
W1, W2 = CLUSTER.nodes  # faults hit watch1; watch2 survives
WATCH_DIR = os.path.join(CLUSTER.repo, ".lab", "watch-molecule")  # host_vars/localhost.yml
STATE_DIR = os.path.join(WATCH_DIR, "state")
LAUNCHER = os.path.join(WATCH_DIR, "smsgw-watch")
STATE_FILE = os.path.join(STATE_DIR, CLUSTER.name + ".json")
REPORT_FILE = os.path.join(CLUSTER.repo, "artifacts", "watch-report.json")
REPORT = {}
ADMIN_PORT = 13000
WITNESS = "10.213.74.1"  # the controller on the lab network, where the watcher runs
GUARD_COMMAND = "/usr/local/lib/smsgw-cluster/kannel-cluster-guard"
SHORT_WINDOW = 15
LOCK_FILE = "/var/lib/kannel-cluster/cluster-lock.json"
BLIP_SECONDS = 20


WATCHER = Watcher(CLUSTER, LAUNCHER, WATCH_DIR)


def state():
    return WATCHER.state()


def watch_cmd(action, *extra):
    return WATCHER.action(action, *extra)


def configure(*extra):
    return CLUSTER.playbook_ok("watcher.yml", *extra)


def start_watcher():
    WATCHER.start()
    WATCHER.wait_watching()


def bring_back(node):
    if CLUSTER.container_state(node) == "paused":
        CLUSTER.podman("unpause", node)
    elif CLUSTER.container_state(node) != "running":
        CLUSTER.start(node)
    CLUSTER.wait_booted(node)
    CLUSTER.wait_bearerbox_up(node)


def return_fenced_node_home(node):
    """Bring a taken-over node back, check that its start-up guard fenced it, fail back and arm the
    watcher again: normal operation, as every case leaves it."""
    bring_back(node)
    time.sleep(3)
    CLUSTER.assert_fenced(node)
    CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % node)
    for each in CLUSTER.nodes:
        CLUSTER.wait_serving(each, [each])
    watch_cmd("arm")


@pytest.fixture(name="case")
def fixture_case(request):
    notes = {}
    watch = BindWatch(CLUSTER)
    started = time.time()
    attempts = state()["attempts"] if os.path.exists(STATE_FILE) else 0
    yield notes
    notes.update(max_concurrent_binds=watch.max_binds(), seconds=round(time.time() - started, 1),
                 takeover_attempts=(state()["attempts"] if os.path.exists(STATE_FILE) else 0) - attempts)
    REPORT[request.node.name] = notes
    os.makedirs(os.path.dirname(REPORT_FILE), exist_ok=True)
    with open(REPORT_FILE, "w", encoding="utf-8") as fh:
        json.dump(REPORT, fh, indent=2, sort_keys=True)
    watch.assert_never_bound_twice()


@pytest.fixture(scope="module", autouse=True)
def fixture_watcher():
    shutil.rmtree(WATCH_DIR, ignore_errors=True)
    configure()
    yield
    WATCHER.stop()
    for node in CLUSTER.nodes:  # a case that failed halfway must not leave a node frozen or muted
        if CLUSTER.container_state(node) == "paused":
            CLUSTER.podman("unpause", node)
        CLUSTER.podman("exec", node, "ip", "rule", "del", "pref", "10")


def no_takeover_since(attempts_before):
    assert state()["attempts"] == attempts_before, state()
    assert WATCHER.decisions(decision="takeover") == []


# --- with the defaults: poll every 5 s, take over after 30 s ------------------------------------

def test_watcher_starts_armed_and_status_shows_it(case):
    with open(os.path.join(WATCH_DIR, "clusters.json"), encoding="utf-8") as fh:
        config = json.load(fh)["clusters"][CLUSTER.name]
    assert (config["interval"], config["failure_seconds"]) == (5, 30)
    assert oct(os.stat(os.path.join(WATCH_DIR, "clusters.json")).st_mode & 0o777) == "0o600"
    assert configure().changed["localhost"] == 0  # idempotent
    t0 = time.time()
    start_watcher()
    case["start_to_first_decisions_seconds"] = round(time.time() - t0, 1)
    out = WATCHER.output()
    assert "watching %s (http://%s:%d), %s" % (W1, CLUSTER.address[W1], ADMIN_PORT, W2) in out
    assert CLUSTER.vars["kannel_status_password"] not in out
    run = CLUSTER.playbook_ok("status.yml")
    assert "%s: automatic switching armed" % CLUSTER.name in run.out, run.out
    assert "last decision of the watcher, " in run.out


def test_blip_admin_port_silent_20s_is_no_takeover(case):
    attempts = state()["attempts"]
    waits, blips = WATCHER.count(W1, "wait"), WATCHER.count(W1, "ok", "a blip")
    CLUSTER.admin_port_silent(W1, True)
    blocked = time.time()
    try:
        WATCHER.wait_decision(W1, "wait", 15, after=waits)
        time.sleep(max(0, blocked + BLIP_SECONDS - time.time()))
    finally:
        CLUSTER.admin_port_silent(W1, False)
    case["blip_seconds"] = round(time.time() - blocked, 1)
    WATCHER.wait_decision(W1, "ok", 15, "a blip is not a failure", after=blips)
    no_takeover_since(attempts)
    CLUSTER.wait_serving(W1, [W1], timeout=5)


def test_blip_node_frozen_20s_is_no_takeover(case):
    attempts = state()["attempts"]
    waits, blips = WATCHER.count(W1, "wait"), WATCHER.count(W1, "ok", "a blip")
    assert CLUSTER.podman("pause", W1).returncode == 0
    paused = time.time()
    try:
        WATCHER.wait_decision(W1, "wait", 15, "no answer", after=waits)
        time.sleep(max(0, paused + BLIP_SECONDS - time.time()))
    finally:
        assert CLUSTER.podman("unpause", W1).returncode == 0
    case["blip_seconds"] = round(time.time() - paused, 1)
    WATCHER.wait_decision(W1, "ok", 15, "a blip is not a failure", after=blips)
    no_takeover_since(attempts)
    CLUSTER.wait_serving(W1, [W1], timeout=10)


def test_only_the_watchers_path_broken_is_no_takeover(case):
    oks = WATCHER.count(W1, "ok")
    CLUSTER.admin_port_silent(W1, True, to=WITNESS)
    try:
        WATCHER.wait_decision(W1, "takeover", 60)
        WATCHER.wait_output("re-armed", 180)
    finally:
        CLUSTER.admin_port_silent(W1, False, to=WITNESS)
    out = " ".join(WATCHER.output().split())
    # the survivor's runtime guard, which reads the peer's status page every second, answered
    assert "Refused: %s still reaches %s (its runtime guard read %s's status page" % (W2, W1, W1) in out
    assert "only the watcher's path to it is broken. Nothing was changed." in out
    WATCHER.wait_decision(W1, "ok", 20, after=oks)
    CLUSTER.wait_serving(W1, [W1], timeout=5)
    CLUSTER.wait_serving(W2, [W2], timeout=5)
    st = state()
    assert st["mode"] == "armed" and st["takeover"]["result"] == "not served", st


def test_second_observer_without_the_survivors_guard_asks_the_node_itself(case):
    """With its runtime guard stopped the survivor has no fresh record of the peer: the takeover
    the watcher runs must then ask the node's admin interface itself, and still refuse."""
    before = {n: CLUSTER.serving_file(n) for n in CLUSTER.nodes}
    CLUSTER.exec_ok(W2, "systemctl", "stop", GUARD)
    try:
        CLUSTER.wait_until("the stopped guard's record to go stale", lambda: not json.loads(
            CLUSTER.exec_ok(W2, GUARD_COMMAND, "peer-silence"))["fresh"], 20)
        run = CLUSTER.playbook("takeover.yml", "-e", "failed=%s" % W1,
                               "-e", "takeover_confirm_down_from_survivor=true")
    finally:
        CLUSTER.exec_ok(W2, "systemctl", "start", GUARD)
    out = " ".join(run.out.split())
    assert run.rc != 0, out
    assert "Refused: %s still reaches %s (" % (W2, W1) in out, out
    assert "its runtime guard read" not in out, out
    assert {n: CLUSTER.serving_file(n) for n in CLUSTER.nodes} == before
    case["refusal_seconds"] = round(run.seconds, 1)


def test_killed_node_is_taken_over_automatically(case):
    before = WATCHER.count(W1, "takeover")
    killed = time.time()
    CLUSTER.kill(W1)
    decided = WATCHER.wait_decision(W1, "takeover", 90, after=before)
    case["kill_to_takeover_decision_seconds"] = round(time.time() - killed, 1)
    last_bind = wait_set_bound_on_survivor(CLUSTER, W1, W2, killed)
    case["kill_to_failed_set_bound_on_survivor_seconds"] = round(last_bind - killed, 1)
    WATCHER.wait_output("recorded takeover attempt", 120)
    CLUSTER.wait_serving(W2, [W1, W2])
    st = state()
    assert st["mode"] == "disarmed" and st["takeover"]["result"] == "served", st
    assert "the playbook first confirms from %s" % W2 in decided[0]
    assert "Takeover of %s by %s done" % (W1, W2) in WATCHER.output()


def test_returning_node_is_not_failed_back_nor_taken_over_again(case):
    attempts = state()["attempts"]
    oks = WATCHER.count(W1, "ok")
    bring_back(W1)
    time.sleep(3)
    CLUSTER.assert_fenced(W1)  # its start-up guard: the survivor serves its set
    WATCHER.wait_decision(W1, "ok", 20, after=oks)
    time.sleep(10)  # two more polls
    assert state()["attempts"] == attempts and state()["mode"] == "disarmed"
    CLUSTER.wait_serving(W2, [W1, W2], timeout=5)
    CLUSTER.assert_fenced(W1)
    run = CLUSTER.playbook_ok("status.yml")
    assert "automatic switching disarmed after takeover" in run.out, run.out
    run = CLUSTER.playbook("watch.yml", "-e", "cluster=%s" % CLUSTER.name, "-e", "action=resume")
    assert run.rc != 0 and "Refused: %s is disarmed" % CLUSTER.name in run.out, run.out


# --- the watcher's logic, with a 15 s window ------------------------------------------------------
# From here on, to spare failbacks, the takeovers alternate: W1 is fenced and W2 serves both sets;
# W2 fails next and W1 takes everything over, and so on. One failback at the end.

def test_shorter_window_from_the_inventory(case):
    WATCHER.stop()
    configure("-e", "kannel_watch_failure_seconds=%d" % SHORT_WINDOW)
    start_watcher()
    assert "takeover after %s.0 s of failed polls" % SHORT_WINDOW in WATCHER.output()


def test_paused_holds_then_resume_takes_over(case):
    watch_cmd("arm")
    attempts = state()["attempts"]
    watch_cmd("pause", "-e", "{\"reason\": \"maintenance window\"}")
    killed = time.time()
    CLUSTER.kill(W2)
    WATCHER.wait_decision(W2, "hold", SHORT_WINDOW + 30, "paused (maintenance window)")
    time.sleep(6)
    no_takeover_since(attempts)
    resumed = time.time()
    watch_cmd("resume")
    case["pause_held_seconds"] = round(resumed - killed, 1)
    WATCHER.wait_decision(W2, "takeover", 30)  # W2's first in this watcher run
    case["resume_to_takeover_decision_seconds"] = round(time.time() - resumed, 1)
    wait_set_bound_on_survivor(CLUSTER, W2, W1, resumed)
    WATCHER.wait_output("recorded takeover attempt %d as served" % (attempts + 1), 120)
    CLUSTER.wait_serving(W1, [W1, W2])


def test_watcher_restarted_during_a_takeover_starts_no_second_one(case):
    bring_back(W2)
    time.sleep(3)
    CLUSTER.assert_fenced(W2)
    watch_cmd("arm")
    attempts = state()["attempts"]
    banner = "PLAY [Takeover | check the inventory"
    runs = WATCHER.output().count(banner)
    CLUSTER.kill(W1)
    WATCHER.wait_decision(W1, "takeover", SHORT_WINDOW + 30)  # W1's first in this watcher run
    WATCHER.wait_for("the takeover playbook to start",
                     lambda: WATCHER.output().count(banner) > runs, 60)
    case["first_run_output"] = WATCHER.log_path
    WATCHER.stop(signal.SIGKILL)  # the watcher dies with its takeover run, as a service restart does
    WATCHER.start()
    WATCHER.wait_decision(W1, "hold", SHORT_WINDOW + 30, "has not ended")
    time.sleep(6)
    st = state()
    assert st["attempts"] == attempts + 1 and WATCHER.decisions(decision="takeover") == [], st
    # the operator finishes it by hand (takeover.yml converges); the watcher records it as served
    CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % W1)
    CLUSTER.wait_serving(W2, [W1, W2])
    WATCHER.wait_output("recorded takeover attempt %d as served" % (attempts + 1), 30)


def test_both_nodes_down_nothing_attempted(case):
    watch_cmd("arm")
    attempts = state()["attempts"]
    CLUSTER.kill(W2)  # W1 is still down from the previous case
    WATCHER.wait_for("both nodes down",
                     lambda: [d for d in WATCHER.decisions(decision="hold")
                              if "both nodes down: nothing is attempted" in d], SHORT_WINDOW + 30)
    time.sleep(6)
    no_takeover_since(attempts)
    # back to normal: W2 comes back serving what its serving.json says (both sets, its peer is
    # unreachable), W1 then fences itself at start, one failback. Paused meanwhile: while W2 is
    # starting, W1 is still down and W2 healthy - a takeover of W1 would be the right decision.
    watch_cmd("pause", "-e", "{\"reason\": \"restoring the nodes\"}")
    bring_back(W2)
    CLUSTER.wait_serving(W2, [W1, W2])
    return_fenced_node_home(W1)
    time.sleep(6)
    assert WATCHER.decisions(decision="takeover") == []


def lock_holder(node):
    """The cluster lock record on node ({} when free)."""
    proc = CLUSTER.podman("exec", node, "cat", LOCK_FILE)
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def binds_from(failed, survivor, since):
    """When each account of failed's set was bound from survivor since `since` (simulator clock):
    {account: [times]}, only accounts bound at all."""
    binds = {}
    for e in CLUSTER.sim("/events"):
        if e["event"] == "bind" and e["t"] >= since and e["account"] in CLUSTER.accounts_of(failed) \
                and e["peer"].startswith(CLUSTER.address[survivor] + ":"):
            binds.setdefault(e["account"], []).append(e["t"])
    return binds


def test_watcher_and_operator_at_once_the_watcher_is_refused_by_the_lock(case):
    """An operator takes over the dead node by hand while the watcher watches it: the operator's
    run holds the cluster lock (its fence command, a power-off that takes its time, runs until the
    test lets it end), so the watcher's takeover is refused naming that run and changes nothing;
    the watcher stays armed. Then the operator's takeover finishes: exactly one takeover takes
    effect, every account of the set bound once, never twice.
    The watcher is paused from before the kill until the operator's run holds the lock: it keeps
    counting the node's failed polls meanwhile and decides at its first poll after resume, so its
    attempt comes after the operator's lock however slowly ansible-playbook starts on a busy
    machine (the race itself is the lock's: tests/unit/plugins/module_utils/test_cluster_lock.py)."""
    attempts, tried = state()["attempts"], WATCHER.count(W1, "takeover")
    watch_cmd("pause", "-e", "{\"reason\": \"the operator takes over by hand\"}")
    refused_before = len([d for d in WATCHER.decisions(W1) if " was refused: " in d])
    holds = WATCHER.count(W1, "hold", "already serves")
    serving_before = CLUSTER.serving_file(W2)
    fence_done = os.path.join(WATCH_DIR, "operator-fence-done")
    if os.path.exists(fence_done):
        os.unlink(fence_done)
    killed = time.time()
    CLUSTER.kill(W1)
    operator_log = os.path.join(WATCH_DIR, "operator-takeover.log")
    extra = {"kannel_fence_command": "sh -c 'until [ -e %s ]; do sleep 0.2; done'" % fence_done,
             "kannel_fence_timeout": 150}
    with open(operator_log, "w") as out:
        operator = subprocess.Popen(["ansible-playbook", "-i", CLUSTER.inventory,
                                     os.path.join(CLUSTER.repo, "takeover.yml"), "-e",
                                     "failed=%s" % W1, "-e", json.dumps(extra)],
                                    cwd=CLUSTER.repo, env=CLUSTER.env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    try:
        holder = "(takeover failed=%s, pid %d)" % (W1, operator.pid)
        CLUSTER.wait_until("the operator's run to hold the cluster lock on %s" % W2, lambda: str(
            lock_holder(W2).get("pid")) == str(operator.pid), 30)
        case["kill_to_operator_lock_seconds"] = round(time.time() - killed, 1)
        assert WATCHER.count(W1, "takeover") == tried, "the paused watcher decided a takeover"
        watch_cmd("resume")
        refused = "takeover attempt %d was refused: " % (attempts + 1)
        served = "recorded takeover attempt %d as served" % (attempts + 1)
        WATCHER.wait_for("the watcher's takeover to end", lambda: WATCHER.count(W1, "wait", refused)
                         or served in WATCHER.output(), SHORT_WINDOW + 60)
        assert served not in WATCHER.output(), \
            "the watcher's takeover went ahead while the operator's run held the cluster lock:\n" + \
            WATCHER.output()[-6000:]
        refusal = [d for d in WATCHER.decisions(W1, "wait") if refused in d][0]
        case["kill_to_refusal_logged_seconds"] = round(time.time() - killed, 1)
        case["refusal_line"] = refusal
        assert "the cluster lock of %s is held by " % CLUSTER.name in refusal, refusal
        assert holder in refusal and "re-armed" in refusal, refusal
        said = "Refused: takeover failed=%s: the cluster lock of %s is held by " % (W1, CLUSTER.name)
        WATCHER.wait_for("its takeover run to say why", lambda: said in " ".join(
            WATCHER.output().split()), 30)
        assert state()["mode"] == "armed", state()  # another run changing the cluster is no failure
        assert operator.poll() is None, "the operator's run ended while it should hold the lock"
        # nothing changed on the survivor while the operator's run held the lock
        assert CLUSTER.serving_file(W2) == serving_before
        CLUSTER.wait_serving(W2, [W2], timeout=5)
        assert binds_from(W1, W2, killed) == {}
    finally:
        with open(fence_done, "w"):
            pass
        released = time.time()
        operator.wait(timeout=300)
    with open(operator_log, encoding="utf-8") as fh:
        out = fh.read()
    assert operator.returncode == 0, out
    assert "Takeover of %s by %s done" % (W1, W2) in out, out
    case["kill_to_operator_takeover_done_seconds"] = round(time.time() - killed, 1)
    CLUSTER.wait_serving(W2, [W1, W2])
    # The watcher, armed, does not start a second one: it sees the set served (or, if its next
    # window ended just before the operator's run released the lock, its re-run found the
    # takeover in effect and changed nothing).
    WATCHER.wait_for("the watcher to see %s's set served" % W1, lambda: WATCHER.count(
        W1, "hold", "already serves") > holds or "recorded takeover attempt" in
        WATCHER.output().split(refusal, 1)[-1], SHORT_WINDOW + 30)
    case["watcher_attempts"] = state()["attempts"] - attempts
    case["watcher_attempts_refused"] = len([d for d in WATCHER.decisions(W1) if " was refused: " in d]) \
        - refused_before
    # exactly one takeover took effect: each account of the set bound from the survivor once
    binds = binds_from(W1, W2, killed)
    assert sorted(binds) == sorted(CLUSTER.accounts_of(W1)), binds
    assert all(len(times) == 1 and times[0] >= released for times in binds.values()), binds
    # back to normal, as the cases above leave it
    return_fenced_node_home(W1)


# --- bad settings -------------------------------------------------------------------------------

def rulebook(config, cluster, seconds, until=None):
    """Run ansible-rulebook on its own with a config, for `seconds`, until it ends, or until
    until(output so far) is true -> (returncode or None when it was still running, output)."""
    vars_file = os.path.join(WATCH_DIR, "bad.vars.yml")
    with open(vars_file, "w") as fh:
        json.dump({"kannel_watch_config": config, "kannel_watch_cluster": cluster}, fh)
    with open(os.path.join(WATCH_DIR, "smsgw-watch")) as fh:
        exports = [line for line in fh if line.startswith("export ")]
    script = "".join(exports) + "exec ansible-rulebook -r smsgw.cluster.auto_takeover -i %s --vars %s" \
        % (CLUSTER.inventory, vars_file)
    log = os.path.join(WATCH_DIR, "bad.log")
    with open(log, "w") as out:
        proc = subprocess.Popen(["sh", "-c", script], env=CLUSTER.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + seconds
    try:
        while proc.poll() is None and time.time() < deadline:
            time.sleep(1)
            if until is not None and until(read_text(log)):
                break
    finally:
        rc = proc.poll()
        if rc is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return rc, read_text(log)


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def bad_config(**change):
    with open(os.path.join(WATCH_DIR, "clusters.json"), encoding="utf-8") as fh:
        config = json.load(fh)
    config["clusters"][CLUSTER.name].update(change)
    path = os.path.join(WATCH_DIR, "bad-clusters.json")
    with open(path, "w") as fh:
        json.dump(config, fh)
    os.chmod(path, 0o600)
    return path


def test_bad_settings_are_refused_before_anything(case):
    # the inventory check (cluster_model) refuses it first, before the watcher role's own check
    run = CLUSTER.playbook("watcher.yml", "-e", "kannel_watch_interval=0")
    assert run.rc != 0 and "kannel_watch_interval: 0 must be at least 1 (seconds)" in \
        " ".join(run.out.split()), run.out
    assert "Watcher | install" not in run.out, run.out  # refused before the witness host is touched
    rc, out = rulebook(bad_config(interval=0), CLUSTER.name, 60)
    assert rc not in (0, None) and "interval must be greater than 0, got 0" in out, out
    rc, out = rulebook(bad_config(), "no_such_cluster", 60)
    assert rc not in (0, None) and "unknown cluster 'no_such_cluster'" in out, out
    launcher = subprocess.run([LAUNCHER, "no_such_cluster"], capture_output=True, text=True, check=False)
    assert launcher.returncode == 2
    assert "no watcher configured for cluster no_such_cluster" in launcher.stderr


def test_wrong_status_password_errors_every_poll_never_takes_over(case):
    """A wrong status password is an error of every poll, said each time, never a failure of the
    nodes: the watcher runs on past its failure window and takes nothing over. It runs until each
    node has had more failed polls than the window holds (however slowly the JVM starts)."""
    WATCHER.stop()
    attempts = state()["attempts"]
    polls_past_window = SHORT_WINDOW // 5 + 2  # at 5 s a poll: the first and last 20 s apart

    def errors_by_node(out):
        errors = re.findall(r"^\S+ %s (\S+): error \|.*answered Denied.*$" % CLUSTER.name, out, re.M)
        return {node: errors.count(node) for node in set(errors)}

    def past_the_window(out):
        counts = errors_by_node(out)
        return all(counts.get(node, 0) >= polls_past_window for node in CLUSTER.nodes)

    rc, out = rulebook(bad_config(status_password="not-the-status-pw"), CLUSTER.name, 180,
                       until=past_the_window)
    assert rc is None, "the watcher should keep running and saying what is wrong:\n" + out
    assert past_the_window(out), out
    assert sorted(errors_by_node(out)) == sorted(CLUSTER.nodes)
    assert "not-the-status-pw" not in out and ": takeover |" not in out
    assert state()["attempts"] == attempts
