# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The installed versions of some packages from a `dpkg-query -W` listing (maintenance.yml reports
Kannel's and the role's packages before and after each node's maintenance)."""

from __future__ import annotations

from ansible_collections.smsgw.cluster.plugins.filter.dpkg_changes import installed

DOCUMENTATION = r"""
name: dpkg_versions
short_description: Installed versions of the named packages from a dpkg listing
description:
  - Reads a listing of C(dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n') and
    returns the version of each named package (null when it is not installed).
positional: names
options:
  _input:
    description: The listing, as lines.
    type: list
    elements: str
    required: true
  names:
    description: The packages of interest.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Kannel's version
  ansible.builtin.debug:
    msg: "{{ listing.stdout_lines | smsgw.cluster.dpkg_versions(['kannel', 'kannel-extras']) }}"
"""

RETURN = r"""
_value:
  description: Package name -> installed version (null when not installed).
  type: dict
"""


def dpkg_versions(lines, names):
    found = installed(lines)
    return {name: found.get(name) for name in names}


class FilterModule:
    def filters(self):
        return {"dpkg_versions": dpkg_versions}
