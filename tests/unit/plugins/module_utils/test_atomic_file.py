"""The one atomic writer of the collection's modules (module_utils/atomic_file.py)."""
import os

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils import atomic_file
from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import (
    copy_atomically,
    write_atomically,
)


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
