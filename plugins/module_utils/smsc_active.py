# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which files belong in the directory bearerbox includes (``smsc-active``), and where the files
bound for it are written first.

Kannel 1.4.5's ``include = "<directory>"`` loads every file in it, whatever its name (measured: a
hidden ``.A1.conf.tmp`` copy of a link and an ``X.conf.guard-tmp.5`` file were both loaded at the
next start, beside ``A1.conf``: the same link twice, i.e. two binds of one account). So a writer
killed between creating its temporary file and renaming it must not leave that file there: files
for the directory are written in a sibling directory on the same file system (``temp_dir``; the
rename stays atomic), and whatever is in the directory that is not a wanted link file is swept out.

One rule for every writer of the directory: the start-up guard (module_utils/guard_start.py),
kannel_link / kannel_serve
(module_utils/kannel_links.py) and kannel_node_files. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# A link id is also its file name <id>.conf (kannel_link validates ids with it). \Z, not $: with
# re.match `$` also matches before a trailing newline.
LINK_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*\Z")
SUFFIX = ".conf"


def temp_dir(active_dir):
    """The directory where files bound for active_dir are written before their rename: beside it,
    so on the same file system, and not included by bearerbox."""
    return os.path.normpath(active_dir) + ".tmp"


def link_id(name):
    """The id of a link file name ``<id>.conf``; None for any other name (a temporary file, a
    backup, an editor's swap file: bearerbox would load it all the same)."""
    if name.endswith(SUFFIX) and LINK_ID_RE.match(name[:-len(SUFFIX)]):
        return name[:-len(SUFFIX)]
    return None


def present(active_dir):
    """The names of the files in active_dir ([] when it does not exist); directories are left
    out (bearerbox reads files)."""
    try:
        names = os.listdir(active_dir)
    except FileNotFoundError:
        return []
    return [n for n in names if not os.path.isdir(os.path.join(active_dir, n))]


def wanted_ids(sets, serving, own, stand_ins, present=()):
    """Ids whose file belongs in the directory when the node serves the sets `serving`.

    sets: {set: {"links": [ids]}}; own: this node's set; stand_ins: {own link: stand-in id};
    present: the file names in the directory now. The links of the served sets belong; a stand-in
    of an own link belongs while the own set is not served (it keeps the messages queued for the
    link until failback) and, when it is served, only while the link's own file is not there yet
    (an interrupted failback: the messages wait on the stand-in until the link is loaded)."""
    ids = set()
    for name in serving:
        ids.update((sets.get(name) or {}).get("links") or [])
    for link, stand_in in stand_ins.items():
        if own not in serving or link + SUFFIX not in present:
            ids.add(stand_in)
    return ids


def unwanted(names, keep=None):
    """The names among `names` that do not belong: every name that is no link file's, and, when
    keep (a set of ids) is given, the link files whose id is not in it."""
    out = []
    for name in sorted(names):
        ident = link_id(name)
        if ident is None or (keep is not None and ident not in keep):
            out.append(name)
    return out


def sweep(active_dir, keep=None, check_mode=False):
    """Remove the unwanted files (see unwanted) from active_dir; returns their names. A name that
    is gone meanwhile is skipped."""
    removed = []
    for name in unwanted(present(active_dir), keep):
        if not check_mode:
            try:
                os.remove(os.path.join(active_dir, name))
            except FileNotFoundError:
                continue
        removed.append(name)
    return removed
