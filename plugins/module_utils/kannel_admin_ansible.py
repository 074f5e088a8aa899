# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible side of the admin client (module_utils/kannel_admin.py, standard library only):
the modules' common options and the transport over ansible-core's urls, kept apart so that the
client itself runs where Ansible is not installed (the node's guard)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import Request, make_context

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    DEFAULT_ADMIN_URL,
    DEFAULT_TIMEOUT,
)

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
