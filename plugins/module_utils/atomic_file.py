# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the collection's modules replace a file on a node: a reader (bearerbox at a
restart, the guard, an operator) sees the old file or the new one, never half of one, and a failed
write leaves neither a half-written target nor a stray temporary file behind."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def write_atomically(path, content, uid=None, gid=None, mode=None):
    """Replace path by a file holding content (str or bytes), with owner uid:gid and mode.

    The temporary file is made in path's own directory (a rename within one file system is
    atomic) and synced before the rename, so a crash right after cannot leave an empty file in
    place. uid/gid None keeps the writer's; mode None leaves mkstemp's 0600.
    """
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(path))
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


def copy_atomically(src, dst):
    """Replace dst by a copy of src with src's owner and mode."""
    st = os.stat(src)
    with open(src, "rb") as f:
        data = f.read()
    write_atomically(dst, data, st.st_uid, st.st_gid, st.st_mode & 0o7777)
