#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kannel_node_files
short_description: Write every file of a Kannel node in one run (configs, units, link files)
description:
  - Makes a node's directories, configuration files and provider link files what the caller
    rendered on the controller, in one module run however many files there are. Each file is
    compared with what is on disk; only changed files are written, each atomically (a temporary
    file in the same directory, synced and renamed over the old one), and only differing owners
    and modes are corrected.
  - In this order; the directories; the files with O(files[].validate=false) (the config checker itself
    may be one of them); then every changed Kannel file is checked with O(validate) before any of
    them is written; the changed link files all together in one check, each changed O(files)
    entry with O(files[].validate=true) alone (each is a whole Kannel configuration). When a check
    fails the task fails naming the files at fault and no Kannel file is written.
  - With O(links), the directory of available link files (one C(smsc) group per file) holds
    exactly those files; copies of them that bearerbox loads (O(active_dir)) are kept equal to the
    new content and files of links that left the list are removed from both directories. A loaded
    copy that had to change is reported in RV(restart_needed); bearerbox must be restarted to apply
    it (a graceful restart or SIGHUP would re-create the link with a second, overlapping bind).
  - What changed is reported as the O(files[].notify) names of the changed files (RV(notify)), so
    the caller restarts only what is affected.
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  directories:
    description: Directories to create (with missing parents) or correct.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      # the same for O(files) (ATTRIBUTES in the argument spec)
      owner: &owner
        description: Owner.
        type: str
        default: root
      group: &group
        description: Group.
        type: str
        default: root
      mode:
        description: Mode, octal string.
        type: str
        default: "0755"
  files:
    description:
      - Files of the node, each with its whole content. The content may hold passwords and is
        never shown; the diff masks the value of every C(*password*) and C(*secret*) field, in
        Kannel configs and in JSON files alike.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path; its directory must exist or be in O(directories).
        type: path
        required: true
      content:
        description: The whole file (never logged).
        type: str
        required: true
      owner: *owner
      group: *group
      mode:
        description: Mode, octal string.
        type: str
        default: "0644"
      validate:
        description: Check the new content with O(validate) before it is written.
        type: bool
        default: false
      notify:
        description: Names reported in RV(notify) when this file is written or corrected.
        type: list
        elements: str
        default: []
  links:
    description:
      - Every link file the node must have, each with its C(name) and C(content). C(name) is a
        plain file name ending in C(.conf). Omitted, the link directories are left alone.
    type: list
    elements: dict
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
  links_owner:
    description: Owner of the link files.
    type: str
    default: root
  links_group:
    description: Group of the link files (bearerbox reads them as this group).
    type: str
    default: kannel
  links_mode:
    description: Mode of the link files, octal string.
    type: str
    default: "0640"
  validate:
    description:
      - Command that checks a Kannel configuration file; C(%s) is replaced by the path of a
        temporary file with the content to check. Non-zero exit = invalid. Its output is shown on
        a failure with the values of the checked files' password and secret fields masked, and the
        configuration text Kannel echoes (between C(`) and C('), and C(<field> = <value>) dump lines)
        hidden; line numbers stay. Without it nothing is checked.
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what would be created, written, corrected and removed; changes nothing.
  diff_mode:
    support: full
    description: One diff per written or removed file and per created directory, secrets masked.
notes:
  - Files in O(available_dir) that end in C(.conf) and are not in O(links) are removed; other files
    there are left alone. In O(active_dir), which bearerbox includes whole (it loads every file,
    whatever its name), every file that is not one of O(links) is removed, and a loaded copy is
    written through a temporary file in the sibling directory C(<active_dir>.tmp), so an
    interrupted write leaves nothing there that bearerbox would load.
seealso:
  - module: smsgw.cluster.kannel_link
"""

EXAMPLES = r"""
- name: Every file of the node, in one run
  smsgw.cluster.kannel_node_files:
    directories:
      - {path: /etc/kannel, group: kannel, mode: "0750"}
    files:
      - path: /etc/kannel/bearerbox.conf
        content: "{{ lookup('ansible.builtin.template', 'bearerbox.conf.j2') }}"
        group: kannel
        mode: "0640"
        validate: true
        notify: [bearerbox]
    links:
      - {name: A1.conf, content: "group = smsc\nsmsc = smpp\nsmsc-id = A1\n..."}
      - {name: A1.held.conf, content: "group = smsc\n..."}
    validate: /usr/local/lib/smsgw-cluster/kannel-check-cfg %s
  register: node_files

- name: Apply a changed configuration or loaded link
  ansible.builtin.command: systemctl try-restart kannel-bearerbox
  when: node_files.restart_needed or 'bearerbox' in node_files.notify
"""

RETURN = r"""
written:
  description: Paths written (new or changed content), files and link files.
  returned: always
  type: list
  elements: str
  sample: [/etc/kannel/bearerbox.conf, /etc/kannel/smsc-available/A1.conf]
attributes_fixed:
  description: Paths whose owner or mode was corrected (content already right).
  returned: always
  type: list
  elements: str
directories_created:
  description: Directories created.
  returned: always
  type: list
  elements: str
removed:
  description: Paths removed because their link left O(links).
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
  description: True when a loaded link copy changed or was removed; bearerbox must be restarted.
  returned: always
  type: bool
notify:
  description: The O(files[].notify) names of the files written or corrected, sorted, once each.
  returned: always
  type: list
  elements: str
  sample: [bearerbox, systemd]
unchanged:
  description: How many files and link files already had the wanted content.
  returned: always
  type: int
"""

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import write_atomically
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_files import (
    attributes_differ,
    config_errors,
    make_directory,
    node_files_result,
    plan_directories,
    plan_files,
    plan_links,
    set_attributes,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import temp_dir


def resolve(module, entry, what, prefix=""):
    """uid, gid and mode of an entry (owner/group/mode keys, with an optional prefix)."""
    try:
        mode = int(entry[prefix + "mode"], 8)
    except ValueError:
        module.fail_json(msg="%s: mode %r is not an octal mode such as 0640" % (what, entry[prefix + "mode"]))
    try:
        uid = pwd.getpwnam(entry[prefix + "owner"]).pw_uid
        gid = grp.getgrnam(entry[prefix + "group"]).gr_gid
    except KeyError as e:
        module.fail_json(msg="%s: owner %s / group %s: %s (is Kannel installed?)"
                         % (what, entry[prefix + "owner"], entry[prefix + "group"], e.args[0]))
    return uid, gid, mode


ATTRIBUTES = dict(owner=dict(type="str", default="root"), group=dict(type="str", default="root"))
ARGUMENT_SPEC = dict(
    directories=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="path", required=True), mode=dict(type="str", default="0755"),
        **ATTRIBUTES)),
    files=dict(type="list", elements="dict", default=[], options=dict(
        path=dict(type="path", required=True),
        content=dict(type="str", required=True, no_log=True),
        mode=dict(type="str", default="0644"),
        validate=dict(type="bool", default=False),
        notify=dict(type="list", elements="str", default=[]),
        **ATTRIBUTES)),
    links=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        content=dict(type="str", required=True, no_log=True),
    )),
    available_dir=dict(type="path", default="/etc/kannel/smsc-available"),
    active_dir=dict(type="path", default="/etc/kannel/smsc-active"),
    links_owner=dict(type="str", default="root"),
    links_group=dict(type="str", default="kannel"),
    links_mode=dict(type="str", default="0640"),
    validate=dict(type="str"),
)


def checked_entries(module):
    """Directories and files with their uid/gid/mode, or the module fails naming the entry."""
    p = module.params
    dirs = []
    for d in p["directories"]:
        uid, gid, mode = resolve(module, d, d["path"])
        dirs.append(dict(path=d["path"], uid=uid, gid=gid, mode=mode))
    files, seen = [], set()
    for f in p["files"]:
        if not os.path.isabs(f["path"]) or f["path"] in seen:
            module.fail_json(msg="files: %s is not an absolute path or is given twice" % f["path"])
        seen.add(f["path"])
        uid, gid, mode = resolve(module, f, f["path"])
        files.append(dict(f, uid=uid, gid=gid, mode=mode))
    planned_dirs = set(d["path"] for d in dirs)
    for f in files:
        parent = os.path.dirname(f["path"])
        if not os.path.isdir(parent) and parent not in planned_dirs:
            module.fail_json(msg="files: the directory of %s does not exist" % f["path"])
    return dirs, files, planned_dirs


def checked_links(module, planned_dirs):
    """{file name: content} of the links (None: links not managed) and their uid/gid/mode."""
    p = module.params
    if p["links"] is None:
        return None, (None, None, None)
    links = {}
    for item in p["links"]:
        name = item["name"]
        if "/" in name or not name.endswith(".conf") or name.startswith("."):
            module.fail_json(msg="links: %r is not a plain file name ending in .conf" % name)
        if name in links:
            module.fail_json(msg="links: %s is given twice" % name)
        links[name] = item["content"]
    for key in ("available_dir", "active_dir"):
        if not os.path.isdir(p[key]) and p[key] not in planned_dirs:
            module.fail_json(msg="%s %s is not a directory and not in directories" % (key, p[key]))
    return links, resolve(module, p, "links", prefix="links_")


def plan(module, dirs, files, links, link_attrs):
    """What is to be created, written, refreshed, removed or given its attributes."""
    p = module.params
    plans = {}
    plans["create_dirs"], plans["fix_dirs"] = plan_directories(dirs)
    plans["write_files"], plans["fix_files"], plans["before"] = plan_files(files)
    plans["links"] = plan_links(links or {}, p["available_dir"], p["active_dir"]) if links is not None else \
        {"write": [], "refresh": [], "remove": [], "unchanged": 0, "before": {}}
    plans["fix_links"] = [
        os.path.join(p["available_dir"], n) for n in sorted(links or {})
        if n not in plans["links"]["write"] and os.path.exists(os.path.join(p["available_dir"], n))
        and attributes_differ(os.path.join(p["available_dir"], n), *link_attrs)]
    by_path = dict((f["path"], f) for f in files)
    plans["checked"] = [path for path in plans["write_files"] if by_path[path]["validate"]]
    return plans, by_path


def apply(module, plans, dirs, by_path, links, link_attrs):
    """Make the changes: what needs no Kannel check first, the checked files once they pass."""
    p, todo = module.params, plans["links"]
    if not module.check_mode:
        for d in dirs:
            if d["path"] in plans["create_dirs"] or d["path"] in plans["fix_dirs"]:
                make_directory(d["path"], d["uid"], d["gid"], d["mode"])
        for path in plans["write_files"]:
            if path not in plans["checked"]:
                f = by_path[path]
                write_atomically(path, f["content"], f["uid"], f["gid"], f["mode"])
    errors = config_errors(p["validate"], [(path, by_path[path]["content"]) for path in plans["checked"]],
                           [(n, links[n]) for n in todo["write"]], p["available_dir"])
    if errors:
        module.fail_json(msg="Kannel rejects %s (no Kannel configuration was written)" % "; ".join(errors),
                         changed=bool(plans["create_dirs"] or plans["fix_dirs"]
                                      or [x for x in plans["write_files"] if x not in plans["checked"]]))
    if module.check_mode:
        return
    for path in plans["checked"]:
        f = by_path[path]
        write_atomically(path, f["content"], f["uid"], f["gid"], f["mode"])
    for path in plans["fix_files"]:
        f = by_path[path]
        set_attributes(path, f["uid"], f["gid"], f["mode"])
    for name in todo["write"]:
        write_atomically(os.path.join(p["available_dir"], name), links[name], *link_attrs)
    for name in todo["refresh"]:
        write_atomically(os.path.join(p["active_dir"], name), links[name], *link_attrs,
                         tmp_dir=temp_dir(p["active_dir"]))
    for path in plans["fix_links"]:
        set_attributes(path, *link_attrs)
    for path in todo["remove"]:
        os.unlink(path)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    dirs, files, planned_dirs = checked_entries(module)
    links, link_attrs = checked_links(module, planned_dirs)
    plans, by_path = plan(module, dirs, files, links, link_attrs)
    apply(module, plans, dirs, by_path, links, link_attrs)
    module.exit_json(**node_files_result(plans, files, by_path, links, module.params["available_dir"],
                                         module.params["active_dir"]))


if __name__ == "__main__":
    main()
