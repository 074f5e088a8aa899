# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client for the Kannel 1.4.5 bearerbox HTTP admin interface.

Rules this client keeps (measured Kannel behaviour):
- every answer is HTTP 200; only the body says what happened, so replies are interpreted by text;
- a wrong password is answered ``Denied`` after a delay that grows by 1 s per consecutive failure
  and the admin server answers one request at a time: a ``Denied`` is never retried;
- the password travels in the query string, so it is scrubbed from every message this module makes
  (urllib errors echo the URL);
- every request has a timeout.

Standard library only (the node's guard runs it without Ansible): the default transport is
UrllibFetch; modules pass module_utils/kannel_admin_ansible.py's UrlsFetch (ansible-core's urls).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import re
import socket
import time
import urllib.request

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

# scrub(text, *passwords): one implementation, shared with the node's guard
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_scrub import scrub  # noqa: F401
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import (
    KannelBadStatus,
    KannelDenied,
    is_denied,
    parse_status,
)

DEFAULT_ADMIN_URL = "http://127.0.0.1:13000"
DEFAULT_TIMEOUT = 5

LINK_COMMANDS = ("stop-smsc", "start-smsc", "add-smsc", "remove-smsc")

# Successful replies of the link commands (the smsc id is quoted `X').
_LINK_OK = {
    "stop-smsc": re.compile(r"^SMSC `(?P<id>[^']*)' shut down$"),
    "start-smsc": re.compile(r"^SMSC `(?P<id>[^']*)' re-started$"),
    "add-smsc": re.compile(r"^SMSC `(?P<id>[^']*)' added$"),
    "remove-smsc": re.compile(r"^SMSC `(?P<id>[^']*)' removed$"),
}
_LINK_FAIL = re.compile(r"^Could not (?:shut down|re-start|add|remove) smsc-id `(?P<id>[^']*)'$")
_GATEWAY_OK = {
    "suspend": "Kannel suspended",
    "isolate": "Kannel isolated from message providers",
    "resume": "Running resumed",
    # Also the answer when the restart then silently does nothing (a configuration error):
    # callers confirm its effect in status.xml.
    "graceful-restart": "Restarting gracefully.....",
}


def to_text(data):
    """A reply body as text (undecodable bytes kept as surrogates, as ansible's to_text does)."""
    if isinstance(data, bytes):
        return data.decode("utf-8", "surrogateescape")
    return data


class KannelAdminError(Exception):
    """Base error; its text never contains the password."""


class KannelUnreachable(KannelAdminError):
    """Nothing (usable) answered at the admin URL: refused, timed out, DNS, TLS, HTTP error code.
    ``refused``: the connection was refused (nothing listens there: bearerbox is not running, or
    not listening yet), as opposed to silence (a hung bearerbox accepts and never answers).
    ``broken``: an answer came that broke off or was no HTTP (http.client.HTTPException): the host
    answered. A refusal or a broken answer both tell a peer's host from one that is silent."""

    def __init__(self, msg, refused=False, broken=False):
        super(KannelUnreachable, self).__init__(msg)
        self.refused = refused
        self.broken = broken

    @property
    def host_answered(self):
        return self.refused or self.broken


class KannelAdminDenied(KannelAdminError):
    """bearerbox answered ``Denied``: wrong password or this address is not in admin-allow-ip."""


class KannelBadReply(KannelAdminError):
    """bearerbox answered something this client does not understand."""


def interpret_reply(command, smsc, text):
    """Interpret the body of an admin command reply.

    Returns ``{"command", "smsc", "ok", "reply"}``. Raises KannelAdminDenied on ``Denied``.
    ``ok`` is False for Kannel's ``Could not ...``, ``SMSC id not given`` and unknown replies.
    """
    reply = to_text(text or "").strip()
    result = {"command": command, "smsc": smsc, "ok": False, "reply": reply}
    if is_denied(reply):
        raise KannelAdminDenied("bearerbox answered Denied to %s" % command)
    if command in _LINK_OK:
        m = _LINK_OK[command].match(reply)
        if m and (smsc is None or m.group("id") == smsc):
            result["ok"] = True
        return result
    if command in _GATEWAY_OK:
        result["ok"] = reply == _GATEWAY_OK[command]
        return result
    result["ok"] = not reply.startswith("Unknown command") and not _LINK_FAIL.match(reply)
    return result


class UrllibFetch(object):
    """GET with the standard library (no proxy, as UrlsFetch): the transport outside Ansible (the
    node's guard). Raises what urllib raises; KannelAdmin turns it into KannelUnreachable."""

    def __init__(self):
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __call__(self, url, timeout):
        with self._opener.open(url, timeout=timeout) as reply:
            return to_text(reply.read())


class KannelAdmin(object):
    """One bearerbox admin endpoint.

    ``fetch`` is a callable ``fetch(url, timeout) -> body text`` (tests pass a fake); by default
    UrllibFetch (standard library). Modules pass kannel_admin_ansible.UrlsFetch.
    """

    def __init__(self, url=DEFAULT_ADMIN_URL, password=None, timeout=DEFAULT_TIMEOUT, fetch=None):
        self.url = (url or DEFAULT_ADMIN_URL).rstrip("/")
        self.password = password
        self.timeout = float(timeout)
        self.fetch = fetch or UrllibFetch()
        self.requests = 0

    @property
    def safe_url(self):
        return scrub(self.url, self.password)

    def _get(self, path, params=None):
        query = dict(params or {})
        if self.password is not None:
            query["password"] = self.password
        url = "%s/%s" % (self.url, path)
        if query:
            url += "?" + urlencode(sorted(query.items()))
        self.requests += 1
        started = time.monotonic()
        try:
            return self.fetch(url, self.timeout)
        except HTTPError as e:
            raise KannelUnreachable(scrub(
                "%s/%s answered HTTP %s (%s); bearerbox answers every admin request with 200, so "
                "this is not a bearerbox admin port (check admin_url)"
                % (self.url, path, e.code, e.reason), self.password))
        except (socket.timeout, TimeoutError) as e:
            raise KannelUnreachable(scrub(
                "no answer from %s/%s within %.1f s (%s)" % (self.url, path, self.timeout, e),
                self.password))
        except URLError as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                msg = "no answer from %s/%s within %.1f s" % (self.url, path, self.timeout)
            else:
                msg = "cannot reach %s/%s: %s" % (self.url, path, reason)
            raise KannelUnreachable(scrub(msg, self.password),
                                    refused=isinstance(reason, ConnectionRefusedError))
        except Exception as e:  # urls raises several non-urllib types (SSL, connection, value)
            raise KannelUnreachable(scrub(
                "cannot reach %s/%s after %.2f s: %s: %s"
                % (self.url, path, time.monotonic() - started, type(e).__name__, e),
                self.password), refused=isinstance(e, ConnectionRefusedError),
                broken=isinstance(e, http.client.HTTPException))

    def status_text(self):
        return self._get("status.xml")

    def status(self):
        """Parsed status.xml. Raises KannelUnreachable, KannelAdminDenied or KannelBadReply."""
        text = self.status_text()
        try:
            return parse_status(text)
        except KannelDenied:
            raise KannelAdminDenied(self.denied_message("status.xml"))
        except KannelBadStatus as e:
            raise KannelBadReply(scrub("%s/status.xml: %s" % (self.url, e), self.password))

    def command(self, name, smsc=None):
        """Send one admin command; return interpret_reply(). Denied raises (never retried)."""
        params = {"smsc": smsc} if smsc is not None else None
        text = self._get(name, params)
        try:
            return interpret_reply(name, smsc, text)
        except KannelAdminDenied:
            raise KannelAdminDenied(self.denied_message(name))

    def denied_message(self, what):
        return scrub(
            "bearerbox at %s answered Denied to %s: the password is wrong (commands need the "
            "admin-password, status pages accept the status-password too) or this address is not "
            "in admin-allow-ip. Not retried: bearerbox delays every further wrong-password answer "
            "by one more second and blocks its whole admin interface meanwhile. Fix admin_password "
            "and run again." % (self.url, what), self.password)
