"""quorum_wait: how long a takeover waits for an unreachable, unfenced node to give up its set."""

from ansible_collections.smsgw.cluster.plugins.filter.quorum_wait import FilterModule

QUORUM = {"seconds": 20, "takeover_wait_seconds": 28}
quorum_wait = FilterModule().filters()["quorum_wait"]


def test_the_time_since_the_survivor_last_reached_the_node_counts():
    out = quorum_wait({"peer_reachable": False, "fresh": True, "silent_seconds": 9.4}, QUORUM, "north", "south")
    assert out["seconds"] == 19 and out["by"] == "quorum"  # 28 - 9.4, rounded up
    assert out["msg"] == ("Quorum: north gives up its set by itself once cut off for kannel_quorum_seconds=20 s; "
                          "south last reached it 9.4 s ago. Waiting 19 s before activating anything "
                          "(quorum 20 s + 8 s margin).")


def test_a_record_that_is_not_fresh_waits_the_whole_time():
    out = quorum_wait({"peer_reachable": None, "fresh": False, "silent_seconds": None}, QUORUM, "north", "south")
    assert out["seconds"] == 28 and out["by"] == "quorum"
    assert "south cannot tell when it last reached it (its runtime guard is not running), so the whole " \
           "time counts. Waiting 28 s" in out["msg"]


def test_a_node_silent_longer_than_the_wait_needs_none():
    out = quorum_wait({"peer_reachable": False, "fresh": True, "silent_seconds": 40}, QUORUM, "north", "south")
    assert out["seconds"] == 0 and out["by"] == "quorum"


def test_no_wait_when_the_survivor_still_reaches_the_node():
    out = quorum_wait({"peer_reachable": True, "fresh": True, "silent_seconds": 0}, QUORUM, "north", "south")
    assert out == {"seconds": 0, "by": "peer guard",
                   "msg": "Quorum: south still reaches north (only the controller does not): its runtime "
                          "guard gives up its set as soon as south has it active."}
