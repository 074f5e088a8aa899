"""The operator's story on the failover scenario's two nodes (east, west), in order.

Each test is one step and relies on the steps before it (pytest runs them in file order). The real
playbooks run against the scenario's inventory as a user would run them; SMS go over HTTP to the
nodes' sendsms ports; the provider simulator reports every bind, so "never connected on both nodes"
is measured: no provider account ever has more than one concurrent bind.
"""
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
import yaml

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(SCENARIO))
INVENTORY = os.path.join(SCENARIO, "inventory")
with open(os.path.join(INVENTORY, "hosts.yml"), encoding="utf-8") as fh:
    HOSTS = yaml.safe_load(fh)["all"]["children"]["kannel_nodes"]["children"]["failover_cluster"]["hosts"]
with open(os.path.join(INVENTORY, "group_vars", "failover_cluster", "main.yml"), encoding="utf-8") as fh:
    CLUSTER = yaml.safe_load(fh)
EAST, WEST = sorted(HOSTS)  # the story fails 'east' (node of the first set) hard, 'west' planned
ADDRESS = {n: HOSTS[n]["kannel_cluster_address"] for n in HOSTS}
SETS = CLUSTER["kannel_client_sets"]
LINKS = {n: [link["id"] for link in CLUSTER["kannel_links"] if link["home"] == n] for n in HOSTS}
ACCOUNTS = {link["username"] for link in CLUSTER["kannel_links"]}
SIM_CONTROL = "http://" + os.environ.get("SMSGW_SIM_CONTROL", "127.0.0.1:8777")
ENV = dict(os.environ,
           ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"),
           CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"),
           ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
SENT = []  # every text a gateway accepted during the story: each must arrive exactly once
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def playbook(name, *args):
    """Run a root playbook against the scenario inventory -> (rc, output, {host: changed})."""
    proc = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, os.path.join(REPO, name)] + list(args),
        cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600, check=False)
    changed = {m.group(1): int(m.group(3)) for m in RECAP.finditer(proc.stdout)}
    return proc.returncode, proc.stdout, changed


def playbook_ok(name, *args):
    """Run a root playbook that must succeed -> (output, {host: changed})."""
    rc, out, changed = playbook(name, *args)
    assert rc == 0, out
    return out, changed


def sim(path):
    with urllib.request.urlopen(SIM_CONTROL + path, timeout=10) as resp:
        return json.loads(resp.read().decode())


def max_binds():
    return {acct: info["binds_max"] for acct, info in sim("/state")["accounts"].items()}


def podman(*args):
    return subprocess.run(["podman"] + list(args), env=ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=False)


def node_view(node):
    """(links loaded -> state word, smsbox ids connected) from the node's own status.xml."""
    script = ("import urllib.request,sys;sys.stdout.write(urllib.request.urlopen("
              "'http://127.0.0.1:13000/status.xml?password=%s',timeout=5).read().decode())"
              % CLUSTER["kannel_status_password"])
    out = podman("exec", node, "python3", "-c", script)
    assert out.returncode == 0, out.stdout
    root = ET.fromstring(out.stdout)
    links = {(s.findtext("admin-id") or s.findtext("id")): (s.findtext("status") or "").split()[0]
             for s in root.iter("smsc")}
    links.pop("smsc-placeholder", None)
    boxes = {b.findtext("id") for b in root.iter("box") if b.findtext("type") == "smsbox"}
    return links, boxes


def wait_serving(node, sets, timeout=40):
    """Wait until node has exactly the links and smsboxes of `sets`, links online."""
    want_links = {link for s in sets for link in LINKS[s]}
    deadline = time.time() + timeout
    while True:
        try:
            links, boxes = node_view(node)
        except AssertionError:
            links, boxes = None, None
        if links is not None and set(links) == want_links and \
                all(v == "online" for v in links.values()) and boxes == set(sets):
            return
        if time.time() > deadline:
            pytest.fail("%s should serve %s; it has links %s, smsboxes %s"
                        % (node, sorted(sets), links, boxes))
        time.sleep(0.5)


def send(via, set_name):
    """Send one SMS as the first client of set_name through node `via`; returns (status, body, text)."""
    acct = SETS[set_name]["accounts"][0]
    text = "story %s via %s %s" % (set_name, via, uuid.uuid4().hex[:8])
    query = urllib.parse.urlencode({"username": acct["username"], "password": acct["password"],
                                    "from": "SMSGW", "to": "+4790000001", "text": text})
    url = "http://%s:%d/cgi-bin/sendsms?%s" % (ADDRESS[via], SETS[set_name]["sendsms_port"], query)
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            status, body = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read().decode()
    if status == 202:
        SENT.append(text)
    return status, body, text


def wait_arrival(text, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(m.get("text") == text for m in sim("/messages")):
            return
        time.sleep(0.3)
    pytest.fail("the provider never received %r" % text)


def assert_served_through(via, set_name):
    status, body, text = send(via, set_name)
    assert status == 202, "%s refused a client of set %s: %s %s" % (via, set_name, status, body)
    wait_arrival(text)


def assert_refused(via, set_name):
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        send(via, set_name)


def assert_never_bound_twice():
    assert {a: n for a, n in max_binds().items() if n > 1} == {}


def wait_node_booted(node, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = podman("exec", node, "systemctl", "is-system-running").stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    pytest.fail("%s did not boot" % node)


# --- the story -------------------------------------------------------------------------------

def test_deployed_cluster_serves_each_set_at_home():
    wait_serving(EAST, [EAST])
    wait_serving(WEST, [WEST])
    assert_served_through(EAST, EAST)
    assert_served_through(WEST, WEST)
    assert_refused(WEST, EAST)
    assert_refused(EAST, WEST)


@pytest.mark.parametrize("args, expected", [
    ([], "takeover needs -e failed=NODE"),
    (["-e", "failed=nowhere"], 'got "nowhere"'),
])
def test_takeover_refuses_bad_input_before_touching_a_host(args, expected):
    rc, out, changed = playbook("takeover.yml", *args)
    assert rc != 0
    assert expected in out
    assert "%s, %s" % (EAST, WEST) in out  # the valid choices are named
    assert sum(changed.values()) == 0


def test_failback_refuses_bad_input():
    rc, out, changed = playbook("failback.yml", "-e", "node=nowhere")
    assert rc != 0
    assert 'failback needs -e node=NODE' in out and "%s, %s" % (EAST, WEST) in out
    assert sum(changed.values()) == 0


def test_takeover_check_mode_changes_nothing():
    before = sim("/state")["accounts"]
    out, _ = playbook_ok("takeover.yml", "--check", "-e", "failed=%s" % WEST)
    assert "CHECK MODE" in out
    wait_serving(EAST, [EAST], timeout=5)
    wait_serving(WEST, [WEST], timeout=5)
    after = sim("/state")["accounts"]
    assert {a: v["binds_total"] for a, v in after.items()} == \
        {a: v["binds_total"] for a, v in before.items()}


def test_planned_takeover_of_a_healthy_node():
    out, _ = playbook_ok("takeover.yml", "-e", "failed=%s" % WEST)
    assert "Fencing of %s: done" % WEST in out
    wait_serving(EAST, [EAST, WEST])
    wait_serving(WEST, [])
    assert_served_through(EAST, WEST)
    assert_refused(WEST, WEST)
    assert_never_bound_twice()


def test_planned_failback():
    out, _ = playbook_ok("failback.yml", "-e", "node=%s" % WEST)
    assert re.search(r"Gap \(set %s not accepting messages\): [0-9.]+ s" % WEST, out)
    wait_serving(EAST, [EAST])
    wait_serving(WEST, [WEST])
    assert_served_through(WEST, WEST)
    assert_never_bound_twice()


def test_killed_node_is_taken_over():
    assert podman("kill", EAST).returncode == 0
    out, _ = playbook_ok("takeover.yml", "-e", "failed=%s" % EAST)
    assert "%s cannot be reached" % EAST in out
    wait_serving(WEST, [EAST, WEST])
    assert_served_through(WEST, EAST)
    assert_served_through(WEST, WEST)
    assert_never_bound_twice()


def test_takeover_again_changes_nothing():
    out, changed = playbook_ok("takeover.yml", "-e", "failed=%s" % EAST)
    assert changed.get(WEST) == 0 and sum(changed.values()) == 0, changed


def test_survivor_restart_keeps_serving_both_sets():
    restart = podman("exec", WEST, "systemctl", "restart", "kannel-bearerbox.service")
    assert restart.returncode == 0, restart.stdout
    wait_serving(WEST, [EAST, WEST], timeout=60)
    assert_served_through(WEST, EAST)
    assert_never_bound_twice()


def test_returning_node_stays_fenced():
    assert podman("start", EAST).returncode == 0
    wait_node_booted(EAST)
    # Give bearerbox time to start and (wrongly) bind, if it were going to.
    deadline = time.time() + 20
    while time.time() < deadline:
        if podman("exec", EAST, "systemctl", "is-active", "kannel-bearerbox.service").stdout.strip() == "active":
            break
        time.sleep(0.5)
    time.sleep(3)
    links, boxes = node_view(EAST)
    assert links == {} and boxes == set(), "returning %s connected %s / %s" % (EAST, links, boxes)
    serving = json.loads(podman("exec", EAST, "cat", "/var/lib/kannel-cluster/serving.json").stdout)
    assert serving["sets"] == [] and "guard" in serving["changed_by"]
    assert_refused(EAST, EAST)
    assert_never_bound_twice()


def test_status_reports_the_takeover():
    report_file = os.path.join(REPO, "artifacts", "status-failover.json")
    out, changed = playbook_ok("status.yml", "-e", "status_file=%s" % report_file)
    assert "taken over: %s on %s" % (EAST, WEST) in out
    with open(report_file, encoding="utf-8") as fh:
        cluster = json.load(fh)["clusters"][0]
    assert cluster["normal"] is False
    assert {s["set"]: s["active_on"] for s in cluster["sets"]} == {EAST: [WEST], WEST: [WEST]}
    assert sum(changed.get(n, 0) for n in HOSTS) == 0


def test_deploy_during_takeover_keeps_it():
    out, _ = playbook_ok("deploy.yml")
    wait_serving(WEST, [EAST, WEST], timeout=10)
    links, boxes = node_view(EAST)
    assert links == {} and boxes == set(), "deploy re-activated %s / %s on %s" % (links, boxes, EAST)
    assert_served_through(WEST, EAST)
    assert_never_bound_twice()


def test_failback_check_mode_changes_nothing():
    out, _ = playbook_ok("failback.yml", "--check", "-e", "node=%s" % EAST)
    assert "CHECK MODE" in out
    wait_serving(WEST, [EAST, WEST], timeout=5)


def test_failback_returns_the_set_home():
    out, _ = playbook_ok("failback.yml", "-e", "node=%s" % EAST)
    wait_serving(EAST, [EAST])
    wait_serving(WEST, [WEST])
    assert_served_through(EAST, EAST)
    assert_refused(WEST, EAST)


def test_failback_again_changes_nothing():
    out, changed = playbook_ok("failback.yml", "-e", "node=%s" % EAST)
    assert sum(changed.values()) == 0, changed


def test_status_reports_normal_operation():
    out, _ = playbook_ok("status.yml", "-e", "status_file=%s" % os.path.join(REPO, "artifacts", "status-failover.json"))
    assert "Cluster failover_cluster: normal operation" in out


def test_every_accepted_message_arrived_exactly_once_and_no_double_bind():
    texts = [m.get("text") for m in sim("/messages")]
    assert SENT, "the story sent nothing"
    assert {t: texts.count(t) for t in SENT if texts.count(t) != 1} == {}
    assert_never_bound_twice()
    assert set(max_binds()) >= ACCOUNTS
