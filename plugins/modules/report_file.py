#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: report_file
short_description: Write a playbook's result as JSON in a file on the controller
description:
  - Writes O(content) to O(path) on the controller as indented JSON with sorted keys, making the
    directory when it is missing. The file is replaced whole (a reader sees the previous result or
    this one, never half of one) with mode 0644.
  - An action that runs on the controller only, whichever host the task is for; no module is sent
    to a host.
  - Never reports C(changed), since the file is the run's output, not a change to a host. A file
    that cannot be written fails the task with the reason (callers that must not fail for it use
    C(ignore_errors)).
  - Used by status.yml, takeover.yml, failback.yml and maintenance.yml through
    C(playbooks/tasks/publish_report.yml).
version_added: 0.1.0
author:
  - SMS gateway cluster maintainers (@smsgw)
options:
  path:
    description: The file to write, on the controller.
    type: path
    required: true
  content:
    description: The result to write (a mapping).
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Writes the file in check mode too (the result says that it was a check).
  diff_mode:
    support: none
    description: The file is output, not a state to compare.
"""

EXAMPLES = r"""
- name: Write the takeover's result
  smsgw.cluster.report_file:
    path: "{{ playbook_dir }}/artifacts/takeover.json"
    content: "{{ takeover_report }}"
  run_once: true
"""

RETURN = r"""
path:
  description: The file written (or that could not be written).
  returned: always
  type: str
  sample: /srv/smsgw/playbooks/artifacts/takeover.json
"""
