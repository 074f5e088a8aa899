# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a cluster's external delivery-report store answers. Standard library only.

bearerbox waits for its DLR store: with the store down its status page does not answer (measured
with Kannel 1.4.5 and Redis), which looks like a hung node. When a status read fails, this says
whether the store is the cause, without any secret: Redis answers a PING on a new connection
(``+PONG``, or ``-NOAUTH`` when it has a password), which is enough to know it is up.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

EXTERNAL = ("redis",)


def describe(store):
    """'redis at HOST:PORT' for a store dict {storage, host, port}."""
    return "%s at %s:%s" % (store["storage"], store["host"], store["port"])


def probe(store, timeout=2.0, connect=socket.create_connection):
    """None when the store answers, else why not (one line). store: {storage, host, port}; a
    store kept inside bearerbox (storage internal, or None) always answers."""
    if not store or store.get("storage") not in EXTERNAL:
        return None
    try:
        conn = connect((store["host"], int(store["port"])), timeout)
    except socket.timeout:
        return "no connection within %s s" % timeout
    except (OSError, ValueError) as e:
        return "cannot connect: %s" % (getattr(e, "strerror", None) or e)
    try:
        conn.settimeout(timeout)
        conn.sendall(b"PING\r\n")
        reply = conn.recv(64)
    except socket.timeout:
        return "connected, but no answer to PING within %s s" % timeout
    except OSError as e:
        return "connection failed: %s" % (e.strerror or e)
    finally:
        conn.close()
    if reply[:1] in (b"+", b"-"):
        return None
    if not reply:
        return "closed the connection without an answer"
    return "answered %r, not as Redis does" % reply[:20]
