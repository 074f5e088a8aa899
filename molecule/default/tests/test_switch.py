"""Molecule scenario `default`, after test_default.py (pytest runs the modules in name order, every
test of test_default.py first): each node's set is taken over by its peer, which runs the other
Debian release, with takeover.yml, then given back with failback.yml (a mixed cluster is what a
rolling OS upgrade goes through). The provider simulator must never see an account bound twice.
"""
import os
import subprocess
import uuid

from test_default import LINKS, NODES, SCENARIO, SETS, node_of, node_status, peer_of, send, sim, \
    wait_for_message

REPO = os.path.dirname(os.path.dirname(SCENARIO))

testinfra_hosts = ["podman://" + n for n in NODES]


def playbook(name, *args):
    """Run a playbook of the repository against this scenario's inventory, as converge ran deploy."""
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.path.join(REPO, name)]
        + list(args), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def assert_set_delivered(via, set_name):
    """Every account of the set sends through the set's sendsms port on node `via`: accepted, and
    delivered on one of the account's own links."""
    links = {link["id"]: link for link in LINKS}
    for acct in SETS[set_name]["accounts"]:
        text = "switch %s %s" % (acct["username"], uuid.uuid4().hex[:8])
        status, body = send(via, SETS[set_name]["sendsms_port"], acct["username"], acct["password"],
                            text)
        assert status == 202 and "Accepted" in body, (via, acct["username"], status, body)
        allowed = {links[lid]["username"] for lid in acct["links"]}
        assert any(wait_for_message(a, text, timeout=15) for a in allowed), (via, acct["username"])


def test_planned_takeover_and_failback_across_releases(host):
    """The peer (the other Debian release) serves this node's set, then gives it back; no provider
    account is ever bound twice."""
    node = node_of(host)
    peer = peer_of(node)
    survivor = host.get_host("podman://" + peer)
    own = [l["id"] for l in LINKS if l["home"] == node]

    playbook("takeover.yml", "-e", "failed=%s" % node)
    links, boxes = node_status(survivor)
    assert all(links.get(l["id"]) == "online" for l in LINKS), links
    assert sorted(boxes) == sorted(NODES)
    links, boxes = node_status(host)
    assert not [i for i in own if links.get(i) == "online"], links
    assert boxes == []
    assert_set_delivered(peer, node)

    playbook("failback.yml", "-e", "node=%s" % node)
    links, boxes = node_status(host)
    assert all(links.get(i) == "online" for i in own), links
    assert boxes == [node]
    links, boxes = node_status(survivor)
    assert not [i for i in own if i in links], links
    assert boxes == [peer]
    assert_set_delivered(node, node)

    for link in LINKS:
        st = sim("/state")["accounts"][link["username"]]
        assert st["binds_max"] == 1, (link["id"], st)
        assert st["binds_now"] == 1, (link["id"], st)
