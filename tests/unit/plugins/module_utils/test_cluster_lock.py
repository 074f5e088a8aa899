"""The cluster lock on one node: taken atomically, refused naming the holder, expired and broken
locks replaced with a message, released only by its own run."""
import json
import os
import threading

from ansible_collections.smsgw.cluster.plugins.module_utils.cluster_lock import (
    ClusterLock,
    describe,
    new_record,
    operator_view,
    refusal,
)

NOW = 1800000000.0
HOLDER = {"playbook": "takeover", "target": "failed=east", "controller": "ops@ctl", "pid": "42",
          "job_id": None}


def record(run_id, now=NOW, expiry=900, **holder):
    return new_record("c1", run_id, dict(HOLDER, **holder), now, expiry)


def test_free_lock_is_taken_and_written_whole(tmp_path):
    lock = ClusterLock(str(tmp_path))
    out = lock.take(record("r1"), NOW, 900)
    assert (out["taken"], out["changed"], out["how"]) == (True, True, "new")
    on_disk = json.load(open(lock.path))
    assert on_disk["run_id"] == "r1" and on_disk["controller"] == "ops@ctl"
    assert on_disk["expires_at_epoch"] - on_disk["taken_at_epoch"] == 900
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".cluster-lock.json.")] == []


def test_missing_directory_is_made(tmp_path):
    lock = ClusterLock(str(tmp_path / "new"))
    assert lock.take(record("r1"), NOW, 900)["taken"]


def test_second_run_is_refused_naming_the_holder(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("r1"), NOW, 900)
    out = lock.take(record("r2", playbook="failback", target="node=east"), NOW + 12, 900)
    assert not out["taken"] and not out["changed"]
    assert out["held_by"]["run_id"] == "r1"
    assert ("the cluster lock of c1 is held by ops@ctl (takeover failed=east, pid 42) since "
            "2027-01-15T08:00:00Z (12 s ago; it expires at 2027-01-15T08:15:00Z, in 888 s)") == out["msg"]
    assert json.load(open(lock.path))["run_id"] == "r1"


def test_own_lock_is_kept(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("r1"), NOW, 900)
    out = lock.take(record("r1", now=NOW + 5), NOW + 5, 900)
    assert (out["taken"], out["changed"], out["how"]) == (True, False, "ours")


def test_expired_lock_is_taken_over_with_a_message(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("old", expiry=60), NOW, 60)
    out = lock.take(record("r2", now=NOW + 100), NOW + 100, 900)
    assert (out["taken"], out["how"]) == (True, "expired")
    assert out["replaced"]["run_id"] == "old"
    assert "took over the expired cluster lock of ops@ctl (takeover failed=east, pid 42)" in out["msg"]
    assert "(40 s ago)" in out["msg"]
    assert json.load(open(lock.path))["run_id"] == "r2"


def test_fresh_lock_is_broken_only_when_asked(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("r1"), NOW, 900)
    assert not lock.take(record("r2"), NOW + 1, 900)["taken"]
    out = lock.take(record("r2"), NOW + 1, 900, break_lock=True)
    assert (out["taken"], out["how"]) == (True, "broken")
    assert "broke the cluster lock of ops@ctl (takeover failed=east, pid 42)" in out["msg"]
    assert json.load(open(lock.path))["run_id"] == "r2"


def test_unreadable_lock_counts_as_held_until_it_is_old(tmp_path):
    lock = ClusterLock(str(tmp_path))
    with open(lock.path, "w") as fh:
        fh.write("")  # a controller died between create and write (not ours: we link whole files)
    mtime = os.stat(lock.path).st_mtime
    out = lock.take(record("r1"), mtime + 10, 900)
    assert not out["taken"] and "unknown holder" in out["msg"] and "unreadable" in out["msg"]
    assert lock.take(record("r1"), mtime + 901, 900)["how"] == "expired"


def test_check_mode_takes_nothing_but_still_refuses(tmp_path):
    lock = ClusterLock(str(tmp_path))
    out = lock.take(record("r1"), NOW, 900, check_mode=True)
    assert out["taken"] and not out["changed"] and not os.path.exists(lock.path)
    lock.take(record("r1"), NOW, 900)
    assert not lock.take(record("r2"), NOW, 900, check_mode=True)["taken"]


def test_release_removes_only_its_own_lock(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("r1"), NOW, 900)
    released, holder = lock.release("r2")
    assert not released and holder["run_id"] == "r1" and os.path.exists(lock.path)
    assert lock.release("r1", check_mode=True)[0] and os.path.exists(lock.path)
    assert lock.release("r1")[0] and not os.path.exists(lock.path)
    assert lock.release("r1") == (False, None)


def race(take, runs=8):
    """{i: taken} of `runs` threads calling take(i) at the same moment."""
    results, start = {}, threading.Barrier(runs)

    def run(i):
        start.wait()
        results[i] = take(i)["taken"]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_runs_exactly_one_takes_it(tmp_path):
    lock = ClusterLock(str(tmp_path))
    results = race(lambda i: ClusterLock(str(tmp_path)).take(record("r%d" % i), NOW, 900))
    assert sorted(results.values()) == [False] * 7 + [True]
    assert json.load(open(lock.path))["run_id"] == "r%d" % [i for i, v in results.items() if v][0]


def test_racing_takeovers_of_an_expired_lock_exactly_one_wins(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("old", expiry=1), NOW, 1)
    results = race(lambda i: ClusterLock(str(tmp_path)).take(record("r%d" % i, now=NOW + 10),
                                                              NOW + 10, 900))
    assert sorted(results.values()) == [False] * 7 + [True]


def test_descriptions():
    assert describe(dict(record("r"), job_id="77")) == "ops@ctl (takeover failed=east, pid 42, AWX job 77)"
    assert describe({"run_id": "x"}) == "an unknown controller (unknown playbook)"
    assert refusal(record("r"), NOW).startswith("the cluster lock of c1 is held by ops@ctl")


def test_operator_view_says_who_holds_it_and_for_how_long():
    assert operator_view(None, NOW) is None
    view = operator_view(record("r"), NOW + 100)
    assert view["holder"] == "ops@ctl (takeover failed=east, pid 42)" and view["run_id"] == "r"
    assert (view["age_seconds"], view["expires_in_seconds"], view["expired"]) == (100, 800, False)
    view = operator_view(record("r"), NOW + 1000)
    assert (view["expires_in_seconds"], view["expired"]) == (0, True)


def test_lock_of_a_run_known_gone_is_taken_over_only_if_it_still_holds_it(tmp_path):
    lock = ClusterLock(str(tmp_path))
    lock.take(record("killed"), NOW, 900)
    out = lock.take(record("r2"), NOW + 3, 900, gone_run_id="someone-else")
    assert not out["taken"] and json.load(open(lock.path))["run_id"] == "killed"
    out = lock.take(record("r2"), NOW + 3, 900, gone_run_id="killed")
    assert (out["taken"], out["how"]) == (True, "gone")
    assert "that ansible-playbook (pid 42) no longer runs on this controller" in out["msg"]
    assert json.load(open(lock.path))["run_id"] == "r2"
