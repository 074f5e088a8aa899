"""The operator's story on the failover scenario's two nodes (east, west), in order.

Each test is one step and relies on the steps before it (pytest runs them in file order). The real
playbooks run against the scenario's inventory as a user would run them; SMS go over HTTP to the
nodes' sendsms ports; the provider simulator reports every bind, so "never connected on both nodes"
is measured: no provider account ever has more than one concurrent bind.
"""
import json
import os
import re
import time

import pytest

from story import BEARERBOX, BindWatch, Cluster

CLUSTER = Cluster(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EAST, WEST = CLUSTER.nodes  # the story fails 'east' (node of the first set) hard, 'west' planned
STATUS_FILE = os.path.join(CLUSTER.repo, "artifacts", "status-failover.json")
WATCH = BindWatch(CLUSTER, from_start=True)  # "never bound twice" holds for the whole scenario


def assert_served_through(via, set_name):
    CLUSTER.assert_delivered_once([CLUSTER.send_ok(via, set_name)])


# --- the story -------------------------------------------------------------------------------

def test_deployed_cluster_serves_each_set_at_home():
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_served_through(EAST, EAST)
    assert_served_through(WEST, WEST)
    CLUSTER.assert_refused(WEST, EAST)
    CLUSTER.assert_refused(EAST, WEST)


@pytest.mark.parametrize("args, expected", [
    ([], "takeover needs -e failed=NODE"),
    (["-e", "failed=nowhere"], 'got "nowhere"'),
])
def test_takeover_refuses_bad_input_before_touching_a_host(args, expected):
    run = CLUSTER.playbook("takeover.yml", *args)
    assert run.rc != 0
    assert expected in run.out
    assert "%s, %s" % (EAST, WEST) in run.out  # the valid choices are named
    assert sum(run.changed.values()) == 0


def test_failback_refuses_bad_input():
    run = CLUSTER.playbook("failback.yml", "-e", "node=nowhere")
    assert run.rc != 0
    assert 'failback needs -e node=NODE' in run.out and "%s, %s" % (EAST, WEST) in run.out
    assert sum(run.changed.values()) == 0


def test_takeover_check_mode_changes_nothing():
    before = CLUSTER.link_counters()
    run = CLUSTER.playbook_ok("takeover.yml", "--check", "-e", "failed=%s" % WEST)
    assert "CHECK MODE" in run.out
    CLUSTER.wait_serving(EAST, [EAST], timeout=5)
    CLUSTER.wait_serving(WEST, [WEST], timeout=5)
    assert CLUSTER.link_counters() == before


def test_planned_takeover_of_a_healthy_node():
    run = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % WEST)
    assert "Fencing of %s: done" % WEST in run.out
    CLUSTER.wait_serving(EAST, [EAST, WEST])
    CLUSTER.wait_serving(WEST, [])
    assert_served_through(EAST, WEST)
    CLUSTER.assert_refused(WEST, WEST)
    WATCH.assert_never_bound_twice()


def test_planned_failback():
    run = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % WEST)
    assert re.search(r"Gap \(set %s not accepting messages\): [0-9.]+ s" % WEST, run.out)
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_served_through(WEST, WEST)
    WATCH.assert_never_bound_twice()


def test_killed_node_is_taken_over():
    # podman kill only: CLUSTER.kill would also end east's provider sessions for it, and whether
    # they end by themselves before west binds is part of what this step measures.
    assert CLUSTER.podman("kill", EAST).returncode == 0
    run = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % EAST)
    assert "%s cannot be reached" % EAST in run.out
    CLUSTER.wait_serving(WEST, [EAST, WEST])
    assert_served_through(WEST, EAST)
    assert_served_through(WEST, WEST)
    WATCH.assert_never_bound_twice()


def test_takeover_again_changes_nothing():
    changed = CLUSTER.playbook_ok("takeover.yml", "-e", "failed=%s" % EAST).changed
    assert changed.get(WEST) == 0 and sum(changed.values()) == 0, changed


def test_survivor_restart_keeps_serving_both_sets():
    CLUSTER.exec_ok(WEST, "systemctl", "restart", BEARERBOX)
    CLUSTER.wait_serving(WEST, [EAST, WEST], timeout=60)
    assert_served_through(WEST, EAST)
    WATCH.assert_never_bound_twice()


def test_returning_node_stays_fenced():
    assert CLUSTER.podman("start", EAST).returncode == 0
    CLUSTER.wait_booted(EAST)
    CLUSTER.wait_bearerbox_up(EAST)
    time.sleep(3)  # time to bind, if it were going to
    CLUSTER.assert_fenced(EAST)
    serving = CLUSTER.serving_file(EAST)
    assert serving["sets"] == [] and "guard" in serving["changed_by"]
    CLUSTER.assert_refused(EAST, EAST)
    WATCH.assert_never_bound_twice()


def test_status_reports_the_takeover():
    run = CLUSTER.playbook_ok("status.yml", "-e", "status_file=%s" % STATUS_FILE)
    assert "taken over: %s on %s" % (EAST, WEST) in run.out
    with open(STATUS_FILE, encoding="utf-8") as fh:
        cluster = json.load(fh)["clusters"][0]
    assert cluster["normal"] is False
    assert {s["set"]: s["active_on"] for s in cluster["sets"]} == {EAST: [WEST], WEST: [WEST]}
    assert sum(run.changed.get(n, 0) for n in CLUSTER.nodes) == 0


def test_deploy_during_takeover_keeps_it():
    CLUSTER.playbook_ok("deploy.yml")
    CLUSTER.wait_serving(WEST, [EAST, WEST], timeout=10)
    CLUSTER.assert_fenced(EAST)
    assert_served_through(WEST, EAST)
    WATCH.assert_never_bound_twice()


def test_failback_check_mode_changes_nothing():
    run = CLUSTER.playbook_ok("failback.yml", "--check", "-e", "node=%s" % EAST)
    assert "CHECK MODE" in run.out
    CLUSTER.wait_serving(WEST, [EAST, WEST], timeout=5)


def test_failback_returns_the_set_home():
    CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % EAST)
    CLUSTER.wait_serving(EAST, [EAST])
    CLUSTER.wait_serving(WEST, [WEST])
    assert_served_through(EAST, EAST)
    CLUSTER.assert_refused(WEST, EAST)


def test_failback_again_changes_nothing():
    changed = CLUSTER.playbook_ok("failback.yml", "-e", "node=%s" % EAST).changed
    assert sum(changed.values()) == 0, changed


def test_status_reports_normal_operation():
    run = CLUSTER.playbook_ok("status.yml", "-e", "status_file=%s" % STATUS_FILE)
    assert "Cluster %s: normal operation" % CLUSTER.name in run.out


def test_every_accepted_message_arrived_exactly_once_and_no_double_bind():
    assert CLUSTER.sent, "the story sent nothing"
    CLUSTER.assert_delivered_once(CLUSTER.sent)
    WATCH.assert_never_bound_twice()
    # the bind counts above cover every provider account of the inventory
    assert set(CLUSTER.sim("/state")["accounts"]) >= CLUSTER.accounts
