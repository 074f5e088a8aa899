"""cluster_model: every inventory rule, with its message word for word, and the derived model.

The fleet is plain data as the filter plugin hands it over: each node's variables and the groups.
The good fleet is one cluster 'edge' (alpha, beta) like tests/playbooks/test_inventory_validation.py's;
each case changes one thing and names the exact message an operator reads.
"""
import copy
import os

import pytest
import yaml

from ansible_collections.smsgw.cluster.plugins.module_utils import cluster_model as cm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(REPO, "roles", "cluster_model", "defaults", "main.yml")) as _fh:
    DEFAULTS = yaml.safe_load(_fh)
SETTINGS = DEFAULTS["cluster_model_settings"]
NODE_DEFAULTS = DEFAULTS["cluster_model_node_defaults"]
REDIS = DEFAULTS["cluster_model_dlr_redis_defaults"]
RULE = cm.KANNEL_VALUE_RULE


def cluster(name="edge", a="alpha", b="beta", net="192.0.2"):
    shared = {
        "kannel_cluster": name, "kannel_admin_password": "test-admin-pw", "kannel_status_password": "test-status-pw",
        "kannel_links": [
            {"id": "L1", "home": a, "host": "192.0.2.1", "port": 2775, "username": "u1", "password": "pw1"},
            {"id": "L2", "home": b, "host": "192.0.2.1", "port": 2775, "username": "u2", "password": "pw2"}],
        "kannel_client_sets": {
            a: {"sendsms_port": 13013, "accounts": [{"username": "c1", "password": "c1-secret", "links": ["L1"]}]},
            b: {"sendsms_port": 13014, "accounts": [{"username": "c2", "password": "c2-secret", "links": ["L2"]}]}}}
    nodes = {a: dict(copy.deepcopy(shared), kannel_cluster_address=net + ".10"),
             b: dict(copy.deepcopy(shared), kannel_cluster_address=net + ".11")}
    return nodes, {name: [a, b]}


def fleet(*clusters):
    nodes, groups = {}, {"kannel_nodes": []}
    for c in clusters or (cluster(),):
        nodes.update(c[0])
        groups.update(c[1])
        groups["kannel_nodes"] += list(c[0])
    return nodes, groups


def check(change=None, hosts=("alpha",), fleet_=None):
    """The errors of `hosts` after change(nodes, groups) applied to the good fleet, one list."""
    nodes, groups = fleet_ or fleet()
    if change:
        change(nodes, groups)
    hosts = [host for host in hosts if host in nodes]
    result = cm.fleet_model(nodes, groups, hosts, SETTINGS, NODE_DEFAULTS, REDIS)
    return [e for host in hosts for e in result["errors"].get(host, [])]


def both(**values):
    """Set cluster variables on both nodes (as group vars do)."""
    def change(nodes, _groups):
        for node in ("alpha", "beta"):
            nodes[node].update(copy.deepcopy(values))
    return change


def on_both(fn):
    def change(nodes, groups):
        for node in ("alpha", "beta"):
            fn(nodes[node])
    return change


def link(i, **values):
    return on_both(lambda hv: hv["kannel_links"][i].update(values))


def cset(name, **values):
    return on_both(lambda hv: hv["kannel_client_sets"][name].update(values))


def account(name="alpha", **values):
    return on_both(lambda hv: hv["kannel_client_sets"][name]["accounts"][0].update(values))


def dlr(password=None, **store):
    values = {"kannel_dlr_storage": "redis", "kannel_dlr_store": store}
    if password is not None:
        values["kannel_dlr_store_password"] = password
    return both(**values)


def services(svcs):
    return cset("alpha", sms_services=svcs)


def rename(old, new):
    def change(nodes, groups):
        nodes[new] = nodes.pop(old)
        groups["edge"] = [new if n == old else n for n in groups["edge"]]
        groups["kannel_nodes"] = [new if n == old else n for n in groups["kannel_nodes"]]
        for hv in nodes.values():
            for lk in hv["kannel_links"]:
                if lk["home"] == old:
                    lk["home"] = new
            hv["kannel_client_sets"][new] = hv["kannel_client_sets"].pop(old)
    return change


def second_cluster(service_address):
    nodes, groups = fleet(cluster(), cluster("core", "gamma", "delta", "192.0.3"))
    for node in ("gamma", "delta"):
        nodes[node]["kannel_client_sets"]["gamma"]["service_address"] = service_address
    return nodes, groups


ALPHA = "kannel_client_sets['alpha']"
ACCT = ALPHA + ".accounts[0] (c1)"
L0 = "kannel_links[0] (id L1)"
DIFFERS = "differs between alpha and beta (cluster variables belong in the vars of group edge, not in host vars)"

CASES = {
    # the cluster and its two nodes
    "not in kannel_nodes": (lambda n, g: g["kannel_nodes"].remove("alpha"),
                            "alpha: a gateway node must be in the inventory group kannel_nodes"),
    "cluster name with a newline": (both(kannel_cluster="edge\n"),
                                    "kannel_cluster: 'edge\\n' may only hold letters, digits, '_', '.', '-' "
                                    "(starting with a letter or digit), and not the word 'include'"),
    "cluster not a group": (both(kannel_cluster="nowhere"),
                            "kannel_cluster: 'nowhere' is not an inventory group (it must name the cluster's group)"),
    "node not in its group": (lambda n, g: (g.update(other=["beta"]), both(kannel_cluster="other")(n, g)),
                              "kannel_cluster: this node is not a member of group 'other'"),
    "three nodes": (lambda n, g: g["edge"].append("gamma"),
                    "kannel_cluster: group 'edge' has 3 hosts (alpha, beta, gamma); a cluster has exactly two nodes"),
    "node name": (rename("beta", "a;b"),
                  "inventory host 'a;b' of cluster 'edge': a node's inventory host name may only hold letters, "
                  "digits, '_', '.', '-' (starting with a letter or digit), and not the word 'include'; rename the "
                  "host (ansible_host keeps its address)"),
    "peer not in kannel_nodes": (lambda n, g: g["kannel_nodes"].remove("beta"),
                                 "kannel_cluster: the peer beta of cluster 'edge' is not in group kannel_nodes"),
    "peer's cluster": (lambda n, g: n["beta"].pop("kannel_cluster"),
                       "kannel_cluster: the peer beta has kannel_cluster=(undefined), this node has 'edge' (set it "
                       "once in the vars of group edge)"),
    "address not IPv4": (lambda n, g: n["alpha"].update(kannel_cluster_address="192.0.2.300"),
                         "kannel_cluster_address: '192.0.2.300' is not an IPv4 address"),
    "same address": (lambda n, g: n["alpha"].update(kannel_cluster_address="192.0.2.11"),
                     "kannel_cluster_address: alpha and beta have the same address 192.0.2.11"),
    "peer's address missing": (lambda n, g: n["beta"].pop("kannel_cluster_address"),
                               "kannel_cluster_address: not defined for the peer beta"),
    "cluster variable missing at the peer": (lambda n, g: n["beta"].pop("kannel_links"),
                                             "kannel_links: not defined for the peer beta (cluster variables belong "
                                             "in the vars of group edge)"),
    "cluster variable differs": (lambda n, g: n["beta"].update(kannel_links=[]), "kannel_links: " + DIFFERS),
    # passwords
    "short password": (both(kannel_admin_password="short"), "kannel_admin_password: must be at least 8 characters"),
    "password with a space": (both(kannel_status_password="a b c d e f"),
                              "kannel_status_password: may not contain double quotes, spaces or newlines (it is "
                              "written into Kannel's config and URLs)"),
    "password with include": (both(kannel_admin_password="x-include-x"), "kannel_admin_password: " + RULE),
    "same passwords": (both(kannel_status_password="test-admin-pw"),
                       "kannel_status_password: must differ from kannel_admin_password"),
    # quorum, watcher, fence
    "setting differs": (lambda n, g: n["beta"].update(kannel_quorum_seconds=12), "kannel_quorum_seconds: " + DIFFERS),
    "quorum switch differs": (lambda n, g: n["beta"].update(kannel_quorum=True), "kannel_quorum: " + DIFFERS),
    "quorum address without port": (both(kannel_quorum_addresses=["192.0.2.50"]),
                                    "kannel_quorum_addresses[0]: '192.0.2.50' is not IPv4:port (a TCP port that "
                                    "accepts connections, e.g. 192.0.2.10:22)"),
    "quorum address port 0": (both(kannel_quorum_addresses=["192.0.2.50:0"]),
                              "kannel_quorum_addresses[0]: '192.0.2.50:0' is not IPv4:port (a TCP port that accepts "
                              "connections, e.g. 192.0.2.10:22)"),
    "quorum address of a node": (both(kannel_quorum_addresses=["192.0.2.11:22"]),
                                 "kannel_quorum_addresses[0]: '192.0.2.11:22' is a node of the cluster; a quorum "
                                 "address is a third host (e.g. the watcher's)"),
    "timing zero": (lambda n, g: n["alpha"].update(kannel_fence_timeout=0),
                    "kannel_fence_timeout: 0 must be at least 1 (seconds)"),
    "quorum without address": (both(kannel_quorum=True),
                               "kannel_quorum: true needs at least one address in kannel_quorum_addresses (with none, "
                               "a node that only loses its peer would give up its set, on both nodes at once)"),
    "quorum shorter than two guard cycles": (both(kannel_quorum_addresses=["192.0.2.50:22"], kannel_quorum_seconds=5),
                                             "kannel_quorum_seconds: 5 is shorter than two runtime guard cycles (6 s): "
                                             "one lost probe would make a node give up its set"),
    "watcher faster than the quorum": (
        both(kannel_quorum_addresses=["192.0.2.50:22"], kannel_quorum_seconds=20),
        "kannel_watch_failure_seconds: 30 s is shorter than kannel_quorum_seconds (20 s) + 18 s margin (2 x "
        "kannel_watch_interval + 2 x runtime guard cycle (1 s + 2 s of probes) + 2 s to give up) = 38 s: the watcher "
        "could take over a cut-off node before it has given up its set. Raise kannel_watch_failure_seconds or lower "
        "kannel_quorum_seconds"),
    "fence command a list": (lambda n, g: n["alpha"].update(kannel_fence_command=["a"]),
                             'kannel_fence_command: must be one command line (a string) for alpha, e.g. "virsh destroy '
                             'alpha"; got a list'),
    "fence command empty": (lambda n, g: n["alpha"].update(kannel_fence_command="  "),
                            "kannel_fence_command: empty for alpha; remove it, or give the command that powers the "
                            "node off"),
    "fence command two lines": (lambda n, g: n["alpha"].update(kannel_fence_command="a\nb"),
                                "kannel_fence_command: one command line only (no newlines); put a longer procedure "
                                "into a script"),
    # links
    "link id": (link(1, id="L2\n"), "kannel_links[1] (id L2\\n).id: 'L2\\n' may only hold letters, digits, '_', '.', "
                                    "'-' (it names files and units)"),
    "link id with include": (link(0, id="include1"), "kannel_links[0] (id include1).id: " + RULE),
    "placeholder id": (link(0, id="smsc-placeholder"),
                       "kannel_links[0] (id smsc-placeholder).id: 'smsc-placeholder' is reserved (bearerbox's "
                       "placeholder link)"),
    "stand-in id": (link(0, id="L1.held"), "kannel_links[0] (id L1.held).id: 'L1.held' ends in '.held', which names "
                                           "a link's stand-in (kannel_node): choose another id"),
    "duplicate id": (link(1, id="L1"), "kannel_links[1] (id L1).id: 'L1' is used by more than one link"),
    "home": (link(0, home="node-a"), L0 + ".home: 'node-a' is not a node of cluster 'edge' (alpha, beta)"),
    "port": (link(0, port=70000), L0 + ".port: 70000 is not a TCP port"),
    "host with a quote": (link(0, host='a"b'), L0 + ".host: " + RULE),
    "SMPP password": (link(0, password="123456789"),
                      L0 + ".password: 9 characters; SMPP 3.4 allows at most 8 (Kannel truncates it and the provider "
                           "refuses the bind)"),
    "SMPP username": (link(0, username="u" * 16),
                      L0 + ".username: '%s' is longer than 15 characters (SMPP 3.4 system_id)" % ("u" * 16)),
    "system type": (link(0, system_type="s" * 13), L0 + ".system_type: longer than 12 characters (SMPP 3.4 system_type)"),
    "throughput": (link(0, throughput=0), L0 + ".throughput: must be > 0 (omit it for no limit)"),
    "link option name": (link(0, options={"Bad": 1}),
                         L0 + ".options: 'Bad' is not a Kannel field name (lower case, digits, '-')"),
    "link option reserved": (link(0, options={"port": 1}),
                             L0 + ".options: 'port' is set by the role from the link's own keys; remove it from options"),
    "link option include": (link(0, options={"include": "/etc"}),
                            L0 + ".options: 'include' holds the word 'include' (Kannel reads such a line as an "
                                 "include directive)"),
    "link option value": (link(0, options={"source-addr": "/include"}), L0 + ".options.source-addr: " + RULE),
    # client sets
    "no set for a node": (on_both(lambda hv: hv["kannel_client_sets"].pop("beta")),
                          "kannel_client_sets: no set for node 'beta' (every node of cluster 'edge' needs one; "
                          "accounts may be [])"),
    "set not a node": (on_both(lambda hv: hv["kannel_client_sets"].update(
        gamma={"sendsms_port": 13015, "accounts": []})),
        "kannel_client_sets['gamma']: 'gamma' is not a node of cluster 'edge' (alpha, beta); sets are keyed by their "
        "home node"),
    "sendsms port": (cset("alpha", sendsms_port=0), ALPHA + ".sendsms_port: 0 is not a TCP port"),
    "sendsms port twice": (cset("beta", sendsms_port=13013),
                           "kannel_client_sets['beta'].sendsms_port: 13013 is used by another client set"),
    "sendsms port reserved": (cset("alpha", sendsms_port=13001),
                              ALPHA + ".sendsms_port: 13001 is bearerbox's admin or smsbox port"),
    "sendsms port reserved by the node's own admin port": (
        lambda n, g: (cset("alpha", sendsms_port=14000)(n, g), n["alpha"].update(kannel_node_admin_port=14000)),
        ALPHA + ".sendsms_port: 14000 is bearerbox's admin or smsbox port"),
    "service address without prefix": (cset("alpha", service_address="192.0.2.50"),
                                       ALPHA + ".service_address: '192.0.2.50' is not an IPv4 address with a prefix "
                                               "length (1-32), e.g. 192.0.2.50/24"),
    "service address network": (cset("alpha", service_address="192.0.2.0/24"),
                                ALPHA + ".service_address: '192.0.2.0/24' is the network or broadcast address of its "
                                        "prefix; choose a host address"),
    "service address broadcast": (cset("alpha", service_address="192.0.2.255/24"),
                                  ALPHA + ".service_address: '192.0.2.255/24' is the network or broadcast address of "
                                          "its prefix; choose a host address"),
    "service address of a node": (cset("alpha", service_address="192.0.2.11/24"),
                                  ALPHA + ".service_address: 192.0.2.11 is the kannel_cluster_address of node beta; a "
                                          "service address must be an address of its own"),
    "service address twice": (lambda n, g: (cset("alpha", service_address="192.0.2.50/24")(n, g),
                                            cset("beta", service_address="192.0.2.50/24")(n, g)),
                              "kannel_client_sets['beta'].service_address: 192.0.2.50 is also the service address of "
                              "set 'alpha'; each set needs its own"),
    "service interface alone": (cset("beta", service_interface="eth0"),
                                "kannel_client_sets['beta'].service_interface: given without service_address (the "
                                "interface is where the set's service address is bound)"),
    "service interface name": (cset("alpha", service_address="192.0.2.50/24", service_interface="eth 0"),
                               ALPHA + ".service_interface: 'eth 0' is not a network interface name (at most 15 "
                                       "letters, digits, '_', '.', ':', '@', '-')"),
    "sendsms interface": (cset("beta", sendsms_interface="any"),
                          "kannel_client_sets['beta'].sendsms_interface: 'any' is not an IPv4 address"),
    "sendsms interface a service address": (
        cset("alpha", service_address="192.0.2.50/24", sendsms_interface="192.0.2.50"),
        ALPHA + ".sendsms_interface: 192.0.2.50 is a node's or a set's service address, which only one node has at a "
                "time: give an address every node has (e.g. 127.0.0.1 for a proxy on each node), or omit it and "
                "restrict clients with allowed_ips and a firewall"),
    # accounts
    "username": (account(username="c1\n"),
                 ALPHA + ".accounts[0] (c1\\n).username: 'c1\\n' may only hold letters, digits, '_', '.', '@', '+', '-'"),
    "username with include": (account(username="include"), ALPHA + ".accounts[0] (include).username: " + RULE),
    "username twice": (account("beta", username="c1"),
                       "kannel_client_sets['beta'].accounts[0] (c1).username: 'c1' is used by more than one account "
                       "of the cluster"),
    "account password empty": (account(password=""),
                               ACCT + ".password: must be non-empty without double quotes or newlines"),
    "account password unsafe": (account(password='a"b'), ACCT + ".password: " + RULE),
    "no links": (account(links=[]), ACCT + ".links: an account needs at least one link"),
    "unknown link": (account(links=["L9"]), ACCT + ".links: 'L9' is not the id of a link in kannel_links"),
    "link of the other home": (account(links=["L2"]),
                               ACCT + ".links: link 'L2' has home 'beta', the account's set is 'alpha' (an account may "
                                      "only use links of its own home)"),
    "account option name": (account(options={"A": 1}),
                            ACCT + ".options: 'A' is not a Kannel field name (lower case, digits, '-')"),
    "account option ip list": (account(options={"user-deny-ip": "1"}),
                               ACCT + ".options: 'user-deny-ip' is set by the role from the account's allowed_ips / "
                                      "denied_ips; use those"),
    "account option reserved": (account(options={"forced-smsc": "x"}),
                                ACCT + ".options: 'forced-smsc' is set by the role; remove it from options"),
    "account option include": (account(options={"include-x": "x"}),
                               ACCT + ".options: 'include-x' holds the word 'include' (Kannel reads such a line as an "
                                      "include directive)"),
    "account option value": (account(options={"max-messages": "a\nb"}), ACCT + ".options.max-messages: " + RULE),
    "allowed and denied": (account(allowed_ips=["10.0.0.1"], denied_ips=["10.0.0.2"]),
                           ACCT + ".denied_ips: give allowed_ips or denied_ips, not both (with allowed_ips every other "
                                  "address is denied)"),
    "allowed empty": (account(allowed_ips=[]), ACCT + ".allowed_ips: empty; omit it (no restriction) or list the addresses"),
    "allowed not an address": (account(allowed_ips=["127.0.0.1", "10.0.*"]),
                               ACCT + ".allowed_ips[1]: '10.0.*' is not an IPv4 address or a Kannel pattern with '*' "
                                      "for one number (e.g. 192.0.2.10 or 10.0.*.*)"),
    # DLR store
    "redis without host": (dlr(), "kannel_dlr_store.host: required with kannel_dlr_storage=redis (the Redis server "
                                  "both nodes use, e.g. {host: 192.0.2.30})"),
    "redis host": (dlr(host="db host"), "kannel_dlr_store.host: 'db host' is not a host name or IPv4 address"),
    "redis port": (dlr(host="r", port=70000),
                   "kannel_dlr_store.port: 70000 is not a TCP port (1-65535; Redis listens on 6379)"),
    "redis database": (dlr(host="r", database=16),
                       "kannel_dlr_store.database: 16 is not a Redis database number (0-15)"),
    "redis key prefix": (dlr(host="r", key_prefix="a:b"),
                         "kannel_dlr_store.key_prefix: 'a:b' may only hold letters, digits, '_', '.', '-' (at most 64; "
                         "it begins every key Kannel writes)"),
    "redis ttl": (dlr(host="r", ttl=-1), "kannel_dlr_store.ttl: -1 must be 0 (keep entries forever) or more seconds"),
    "redis password": (dlr(password="a b", host="r"), "kannel_dlr_store_password: may not contain spaces; " + RULE),
    "store while internal": (both(kannel_dlr_store={"host": "r"}),
                             "kannel_dlr_store: set, but kannel_dlr_storage is 'internal' (valid choices: internal, "
                             "redis); set kannel_dlr_storage=redis to use the store, or remove kannel_dlr_store"),
    # incoming-message services
    "services empty": (services([]), ALPHA + ".sms_services: empty; give at least one service (e.g. {keyword: default, "
                                             "catch-all: true, get-url: \"http://...\"}) or remove it to use "
                                             "kannel_node_sms_services"),
    "service without keyword": (services([{"get-url": "http://x/"}]),
                                ALPHA + ".sms_services[0]: needs keyword (or keyword-regex); 'default' is the service "
                                        "for messages no other keyword matches"),
    "service with two actions": (services([{"keyword": "k", "get-url": "u", "text": "t"}]),
                                 ALPHA + ".sms_services[0]: needs exactly one of get-url, url, post-url, post-xml, "
                                         "text, file, exec (what Kannel does with a matching message); has get-url, text"),
    "service without action": (services([{"keyword": "k"}]),
                               ALPHA + ".sms_services[0]: needs exactly one of get-url, url, post-url, post-xml, text, "
                                       "file, exec (what Kannel does with a matching message); has none"),
    "service field name": (services([{"keyword": "k", "text": "t", "Get_Url": "y"}]),
                           ALPHA + ".sms_services[0]: 'Get_Url' is not a Kannel field name (lower case, digits, '-')"),
    "service group": (services([{"keyword": "k", "text": "t", "group": "x"}]),
                      ALPHA + ".sms_services[0]: 'group' is written by the role; remove it"),
    "service value a list": (services([{"keyword": "k", "text": ["t"]}]),
                             ALPHA + ".sms_services[0].text: must be a string, number or boolean"),
    "service value unsafe": (services([{"keyword": "k", "get-url": 'http://x/"'}]),
                             ALPHA + ".sms_services[0].get-url: " + RULE),
    # cluster lock
    "lock seconds not a number": (both(kannel_cluster_lock_seconds="soon"),
                                  "kannel_cluster_lock_seconds: 'soon' is not a whole number of seconds"),
    "lock seconds short": (both(kannel_cluster_lock_seconds=60),
                           "kannel_cluster_lock_seconds: 60 is shorter than 300 s: a lock could expire under a "
                           "legitimate run (a failback drains for up to 120 s by default and each activation waits "
                           "up to 30 s), and a second run would then go ahead beside it"),
}


def test_the_good_fleet_has_no_errors():
    assert check() == []
    assert check(hosts=("alpha", "beta")) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_says_what_to_fix(case):
    change, message = CASES[case]
    errors = check(change, hosts=("alpha", "beta"))
    assert message in errors, "\n".join(errors)


def test_a_service_address_of_another_cluster_is_refused():
    errors = check(cset("alpha", service_address="192.0.2.50/24"), fleet_=second_cluster("192.0.2.50/28"))
    assert errors == [ALPHA + ".service_address: 192.0.2.50 is also the service address of set 'gamma' of cluster "
                              "'core'; each set needs its own"]


def test_a_sendsms_interface_of_another_clusters_service_address_is_refused():
    errors = check(cset("alpha", sendsms_interface="192.0.2.50"), fleet_=second_cluster("192.0.2.50/28"))
    assert len(errors) == 1 and "sendsms_interface: 192.0.2.50 is a node's or a set's service address" in errors[0]


def test_a_broken_cluster_reports_only_what_can_be_checked():
    # with no cluster of two the cluster's own checks cannot run; the lock check still does
    errors = check(lambda n, g: (g["edge"].append("gamma"), both(kannel_cluster_lock_seconds=60)(n, g)))
    assert [e.split(":")[0] for e in errors] == ["kannel_cluster", "kannel_cluster_lock_seconds"]


def test_the_report_names_each_node_once_with_its_errors():
    nodes, groups = fleet()
    link(0, port=0)(nodes, groups)
    result = cm.fleet_model(nodes, groups, ["alpha", "beta"], SETTINGS, NODE_DEFAULTS, REDIS)
    assert result["report"] == ["Inventory errors for node alpha:", L0 + ".port: 0 is not a TCP port",
                                "Inventory errors for node beta:", L0 + ".port: 0 is not a TCP port"]
    assert result["models"] == {}


def test_the_model_of_a_node():
    nodes, groups = fleet()
    link(0, throughput=None)(nodes, groups)
    result = cm.fleet_model(nodes, groups, ["alpha", "beta"], SETTINGS, NODE_DEFAULTS, REDIS)
    model = result["models"]["alpha"]
    assert (model["cluster"], model["node"], model["peer"], model["nodes"]) == ("edge", "alpha", "beta", ["alpha", "beta"])
    assert (model["address"], model["peer_address"]) == ("192.0.2.10", "192.0.2.11")
    assert model["links"][0] == {"id": "L1", "home": "alpha", "host": "192.0.2.1", "port": 2775, "username": "u1",
                                 "password": "pw1", "system_type": "", "transceiver": True, "throughput": None,
                                 "reconnect_delay": 10, "enquire_link_interval": 30, "max_pending_submits": 10,
                                 "options": {}, "tags": ["acct-c1"]}
    assert model["sets"]["beta"]["links"] == ["L2"] and model["sets"]["beta"]["sendsms_port"] == 13014
    assert model["sets"]["alpha"]["accounts"][0]["tag"] == "acct-c1"
    assert model["quorum"] == {"enabled": False, "addresses": [], "seconds": 10, "takeover_wait_seconds": 18,
                               "watch_min_failure_seconds": 28}
    assert model["dlr"] == {"storage": "internal"} and model["lock"] == {"seconds": 900}
    assert model["info_sets"]["alpha"] == {"smsbox": "alpha", "links": ["L1"], "service_address": None}
    assert result["summary"] == [
        "cluster edge: node alpha (192.0.2.10), peer beta (192.0.2.11); home links L1, peer links L2",
        "cluster edge: node beta (192.0.2.11), peer alpha (192.0.2.10); home links L2, peer links L1"]


def test_a_link_no_account_uses_is_tagged_unused_and_redis_gets_its_defaults():
    nodes, groups = fleet()
    dlr(password="pw", host="r", port=6380)(nodes, groups)
    on_both(lambda hv: hv["kannel_links"].append(dict(hv["kannel_links"][0], id="L3")))(nodes, groups)
    model = cm.fleet_model(nodes, groups, ["alpha"], SETTINGS, NODE_DEFAULTS, REDIS)["models"]["alpha"]
    assert model["links"][2]["tags"] == ["unused-L3"]
    assert model["dlr"] == dict(REDIS, storage="redis", host="r", port=6380, password="pw")


def test_the_checks_read_the_stand_in_suffix_of_the_runtime():
    from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import HELD_SUFFIX
    assert check(link(0, id="L1" + HELD_SUFFIX))
