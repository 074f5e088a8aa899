"""Stage 1 of a takeover (role cluster_switch, takeover_observe.yml) on the failed node: a node the
cluster lock's attempt reached counts as reachable without a probe; one it did not reach is probed
once more before it counts as down, so one slow answer never leaves a live node unfenced. The
survivor is not in the play (its reads are other tests'), so only the failed node's part runs."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from test_inventory_validation import REPO

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
LIVE = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
# nothing listens on port 1 of loopback: every connection is refused
DOWN = {"ansible_connection": "ansible.builtin.ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
        "ansible_python_interpreter": sys.executable}


def reach(tmp_path, failed_vars, not_reached):
    hosts = {"north": dict(failed_vars, kannel_model={"peer": "south"}, kannel_node_probe_timeout=2),
             "south": LIVE, "localhost": LIVE}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    out = tmp_path / "reach.json"
    (tmp_path / "reach.yml").write_text(yaml.safe_dump([
        {"hosts": "localhost", "gather_facts": False,
         "tasks": [{"ansible.builtin.set_fact": {"cluster_switch_lock_outcome": {"not_reached": not_reached}}}]},
        {"hosts": "north", "gather_facts": False, "vars": {"failed": "north"},
         "tasks": [{"ansible.builtin.include_role": {"name": "smsgw.cluster.cluster_switch",
                                                     "tasks_from": "takeover_observe"}},
                   {"ansible.builtin.copy": {
                       "content": "{{ {'reachable': cluster_switch_failed_reachable,"
                                  " 'probed': kannel_node_probe is defined} | to_json }}",
                       "dest": str(out), "mode": "0644"},
                    "delegate_to": "localhost"}]}]))
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "reach.yml")],
                          cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("failed_vars, not_reached, expected", [
    (LIVE, {}, {"reachable": True, "probed": False}),  # the lock ran its module there
    (LIVE, {"north": "Connection timed out during banner exchange"}, {"reachable": True, "probed": True}),
    (DOWN, {"north": "Connection refused"}, {"reachable": False, "probed": True}),
], ids=["reached-by-the-lock", "slow-once-then-answers", "down-twice"])
def test_a_node_counts_as_down_only_when_the_probe_agrees_with_the_lock(tmp_path, failed_vars, not_reached, expected):
    assert reach(tmp_path, failed_vars, not_reached) == expected
