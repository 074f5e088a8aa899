"""The one atomic writer of the collection's modules (module_utils/atomic_file.py)."""
import fcntl
import os

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils import atomic_file
from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import (
    copy_atomically,
    exclusive_lock,
    write_atomically,
    write_new,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import StateFile


def test_writes_content_and_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "bearerbox.conf"
    write_atomically(str(path), "group = core\n", mode=0o640)
    assert path.read_text() == "group = core\n"
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert os.listdir(tmp_path) == ["bearerbox.conf"]


def test_replaces_by_rename_so_a_reader_keeps_the_old_file(tmp_path):
    path = tmp_path / "serving.json"
    path.write_text("old\n")
    with open(path) as reader:
        write_atomically(str(path), b"new\n", mode=0o644)
        assert reader.read() == "old\n"  # the open file is the old inode, untouched
    assert path.read_text() == "new\n"


def test_owner_is_set_only_when_it_differs(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(atomic_file.os, "chown", lambda *a: calls.append(a))
    write_atomically(str(tmp_path / "a"), "x", os.getuid(), os.getgid())
    assert calls == []
    write_atomically(str(tmp_path / "b"), "x", os.getuid(), os.getgid() + 1)
    assert len(calls) == 1 and calls[0][1:] == (os.getuid(), os.getgid() + 1)


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "kannel.conf"
    path.write_text("old\n")

    def refuse(*args):
        raise OSError("disk full")

    monkeypatch.setattr(atomic_file.os, "fsync", refuse)
    with pytest.raises(OSError):
        write_atomically(str(path), "new\n", mode=0o644)
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["kannel.conf"]


def test_copy_keeps_the_source_mode(tmp_path):
    src, dst = tmp_path / "A1.conf", tmp_path / "active-A1.conf"
    src.write_text("group = smsc\n")
    os.chmod(src, 0o640)
    dst.write_text("stale\n")
    copy_atomically(str(src), str(dst))
    assert dst.read_text() == "group = smsc\n" and oct(dst.stat().st_mode & 0o777) == "0o640"
    assert sorted(os.listdir(tmp_path)) == ["A1.conf", "active-A1.conf"]


def test_write_new_creates_the_file_whole_with_its_mode(tmp_path):
    path = tmp_path / "cluster-lock.json"
    assert write_new(str(path), '{"run_id": "a"}\n', mode=0o644) is True
    assert path.read_text() == '{"run_id": "a"}\n' and oct(path.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(tmp_path) == ["cluster-lock.json"]


def test_write_new_never_replaces_an_existing_file(tmp_path):
    path = tmp_path / "cluster-lock.json"
    path.write_text("held by another run\n")
    assert write_new(str(path), b"mine\n") is False
    assert path.read_text() == "held by another run\n"
    assert os.listdir(tmp_path) == ["cluster-lock.json"]


def test_write_new_syncs_before_the_file_appears(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(atomic_file.os, "fsync", lambda fd: synced.append(os.path.exists(str(tmp_path / "f"))))
    write_new(str(tmp_path / "f"), "x")
    assert synced == [False]


def test_exclusive_lock_keeps_other_processes_out_until_the_block_ends(tmp_path):
    path = str(tmp_path / "x.lock")

    def other_process_can_lock():
        pid = os.fork()
        if pid == 0:  # the child: try without waiting
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os._exit(0)
            except OSError:
                os._exit(1)
        return os.waitpid(pid, 0)[1] == 0

    with exclusive_lock(path, 0o644):
        assert oct(os.stat(path).st_mode & 0o777) == "0o644"
        assert not other_process_can_lock()
    assert other_process_can_lock()


def test_the_watchers_state_is_written_synced(tmp_path, monkeypatch):
    # the watcher's state (module_utils/watch_state.py) is written by this writer: a crash right
    # after a takeover is recorded cannot leave an empty state file
    synced = []
    monkeypatch.setattr(atomic_file.os, "fsync", synced.append)
    StateFile(str(tmp_path), "c1").update(lambda st: dict(st, mode="paused"))
    assert len(synced) == 1 and sorted(os.listdir(tmp_path)) == ["c1.json", "c1.lock"]
