"""deploy.yml must reject a wrong or missing inventory variable before any host is contacted.

Each case writes a small inventory into a temporary directory (nodes with free names reached over ssh
at a loopback port where nothing listens, so any connection attempt shows up as UNREACHABLE at once
and no packet leaves the machine), runs
`ansible-playbook deploy.yml -i <that inventory>` from the repository root and checks that it fails
in stage 1, with a message naming the variable, and that no host was contacted. A control case with a
valid inventory shows that the same hosts do get contacted once validation passes.
"""
import copy
import os
import subprocess
import sys
import time

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

UNREACHABLE = {
    "ansible_connection": "ssh",
    "ansible_port": 1,
    "ansible_user": "nobody",
    "ansible_ssh_common_args": "-o ConnectTimeout=2 -o BatchMode=yes -o StrictHostKeyChecking=no",
}

GOOD = {
    "all": {
        "children": {
            "kannel_nodes": {
                "vars": UNREACHABLE,
                "children": {
                    "edge": {
                        "hosts": {
                            "alpha": {"ansible_host": "127.0.0.1", "kannel_cluster_address": "192.0.2.10"},
                            "beta": {"ansible_host": "127.0.0.1", "kannel_cluster_address": "192.0.2.11"},
                        },
                        "vars": {
                            "kannel_cluster": "edge",
                            "kannel_admin_password": "test-admin-pw",
                            "kannel_status_password": "test-status-pw",
                            "kannel_links": [
                                {"id": "L1", "home": "alpha", "host": "192.0.2.1", "port": 2775,
                                 "username": "u1", "password": "pw1"},
                                {"id": "L2", "home": "beta", "host": "192.0.2.1", "port": 2775,
                                 "username": "u2", "password": "pw2"},
                            ],
                            "kannel_client_sets": {
                                "alpha": {"sendsms_port": 13013, "accounts": [
                                    {"username": "c1", "password": "c1-secret", "links": ["L1"]}]},
                                "beta": {"sendsms_port": 13014, "accounts": [
                                    {"username": "c2", "password": "c2-secret", "links": ["L2"]}]},
                            },
                        },
                    }
                },
            }
        }
    }
}


def cluster_vars(inv):
    return inv["all"]["children"]["kannel_nodes"]["children"]["edge"]["vars"]


def hosts(inv):
    return inv["all"]["children"]["kannel_nodes"]["children"]["edge"]["hosts"]


def run_deploy(tmp_path, inventory, playbook="deploy.yml", *args):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_HOST_KEY_CHECKING="False")
    start = time.monotonic()
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(path), playbook] + list(args), cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def mutate(fn):
    inv = copy.deepcopy(GOOD)
    fn(inv)
    return inv


def _del(d, key):
    del d[key]


def _three_nodes(inv):
    hosts(inv)["gamma"] = {"ansible_host": "127.0.0.1", "kannel_cluster_address": "192.0.2.12"}


def _service_addresses(alpha, beta=None, **alpha_extra):
    def change(inv):
        sets = cluster_vars(inv)["kannel_client_sets"]
        sets["alpha"].update(service_address=alpha, **alpha_extra)
        if beta is not None:
            sets["beta"]["service_address"] = beta
    return change


def _second_cluster(inv):
    """A second cluster 'core' whose set 'gamma' has the service address of edge's set 'alpha'."""
    cluster_vars(inv)["kannel_client_sets"]["alpha"]["service_address"] = "192.0.2.50/24"
    core = copy.deepcopy(inv["all"]["children"]["kannel_nodes"]["children"]["edge"])
    core["hosts"] = {"gamma": {"ansible_host": "192.0.2.20", "kannel_cluster_address": "192.0.2.20"},
                     "delta": {"ansible_host": "192.0.2.21", "kannel_cluster_address": "192.0.2.21"}}
    core["vars"]["kannel_cluster"] = "core"
    core["vars"]["kannel_links"] = [dict(link, id="C" + link["id"], home=home) for link, home in
                                    zip(core["vars"]["kannel_links"], ["gamma", "delta"])]
    alpha, beta = core["vars"]["kannel_client_sets"]["alpha"], core["vars"]["kannel_client_sets"]["beta"]
    core["vars"]["kannel_client_sets"] = {
        "gamma": dict(alpha, service_address="192.0.2.50/28",
                      accounts=[dict(alpha["accounts"][0], username="g1", links=["CL1"])]),
        "delta": dict(beta, accounts=[dict(beta["accounts"][0], username="d1", links=["CL2"])])}
    inv["all"]["children"]["kannel_nodes"]["children"]["core"] = core


def _rename_node(old, new):
    """The node `old` renamed `new` everywhere (host, link homes, client set key)."""
    def change(inv):
        hosts(inv)[new] = hosts(inv).pop(old)
        cv = cluster_vars(inv)
        for link in cv["kannel_links"]:
            if link["home"] == old:
                link["home"] = new
        cv["kannel_client_sets"][new] = cv["kannel_client_sets"].pop(old)
    return change


def _account(inv, set_name="alpha"):
    return cluster_vars(inv)["kannel_client_sets"][set_name]["accounts"][0]


def _dlr_store(password=None, **store):
    def change(inv):
        cluster_vars(inv).update(kannel_dlr_storage="redis", kannel_dlr_store=store)
        if password is not None:
            cluster_vars(inv)["kannel_dlr_store_password"] = password
    return change


def _sms_services(services):
    def change(inv):
        cluster_vars(inv)["kannel_client_sets"]["alpha"]["sms_services"] = services
    return change


CASES = {
    "missing kannel_links": (lambda inv: _del(cluster_vars(inv), "kannel_links"), ["kannel_links"]),
    "missing admin password": (lambda inv: _del(cluster_vars(inv), "kannel_admin_password"),
                               ["kannel_admin_password"]),
    "missing cluster address": (lambda inv: _del(hosts(inv)["beta"], "kannel_cluster_address"),
                                ["kannel_cluster_address"]),
    "link without home": (lambda inv: _del(cluster_vars(inv)["kannel_links"][0], "home"),
                          ["home", "kannel_links"]),
    "link port not a number": (lambda inv: cluster_vars(inv)["kannel_links"][1].update(port="smpp"),
                               ["port", "kannel_links"]),
    "typo in a link key": (lambda inv: cluster_vars(inv)["kannel_links"][0].update(hots="x"),
                           ["hots", "kannel_links"]),
    "home not a node": (lambda inv: cluster_vars(inv)["kannel_links"][0].update(home="node-a"),
                        ["kannel_links[0] (id L1).home"]),
    "duplicate link id": (lambda inv: cluster_vars(inv)["kannel_links"][1].update(id="L1"),
                          ["kannel_links[1] (id L1).id"]),
    "SMPP password too long": (lambda inv: cluster_vars(inv)["kannel_links"][0].update(password="123456789"),
                               ["kannel_links[0] (id L1).password"]),
    "three nodes in a cluster": (_three_nodes, ["kannel_cluster", "exactly two"]),
    "account uses a link of the other home": (
        lambda inv: cluster_vars(inv)["kannel_client_sets"]["alpha"]["accounts"][0].update(links=["L2"]),
        ["kannel_client_sets['alpha'].accounts[0] (c1).links"]),
    "account uses an unknown link": (
        lambda inv: cluster_vars(inv)["kannel_client_sets"]["beta"]["accounts"][0].update(links=["L9"]),
        ["kannel_client_sets['beta'].accounts[0] (c2).links", "L9"]),
    "client set without sendsms_port": (
        lambda inv: _del(cluster_vars(inv)["kannel_client_sets"]["beta"], "sendsms_port"),
        ["sendsms_port", "kannel_client_sets"]),
    "duplicate sendsms_port": (
        lambda inv: cluster_vars(inv)["kannel_client_sets"]["beta"].update(sendsms_port=13013),
        ["kannel_client_sets['beta'].sendsms_port"]),
    "no client set for a node": (lambda inv: _del(cluster_vars(inv)["kannel_client_sets"], "beta"),
                                 ["kannel_client_sets", "beta"]),
    "status password equals admin password": (
        lambda inv: cluster_vars(inv).update(kannel_status_password="test-admin-pw"),
        ["kannel_status_password"]),
    "service address without prefix": (
        _service_addresses("192.0.2.50"),
        ["kannel_client_sets['alpha'].service_address", "not an IPv4 address with a prefix"]),
    "service address malformed": (
        _service_addresses("192.0.2.300/24"), ["kannel_client_sets['alpha'].service_address"]),
    "service address is the network address": (
        _service_addresses("192.0.2.0/24"),
        ["kannel_client_sets['alpha'].service_address", "network or broadcast"]),
    "service address equals a node address": (
        _service_addresses("192.0.2.11/24"),
        ["kannel_client_sets['alpha'].service_address", "kannel_cluster_address of node beta"]),
    "same service address on both sets": (
        _service_addresses("192.0.2.50/24", "192.0.2.50/24"),
        ["kannel_client_sets['beta'].service_address", "service address of set 'alpha'"]),
    "same service address in two clusters": (
        _second_cluster,
        ["kannel_client_sets['alpha'].service_address", "set 'gamma' of cluster 'core'"]),
    "service interface without an address": (
        lambda inv: cluster_vars(inv)["kannel_client_sets"]["beta"].update(service_interface="eth0"),
        ["kannel_client_sets['beta'].service_interface", "without service_address"]),
    "service interface not an interface name": (
        _service_addresses("192.0.2.50/24", service_interface="eth 0; reboot"),
        ["kannel_client_sets['alpha'].service_interface"]),
    "cluster variable overridden on one host": (
        lambda inv: hosts(inv)["beta"].update(kannel_links=[]), ["kannel_links", "differs"]),
    "quorum wait shorter than the watcher's": (
        lambda inv: cluster_vars(inv).update(kannel_quorum_addresses=["192.0.2.50:22"],
                                             kannel_quorum_seconds=20),
        ["kannel_watch_failure_seconds: 30 s is shorter than kannel_quorum_seconds (20 s)",
         "= 38 s"]),
    "quorum on without an address": (lambda inv: cluster_vars(inv).update(kannel_quorum=True),
                                     ["kannel_quorum: true needs at least one address"]),
    "quorum address without a port": (
        lambda inv: cluster_vars(inv).update(kannel_quorum_addresses=["192.0.2.50"]),
        ["kannel_quorum_addresses[0]: '192.0.2.50' is not IPv4:port"]),
    "quorum setting on one host only": (
        lambda inv: hosts(inv)["beta"].update(kannel_quorum_seconds=12),
        ["kannel_quorum_seconds: differs"]),
    "fence command not a string": (lambda inv: hosts(inv)["alpha"].update(kannel_fence_command=["a"]),
                                   ["kannel_fence_command"]),
    "fence timeout zero": (lambda inv: hosts(inv)["alpha"].update(kannel_fence_timeout=0),
                           ["kannel_fence_timeout: 0 must be at least 1"]),
    # `$` of re.match also matches before a trailing newline: names are matched to their end
    "link id with a trailing newline": (
        lambda inv: cluster_vars(inv)["kannel_links"][1].update(id="L2\n"),
        ["kannel_links[1] (id L2\\n).id:", "may only hold letters"]),
    "account username with a trailing newline": (
        lambda inv: _account(inv).update(username="c1\n"),
        ["accounts[0] (c1\\n).username:", "may only hold letters"]),
    "cluster name with a trailing newline": (
        lambda inv: cluster_vars(inv).update(kannel_cluster="edge\n"),
        ["kannel_cluster: ", "edge\\n", "may only hold letters"]),
    # Kannel's parser reads any line holding "include" as an include directive of the whole value
    "link password with include": (
        lambda inv: cluster_vars(inv)["kannel_links"][0].update(password="include"),
        ["kannel_links[0] (id L1).password", "the word 'include'"]),
    "account password with include": (
        lambda inv: _account(inv).update(password="c1-include-secret"),
        ["kannel_client_sets['alpha'].accounts[0] (c1).password", "the word 'include'"]),
    "link option value with include": (
        lambda inv: cluster_vars(inv)["kannel_links"][0].update(options={"source-addr": "/include"}),
        ["kannel_links[0] (id L1).options.source-addr", "the word 'include'"]),
    "link option named include": (
        lambda inv: cluster_vars(inv)["kannel_links"][0].update(options={"include": "/etc/kannel"}),
        ["kannel_links[0] (id L1).options: 'include'"]),
    "admin password with include": (
        lambda inv: cluster_vars(inv).update(kannel_admin_password="test-admin-pw-include"),
        ["kannel_admin_password", "the word 'include'"]),
    "link password with a backslash": (
        lambda inv: cluster_vars(inv)["kannel_links"][0].update(password="a\\b"),
        ["kannel_links[0] (id L1).password", "backslashes"]),
    "node name with include": (_rename_node("beta", "include-b"),
                               ["inventory host 'include-b'", "not the word 'include'"]),
    # host names reach shell commands (handlers) and unit names
    "node name with a semicolon": (_rename_node("beta", "a;b"),
                                   ["inventory host 'a;b'", "may only hold letters"]),
    "node name with a command substitution": (_rename_node("alpha", "$(x)"),
                                              ["inventory host '$(x)'", "may only hold letters"]),
    "allowed_ips not an address": (
        lambda inv: _account(inv).update(allowed_ips=["127.0.0.1", "10.0.0.300"]),
        ["kannel_client_sets['alpha'].accounts[0] (c1).allowed_ips[1]", "10.0.0.300"]),
    "allowed_ips pattern too short": (
        lambda inv: _account(inv).update(allowed_ips=["10.0.*"]),
        ["kannel_client_sets['alpha'].accounts[0] (c1).allowed_ips[0]", "10.0.*"]),
    "denied_ips with a trailing newline": (
        lambda inv: _account(inv, "beta").update(denied_ips=["192.0.2.7\n"]),
        ["kannel_client_sets['beta'].accounts[0] (c2).denied_ips[0]"]),
    "allowed_ips and denied_ips together": (
        lambda inv: _account(inv).update(allowed_ips=["10.0.0.1"], denied_ips=["10.0.0.2"]),
        ["kannel_client_sets['alpha'].accounts[0] (c1).denied_ips: give allowed_ips or denied_ips"]),
    "service address prefix with a trailing newline": (
        _service_addresses("192.0.2.50/24\n"), ["kannel_client_sets['alpha'].service_address"]),
    "sendsms_interface not an address": (
        lambda inv: cluster_vars(inv)["kannel_client_sets"]["beta"].update(sendsms_interface="any"),
        ["kannel_client_sets['beta'].sendsms_interface: 'any' is not an IPv4 address"]),
    "sendsms_interface is a service address": (
        _service_addresses("192.0.2.50/24", sendsms_interface="192.0.2.50"),
        ["kannel_client_sets['alpha'].sendsms_interface: 192.0.2.50 is a node's or a set's service address"]),
    "sendsms_interface is a node address": (
        lambda inv: cluster_vars(inv)["kannel_client_sets"]["beta"].update(sendsms_interface="192.0.2.11"),
        ["kannel_client_sets['beta'].sendsms_interface: 192.0.2.11 is a node's"]),
    "user-allow-ip in an account's options": (
        lambda inv: _account(inv).update(options={"user-allow-ip": "10.0.0.1"}),
        ["kannel_client_sets['alpha'].accounts[0] (c1).options: 'user-allow-ip'", "allowed_ips"]),
    # delivery-report store and per-set incoming messages
    "DLR storage not a supported store": (
        lambda inv: cluster_vars(inv).update(kannel_dlr_storage="mongodb"),
        ["kannel_dlr_storage", "internal, redis"]),
    "redis DLR store without a host": (
        lambda inv: cluster_vars(inv).update(kannel_dlr_storage="redis"),
        ["kannel_dlr_store.host: required with kannel_dlr_storage=redis"]),
    "DLR store port out of range": (
        _dlr_store(host="192.0.2.30", port=70000), ["kannel_dlr_store.port: 70000 is not a TCP port"]),
    "DLR store port not a number": (_dlr_store(host="192.0.2.30", port="redis"), ["kannel_dlr_store", "port"]),
    "DLR store database out of range": (
        _dlr_store(host="192.0.2.30", database=16), ["kannel_dlr_store.database: 16"]),
    "DLR store key prefix with a colon": (
        _dlr_store(host="192.0.2.30", key_prefix="a:b"), ["kannel_dlr_store.key_prefix: 'a:b'"]),
    "DLR store host with a space": (_dlr_store(host="db host"), ["kannel_dlr_store.host: 'db host'"]),
    "typo in a DLR store key": (_dlr_store(host="192.0.2.30", tabel="x"), ["tabel", "kannel_dlr_store"]),
    "DLR store password with a quote": (
        _dlr_store(password='pw"x', host="192.0.2.30"), ["kannel_dlr_store_password: may not contain"]),
    "DLR store set while storage is internal": (
        lambda inv: cluster_vars(inv).update(kannel_dlr_store={"host": "192.0.2.30"}),
        ["kannel_dlr_store: set, but kannel_dlr_storage is 'internal'"]),
    "DLR store on one node only": (
        lambda inv: (_dlr_store(host="192.0.2.30")(inv),
                     hosts(inv)["beta"].update(kannel_dlr_store={"host": "192.0.2.31"})),
        ["kannel_dlr_store: differs between"]),
    "set service without an action": (
        _sms_services([{"keyword": "default", "catch-all": True}]),
        ["kannel_client_sets['alpha'].sms_services[0]: needs exactly one of get-url"]),
    "set service without a keyword": (
        _sms_services([{"get-url": "http://192.0.2.40/mo"}]),
        ["kannel_client_sets['alpha'].sms_services[0]: needs keyword"]),
    "set service field not a Kannel name": (
        _sms_services([{"keyword": "default", "get-url": "http://x/", "Get_Url": "y"}]),
        ["kannel_client_sets['alpha'].sms_services[0]: 'Get_Url' is not a Kannel field name"]),
    "set service value with a quote": (
        _sms_services([{"keyword": "default", "get-url": 'http://x/"'}]),
        ["kannel_client_sets['alpha'].sms_services[0].get-url: may not contain double quotes"]),
    "set services not a list": (_sms_services({"keyword": "default"}), ["sms_services", "list"]),
    "cluster lock expiring under a legitimate run": (
        lambda inv: cluster_vars(inv).update(kannel_cluster_lock_seconds=60),
        ["kannel_cluster_lock_seconds: 60 is shorter than 300 s"]),
    "cluster lock expiry on one host only": (
        lambda inv: hosts(inv)["beta"].update(kannel_cluster_lock_seconds=1200),
        ["kannel_cluster_lock_seconds: differs"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inventory_fails_before_any_host_is_contacted(tmp_path, case):
    change, words = CASES[case]
    rc, out, elapsed = run_deploy(tmp_path, mutate(change))
    assert rc != 0, out
    for word in words:
        assert word in out, "%r not in output:\n%s" % (word, out)
    assert "UNREACHABLE" not in out, out
    assert "Stage 2" not in out, out  # stopped in stage 1 (any_errors_fatal)
    for secret in ("test-admin-pw", "test-status-pw", "c1-secret", "c2-secret", 'pw"x'):
        assert secret not in out, "secret %r shown in the output" % secret


@pytest.mark.parametrize("extra", [{}, {"kannel_quorum_addresses": ["192.0.2.50:22"],
                                       "kannel_watch_failure_seconds": 28}])
def test_valid_inventory_passes_validation_then_contacts_hosts(tmp_path, extra):
    # with quorum on, 28 s is exactly the watcher's minimum for the defaults (10 + 2x5 + 2x3 + 2)
    rc, out, _ = run_deploy(tmp_path, mutate(lambda inv: cluster_vars(inv).update(extra)))
    assert rc != 0
    assert "Stage 2" in out, out
    assert "UNREACHABLE" in out, out


@pytest.mark.parametrize("playbook,extra", [("takeover.yml", "failed=alpha beta"),
                                            ("failback.yml", "node=alpha beta"),
                                            ("deploy.yml", "beta")])
def test_a_stray_word_in_the_extra_vars_is_refused(tmp_path, playbook, extra):
    rc, out, _ = run_deploy(tmp_path, copy.deepcopy(GOOD), playbook, "-e", extra)
    assert rc != 0
    assert 'extra vars hold "beta", which is not NAME=VALUE' in out, out
    assert out.count("fatal: [") == 1, out  # said once, not per host
    assert "UNREACHABLE" not in out, out


def test_valid_allowed_ips_and_sendsms_interface_pass_validation(tmp_path):
    def change(inv):
        _account(inv).update(allowed_ips=["127.0.0.1", "10.0.*.*", "192.0.2.7"])
        _account(inv, "beta").update(denied_ips=["*.*.*.*"])
        cluster_vars(inv)["kannel_client_sets"]["beta"]["sendsms_interface"] = "127.0.0.1"
    rc, out, _ = run_deploy(tmp_path, mutate(change))
    assert "Stage 2" in out and "UNREACHABLE" in out, out


def test_valid_dlr_store_and_set_services_pass_validation(tmp_path):
    def change(inv):
        _dlr_store(password="dlr-secret", host="redis.example.net", port=6380, database=3,
                   key_prefix="edge.dlr", ttl=0)(inv)
        _sms_services([{"keyword": "default", "catch-all": True, "get-url": "http://192.0.2.40/mo",
                        "max-messages": 0}])(inv)
    rc, out, _ = run_deploy(tmp_path, mutate(change))
    assert "Stage 2" in out and "UNREACHABLE" in out, out
    assert "dlr-secret" not in out


def test_valid_service_addresses_pass_validation(tmp_path):
    inv = mutate(_service_addresses("192.0.2.50/24", "192.0.2.51/24", service_interface="eth1"))
    rc, out, _ = run_deploy(tmp_path, inv)
    assert "Stage 2" in out and "UNREACHABLE" in out, out


def _second_cluster_apart(inv):
    """A second cluster 'core' without an error."""
    _second_cluster(inv)
    cluster_vars(inv)["kannel_client_sets"]["alpha"].pop("service_address")


def _core_error(inv):
    """A second cluster 'core' with an error of its own (its lock expires too soon)."""
    _second_cluster_apart(inv)
    inv["all"]["children"]["kannel_nodes"]["children"]["core"]["vars"]["kannel_cluster_lock_seconds"] = 60


@pytest.mark.parametrize("playbook,extra", [("takeover.yml", "failed=alpha"), ("failback.yml", "node=beta")])
def test_a_switch_checks_its_own_cluster_against_the_whole_inventory(tmp_path, playbook, extra):
    # another cluster's own error does not stop a switch of this one, and only its nodes are checked
    rc, out, _ = run_deploy(tmp_path, mutate(_core_error), playbook, "-e", extra)
    assert "take the cluster lock" in out and "UNREACHABLE" in out, out
    assert "kannel_cluster_lock_seconds" not in out and "gamma" not in out, out
    # the same error in the switched cluster refuses it before any host is contacted
    rc, out, _ = run_deploy(tmp_path, mutate(_core_error), playbook, "-e", "%s=gamma" % extra.split("=")[0])
    assert rc != 0 and "kannel_cluster_lock_seconds: 60 is shorter than 300 s" in out, out
    assert "UNREACHABLE" not in out, out
    # a conflict with another cluster's node (a shared service address) still refuses it
    rc, out, _ = run_deploy(tmp_path, mutate(_second_cluster), playbook, "-e", extra)
    assert rc != 0 and "set 'gamma' of cluster 'core'" in out, out
    assert "UNREACHABLE" not in out, out


def test_status_of_one_cluster_checks_that_cluster_against_the_whole_inventory(tmp_path):
    rc, out, _ = run_deploy(tmp_path, mutate(_core_error), "status.yml", "-e", "cluster=edge")
    assert "Status | read every node" in out and "UNREACHABLE" in out, out
    assert "kannel_cluster_lock_seconds" not in out and "gamma" not in out, out
    # a name that is no cluster is refused with every cluster as the valid choices: a group of all
    # nodes, a group of some, a group of no gateway node, no group at all
    for name in ("kannel_nodes", "region", "stores", "edeg"):
        rc, out, _ = run_deploy(tmp_path, mutate(_region_and_stores), "status.yml", "-e", "cluster=" + name)
        assert rc != 0 and "cluster=%s: no such cluster in the inventory; valid choices: core, edge" % name in out, out
        assert "UNREACHABLE" not in out, out


def _region_and_stores(inv):
    """Two clusters, a group 'region' holding one of them, and a group 'stores' of no gateway node."""
    _second_cluster_apart(inv)
    inv["all"]["children"]["region"] = {"children": {"edge": {}}}
    inv["all"]["children"]["stores"] = {"hosts": {"store1": dict(UNREACHABLE, ansible_host="127.0.0.1")}}
