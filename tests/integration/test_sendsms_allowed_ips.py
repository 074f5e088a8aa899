"""An account's allowed_ips / denied_ips, through the role's smsbox template, in a real smsbox on
loopback: requests from other addresses are refused (403 Authorization failed), the rest reach
routing (403 Not routable: no link is loaded); sendsms_interface keeps the sendsms port off every other address.

Measured on Kannel 1.4.5 (which the role's template follows): user-allow-ip alone restricts
nothing; with user-deny-ip "*.*.*.*" beside it only the listed addresses get through."""
import http.client
import os
import urllib.parse

import pytest

import kannel_harness
from conftest import REPO

AUTH_FAILED = "Authorization failed"


def render_smsbox_conf(lab, port, accounts, sendsms_interface="127.0.0.1"):
    """The role's smsbox template for one set, rendered as the role does (filters stood in)."""
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(
        os.path.join(REPO, "roles", "kannel_node", "templates")), keep_trailing_newline=True,
        trim_blocks=True)
    env.filters["ternary"] = lambda value, yes, no: yes if value else no
    cset = {"home": "node-a", "smsbox": "node-a", "sendsms_port": port,
            "sendsms_interface": sendsms_interface,
            "accounts": [dict({"password": "pw-" + a["username"], "tag": "acct-" + a["username"],
                               "links": [], "options": {}, "allowed_ips": None, "denied_ips": None}, **a)
                         for a in accounts]}
    text = env.get_template("smsbox.conf.j2").render(
        cset=cset, kannel_model={"cluster": "c"}, kannel_node_smsbox_port=lab.smsbox_port,
        kannel_node_log_dir=lab.root, kannel_node_smsbox_log_level=1, kannel_node_sms_services=[])
    path = os.path.join(lab.root, "smsbox-node-a.conf")
    with open(path, "w") as f:
        f.write(text)
    return path, text


def sendsms(port, username, source, dest="127.0.0.1"):
    conn = http.client.HTTPConnection(dest, port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", "/cgi-bin/sendsms?" + urllib.parse.urlencode(
            {"username": username, "password": "pw-" + username, "from": "100", "to": "200", "text": "hi"}))
        reply = conn.getresponse()
        return reply.status, reply.read().decode()
    finally:
        conn.close()


@pytest.fixture
def smsbox(lab):
    port = kannel_harness.free_port()
    path, text = render_smsbox_conf(lab, port, [
        {"username": "only-2", "allowed_ips": ["127.0.0.2"]},
        {"username": "wild", "allowed_ips": ["10.0.*.*", "127.0.0.*"]},
        {"username": "not-2", "denied_ips": ["127.0.0.2"]},
        {"username": "anyone"}])
    lab.start_bearerbox()
    lab._spawn("smsbox-node-a", [kannel_harness.SMSBOX, path])
    # a sendsms before smsbox is connected to bearerbox PANICs smsbox: wait for it under <boxes>
    lab.wait_status(lambda t: "<id>node-a</id>" in t)
    return port, text


def test_allowed_and_denied_ips_filter_the_accounts_requests(smsbox):
    port, text = smsbox
    assert 'user-deny-ip = "*.*.*.*"\nuser-allow-ip = "127.0.0.2"' in text
    assert 'sendsms-interface = "127.0.0.1"' in text
    seen = {}
    for username in ("only-2", "wild", "not-2", "anyone"):
        for source in ("127.0.0.1", "127.0.0.2"):
            status, body = sendsms(port, username, source)
            seen[username, source] = AUTH_FAILED in body
            # no link is loaded: a request let through ends at routing
            assert AUTH_FAILED in body or "Not routable" in body, (username, source, status, body)
    assert seen == {("only-2", "127.0.0.1"): True, ("only-2", "127.0.0.2"): False,
                    ("wild", "127.0.0.1"): False, ("wild", "127.0.0.2"): False,
                    ("not-2", "127.0.0.1"): False, ("not-2", "127.0.0.2"): True,
                    ("anyone", "127.0.0.1"): False, ("anyone", "127.0.0.2"): False}


def test_sendsms_interface_keeps_the_port_off_other_addresses(smsbox):
    port, _ = smsbox
    with pytest.raises(ConnectionRefusedError):
        sendsms(port, "anyone", "127.0.0.1", dest="127.0.0.2")
