"""The role kannel_node's observed view of a node from its kannel_info read (tasks/observe.yml)."""
from ansible_collections.smsgw.cluster.plugins.filter.node_observed import FilterModule

observed = FilterModule().filters()["node_observed"]

READ = {"reachable": True, "health": "healthy", "reasons": [], "queues": {"sms_store": 0}, "dlr": {},
        "sets": {"a": {"state": "active"}, "b": {"state": "passive"}},
        "links": [{"id": "A1"}, {"id": "placeholder"}], "boxes": [{"id": "a"}],
        "serving": {"recorded": True, "sets": ["a"], "changed_by": "deploy", "changed_at": "t"},
        "lock": None}


def test_a_read_gives_the_view_without_the_placeholder_and_the_node_as_reached():
    seen = observed(READ, None, "a", 3, "placeholder")
    assert seen["probe"] == {"reachable": True, "reason": None}
    view = seen["observed"]
    assert view["active"] == ["a"] and view["serving"] == ["a"] and view["links"] == [{"id": "A1"}]
    assert view["changed_by"] == "deploy" and view["peer_silence"] is None


def test_a_read_that_could_not_reach_the_node_is_the_probes_answer():
    msg = "Failed to connect to the host via ssh: " + "x" * 200
    seen = observed({"unreachable": True, "msg": msg}, None, "a", 3, "placeholder")
    reason = seen["probe"]["reason"]
    assert seen["probe"]["reachable"] is False and reason.startswith("a cannot be reached within 3 s (Failed")
    assert reason.endswith("...)") and len(reason) < 160, reason
    view = seen["observed"]
    assert view["reachable"] is False and view["health"] == "down" and view["reasons"] == [reason]
    assert view["serving"] is None and view["active"] == [] and view["links"] == []


def test_a_probe_that_found_the_node_down_skips_the_read():
    probe = {"reachable": False, "reason": "a cannot be reached within 3 s (timed out)"}
    seen = observed({"skipped": True}, probe, "a", 3, "placeholder")
    assert seen["probe"] == probe and seen["observed"]["reasons"] == [probe["reason"]]


def test_a_reachable_node_with_no_serving_record_serves_nothing():
    read = dict(READ, serving={"recorded": False, "sets": None, "changed_by": None, "changed_at": None})
    assert observed(read, {"reachable": True, "reason": None}, "a", 3, "placeholder")["observed"]["serving"] == []
