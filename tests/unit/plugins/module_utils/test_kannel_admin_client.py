"""KannelAdmin: reply interpretation, Denied handling, password scrubbing, timeouts."""
import json
import socket

import pytest
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminDenied,
    KannelBadReply,
    KannelUnreachable,
    interpret_reply,
    scrub,
)
from fakes import FakeBearerbox, fixture

REPLIES = json.loads(fixture("replies.json"))
PW = "s3cr&t pw/="


@pytest.mark.parametrize("key,command,smsc,ok", [
    ("stop_ok", "stop-smsc", "s-dead", True),
    ("start_ok", "start-smsc", "s-dead", True),
    ("add_ok", "add-smsc", "s-conn", True),
    ("remove_ok", "remove-smsc", "s-conn", True),
    ("stop_dead_fails", "stop-smsc", "s-dead", False),
    ("start_online_fails", "start-smsc", "s-online", False),
    ("start_reconnecting_fails", "start-smsc", "s-reconn", False),
    ("add_existing_fails", "add-smsc", "s-online", False),
    ("add_unknown_fails", "add-smsc", "no-such-link", False),
    ("remove_again_fails", "remove-smsc", "s-conn", False),
    ("no_smsc", "stop-smsc", None, False),
    ("unknown_command", "no-such-command", None, False),
    ("suspend", "suspend", None, True),
    ("isolate", "isolate", None, True),
    ("resume", "resume", None, True),
    ("graceful_restart", "graceful-restart", None, True),
    ("no_smsc", "graceful-restart", None, False),
])
def test_captured_replies_are_interpreted_by_text(key, command, smsc, ok):
    res = interpret_reply(command, smsc, REPLIES[key])
    assert res["ok"] is ok
    assert res["reply"] == REPLIES[key].strip()


def test_reply_for_another_link_is_not_success():
    assert interpret_reply("add-smsc", "a", "SMSC `b' added")["ok"] is False
    assert interpret_reply("add-smsc", "a", "SMSC `a' removed")["ok"] is False


def test_denied_reply_raises():
    with pytest.raises(KannelAdminDenied):
        interpret_reply("stop-smsc", "x", REPLIES["denied"])


def test_denied_is_never_retried_and_message_has_no_password():
    gw = FakeBearerbox(password="the-right-one")
    admin = KannelAdmin("http://127.0.0.1:13000", PW, 5, fetch=gw)
    with pytest.raises(KannelAdminDenied) as e:
        admin.status()
    assert len(gw.requests) == 1
    assert PW not in str(e.value) and "Denied" in str(e.value)
    with pytest.raises(KannelAdminDenied):
        admin.command("add-smsc", "x")
    assert len(gw.requests) == 2


def test_status_ok_and_command_ok_through_fake_http():
    gw = FakeBearerbox({"a": "dead"}, password=PW)
    admin = KannelAdmin("http://127.0.0.1:13000/", PW, 5, fetch=gw)
    assert admin.status()["links"][0]["state"] == "dead"
    assert admin.command("start-smsc", "a")["ok"] is True
    assert admin.command("start-smsc", "a")["ok"] is False  # not idempotent in Kannel
    assert gw.requests[1] == ("start-smsc", "a")


def _raiser(exc):
    def fetch(url, timeout):
        fetch.url = url
        raise exc(url) if callable(exc) and not isinstance(exc, Exception) else exc
    return fetch


@pytest.mark.parametrize("make", [
    lambda url: URLError(ConnectionRefusedError(111, "Connection refused to %s" % url)),
    lambda url: socket.timeout("timed out on %s" % url),
    lambda url: HTTPError(url, 404, "Not Found at %s" % url, {}, None),
    lambda url: ValueError("weird %s" % url),
])
def test_transport_errors_are_unreachable_and_scrubbed(make):
    seen = {}

    def fetch(url, timeout):
        seen["url"], seen["timeout"] = url, timeout
        raise make(url)
    admin = KannelAdmin("http://127.0.0.1:1", PW, 2.5, fetch=fetch)
    with pytest.raises(KannelUnreachable) as e:
        admin.status()
    msg = str(e.value)
    assert "password=" in seen["url"] and seen["timeout"] == 2.5
    for variant in (PW, "s3cr%26t", "s3cr&t"):
        assert variant not in msg
    assert "127.0.0.1:1" in msg


@pytest.mark.parametrize("error, refused", [
    (URLError(ConnectionRefusedError(111, "Connection refused")), True),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (URLError(socket.timeout("timed out")), False),
    (socket.timeout("timed out"), False),
])
def test_a_refusal_is_told_from_silence(error, refused):
    # kannel_serve kills a silent (hung) bearerbox; a refusing one is not running or starting
    def fetch(url, timeout):
        raise error
    with pytest.raises(KannelUnreachable) as e:
        KannelAdmin("http://127.0.0.1:1", PW, 1, fetch=fetch).status()
    assert e.value.refused is refused


def test_non_status_answer_is_bad_reply():
    admin = KannelAdmin("http://h:1", PW, 1, fetch=lambda url, t: "<html>hello</html>")
    with pytest.raises(KannelBadReply):
        admin.status()


def test_scrub_all_encodings():
    text = "GET http://h/x?password=s3cr%26t+pw%2F%3D&smsc=a failed; raw s3cr&t pw/="
    out = scrub(text, PW)
    assert "s3cr" not in out
    assert "smsc=a" in out
    assert scrub("password=abc&x=1", None) == "password=********&x=1"


def test_client_needs_no_ansible_module():
    # The client works outside a module (event source, tests): it takes no AnsibleModule.
    admin = KannelAdmin("http://h:1", PW, 1, fetch=lambda url, t: "<html>hello</html>")
    assert not hasattr(admin, "module")
    with pytest.raises(TypeError):
        KannelAdmin("http://h:1", PW, 1, module=object())
