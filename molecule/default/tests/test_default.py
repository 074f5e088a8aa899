"""Verifier of molecule scenario `default`: two gateway nodes gw1/gw2 deployed by deploy.yml.

Runs on the host with testinfra's podman backend (fast; `podman exec`). The cluster's expected
content is read from this scenario's molecule.yml (the same inventory deploy.yml used), so nothing
here hard-codes node names, ports or links. SMS go over HTTP from the host to each node's sendsms
port at its lab address, and arrive at this scenario's simulator (control API 127.0.0.1:8776).

The bind counts assume a fresh `molecule test` (create, converge, idempotence, verify): every provider
account saw exactly one bind, from its home node's address, and none from the passive node.

The nodes run different Debian releases (molecule.yml: gw1 Debian 12, gw2 Debian 13), the state a
cluster is in halfway through a rolling OS upgrade; test_maintenance.py then moves each set to the
node of the other release and back (a takeover and a failback of each node).
"""
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
import yaml

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(SCENARIO, "molecule.yml"), encoding="utf-8") as fh:
    MOLECULE = yaml.safe_load(fh)

INVENTORY = MOLECULE["provisioner"]["inventory"]
NODES = [p["name"] for p in MOLECULE["platforms"]]
CLUSTER_GROUP = next(g for g in MOLECULE["platforms"][0]["groups"] if g != "kannel_nodes")
CLUSTER = INVENTORY["group_vars"][CLUSTER_GROUP]
ADDRESS = {n: INVENTORY["host_vars"][n]["kannel_cluster_address"] for n in NODES}
LINKS = CLUSTER["kannel_links"]
SETS = CLUSTER["kannel_client_sets"]
STATUS_PW = CLUSTER["kannel_status_password"]
SIM_CONTROL = "http://127.0.0.1:8776"
ADMIN_PORT = 13000

testinfra_hosts = ["podman://" + n for n in NODES]
# Debian release of each node, from its image name (localhost/smsgw-lab-debian<N>).
RELEASE = {p["name"]: re.search(r"debian(\d+)$", p["image"]).group(1) for p in MOLECULE["platforms"]}

# bearerbox restarts done by test_bearerbox_restart_binds_only_home_links, per node: each adds one
# bind of that node's home accounts (never of the peer's).
RESTARTS = {n: 0 for n in NODES}


def peer_of(node):
    return next(n for n in NODES if n != node)


def node_of(host):
    return host.backend.name


def http_get(url, timeout=10):
    """GET -> (status, body); HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def sim(path, method="GET"):
    req = urllib.request.Request(SIM_CONTROL + path, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode())


def node_status(host):
    """status.xml read on the node itself over loopback (python3 urllib, no extra packages)."""
    script = (
        "import urllib.request,sys;"
        "sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:%d/status.xml?password=%s',"
        " timeout=10).read().decode())" % (ADMIN_PORT, STATUS_PW)
    )
    out = host.check_output("python3 -c %s", script)
    root = ET.fromstring(out)
    links = {}
    for smsc in root.iter("smsc"):
        ident = smsc.findtext("admin-id") or smsc.findtext("id")
        links[ident] = (smsc.findtext("status") or "").split()[0]
    boxes = [b.findtext("id") for b in root.iter("box") if b.findtext("type") == "smsbox"]
    return links, boxes


# --------------------------------------------------------------------------- services, ports, files
def test_node_runs_its_debian_release(host):
    assert host.file("/etc/debian_version").content_string.startswith(RELEASE[node_of(host)] + ".")


def test_runtime_guard_service(host):
    svc = host.service("kannel-cluster-guard")
    assert svc.is_running
    assert svc.is_enabled


def test_bearerbox_service(host):
    svc = host.service("kannel-bearerbox")
    assert svc.is_running
    assert svc.is_enabled


def test_home_smsbox_running_peer_smsbox_installed_and_stopped(host):
    node = node_of(host)
    home = host.service("kannel-smsbox@%s" % node)
    assert home.is_running and home.is_enabled
    peer = host.service("kannel-smsbox@%s" % peer_of(node))
    assert not peer.is_running
    assert not peer.is_enabled
    assert host.file("/etc/kannel/smsbox-%s.conf" % peer_of(node)).exists


def test_stock_service_masked_and_not_running(host):
    assert host.file("/etc/systemd/system/kannel.service").linked_to == "/dev/null"
    for proc in ("wapbox", "run_kannel_box"):
        assert not host.process.filter(comm=proc), proc


def test_listening_ports(host):
    node = node_of(host)
    ports = {int(s.rsplit(":", 1)[1]) for s in host.socket.get_listening_sockets()
             if s.startswith("tcp://")}
    assert ADMIN_PORT in ports
    assert SETS[node]["sendsms_port"] in ports
    assert SETS[peer_of(node)]["sendsms_port"] not in ports


@pytest.mark.parametrize(
    "path", ["/etc/kannel/bearerbox.conf", "/etc/kannel/cluster-guard.json"]
    + ["/etc/kannel/smsbox-%s.conf" % n for n in NODES]
    + ["/etc/kannel/smsc-available/%s.conf" % link["id"] for link in LINKS],
)
def test_secret_files_not_world_readable(host, path):
    f = host.file(path)
    assert f.user == "root" and f.group == "kannel"
    assert f.mode == 0o640


def test_only_home_links_in_smsc_active(host):
    node = node_of(host)
    active = sorted(host.file("/etc/kannel/smsc-active").listdir())
    assert active == sorted("%s.conf" % link["id"] for link in LINKS if link["home"] == node)
    for f in active:
        assert host.file("/etc/kannel/smsc-active/" + f).mode == 0o640


def test_stand_ins_only_for_home_links_never_reaching_a_provider(host):
    # Loaded while the node's set is taken over, to keep its queued messages (kannel_link held).
    node = node_of(host)
    held = sorted(n for n in host.file("/etc/kannel/smsc-available").listdir()
                  if n.endswith(".held.conf"))
    assert held == sorted("%s.held.conf" % link["id"] for link in LINKS if link["home"] == node)
    for name in held:
        f = host.file("/etc/kannel/smsc-available/" + name)
        assert (f.user, f.group, f.mode) == ("root", "kannel", 0o640)
        fields = dict((k.strip(), v.strip().strip('"')) for k, _, v in
                      (line.partition("=") for line in f.content_string.splitlines()
                       if "=" in line and not line.startswith("#")))
        link = next(x for x in LINKS if "%s.held.conf" % x["id"] == name)
        assert fields["smsc-admin-id"] == link["id"] + ".held"
        assert fields["host"] == "127.0.0.1"
        users = [a["username"] for a in SETS[node]["accounts"] if link["id"] in a["links"]]
        assert fields["allowed-smsc-id"] == (";".join("acct-" + u for u in users)
                                             or "unused-" + link["id"])
        assert not host.socket("tcp://127.0.0.1:%s" % fields["port"]).is_listening


def test_serving_state(host):
    node = node_of(host)
    state = json.loads(host.file("/var/lib/kannel-cluster/serving.json").content_string)
    assert state["sets"] == [node]


def test_logrotate_copytruncate_without_signal(host):
    conf = [l.strip() for l in host.file("/etc/logrotate.d/kannel").content_string.splitlines()
            if not l.strip().startswith("#")]
    assert "copytruncate" in conf
    assert not [l for l in conf if "postrotate" in l or "kill" in l or "HUP" in l]


def test_configs_pass_test_cfg(host):
    for path in host.check_output("ls /etc/kannel/*.conf /etc/kannel/smsc-available/*.conf").split():
        if path.endswith("/kannel.conf"):
            continue  # the stock file, replaced by a comment-only stub
        assert host.run("/usr/lib/kannel/test/test_cfg %s", path).rc == 0, path


def test_smsbox_log_level_hides_passwords(host):
    node = node_of(host)
    conf = host.file("/etc/kannel/smsbox-%s.conf" % node).content_string
    level = [l for l in conf.splitlines() if l.startswith("log-level")][0]
    assert int(level.split("=")[1]) >= 1
    log = host.run("cat /var/log/kannel/smsbox-%s*.log", node).stdout
    for acct in SETS[node]["accounts"]:
        assert acct["password"] not in log


# --------------------------------------------------------------------------- runtime over HTTP
def test_link_states_over_http(host):
    node = node_of(host)
    links, boxes = node_status(host)
    for link in LINKS:
        if link["home"] == node:
            assert links.get(link["id"]) == "online", (link["id"], links)
        else:
            assert link["id"] not in links, (link["id"], links)
    assert boxes == [node]


def test_admin_interface_allows_peer_denies_others(host):
    node = node_of(host)
    # From the peer's cluster address: allowed.
    peer = host.get_host("podman://" + peer_of(node))
    script = (
        "import urllib.request;print(urllib.request.urlopen('http://%s:%d/status.txt?password=%s',"
        " timeout=10).read().decode()[:200])" % (ADDRESS[node], ADMIN_PORT, STATUS_PW)
    )
    assert "Kannel bearerbox" in peer.check_output("python3 -c %s", script)
    # From the host (lab gateway address, not in admin-allow-ip): refused.
    try:
        status, body = http_get(
            "http://%s:%d/status.txt?password=%s" % (ADDRESS[node], ADMIN_PORT, STATUS_PW))
    except (urllib.error.URLError, ConnectionError):
        return
    assert "Kannel bearerbox" not in body


def wait_for_message(account, text, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for msg in sim("/messages?account=%s" % account):
            if msg.get("text") == text:
                return msg
        time.sleep(0.3)
    return None


def send(node, port, username, password, text, to="+4790000001"):
    query = urllib.parse.urlencode(
        {"username": username, "password": password, "from": "SMSGW", "to": to, "text": text})
    return http_get("http://%s:%d/cgi-bin/sendsms?%s" % (ADDRESS[node], port, query))


def test_home_clients_send_through_their_own_links(host):
    node = node_of(host)
    links = {link["id"]: link for link in LINKS}
    for acct in SETS[node]["accounts"]:
        text = "molecule %s %s" % (acct["username"], uuid.uuid4().hex[:8])
        status, body = send(node, SETS[node]["sendsms_port"], acct["username"], acct["password"], text)
        assert status == 202 and "Accepted" in body, (status, body)
        allowed = {links[lid]["username"] for lid in acct["links"]}
        found = {a: wait_for_message(a, text, timeout=15 if a in allowed else 0.1)
                 for a in {link["username"] for link in LINKS}}
        hits = {a for a, m in found.items() if m}
        assert hits and hits <= allowed, (acct["username"], hits, allowed)


def test_peer_clients_refused_where_their_set_is_passive(host):
    node = node_of(host)
    peer = peer_of(node)
    for acct in SETS[peer]["accounts"]:
        text = "must-not-arrive %s" % uuid.uuid4().hex[:8]
        # The peer set's sendsms port is closed here (its smsbox is stopped) ...
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            send(node, SETS[peer]["sendsms_port"], acct["username"], acct["password"], text)
        # ... and this node's own smsbox does not know the peer's accounts.
        status, body = send(node, SETS[node]["sendsms_port"], acct["username"], acct["password"], text)
        assert status in (401, 403), (status, body)
        assert wait_for_message(LINKS[0]["username"], text, timeout=0.5) is None


def test_mo_reaches_the_sets_smsbox(host):
    node = node_of(host)
    link = next(l for l in LINKS if l["home"] == node)
    text = "mo %s" % uuid.uuid4().hex[:8]
    body = json.dumps({"account": link["username"], "source": "+4790000002",
                       "destination": "1234", "text": text}).encode()
    req = urllib.request.Request(SIM_CONTROL + "/deliver", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read().decode())["ok"]
    deadline = time.time() + 10
    while time.time() < deadline:
        if text in host.run("cat /var/log/kannel/smsbox-%s-access.log", node).stdout:
            return
        time.sleep(0.3)
    pytest.fail("MO %r did not reach smsbox %s" % (text, node))


def test_provider_saw_one_bind_per_account_from_home_only(host):
    accounts = sim("/state")["accounts"]
    for link in LINKS:
        st = accounts[link["username"]]
        assert st["binds_max"] == 1, (link["id"], st)  # never two sessions at once
        # exactly one bind since the start (plus one per restart this test module made)
        assert st["binds_total"] == 1 + RESTARTS[link["home"]], (link["id"], st)
        assert st["binds_now"] == 1, (link["id"], st)
        assert st["peers"] == [ADDRESS[link["home"]]], (link["id"], st)


def test_bearerbox_restart_binds_only_home_links(host):
    """A restart (systemd) re-binds the home accounts once each; the peer's accounts see nothing."""
    node = node_of(host)
    before = sim("/state")["accounts"]
    host.check_output("systemctl restart kannel-bearerbox")
    RESTARTS[node] += 1
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            links, boxes = node_status(host)
        except Exception:  # admin interface not up yet
            links, boxes = {}, []
        if all(links.get(l["id"]) == "online" for l in LINKS if l["home"] == node) \
                and boxes == [node]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("after a restart of %s: links %s, smsboxes %s" % (node, links, boxes))
    # The home smsbox came back with bearerbox (PartOf/WantedBy), the peer's stayed stopped.
    assert host.service("kannel-smsbox@%s" % node).is_running
    assert not host.service("kannel-smsbox@%s" % peer_of(node)).is_running
    for l in LINKS:
        if l["home"] == node:
            assert l["id"] in links
        else:
            assert l["id"] not in links
    time.sleep(1)  # a stray bind of a peer link would show up by now
    after = sim("/state")["accounts"]
    for l in LINKS:
        b, a = before[l["username"]], after[l["username"]]
        if l["home"] == node:
            assert a["binds_total"] == b["binds_total"] + 1, (l["id"], b, a)
        else:
            assert a["binds_total"] == b["binds_total"], (l["id"], b, a)
        assert a["binds_max"] == 1, (l["id"], a)
        assert a["peers"] == [ADDRESS[l["home"]]], (l["id"], a)
