# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failure a manager of the modules raises (module_utils/kannel_links.py, kannel_smsbox.py),
which module_utils/kannel_admin_ansible.py turns into the task's failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class TaskError(Exception):
    """The message and the result fields (what was done so far) the task fails with."""

    def __init__(self, msg, **extra):
        super(TaskError, self).__init__(msg)
        self.msg = msg
        self.extra = extra
