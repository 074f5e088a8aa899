# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible side of the admin client (module_utils/kannel_admin.py, standard library only):
the modules' common options, the transport over ansible-core's urls and how a module ends a
manager's run, kept apart so that the client itself runs where Ansible is not installed (the
node's guard)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import Request, make_context

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    DEFAULT_ADMIN_URL,
    DEFAULT_TIMEOUT,
    KannelAdmin,
    KannelAdminDenied,
    KannelAdminError,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.task_error import TaskError

KANNEL_ADMIN_ARGSPEC = dict(
    admin_url=dict(type="str", default=DEFAULT_ADMIN_URL),
    admin_password=dict(type="str", required=True, no_log=True),
    timeout=dict(type="float", default=DEFAULT_TIMEOUT),
)


def kannel_admin_argument_spec(**extra):
    spec = dict((k, dict(v)) for k, v in KANNEL_ADMIN_ARGSPEC.items())
    spec.update(extra)
    return spec


class UrlsFetch(object):
    """GET through ansible.module_utils.urls with one reused Request and TLS context.

    open_url() builds a new TLS context (loading the CA bundle) on every call, ~28 ms here even
    for http:// URLs; with one add-smsc per link that dominated activating many links. The
    context is built once per client instead (certificates are still verified for https).
    """

    def __init__(self):
        self._request = None

    def __call__(self, url, timeout):
        if self._request is None:
            self._request = Request(use_proxy=False, follow_redirects="none",
                                    http_agent="smsgw.cluster-kannel-admin",
                                    context=make_context(validate_certs=True))
        resp = self._request.open("GET", url, timeout=timeout)
        try:
            return to_text(resp.read(), errors="surrogate_or_replace")
        finally:
            resp.close()


def kannel_admin(module, password=None):
    """The client of the admin interface the module's options name (admin_password unless
    another password is given)."""
    p = module.params
    return KannelAdmin(p["admin_url"], p["admin_password"] if password is None else password,
                       p["timeout"], fetch=UrlsFetch())


def run_and_exit(module, manager, started, run=None, fields=None):
    """Exit the module with what the manager's run (manager.run(), or run()) returns, or fail it
    naming why; the manager's warnings are warned and elapsed (seconds since started) is in
    either result.

    fields() gives what a failure reports of the work done; by default the manager's changed and
    actions. What a TaskError carries (the manager's result when it failed) comes with them, but
    does not replace them: a manager the failing one delegated to knows only its own part."""
    failure = None
    try:
        result = run() if run else manager.run()
    except TaskError as e:
        failure = (e.msg, e.extra)
    except KannelAdminDenied as e:  # its text names bearerbox and what to fix
        failure = (str(e), {})
    except KannelAdminError as e:
        failure = ("bearerbox admin interface: %s" % e, {})
    except (IOError, OSError) as e:
        failure = ("file operation failed: %s" % e, {})
    for w in manager.warnings:
        module.warn(w)
    elapsed = round(time.monotonic() - started, 3)
    if failure:
        reported = fields() if fields else dict(changed=manager.changed, actions=manager.actions)
        module.fail_json(msg=failure[0], elapsed=elapsed, **dict(failure[1], **reported))
    result["elapsed"] = elapsed
    module.exit_json(**result)
