"""What a deploy with nothing to change costs the controller per node, and deploy's lock release.

Every task a node evaluates, run or skipped, costs the controller a variable merge and a worker
(BENCHMARKS.md, "Fleets: where the controller's time goes"). On a node with nothing to change the
tasks that act only on something missing or changed sit behind one conditional include_tasks per
file (install_missing.yml, configure_changes.yml, serve_start.yml); `--list-tasks` lists what
every node evaluates then (an include counts once, its tasks not at all), so a task moved back out
of an include, or a new one, shows here.

Deploy's lock release runs from a play of the nodes, each releasing its own lock at once; a node
locked but no longer in that play (failed in stage 2 or 3, or outside --limit) is released by the
play's first node. Checked with local-connection nodes whose locks are files in a temporary
directory (the module's `directory`, set through module_defaults): no host is contacted.
"""
import json
import os
import subprocess
import sys

import yaml

from test_inventory_validation import GOOD

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ENV = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")

# Tasks of deploy.yml's plays over the nodes that a node with nothing to change evaluates (stage 1's
# run-once tasks included): 54 before the conditional includes and the parallel lock release, 39
# before the client sets' types moved into the cluster_model filter.
DEPLOY_NODE_TASKS = 38


def run(tmp_path, playbook, inventory, *args):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(path), playbook] + list(args), cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def node_tasks(listing):
    """{play name: [task names]} of the plays over kannel_nodes in `ansible-playbook --list-tasks`."""
    plays, current = {}, None
    for line in listing.splitlines():
        stripped = line.strip()
        if stripped.startswith("play #"):
            current = stripped if "(kannel_nodes)" in stripped else None
            if current:
                plays[current] = []
        elif current and stripped and stripped != "tasks:":
            plays[current].append(stripped.split("\tTAGS:")[0])
    return plays


def test_a_deploy_with_nothing_to_change_evaluates_few_tasks_per_node(tmp_path):
    rc, out = run(tmp_path, "deploy.yml", GOOD, "--list-tasks")
    assert rc == 0, out
    plays = node_tasks(out)
    tasks = [t for names in plays.values() for t in names]
    assert len(plays) == 6, plays  # stages 1, 2, 3, 4 (serve), 4 (release), 5
    assert len(tasks) <= DEPLOY_NODE_TASKS, "\n".join(tasks)
    # what runs only when something is missing or changed is behind the includes, not listed
    for only_on_change in ("Install the missing Kannel packages", "Reload systemd after unit changes",
                           "Start bearerbox", "Bearerbox starts at boot"):
        assert not [t for t in tasks if t.endswith(": " + only_on_change) or only_on_change + " (" in t], tasks
    release = [p for p in plays if "release the cluster lock" in p]
    assert release and "Release the cluster lock" in " ".join(plays[release[0]])


LOCK_PLAYBOOK = """
- name: Lock the four nodes as deploy's stage 4 does (a play of localhost)
  hosts: localhost
  gather_facts: false
  module_defaults: &dirs
    smsgw.cluster.kannel_cluster_lock: {directory: "{{ lock_root }}/{{ item }}"}
  tasks:
    - name: Name the run
      ansible.builtin.set_fact:
        cluster_switch_lock: {run_id: run-under-test, nodes: "{{ groups['kannel_nodes'] }}", seconds: 900}
    - name: Take the lock on every node
      smsgw.cluster.kannel_cluster_lock:
        cluster: "{{ hostvars[item].kannel_cluster }}"
        run_id: run-under-test
        holder: {playbook: deploy}
      delegate_to: "{{ item }}"
      loop: "{{ groups['kannel_nodes'] }}"

- name: A node fails in an earlier stage (it leaves the run)
  hosts: kannel_nodes
  gather_facts: false
  tasks:
    - name: Fail on {{ fall_out }}
      ansible.builtin.fail:
        msg: stage 3 failed here
      when: inventory_hostname == fall_out

- name: Release the cluster lock as deploy does
  hosts: kannel_nodes
  gather_facts: false
  module_defaults: *dirs
  tasks:
    - name: Release
      ansible.builtin.import_role: {name: smsgw.cluster.cluster_switch, tasks_from: lock_release}
      vars: {cluster_lock_release_here: true, cluster_lock_release_outside: "{{ outside }}"}
"""


def lock_run(tmp_path, outside):
    nodes = {"n1": "c1", "n2": "c1", "n3": "c2", "n4": "c2"}
    inventory = {"all": {"children": {"kannel_nodes": {"hosts": dict(
        (n, {"kannel_cluster": c, "ansible_connection": "local", "ansible_python_interpreter": sys.executable})
        for n, c in nodes.items())}}}}
    playbook = tmp_path / "release.yml"
    playbook.write_text(LOCK_PLAYBOOK)
    root = tmp_path / "locks"
    rc, out = run(tmp_path, str(playbook), inventory, "-e", json.dumps(
        {"lock_root": str(root), "fall_out": "n3", "outside": outside}))
    held = sorted(n for n in nodes if (root / n / "cluster-lock.json").exists())
    return rc, out, held


def test_deploy_releases_the_lock_of_a_node_that_left_the_run(tmp_path):
    rc, out, held = lock_run(tmp_path, outside=True)
    assert rc == 2 and "stage 3 failed here" in out, out  # only n3's failure
    assert held == [], out


def test_without_the_outside_option_a_node_that_left_keeps_its_lock(tmp_path):
    # takeover and failback: the play's nodes release their own only
    rc, out, held = lock_run(tmp_path, outside=False)
    assert rc == 2, out
    assert held == ["n3"], out
