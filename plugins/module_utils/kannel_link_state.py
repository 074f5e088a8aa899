# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state a link manager works from: the links asked for, their files and what bearerbox's
status page says of them (base of smsgw.cluster's LinkManager)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import links_by_admin_id
from ansible_collections.smsgw.cluster.plugins.module_utils.task_error import TaskError

SETTLING = ("disconnected",)
LOADED_NOT_ONLINE = ("connecting", "re-connecting")


class LinkError(TaskError):
    """A link manager's failure."""


class LinkState(object):
    """The links, their settings and what was read and done; polling of status.xml."""

    def __init__(self, admin, links, state, active_dir, available_dir, wait_timeout=30.0,
                 drain_timeout=0.0, require_online=True, check_mode=False, sleep=time.sleep,
                 clock=time.monotonic, stand_ins=False):
        self.admin = admin
        self.ids = []
        for link in links:
            if link not in self.ids:
                self.ids.append(link)
        self.state = state
        self.active_dir = active_dir
        self.available_dir = available_dir
        self.wait_timeout = float(wait_timeout)
        self.drain_timeout = float(drain_timeout)
        self.require_online = require_online
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock
        # True for the manager of stand-ins (<id>.held) a held/active run delegates to: they are
        # done once loaded, they never come online.
        self.stand_ins = stand_ins
        self.actions = []
        self.warnings = []
        self.changed = False
        self.status_requests = 0
        self.reachable = True
        self.before = {}
        self.after = {}
        self.not_online = {}
        self.loaded_count = None
        self.loaded_ids = set()
        self.before_loaded = None
        self.gateway_queued = 0

    def available_path(self, link):
        return os.path.join(self.available_dir, link + ".conf")

    def active_path(self, link):
        return os.path.join(self.active_dir, link + ".conf")

    def read_states(self):
        self.status_requests += 1
        status = self.admin.status()
        by_id = links_by_admin_id(status)
        self.loaded_ids = set(by_id)
        self.loaded_count = len(status["links"])
        self.gateway_queued = status["sms"]["sent_queued"]
        return dict((link, by_id.get(link)) for link in self.ids)

    @staticmethod
    def state_of(entry):
        return entry["state"] if entry else "absent"

    def poll(self, done, timeout, first=None):
        """Poll status.xml (all links per read) until done(states) or timeout. Returns states."""
        deadline = self.clock() + timeout
        states = first
        delay = 0.02
        while True:
            if states is not None and done(states):
                return states, True
            if self.clock() >= deadline:
                return states, False
            self.sleep(delay)
            delay = min(delay * 2, 0.25)
            states = self.read_states()

    def record(self, link, action, **extra):
        item = {"link": link, "action": action}
        item.update(extra)
        self.actions.append(item)

    def describe(self, states, links):
        return ", ".join("%s (%s)" % (link, self.state_of(states.get(link)) if states else "unknown")
                         for link in links)
