"""The watcher's decisions: settling a running takeover, and a takeover refused by the cluster
lock."""
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_watch import Poll, Watch
from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import (
    StateFile,
    takeover_ended,
    utc_iso,
)


ENDED = 1700000000.0


def ended_takeover(tmp_path):
    """A watcher whose takeover of n1 by n2 is running; its playbook returned at ENDED."""
    store = StateFile(str(tmp_path), "c1")
    store.update(lambda s: dict(s, mode="disarmed", mode_changed_by="watcher", attempts=1,
                                takeover={"node": "n1", "survivor": "n2", "attempt": 1,
                                          "result": "running", "ended_at": utc_iso(ENDED)}))
    return store, Watch("c1", ["n1", "n2"], 30, store, lambda line: None)


def test_a_round_begun_before_the_takeover_ended_does_not_settle_it(tmp_path):
    """The playbook returned (ended_at) while a poll round was in flight: that round may have read
    the survivor before the activation, so only a round begun later may call the set not served."""
    store, watch = ended_takeover(tmp_path)
    before_activation = {"n1": Poll("n1", False, error="timed out"),
                         "n2": Poll("n2", True, "healthy", ["n2"])}
    watch.round(before_activation, ENDED - 0.5)
    watch.round(before_activation, ENDED + 0.5)  # began in the second ended_at names
    assert store.read()["takeover"]["result"] == "running"
    assert store.read()["mode"] == "disarmed"
    served = {"n1": Poll("n1", False, error="timed out"),
              "n2": Poll("n2", True, "healthy", ["n1", "n2"])}
    watch.round(served, ENDED + 2)
    assert store.read()["takeover"]["result"] == "served"
    assert store.read()["mode"] == "disarmed"


def test_a_round_begun_after_the_takeover_ended_settles_not_served_and_rearms(tmp_path):
    store, watch = ended_takeover(tmp_path)
    watch.round({"n1": Poll("n1", True, "healthy", ["n1"]),
                 "n2": Poll("n2", True, "healthy", ["n2"])}, ENDED + 1.5)
    state = store.read()
    assert state["takeover"]["result"] == "not served" and state["mode"] == "armed", state


def test_a_takeover_refused_by_the_cluster_lock_is_logged_with_the_holder_and_rearms(tmp_path):
    lines = []
    store = StateFile(str(tmp_path), "c1")
    store.update(lambda s: dict(s, mode="disarmed", mode_changed_by="watcher", attempts=1,
                                takeover={"node": "n1", "survivor": "n2", "attempt": 1,
                                          "result": "running", "ended_at": None}))
    watch = Watch("c1", ["n1", "n2"], 30, store, lines.append)
    held = "the cluster lock of c1 is held by ops@ctl (failback node=n1, pid 7) since T (3 s ago)"
    store.update(lambda s: takeover_ended(s, 1, when=ENDED, refused=held))
    store.update(lambda s: takeover_ended(s, 1, when=ENDED + 1))  # the rulebook's own note: no change
    assert store.read()["takeover"]["refused"] == held
    down = {"n1": Poll("n1", False, error="timed out"), "n2": Poll("n2", True, "healthy", ["n2"])}
    out = watch.round(down, ENDED + 2)
    state = store.read()
    assert state["mode"] == "armed" and state["takeover"]["result"] == "not served", state
    said = [line for line in lines if "takeover attempt 1 was refused: " + held in line]
    assert len(said) == 1 and "another run holds the cluster lock" in said[0], lines
    # no new attempt before a whole window: the node's window started again at the settling round
    assert out["n1"][0] == "wait"
    assert watch.round(down, ENDED + 20)["n1"][0] == "wait"
    assert watch.round(down, ENDED + 33)["n1"][0] == "takeover"
