# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's guard asking its peer which sets the peer serves: through the collection's admin
client (module_utils/kannel_admin.py, its standard-library transport) and status parser.
Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from urllib.parse import urlsplit

from ansible_collections.smsgw.cluster.plugins.module_utils import kannel_status
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminDenied,
    KannelBadReply,
    KannelUnreachable,
)

# After a Denied the runtime guard asks the peer again after 2 x interval, doubling per Denied in
# a row, at most every DENIED_CAP s (kannel_status.DeniedBackoff). Measured, asking every second:
# bearerbox answered every other client up to ~2 s late and each of the guard's own requests timed
# out (it saw an answering peer as silent). Doubling makes a 20 s storm 4 requests; the cap bounds
# how long rule (1) stays blind once the passwords match again (5 min) and keeps the requests to
# 12 an hour, each delayed by bearerbox one second more than the last until it accepts a password.
DENIED_CAP = 300.0


def host_of(url):
    # Admin URLs hold the password in the query: messages name only the host part.
    return urlsplit(url).netloc


def peer_status(cfg, timeout):
    """The peer's parsed status.xml (KannelAdmin.status: raises KannelUnreachable,
    KannelAdminDenied or KannelBadReply)."""
    return KannelAdmin(cfg["peer_admin_url"], cfg["status_password"], timeout).status()


def active_sets(cfg, status):
    """Sets with any link loaded or their smsbox connected in a parsed status.xml (stand-ins have
    their own admin-ids, so a held link does not count)."""
    loaded = set(kannel_status.links_by_admin_id(status))
    return {name for name, spec in cfg["sets"].items()
            if loaded.intersection(spec["links"]) or kannel_status.find_box(status, spec.get("smsbox"))}


def claimed_sets(cfg, status):
    """The sets the peer's own record (its serving.json) lists, as far as its status.xml shows:
    those it has active, except its own set while any of that set's stand-ins is loaded there. A
    node loads its stand-ins only when its serving.json does not list its own set, and a node
    giving its set up loads them before it removes the links (release_own_set, kannel_link
    state=held): links still loaded beside a stand-in are a release in progress, not a claim."""
    sets = active_sets(cfg, status)
    peer = cfg["peer"]
    if peer in sets:
        loaded = set(kannel_status.links_by_admin_id(status))
        if loaded.intersection(kannel_status.held_id(link) for link in cfg["sets"][peer]["links"]):
            sets.discard(peer)
    return sets


def probe_peer(cfg, timeout):
    """(reached, sets, denied): whether the peer's host answered at all, the sets its record
    claims (claimed_sets; None when its bearerbox gave no status), and whether it answered Denied.
    A refused connection (host up, bearerbox not running), a Denied or a broken HTTP answer is an
    answer from the peer's host: the network to it works."""
    try:
        status = peer_status(cfg, timeout)
    except KannelAdminDenied:
        return True, None, True
    except KannelBadReply:
        return True, None, False
    except KannelUnreachable as e:
        return e.host_answered, None, False
    return True, claimed_sets(cfg, status), False


def peer_host_answers(cfg, timeout):
    """Whether the peer's host answers on its admin port without a question to bearerbox (a TCP
    connection, accepted or refused: the meaning of `reached` in probe_peer). No password is
    sent, so it costs a bearerbox that denied this guard nothing."""
    address = urlsplit(cfg["peer_admin_url"])
    try:
        socket.create_connection((address.hostname, address.port or 80), timeout=timeout).close()
        return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def denied_message(cfg):
    return ("peer %s refused the status password (Denied): fix kannel_status_password. Until it "
            "accepts it, this node does not see which sets the peer serves; bearerbox delays every "
            "wrong-password answer by one more second and blocks its admin interface meanwhile"
            % host_of(cfg["peer_admin_url"]))
