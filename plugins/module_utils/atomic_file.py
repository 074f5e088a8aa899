# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the collection's code replaces a file on a node: a reader (bearerbox at a
restart, the guard, an operator) sees the old file or the new one, never half of one, and a failed
write leaves neither a half-written target nor a stray temporary file behind. Also the one way a
file is created only if it does not exist yet (write_new: the cluster lock) and the one exclusive
lock on a file (exclusive_lock: read-modify-write of the watcher's state, the cluster lock).
Standard library only: the node's guard (module_utils/guard_*.py) writes with it too."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import tempfile


def write_atomically(path, content, uid=None, gid=None, mode=None, tmp_dir=None):
    """Replace path by a file holding content (str or bytes), with owner uid:gid and mode.

    The temporary file is made in tmp_dir (created if missing), by default path's own directory;
    it must be on path's file system (a rename within one file system is atomic). A directory
    that a program reads whole (bearerbox's include directory: module_utils/smsc_active.py) needs
    another one: a writer killed before its rename leaves its temporary file there. The file is
    synced before the rename, so a crash right after cannot leave an empty file in place.
    uid/gid None keeps the writer's; mode None leaves mkstemp's 0600.
    """
    if tmp_dir is None:
        tmp_dir = os.path.dirname(path)
    elif not os.path.isdir(tmp_dir):
        os.makedirs(tmp_dir, 0o700)
    tmp = _synced_temp_file(path, content, tmp_dir)
    try:
        st = os.stat(tmp)
        # chown only when needed: an unprivileged caller (tests) can write its own files
        if (uid is not None and uid != st.st_uid) or (gid is not None and gid != st.st_gid):
            os.chown(tmp, st.st_uid if uid is None else uid, st.st_gid if gid is None else gid)
        if mode is not None:
            os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_new(path, content, mode=None):
    """Create path holding content (str or bytes) unless path exists: True when created, False
    when it existed (then it is left as it was). The file appears complete or not at all: a
    synced temporary file in path's directory is linked to path (link never replaces, so of two
    writers racing for the name exactly one succeeds), then the temporary name is removed.
    mode None leaves mkstemp's 0600."""
    tmp = _synced_temp_file(path, content, os.path.dirname(path))
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        try:
            os.link(tmp, path)
        except OSError as e:
            if e.errno == errno.EEXIST:
                return False
            raise
        return True
    finally:
        os.unlink(tmp)


@contextlib.contextmanager
def exclusive_lock(path, mode=0o600):
    """Hold an exclusive flock on path (created with mode if missing) for the with block; it
    waits while another process holds it. The lock goes with the process: a killed holder
    leaves no stale lock behind."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _synced_temp_file(path, content, tmp_dir):
    """A temporary file in tmp_dir named after path, holding content, synced to disk: its name."""
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode("utf-8") if not isinstance(content, bytes) else content)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def copy_atomically(src, dst, tmp_dir=None):
    """Replace dst by a copy of src with src's owner and mode (tmp_dir: see write_atomically)."""
    st = os.stat(src)
    with open(src, "rb") as f:
        data = f.read()
    write_atomically(dst, data, st.st_uid, st.st_gid, st.st_mode & 0o7777, tmp_dir=tmp_dir)


def same_file(src, dst):
    """True when dst exists with src's content, mode and owner."""
    try:
        s, d = os.stat(src), os.stat(dst)
    except OSError:
        return False
    if (s.st_mode & 0o7777, s.st_uid, s.st_gid) != (d.st_mode & 0o7777, d.st_uid, d.st_gid):
        return False
    if s.st_size != d.st_size:
        return False
    with open(src, "rb") as a, open(dst, "rb") as b:
        return a.read() == b.read()
