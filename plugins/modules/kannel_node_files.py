#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_link_files
short_description: Write every provider link file of a Kannel node in one run
description:
  - Makes the directory of available link files (one C(smsc) group per file) hold exactly the given
    files, in one module run however many links there are. The content is rendered on the
    controller, compared with what is on disk, and only changed files are written, each
    atomically (a temporary file in the same directory, renamed over the old one).
  - Every changed file is checked once, all together, with the O(validate) command before any of
    them is written; when that check fails, each changed file is checked alone to name the ones at
    fault, and nothing is written.
  - Copies of the files that bearerbox loads (O(active_dir)) are kept equal to the new content and
    files of links that left the list are removed from both directories. A loaded copy that had to
    change is reported in RV(restart_needed); bearerbox must be restarted to apply it (a graceful
    restart or SIGHUP would re-create the link with a second, overlapping bind).
version_added: 0.2.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  files:
    description:
      - Every link file the node must have, each with its C(name) and C(content). C(name) is a
        plain file name ending in C(.conf). The content holds provider passwords and is never
        shown; the diff masks every C(*password*) and C(*secret*) value.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: File name, without a directory, ending in C(.conf).
        type: str
        required: true
      content:
        description: The whole file (never logged).
        type: str
        required: true
  available_dir:
    description: Directory of every link's file (bearerbox does not read it).
    type: path
    default: /etc/kannel/smsc-available
  active_dir:
    description: Directory bearerbox includes; holds copies of the loaded links' files.
    type: path
    default: /etc/kannel/smsc-active
  owner:
    description: Owner of the files.
    type: str
    default: root
  group:
    description: Group of the files (bearerbox reads them as this group).
    type: str
    default: kannel
  mode:
    description: Mode of the files, octal string.
    type: str
    default: "0640"
  validate:
    description:
      - Command that checks a Kannel configuration file; C(%s) is replaced by the path of a file
        holding every changed file's content. Non-zero exit = invalid. Its output is shown on a
        failure, so it must not print passwords (the role's C(kannel-check-cfg) does not).
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what would be written and removed; writes nothing.
  diff_mode:
    support: full
    description: One diff per changed file, passwords masked.
notes:
  - Files in O(available_dir) and O(active_dir) that end in C(.conf) and are not in O(files) are
    removed; other files are left alone.
seealso:
  - module: smsgw.cluster.kannel_link
"""

EXAMPLES = r"""
- name: Every link file of the node, in one run
  smsgw.cluster.kannel_link_files:
    files:
      - {name: A1.conf, content: "group = smsc\nsmsc = smpp\nsmsc-id = A1\n..."}
      - {name: A1.held.conf, content: "group = smsc\n..."}
    validate: /usr/local/lib/smsgw-cluster/kannel-check-cfg %s
  register: link_files

- name: Apply a changed loaded link
  ansible.builtin.command: systemctl try-restart kannel-bearerbox
  when: link_files.restart_needed
"""

RETURN = r"""
written:
  description: Names of the files written in O(available_dir) (new or changed content).
  returned: always
  type: list
  elements: str
  sample: [A1.conf]
removed:
  description: Paths removed because their link left O(files).
  returned: always
  type: list
  elements: str
  sample: [/etc/kannel/smsc-available/OLD.conf, /etc/kannel/smsc-active/OLD.conf]
refreshed:
  description: Names of loaded copies in O(active_dir) rewritten with the new content.
  returned: always
  type: list
  elements: str
restart_needed:
  description: True when a loaded copy changed or was removed; bearerbox must be restarted.
  returned: always
  type: bool
unchanged:
  description: How many files already had the wanted content.
  returned: always
  type: int
"""

import grp
import os
import pwd
import re
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule

SECRET_LINE = re.compile(r'^(\s*[\w-]*(?:password|secret)[\w-]*\s*=\s*).*$', re.IGNORECASE | re.MULTILINE)


def masked(text):
    """text with the value of every password/secret field replaced (for diffs)."""
    return SECRET_LINE.sub(r'\1"********"', text) if text is not None else ""


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


def plan(wanted, available_dir, active_dir):
    """What to do to make the directories match wanted ({name: content}).

    -> {write: [names], refresh: [names], remove: [paths], unchanged: int, before: {name: text}}
    """
    write, before = [], {}
    for name in sorted(wanted):
        current = read(os.path.join(available_dir, name))
        if current != wanted[name]:
            write.append(name)
            before[name] = current
    refresh, remove = [], []
    for name in conf_files(active_dir):
        if name not in wanted:
            remove.append(os.path.join(active_dir, name))
        elif read(os.path.join(active_dir, name)) != wanted[name]:
            refresh.append(name)
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
            return (proc.stdout + proc.stderr).strip() or "exit code %d" % proc.returncode
        return None
    finally:
        os.unlink(path)


def write_atomically(path, content, uid, gid, mode):
    """Replace path by a file with content, owner and mode, in one rename."""
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def attributes_differ(path, uid, gid, mode):
    st = os.stat(path)
    return st.st_uid != uid or st.st_gid != gid or (st.st_mode & 0o7777) != mode


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                content=dict(type="str", required=True, no_log=True),
            )),
            available_dir=dict(type="path", default="/etc/kannel/smsc-available"),
            active_dir=dict(type="path", default="/etc/kannel/smsc-active"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="kannel"),
            mode=dict(type="str", default="0640"),
            validate=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    wanted = {}
    for item in p["files"]:
        name = item["name"]
        if "/" in name or not name.endswith(".conf") or name.startswith("."):
            module.fail_json(msg="files: %r is not a plain file name ending in .conf" % name)
        if name in wanted:
            module.fail_json(msg="files: %s is given twice" % name)
        wanted[name] = item["content"]
    for key in ("available_dir", "active_dir"):
        if not os.path.isdir(p[key]):
            module.fail_json(msg="%s %s is not a directory (the role creates it at install)"
                             % (key, p[key]))
    try:
        mode = int(p["mode"], 8)
    except ValueError:
        module.fail_json(msg="mode %r is not an octal mode such as 0640" % p["mode"])
    try:
        uid = pwd.getpwnam(p["owner"]).pw_uid
        gid = grp.getgrnam(p["group"]).gr_gid
    except KeyError as e:
        module.fail_json(msg="owner %s / group %s: %s (is Kannel installed?)"
                         % (p["owner"], p["group"], e.args[0]))

    todo = plan(wanted, p["available_dir"], p["active_dir"])
    fix_attributes = [n for n in sorted(wanted) if n not in todo["write"]
                      and attributes_differ(os.path.join(p["available_dir"], n), uid, gid, mode)]
    if p["validate"] and todo["write"]:
        error = validate(p["validate"], [wanted[n] for n in todo["write"]], p["available_dir"])
        if error is not None:
            bad = [n for n in todo["write"]
                   if validate(p["validate"], [wanted[n]], p["available_dir"]) is not None]
            module.fail_json(msg="Kannel rejects %s (nothing was written): %s"
                             % (", ".join(bad) or "the files together", error))
    changed = bool(todo["write"] or todo["refresh"] or todo["remove"] or fix_attributes)
    if not module.check_mode:
        for name in todo["write"]:
            write_atomically(os.path.join(p["available_dir"], name), wanted[name], uid, gid, mode)
        for name in todo["refresh"]:
            write_atomically(os.path.join(p["active_dir"], name), wanted[name], uid, gid, mode)
        for name in fix_attributes:
            path = os.path.join(p["available_dir"], name)
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        for path in todo["remove"]:
            os.unlink(path)
    diff = [{"before_header": os.path.join(p["available_dir"], n),
             "after_header": os.path.join(p["available_dir"], n),
             "before": masked(todo["before"][n]), "after": masked(wanted[n])}
            for n in todo["write"]]
    diff += [{"before_header": path, "after_header": path, "before": "(present)\n",
              "after": "(absent)\n"} for path in todo["remove"]]
    module.exit_json(changed=changed, written=todo["write"], refreshed=todo["refresh"],
                     removed=todo["remove"], unchanged=todo["unchanged"],
                     restart_needed=bool(todo["refresh"]) or any(
                         path.startswith(os.path.join(p["active_dir"], "")) for path in todo["remove"]),
                     diff=diff)


if __name__ == "__main__":
    main()
