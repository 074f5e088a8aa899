"""Stage 2 of a takeover (role cluster_switch, fence.yml) for a failed node that cannot be reached
and has no fence command, with quorum on: how the node was left (cluster_switch_fence) and the wait
(cluster_switch_quorum) follow the survivor's record of the node. Run in check mode, so no wait is
sat out and nothing but the play's own facts is touched."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from test_inventory_validation import REPO

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
QUORUM = {"enabled": True, "seconds": 20, "takeover_wait_seconds": 28}


def run_fence(tmp_path, silence):
    common = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {"north": dict(common, cluster_switch_failed_reachable=False,
                           kannel_model={"peer": "south", "quorum": QUORUM, "fence": {"configured": False}}),
             "south": dict(common, cluster_switch_survivor_checked=True, cluster_switch_silence=silence)}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    out = tmp_path / "fence.json"
    (tmp_path / "fence.yml").write_text(yaml.safe_dump([{
        "hosts": "north", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "smsgw.cluster.cluster_switch", "tasks_from": "fence"}},
                  {"ansible.builtin.copy": {
                      "content": "{{ {'fence': cluster_switch_fence, 'quorum': cluster_switch_quorum} | to_json }}",
                      "dest": str(out), "mode": "0644"},
                   "delegate_to": "localhost", "check_mode": False}]}]))
    proc = subprocess.run([PLAYBOOK_BIN, "--check", "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "fence.yml")],
                          cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text()), " ".join(proc.stdout.split())


@pytest.mark.parametrize("silence, fence, seconds, says", [
    ({"peer_reachable": True, "fresh": True, "silent_seconds": 0}, "peer guard", 0,
     "Quorum: south still reaches north (only the controller does not)"),
    ({"peer_reachable": False, "fresh": True, "silent_seconds": 9.4}, "quorum", 19,
     "south last reached it 9.4 s ago. Waiting 19 s before activating anything (quorum 20 s + 8 s margin)."),
    ({"peer_reachable": None, "fresh": False, "silent_seconds": None}, "quorum", 28,
     "south cannot tell when it last reached it"),
])
def test_the_quorum_wait_follows_the_survivors_record(tmp_path, silence, fence, seconds, says):
    got, out = run_fence(tmp_path, silence)
    assert got["fence"] == fence and got["quorum"]["seconds"] == seconds, got
    assert says in out, out
