# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changed in a node's installed packages between two `dpkg-query -W` listings
(maintenance.yml reports it per node: whatever the maintenance was, packages, an operator's task
file or a reboot, the listing shows what it did to the packages)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: dpkg_changes
short_description: Packages upgraded, downgraded, installed or removed between two dpkg listings
description:
  - Compares two listings of C(dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n')
    (lines C(name version status)); only installed packages (status C(ii)) count.
  - Returns one entry per package whose version differs, sorted by name.
positional: after
options:
  _input:
    description: The listing before, as lines.
    type: list
    elements: str
    required: true
  after:
    description: The listing after, as lines.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: What the maintenance changed
  ansible.builtin.set_fact:
    changes: "{{ before.stdout_lines | smsgw.cluster.dpkg_changes(after.stdout_lines) }}"
"""

RETURN = r"""
_value:
  description: Per changed package C(name), C(before) and C(after) (the version; null when the
    package was not installed then).
  type: list
  elements: dict
"""


def installed(lines):
    """{package: version} of the installed packages of a listing."""
    found = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "ii":
            found[fields[0]] = fields[1]
    return found


def dpkg_changes(before, after):
    old, new = installed(before), installed(after)
    return [{"name": name, "before": old.get(name), "after": new.get(name)}
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


class FilterModule:
    def filters(self):
        return {"dpkg_changes": dpkg_changes}
