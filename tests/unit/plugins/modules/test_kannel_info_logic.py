"""kannel_info verdicts on captured status pages."""
import json
import socket
import time
import threading

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdmin,
    KannelAdminDenied,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_status import parse_status
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_health import (
    judge,
    normalize_sets,
    report,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.serving_record import read_serving
from ansible_collections.smsgw.cluster.plugins.modules.kannel_info import guard_peer_record
from fakes import FakeBearerbox, fixture

# mixed.xml: s-online, f-online online; s-dead dead; s-reconn re-connecting; f-noclient
# connecting; boxes node-a and node-b connected.
SETS = {
    "node-a": {"links": ["s-online", "f-online"], "smsbox": "node-a"},
    "node-b": {"links": ["s-spare"], "smsbox": "node-b"},
    "node-c": {"links": ["s-dead", "s-spare"], "smsbox": "node-c"},
    "node-d": {"links": ["zzz"], "smsbox": None},
}


def test_set_states_active_partial_passive():
    health, reasons, sets = judge(parse_status(fixture("mixed.xml")), SETS, None)
    assert health == "healthy" and reasons == []
    assert sets["node-a"]["state"] == "active"
    assert sets["node-b"]["state"] == "partial"  # box connected, link not loaded
    assert sets["node-c"]["state"] == "partial"  # s-dead loaded, s-spare absent, no box
    assert sets["node-d"]["state"] == "passive"
    assert sets["node-a"]["links"]["s-online"]["state"] == "online"
    assert sets["node-b"]["links"]["s-spare"]["state"] == "absent"
    assert sets["node-a"]["expected_active"] is None


def test_expected_active_all_online_is_healthy():
    health, reasons, _sets = judge(parse_status(fixture("mixed.xml")),
                                   {"node-a": SETS["node-a"], "node-d": SETS["node-d"]}, ["node-a"])
    assert health == "healthy", reasons


def test_expected_link_not_online_or_box_missing_degrades():
    sets = {"x": {"links": ["s-online", "s-reconn", "s-dead", "nope"], "smsbox": "node-z"}}
    health, reasons, _sets = judge(parse_status(fixture("mixed.xml")), sets, ["x"])
    assert health == "degraded"
    text = "\n".join(reasons)
    assert "s-reconn of expected-active set x is re-connecting" in text
    assert "s-dead of expected-active set x is dead" in text
    assert "nope of expected-active set x is not loaded" in text
    assert "smsbox node-z" in text
    assert "s-online" not in text


def test_unexpected_set_loaded_degrades():
    health, reasons, _sets = judge(parse_status(fixture("mixed.xml")),
                                   {"node-a": SETS["node-a"], "node-b": SETS["node-b"]}, ["node-a"])
    assert health == "degraded"
    assert reasons == ["smsbox node-b of set node-b (not expected active here) is connected"]


def test_suspended_gateway_degraded_and_going_down_is_down():
    h, r, _sets = judge(parse_status(fixture("suspended.xml")), {}, None)
    assert h == "degraded" and "suspended" in r[0]
    text = fixture("empty.xml").replace("<status>running,", "<status>going down,")
    h, r, _sets = judge(parse_status(text), {}, None)
    assert h == "down"


def test_unreachable_is_a_down_result():
    gw = FakeBearerbox(password="pw")
    gw.down = True
    res = report(KannelAdmin("http://127.0.0.1:13000", "pw", 1, fetch=gw), SETS, ["node-a"])
    assert res["health"] == "down" and res["reachable"] is False
    assert "unreachable" in res["reasons"][0] and "pw" not in res["reasons"][0].replace("password", "")
    assert res["sets"]["node-a"]["state"] == "unknown"
    assert res["dlr"] == {}


def test_an_unanswered_page_names_a_dlr_store_that_is_down_too():
    gw = FakeBearerbox(password="pw")
    gw.down = True
    admin = KannelAdmin("http://127.0.0.1:13000", "pw", 1, fetch=gw)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    store = {"storage": "redis", "host": "127.0.0.1", "port": closed.getsockname()[1]}
    closed.close()
    res = report(admin, SETS, ["node-a"], dlr_store=store)
    assert res["health"] == "degraded" and res["dlr_store_down"] is True and len(res["reasons"]) == 2
    assert res["reasons"][0].startswith("the DLR store (redis at 127.0.0.1:%d) does not answer: "
                                        "cannot connect" % store["port"])
    assert "taking over does not help" in res["reasons"][0]
    assert "unreachable" in res["reasons"][1]
    # a store that answers is not named; an internal one is never probed
    alive = socket.socket()
    alive.bind(("127.0.0.1", 0))
    alive.listen(1)
    threading.Thread(target=lambda: alive.accept()[0].sendall(b"+PONG\r\n"), daemon=True).start()
    res = report(admin, SETS, ["node-a"], dlr_store=dict(store, port=alive.getsockname()[1]))
    alive.close()
    assert len(res["reasons"]) == 1 and "unreachable" in res["reasons"][0]
    assert res["health"] == "down" and res["dlr_store_down"] is False  # then the node is the fault
    assert len(report(admin, SETS, ["node-a"], dlr_store={"storage": "internal"})["reasons"]) == 1


def test_reachable_result_has_queues():
    gw = FakeBearerbox({"a": "online"}, password="pw", queued={"a": 4})
    res = report(KannelAdmin("http://127.0.0.1:13000", "pw", 1, fetch=gw),
              {"s": {"links": ["a"], "smsbox": None}}, ["s"])
    assert res["health"] == "healthy"
    assert res["queues"]["links_queued"] == 4
    assert res["sets"]["s"]["queued"] == 4
    assert res["dlr"] == {"storage": "internal", "queued": 0, "received_total": 0, "sent_total": 0}


def test_normalize_sets_rejects_bad_shapes():
    errors = normalize_sets({"a": {"links": "x"}, "b": {"smsbox": 3}, "c": {"boxes": []},
                             "d": []})[1]
    assert len(errors) == 4
    sets, errors = normalize_sets({"a": None, "b": {"links": ["l"], "smsbox": "b"}})
    assert errors == [] and sets["a"] == {"links": [], "smsbox": None, "service_address": None}


def test_command_password_checked_with_a_command_that_names_no_link():
    gw = FakeBearerbox({"a1": "online"}, password="stat-pw")
    status_reader = KannelAdmin("http://127.0.0.1:13000", "stat-pw", 5, fetch=gw)
    res = report(status_reader, {}, None, KannelAdmin("http://127.0.0.1:13000", "stat-pw", 5, fetch=gw))
    assert res["commands_allowed"] is True
    assert gw.commands() == [("stop-smsc", None)] and gw.links == {"a1": "online"}
    wrong = KannelAdmin("http://127.0.0.1:13000", "not-the-admin-pw", 5, fetch=gw)
    with pytest.raises(KannelAdminDenied) as e:
        report(status_reader, {}, None, wrong)
    assert "not-the-admin-pw" not in str(e.value) and "127.0.0.1:13000" in str(e.value)
    assert report(status_reader, {}, None)["commands_allowed"] is None


def test_stand_ins_are_reported_as_held_and_not_as_loaded_links():
    # a fenced node: its own links' stand-ins are loaded, the links are not
    status = parse_status(FakeBearerbox({"a.held": "re-connecting", "b": "online"}).render())
    sets = {"node-a": {"links": ["a"], "smsbox": "node-a"}, "node-b": {"links": ["b"],
                                                                        "smsbox": None}}
    health, reasons, reports = judge(status, sets, ["node-b"])
    assert health == "healthy", reasons
    assert reports["node-a"]["state"] == "passive" and reports["node-a"]["held"] == ["a"]
    assert reports["node-a"]["links"]["a"]["state"] == "absent"
    assert reports["node-b"]["held"] == []


def test_serving_file_absent_means_nothing_recorded(tmp_path):
    assert read_serving(str(tmp_path / "serving.json")) == {
        "recorded": False, "sets": None, "changed_by": None, "changed_at": None, "error": None}


def test_serving_file_read(tmp_path):
    path = tmp_path / "serving.json"
    path.write_text('{"sets": ["node-a"], "changed_by": "deploy", "changed_at": "T"}\n')
    assert read_serving(str(path)) == {"recorded": True, "sets": ["node-a"], "changed_by": "deploy",
                                       "changed_at": "T", "error": None}


@pytest.mark.parametrize("text", ['{"sets": ["a"]}\\n', '{"sets": "node-a"}', "{}", "[1]"])
def test_serving_file_unreadable_is_an_error_not_a_crash(tmp_path, text):
    path = tmp_path / "serving.json"
    path.write_text(text)
    state = read_serving(str(path))
    assert state["recorded"] is True and state["sets"] is None
    assert str(path) in state["error"]


# --- service addresses (read from the host's `ip -j -4 addr show`, as parse_addresses gives them)
ADDR_SETS = {
    "node-a": {"links": ["s-online"], "smsbox": "node-a", "service_address": "10.0.0.35/24"},
    "node-b": {"links": ["s-spare"], "smsbox": None, "service_address": "10.0.0.36/24"},
}
HOST = [{"interface": "eth0", "address": "10.0.0.31", "prefix": 24},
        {"interface": "eth0", "address": "10.0.0.35", "prefix": 24}]


def test_service_address_bound_where_its_set_is_served_is_healthy():
    health, reasons, sets = judge(parse_status(fixture("mixed.xml")), ADDR_SETS, ["node-a"], HOST)
    assert health == "healthy" and reasons == []
    assert sets["node-a"]["service_address"] == {"address": "10.0.0.35/24", "bound": True,
                                                 "interface": "eth0"}
    assert sets["node-b"]["service_address"]["bound"] is False


def test_service_address_of_a_set_not_served_here_degrades():
    host = HOST + [{"interface": "eth0", "address": "10.0.0.36", "prefix": 24}]
    health, reasons, _ = judge(parse_status(fixture("mixed.xml")), ADDR_SETS, ["node-a"], host)
    assert health == "degraded"
    assert reasons == ["service address 10.0.0.36/24 of set node-b (not expected active here) is "
                       "bound on eth0"]


def test_service_address_missing_on_the_serving_node_degrades():
    health, reasons, _ = judge(parse_status(fixture("mixed.xml")), ADDR_SETS, ["node-a"], HOST[:1])
    assert health == "degraded"
    assert reasons == ["service address 10.0.0.35/24 of expected-active set node-a is not bound on "
                       "this node (its clients cannot reach it here)"]


def test_service_address_is_reported_when_bearerbox_is_down():
    gw = FakeBearerbox(password="pw")
    gw.down = True
    res = report(KannelAdmin("http://127.0.0.1:13000", "pw", 5, fetch=gw), ADDR_SETS, ["node-b"],
              local_addresses=HOST)
    assert res["health"] == "down"
    assert res["sets"]["node-a"]["service_address"]["bound"] is True


def test_sets_without_service_address_report_none_and_bad_ones_are_refused():
    sets, errors = normalize_sets({"a": {"links": ["x"], "service_address": "10.0.0.35"},
                                   "b": {"links": ["y"]}})
    assert errors and "service_address" in errors[0]
    assert sets["b"]["service_address"] is None
    _, _, reports = judge(parse_status(fixture("mixed.xml")), {"b": sets["b"]}, None, HOST)
    assert reports["b"]["service_address"] is None


def test_the_guards_record_of_the_peer_is_read_through_its_configuration(tmp_path):
    not_known = {"peer_reachable": None, "fresh": False, "silent_seconds": None}
    config = tmp_path / "cluster-guard.json"
    assert guard_peer_record(str(config)) == not_known  # no configuration: nothing known
    config.write_text("{not json")
    assert guard_peer_record(str(config)) == not_known
    state = tmp_path / "guard-state.json"
    config.write_text(json.dumps({"state_file": str(state), "interval": 1}))
    assert guard_peer_record(str(config)) == not_known  # the guard has written no record yet
    now = time.time()
    state.write_text(json.dumps({"peer_reachable": False, "peer_seen_at": now - 12, "updated_at": now - 1}))
    got = guard_peer_record(str(config))
    assert got["peer_reachable"] is False and got["fresh"] is True and 11 < got["silent_seconds"] < 14
