"""The rule for starting maintenance on a node (playbooks/tasks/maintenance_check.yml), run on the
controller against what both nodes were read to be: it refuses a takeover in effect and an unhealthy
peer, and it lets a node's own stopped maintenance continue (maintenance_resume)."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from test_inventory_validation import REPO

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
HEALTHY = {"reachable": True, "health": "healthy", "reasons": []}


def node(serving, active=None, **seen):
    return dict(HEALTHY, serving=serving, active=serving if active is None else active, **seen)


def run_check(tmp_path, n1, n2, recorded):
    """recorded: n1's maintenance record says its maintenance runs; None: n1's record was not read
    (n1 unreachable)."""
    hosts = {name: {"ansible_connection": "local", "kannel_model": {"peer": peer},
                    "kannel_node_observed": seen, "maintenance_record": {"recorded": bool(recorded) and name == "n1"}}
             for name, peer, seen in (("n1", "n2", n1), ("n2", "n1", n2))}
    if recorded is None:
        del hosts["n1"]["maintenance_record"]
    hosts["localhost"] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    out = tmp_path / "resume.json"
    (tmp_path / "check.yml").write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_tasks": os.path.join(REPO, "playbooks", "tasks", "maintenance_check.yml"),
                   "vars": {"maintenance_check_node": "n1"}},
                  {"ansible.builtin.copy": {"content": "{{ {'resume': maintenance_resume} | to_json }}",
                                            "dest": str(out), "mode": "0644"}}]}]))
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "check.yml")],
                          cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True,
                          timeout=300)
    resume = json.loads(out.read_text())["resume"] if proc.returncode == 0 else None
    return proc, resume


@pytest.mark.parametrize("n1, n2, recorded, resume", [
    (node(["n1"]), node(["n2"]), False, False),               # normal operation
    (node(["n1"]), node(["n2"]), True, False),                # a record, but the node serves its set
    (node([], health="down"), node(["n1", "n2"]), True, True),  # its own stopped maintenance
    # ... which left its gateway down (a rebuilt node without Kannel yet): the host answered
    (node([], reachable=False, health="down", reasons=["admin interface unreachable"]), node(["n1", "n2"]),
     True, True),
])
def test_allowed(tmp_path, n1, n2, recorded, resume):
    proc, got = run_check(tmp_path, n1, n2, recorded)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert got is resume


@pytest.mark.parametrize("n1, n2, recorded, says", [
    (node([], health="down"), node(["n1", "n2"]), False,
     "n1 serves nothing, n2 serves n1, n2 (a takeover is in effect: run failback.yml -e node=n1 first)"),
    (node(["n1", "n2"]), node([]), True,
     "n1 serves n1, n2, n2 serves nothing (a takeover is in effect: run failback.yml -e node=n2 first)"),
    (node(["n1"]), node(["n2"], health="degraded", reasons=["link L2 down"]), False,
     "its peer n2 is not healthy (link L2 down), so it cannot carry both sets"),
    # a node rebuilt half-way, taken over: unreachable, its record unread
    (node([], reachable=False, health="down", reasons=["n1 cannot be reached within 3 s"]), node(["n1", "n2"]),
     None, "n1 cannot be reached (n1 cannot be reached within 3 s)"),
])
def test_refused(tmp_path, n1, n2, recorded, says):
    proc, _ = run_check(tmp_path, n1, n2, recorded)
    assert proc.returncode != 0
    assert "Refused: maintenance of n1: " in proc.stdout and says in proc.stdout, proc.stdout
