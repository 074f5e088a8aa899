"""serving_exactly: a judged status read shows the node healthy, serving exactly its sets."""

from ansible_collections.smsgw.cluster.plugins.test import serving_exactly as plugin

serving_exactly = plugin.TestModule().tests()["serving_exactly"]
SETS = ["node-a", "node-b"]


def read(health="healthy", a="active", b="passive", address=None):
    return {"health": health, "sets": {"node-a": {"state": a, "service_address": address},
                                       "node-b": {"state": b, "service_address": None}}}


def test_healthy_and_each_set_where_it_belongs():
    assert serving_exactly(read(), SETS, ["node-a"])
    assert serving_exactly(read(b="active"), SETS, ["node-a", "node-b"])


def test_a_set_in_the_wrong_state_or_an_unhealthy_read_is_not_it():
    assert not serving_exactly(read(b="active"), SETS, ["node-a"])
    assert not serving_exactly(read(a="partial"), SETS, ["node-a"])
    assert not serving_exactly(read(health="degraded"), SETS, ["node-a"])
    assert not serving_exactly({"health": "healthy", "sets": {"node-a": {"state": "active"}}}, SETS, ["node-a"])
    # a failed or skipped read
    assert not serving_exactly({"failed": True, "msg": "unreachable"}, SETS, ["node-a"])
    assert not serving_exactly({"skipped": True}, SETS, ["node-a"])


def test_a_service_address_nobody_looked_at_cannot_be_confirmed():
    unread = {"address": "10.0.0.9/24", "bound": None, "interface": None}
    assert not serving_exactly(read(address=unread), SETS, ["node-a"])  # kannel_serve's confirmation
    checked = dict(unread, bound=True, interface="eth0")
    assert serving_exactly(read(address=checked), SETS, ["node-a"])  # kannel_info's read
