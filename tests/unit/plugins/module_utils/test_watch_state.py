"""The watcher's state file: the operator's arm / pause / resume, the rulebook's ended note,
locking and atomic replacement."""
import json
import os

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import (
    StateFile,
    WatchStateError,
    operator_change,
    takeover_ended,
)


def disarmed(tmp_path):
    store = StateFile(str(tmp_path), "c1")
    store.update(lambda s: dict(s, mode="disarmed", mode_reason="automatic takeover of n1 (attempt 1)",
                                attempts=1, takeover={"node": "n1", "survivor": "n2", "attempt": 1,
                                                      "result": "served", "ended_at": "t"}))
    return store


def test_missing_file_reads_armed_and_nothing_is_written(tmp_path):
    store = StateFile(str(tmp_path / "new"), "c1")
    assert store.read()["mode"] == "armed"
    assert not os.path.exists(store.path)


def test_pause_resume_round_trip(tmp_path):
    store = StateFile(str(tmp_path), "c1")
    before, after = store.update(lambda s: operator_change(s, "pause", "op", note="change 42")[0])
    assert (before["mode"], after["mode"]) == ("armed", "paused")
    assert json.load(open(store.path))["mode_reason"] == "change 42"
    new, msg = operator_change(store.read(), "pause", "op")
    assert new == store.read() and "already paused" in msg
    before, after = store.update(lambda s: operator_change(s, "resume", "op")[0])
    assert after["mode"] == "armed" and after["mode_changed_by"] == "op"


def test_resume_refuses_a_disarmed_cluster_arm_does_not(tmp_path):
    store = disarmed(tmp_path)
    new, msg = operator_change(store.read(), "resume", "op")
    assert new == store.read() and msg.startswith("Refused: c1 is disarmed") and "action=arm" in msg
    new, msg = operator_change(store.read(), "pause", "op")
    assert new["mode"] == "disarmed" and "nothing to pause" in msg
    new, msg = operator_change(store.read(), "arm", "op")
    assert new["mode"] == "armed" and "disarmed -> armed" in msg


def test_arm_abandons_a_takeover_whose_end_was_never_recorded(tmp_path):
    state = disarmed(tmp_path).read()
    state["takeover"].update(result="running", ended_at=None)
    new, _ = operator_change(state, "arm", "op")
    assert new["takeover"]["result"] == "abandoned" and new["takeover"]["ended_at"]


def test_unknown_action_is_refused(tmp_path):
    with pytest.raises(ValueError, match="action must be one of arm, pause, resume"):
        operator_change(StateFile(str(tmp_path), "c1").read(), "disarm", "op")


def test_ended_only_for_the_running_attempt(tmp_path):
    state = disarmed(tmp_path).read()
    state["takeover"].update(result="running", ended_at=None)
    assert takeover_ended(state, 2) == state
    assert takeover_ended(state, 1)["takeover"]["ended_at"]


def test_bad_file_is_an_error_not_a_mode(tmp_path):
    (tmp_path / "c1.json").write_text("{not json")
    with pytest.raises(WatchStateError, match="is not valid JSON"):
        StateFile(str(tmp_path), "c1").read()
    (tmp_path / "c1.json").write_text('{"mode": "sleepy"}')
    with pytest.raises(WatchStateError, match="mode 'sleepy' is not one of armed, paused, disarmed"):
        StateFile(str(tmp_path), "c1").read()
