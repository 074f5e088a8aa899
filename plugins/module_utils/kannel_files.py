# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning and applying the files of a Kannel node (smsgw.cluster.kannel_node_files): what differs
from the wanted content and attributes, the Kannel config check, and masking secrets in diffs.
Separated from the module so unit tests can drive it without AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import tempfile

from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import SUFFIX, present, unwanted

# Kannel (`admin-password = "x"`) and JSON (`"admin_password": "x",`) secret fields.
SECRET_LINE = re.compile(r'^(\s*"?[\w-]*(?:password|secret)[\w-]*"?\s*[=:]\s*)(.*?)(,?)[ \t]*$',
                         re.IGNORECASE | re.MULTILINE)


# Kannel echoes configuration text in its messages: a line it could not read between ` and '
# (measured with test_cfg 1.4.5: "Failed to include `<the whole value>' (on line N of file F)" for
# a value holding "include") and every field in test_cfg's dump (`<field> = <value>`).
ECHOED_LINE = re.compile(r"`[^'\n]*'")
DUMPED_VALUE = re.compile(r"(<[\w.-]+> = <)[^\n]*(>)")


def masked(text):
    """text with the value of every password/secret field replaced (for diffs)."""
    return SECRET_LINE.sub(r'\1"********"\3', text) if text is not None else ""


def secrets_in(contents):
    """The values of the password/secret fields of the given texts, unquoted."""
    found = set()
    for text in contents:
        for m in SECRET_LINE.finditer(text):
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if value:
                found.add(value)
    return found


def scrubbed(output, contents, path):
    """A config checker's output without the secrets of the checked contents and without the
    config text Kannel echoes (the line number and file name stay: they say where to look)."""
    for secret in sorted(secrets_in(contents), key=len, reverse=True):
        output = output.replace(secret, "********")
    output = ECHOED_LINE.sub(lambda m: m.group(0) if _names_a_file(m.group(0)[1:-1], path) else "`(hidden)'",
                             output)
    return DUMPED_VALUE.sub(r"\1(hidden)\2", output)


def _names_a_file(text, path):
    """Kannel also quotes file names (`Error found on line N of file `F'`): those stay."""
    return text == path or (os.path.isabs(text) and os.path.exists(text))


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def conf_files(directory):
    try:
        return sorted(n for n in os.listdir(directory) if n.endswith(".conf"))
    except FileNotFoundError:
        return []


def attributes_differ(path, uid, gid, mode):
    st = os.stat(path)
    return st.st_uid != uid or st.st_gid != gid or (st.st_mode & 0o7777) != mode


def plan_directories(directories):
    """directories: [{path, uid, gid, mode}] -> (paths to create, paths whose owner/mode differ)."""
    create = [d["path"] for d in directories if not os.path.isdir(d["path"])]
    fix = [d["path"] for d in directories if d["path"] not in create
           and attributes_differ(d["path"], d["uid"], d["gid"], d["mode"])]
    return create, fix


def plan_files(files):
    """files: [{path, content, uid, gid, mode}] -> (paths to write, paths to fix, {path: before})."""
    write, fix, before = [], [], {}
    for f in files:
        current = read(f["path"])
        if current != f["content"]:
            write.append(f["path"])
            before[f["path"]] = current
        elif attributes_differ(f["path"], f["uid"], f["gid"], f["mode"]):
            fix.append(f["path"])
    return write, fix, before


def plan_links(wanted, available_dir, active_dir):
    """What to do to make the link directories match wanted ({name: content}).

    -> {write: [names], refresh: [names], remove: [paths], unchanged: int, before: {name: text}}
    """
    write, before = [], {}
    for name in sorted(wanted):
        current = read(os.path.join(available_dir, name))
        if current != wanted[name]:
            write.append(name)
            before[name] = current
    refresh = [name for name in conf_files(active_dir)
               if name in wanted and read(os.path.join(active_dir, name)) != wanted[name]]
    # bearerbox loads every file there: out with what is no wanted link's file (a temporary file
    # of an interrupted write included)
    keep = set(n[:-len(SUFFIX)] for n in wanted)
    remove = [os.path.join(active_dir, name) for name in unwanted(present(active_dir), keep)]
    remove[:0] = [os.path.join(available_dir, n) for n in conf_files(available_dir) if n not in wanted]
    return {"write": write, "refresh": refresh, "remove": sorted(remove),
            "unchanged": len(wanted) - len(write), "before": before}


def validate(command, contents, workdir, run=subprocess.run):
    """Run command on one file holding every content -> error text, or None when valid."""
    fd, path = tempfile.mkstemp(prefix=".validate-", suffix=".cfg", dir=workdir)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(c if c.endswith("\n") else c + "\n" for c in contents))
        proc = run(command.replace("%s", path), shell=True, capture_output=True, text=True,
                   check=False)
        if proc.returncode != 0:
            return scrubbed((proc.stdout + proc.stderr).strip(), contents, path) or "exit code %d" % proc.returncode
        return None
    finally:
        os.unlink(path)


def make_directory(path, uid, gid, mode):
    if not os.path.isdir(path):
        os.makedirs(path)
    set_attributes(path, uid, gid, mode)


def set_attributes(path, uid, gid, mode):
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def config_errors(command, files, links, links_dir):
    """Errors of the Kannel check: the link files together (one check), each whole config alone.

    files: [(path, content)]; links: [(name, content)]. A failing link check is repeated per file
    to name the ones at fault. In check mode on a node without the directories yet there is no
    place to check in: such files are not checked.
    """
    if not command:
        return []
    errors = []
    if links and os.path.isdir(links_dir):
        error = validate(command, [c for n, c in links], links_dir)
        if error is not None:
            bad = [n for n, c in links if validate(command, [c], links_dir) is not None]
            errors.append("%s: %s" % (", ".join(bad) or "the link files together", error))
    for path, content in files:
        if not os.path.isdir(os.path.dirname(path)):
            continue
        error = validate(command, [content], os.path.dirname(path))
        if error is not None:
            errors.append("%s: %s" % (path, error))
    return errors


def node_files_result(plans, files, by_path, links, available_dir, active_dir):
    """smsgw.cluster.kannel_node_files' result: what changed, the masked diff and the handlers to
    notify, from its plans (kannel_node_files.plan) and what was asked for."""
    todo = plans["links"]
    write_files, fix_files = plans["write_files"], plans["fix_files"]
    written = write_files + [os.path.join(available_dir, n) for n in todo["write"]]
    link_before = dict((os.path.join(available_dir, n), t) for n, t in todo["before"].items())
    after = dict((f["path"], f["content"]) for f in files)
    after.update((os.path.join(available_dir, n), links[n]) for n in todo["write"])
    diff = [{"before_header": path, "after_header": path, "before": "(absent)\n", "after": "(directory)\n"}
            for path in plans["create_dirs"]]
    diff += [{"before_header": path, "after_header": path,
              "before": masked(plans["before"].get(path, link_before.get(path))), "after": masked(after[path])}
             for path in written]
    diff += [{"before_header": path, "after_header": path, "before": "(present)\n",
              "after": "(absent)\n"} for path in todo["remove"]]
    changed = bool(plans["create_dirs"] or plans["fix_dirs"] or write_files or fix_files or todo["write"]
                   or todo["refresh"] or todo["remove"] or plans["fix_links"])
    return dict(changed=changed, written=written,
                attributes_fixed=plans["fix_dirs"] + fix_files + plans["fix_links"],
                directories_created=plans["create_dirs"], refreshed=todo["refresh"], removed=todo["remove"],
                restart_needed=bool(todo["refresh"]) or any(
                    path.startswith(os.path.join(active_dir, "")) for path in todo["remove"]),
                notify=sorted(set(name for path in write_files + fix_files for name in by_path[path]["notify"])),
                unchanged=len(files) - len(write_files) + todo["unchanged"], diff=diff)
