"""cluster_lock_outcome: what one looped lock take came to, read from its per-node results."""

from ansible_collections.smsgw.cluster.plugins.filter.cluster_lock import (
    WHY_LENGTH,
    FilterModule,
    cluster_lock_outcome,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.report_text import shorten


def result(node, **fields):
    return dict(fields, cluster_lock_node=node, ansible_loop_var="cluster_lock_node")


def test_both_nodes_taken():
    out = cluster_lock_outcome([result("east", taken=True, msg="took the cluster lock"),
                                result("west", taken=True, msg="took the cluster lock")])
    assert out == {"nodes": ["east", "west"], "refused": None, "unreachable": [],
                   "unreachable_why": "", "not_reached": {}, "notes": []}


def test_check_mode_holds_nothing():
    out = cluster_lock_outcome([result("east", taken=True), result("west", taken=True)], True)
    assert out["nodes"] == [] and out["refused"] is None


def test_refused_on_the_second_node_keeps_the_first_to_give_back():
    lock = {"run_id": "other", "expires_at": "2026-12-02T10:16:07Z"}
    out = cluster_lock_outcome([result("east", taken=True),
                                result("west", refused=True, failed=False, msg="held by x", lock=lock)])
    assert out["nodes"] == ["east"]
    assert out["refused"] == {"node": "west", "msg": "held by x", "lock": lock}
    assert out["unreachable"] == []  # a refusal is not an unreachable node


def test_unreachable_and_failing_nodes_are_named_with_the_last_reason():
    out = cluster_lock_outcome([result("east", unreachable=True, msg="ssh: timed out"),
                                result("west", failed=True, msg="cannot take the lock: EACCES")])
    assert out["unreachable"] == ["east", "west"] and out["nodes"] == []
    assert out["unreachable_why"] == "cannot take the lock: EACCES"
    # a node that answered but could not be locked was reached: only east is a probe's "down"
    assert out["not_reached"] == {"east": "ssh: timed out"}
    assert cluster_lock_outcome([result("east", unreachable=True)])["unreachable_why"] == "unreachable"


def test_replaced_locks_are_noted_and_skipped_items_ignored():
    out = cluster_lock_outcome([result("east", taken=True, replaced={"run_id": "old"}, msg="took over"),
                                {"skipped": True, "item": "west"}])
    assert out["notes"] == ["east: took over"] and out["nodes"] == ["east"]


def test_the_default_loop_variable_is_item():
    assert cluster_lock_outcome([{"item": "east", "taken": True}])["nodes"] == ["east"]


def test_long_reasons_are_cut_as_jinjas_truncate_does():
    assert shorten("x" * 205, WHY_LENGTH) == "x" * 205
    long = " ".join(["word"] * 60)
    cut = cluster_lock_outcome([result("east", unreachable=True, msg=long)])["unreachable_why"]
    assert cut.endswith("...") and len(cut) <= 200 and not cut[:-3].endswith(" ")


def test_registered_as_a_filter():
    assert FilterModule().filters()["cluster_lock_outcome"] is cluster_lock_outcome
