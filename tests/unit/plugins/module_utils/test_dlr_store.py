"""dlr_store.probe against real sockets on loopback: a Redis-like answer, a closed port, a port that
accepts and stays silent, and a server that is not Redis."""
import socket
import threading

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.dlr_store import describe, probe


def serve_once(answer):
    """A loopback listener that answers the first line it reads with answer (None: stays silent)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def run():
        conn, _ = sock.accept()
        with conn:
            conn.recv(64)
            if answer is not None:
                conn.sendall(answer)
            else:
                conn.recv(64)  # until the prober gives up and closes

    threading.Thread(target=run, daemon=True).start()
    return sock


@pytest.mark.parametrize("answer", [b"+PONG\r\n", b"-NOAUTH Authentication required.\r\n"])
def test_a_redis_that_answers_is_up_with_or_without_a_password(answer):
    sock = serve_once(answer)
    try:
        assert probe({"storage": "redis", "host": "127.0.0.1", "port": sock.getsockname()[1]}) is None
    finally:
        sock.close()


def test_a_closed_port_is_named():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    why = probe({"storage": "redis", "host": "127.0.0.1", "port": port})
    assert why.startswith("cannot connect: ") and "refused" in why.lower()


def test_a_silent_store_and_one_that_is_not_redis():
    silent = serve_once(None)
    other = serve_once(b"HTTP/1.0 400 Bad Request\r\n")
    try:
        assert probe({"storage": "redis", "host": "127.0.0.1", "port": silent.getsockname()[1]},
                     timeout=0.3) == "connected, but no answer to PING within 0.3 s"
        assert probe({"storage": "redis", "host": "127.0.0.1", "port": other.getsockname()[1]}
                     ).startswith("answered b'HTTP/1.0 400")
    finally:
        silent.close()
        other.close()


def test_an_internal_store_is_never_probed():
    def connect(*_):
        raise AssertionError("internal storage needs no connection")
    assert probe({"storage": "internal"}, connect=connect) is None
    assert probe(None, connect=connect) is None
    assert describe({"storage": "redis", "host": "192.0.2.30", "port": 6379}) == "redis at 192.0.2.30:6379"
