"""status.yml of a fleet whose nodes cannot be reached (a loopback port where nothing listens, so
no packet leaves the machine): every node is a result, not a failure, and the watcher's state of
every cluster is read in one module run."""
import json

from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import StateFile, operator_change
from test_inventory_validation import _second_cluster_apart, mutate, run_deploy


def test_status_of_an_unreachable_fleet_reports_every_node_down_and_each_watcher(tmp_path):
    state_dir = tmp_path / "watch"
    StateFile(str(state_dir), "core").update(
        lambda state: operator_change(state, "pause", "operator", note="change 4711")[0])
    status_file = tmp_path / "status.json"
    rc, out, _ = run_deploy(tmp_path, mutate(_second_cluster_apart), "status.yml",
                            "-e", "kannel_watch_state_dir=%s" % state_dir, "-e", "status_file=%s" % status_file)
    assert rc == 0, out
    report = json.loads(status_file.read_text())
    nodes = [node for cluster in report["clusters"] for node in cluster["nodes"]]
    assert sorted(node["node"] for node in nodes) == ["alpha", "beta", "delta", "gamma"], report
    for node in nodes:
        assert node["reachable"] is False and node["health"] == "down", node
        assert node["reasons"][0].startswith("%s cannot be reached within 3 s (" % node["node"]), node
    assert "core: automatic switching paused (change 4711)" in out, out
    assert "edge: automatic switching not set up (manual only), or its watcher never ran" in out, out
    # one module run for the fleet, not one per cluster
    read = out.split("TASK [Read the watcher's state of each cluster]")[1].split("TASK [")[0]
    assert "ok: [localhost]" in read and "item=" not in read, read
