# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the collection's modules replace a file on a node: a reader (bearerbox at a
restart, the guard, an operator) sees the old file or the new one, never half of one, and a failed
write leaves neither a half-written target nor a stray temporary file behind. Standard library only:
the node's guard gets this file installed beside it and writes with it too."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode("utf-8") if not isinstance(content, bytes) else content)
            f.flush()
            os.fsync(f.fileno())
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


def copy_atomically(src, dst, tmp_dir=None):
    """Replace dst by a copy of src with src's owner and mode (tmp_dir: see write_atomically)."""
    st = os.stat(src)
    with open(src, "rb") as f:
        data = f.read()
    write_atomically(dst, data, st.st_uid, st.st_gid, st.st_mode & 0o7777, tmp_dir=tmp_dir)
