"""Event source smsgw.cluster.kannel_health: settings refused at start, events per node and poll,
hysteresis, the conditions of a takeover, Denied handled once, and one run over real HTTP.

main() runs as ansible-rulebook runs it (a queue and the args), with the nodes played by
FakeBearerbox (the captured Kannel pages) as the fetch callable, or served on loopback."""
import asyncio
import http.server
import json
import socket
import threading
import time

import pytest
from ansible.module_utils.six.moves.urllib.error import URLError

from ansible_collections.smsgw.cluster.extensions.eda.plugins.event_source import kannel_health
from ansible_collections.smsgw.cluster.plugins.module_utils.watch_state import StateFile, utc_iso
from fakes import FakeBearerbox

PW = "st&tus pw"
SETS = {"n1": {"links": ["A1", "A2"], "smsbox": "n1"}, "n2": {"links": ["B1"], "smsbox": "n2"}}


class Nodes(object):
    """Two fake bearerboxes behind one fetch callable, each serving its home set; `down` ones
    refuse connections."""

    def __init__(self, password=PW):
        self.gw = {"n1": FakeBearerbox({"A1": "online", "A2": "online"}, ["n1"], password=password),
                   "n2": FakeBearerbox({"B1": "online"}, ["n2"], password=password)}
        self.down = set()
        self.calls = {"n1": 0, "n2": 0}

    def __call__(self, url, timeout):
        node = "n1" if ":1301/" in url else "n2"
        self.calls[node] += 1
        if node in self.down:
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        return self.gw[node](url, timeout)

    def serve_both(self, node):
        gw = self.gw[node]
        for link in ("A1", "A2", "B1"):
            if link not in gw.links:
                gw.links[link] = "online"
                gw.order.append(link)
        gw.boxes = ["n1", "n2"]


@pytest.fixture
def config(tmp_path):
    def write(**cluster):
        body = {"nodes": {"n1": {"admin_url": "http://127.0.0.1:1301"},
                          "n2": {"admin_url": "http://127.0.0.1:1302"}},
                "status_password": PW, "sets": SETS, "interval": 0.05, "failure_seconds": 0.3,
                "state_dir": str(tmp_path / "state")}
        body.update(cluster)
        path = tmp_path / "clusters.json"
        path.write_text(json.dumps({"clusters": {"c1": body}}))
        return str(path)
    return write


def run(args, fetch, seconds, during=None):
    """Run main() for `seconds`; `during(events)` is called after every event (may change the
    fakes). Returns the events."""
    events = []

    class Queue(asyncio.Queue):
        async def put(self, event):
            events.append(event["kannel_health"])
            if during:
                during(events)

    async def go():
        task = asyncio.ensure_future(kannel_health.main(Queue(), args, fetch=fetch))
        done, _ = await asyncio.wait([task], timeout=seconds)
        if task in done:
            task.result()  # raises the refusal
        task.cancel()
    asyncio.run(go())
    return events


def state_of(config_path, tmp_path):
    return StateFile(str(tmp_path / "state"), "c1").read()


@pytest.mark.parametrize("cluster,args,message", [
    ({"interval": 0}, {}, "interval must be greater than 0, got 0"),
    ({}, {"interval": -5}, "interval must be greater than 0, got -5"),
    ({}, {"interval": "often"}, "interval must be a number of seconds"),
    ({}, {"cluster": "nope"}, "unknown cluster 'nope'; config .* has: c1"),
    ({"status_password": ""}, {}, "status_password is missing"),
    ({"failure_seconds": 0.06}, {}, r"failure_seconds \(0.06\) must be at least twice interval"),
    ({}, {"pollrate": 3}, "unknown argument.*pollrate"),
])
def test_bad_settings_refuse_to_start(config, cluster, args, message):
    full = {"config": config(**cluster), "cluster": "c1"}
    full.update(args)
    nodes = Nodes()
    with pytest.raises(kannel_health.SettingsError, match=message):
        run(full, nodes, 2)
    assert nodes.calls == {"n1": 0, "n2": 0}, "refused settings must not poll anything"


def test_missing_config_file_is_refused(tmp_path):
    with pytest.raises(kannel_health.SettingsError, match="cannot read config"):
        run({"config": str(tmp_path / "none.json"), "cluster": "c1"}, Nodes(), 1)


def test_events_per_node_and_poll_without_the_password(config, tmp_path, capsys):
    events = run({"config": config(), "cluster": "c1"}, Nodes(), 0.4)
    assert len(events) >= 6
    first = {e["node"]: e for e in events[:2]}
    assert first["n1"]["reachable"] and first["n1"]["health"] == "healthy"
    assert first["n1"]["active_sets"] == ["n1"] and first["n2"]["active_sets"] == ["n2"]
    assert first["n1"]["peer"] == "n2" and first["n1"]["decision"] == "ok"
    assert first["n1"]["cluster"] == "c1" and first["n1"]["error"] is None
    everything = json.dumps(events) + capsys.readouterr().out + \
        (tmp_path / "state" / "c1.log").read_text()
    assert PW not in everything and "st%26tus" not in everything


def test_takeover_after_the_window_once_and_recorded_before(config, tmp_path):
    nodes = Nodes()
    nodes.down.add("n1")
    seen_state = []

    def during(events):
        if events[-1]["decision"] == "takeover":
            seen_state.append(state_of(None, tmp_path))  # written before the event was queued

    events = run({"config": config(), "cluster": "c1"}, nodes, 1.0, during)
    takeovers = [e for e in events if e["decision"] == "takeover"]
    assert [(e["node"], e["attempt"]) for e in takeovers] == [("n1", 1)]
    assert takeovers[0]["failing_for"] >= 0.3
    before = [e for e in events if e["node"] == "n1"][:3]
    assert [e["decision"] for e in before] == ["wait"] * 3
    assert seen_state[0]["mode"] == "disarmed"
    assert seen_state[0]["takeover"]["node"] == "n1" and seen_state[0]["takeover"]["result"] == "running"
    n1 = [e for e in events if e["node"] == "n1"]
    after = n1[n1.index(takeovers[0]) + 1:]
    assert after and all(e["decision"] == "hold" and "has not ended" in e["reason"] for e in after)
    log = (tmp_path / "state" / "c1.log").read_text()
    assert "c1 n1: takeover | seen: no answer" in log and "why: failed every poll for" in log


def test_blip_shorter_than_the_window_is_no_takeover(config, tmp_path):
    nodes = Nodes()
    nodes.down.add("n2")

    def during(events):
        if len([e for e in events if e["node"] == "n2"]) == 3:
            nodes.down.clear()

    events = run({"config": config(), "cluster": "c1"}, nodes, 0.8, during)
    assert "takeover" not in [e["decision"] for e in events]
    assert state_of(None, tmp_path)["mode"] == "armed"
    assert "shorter than the failure window (0.3 s): a blip is not a failure" in \
        (tmp_path / "state" / "c1.log").read_text()


def test_paused_holds_and_resume_takes_over(config, tmp_path):
    store = StateFile(str(tmp_path / "state"), "c1")
    store.update(lambda s: dict(s, mode="paused", mode_reason="maintenance"))
    nodes = Nodes()
    nodes.down.add("n1")
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    holds = [e for e in events if e["decision"] == "hold"]
    assert holds and "paused (maintenance)" in holds[-1]["reason"]
    assert "takeover" not in [e["decision"] for e in events]
    store.update(lambda s: dict(s, mode="armed"))
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    assert [e["node"] for e in events if e["decision"] == "takeover"] == ["n1"]


def test_both_nodes_down_nothing_attempted(config, tmp_path):
    nodes = Nodes()
    nodes.down.update(["n1", "n2"])
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.7)
    assert "takeover" not in [e["decision"] for e in events]
    assert "both nodes down: nothing is attempted" in events[-1]["reason"]
    assert state_of(None, tmp_path)["attempts"] == 0


def test_a_node_waiting_for_its_dlr_store_is_degraded_never_taken_over(config, tmp_path):
    # only n1's page hangs (it lost its store first, or the peer's poll came before its own
    # stall): the store, probed from the watcher, does not answer either -> hold, no takeover
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    store = {"storage": "redis", "host": "127.0.0.1", "port": closed.getsockname()[1]}
    closed.close()
    nodes = Nodes()
    nodes.down.add("n1")
    events = run({"config": config(dlr_store=store), "cluster": "c1"}, nodes, 0.7)
    assert "takeover" not in [e["decision"] for e in events]
    n1 = [e for e in events if e["node"] == "n1"]
    assert n1[-1]["decision"] == "hold", n1[-1]
    assert "the cluster's DLR store does not answer either" in n1[-1]["reason"]
    assert "seen: no answer (the DLR store (redis at 127.0.0.1:%d) does not answer" % store["port"] \
        in (tmp_path / "state" / "c1.log").read_text()
    assert state_of(None, tmp_path)["attempts"] == 0
    # the same hang with the store answering is the node's own fault: taken over
    alive = socket.socket()
    alive.bind(("127.0.0.1", 0))
    alive.listen(8)

    def pong():
        while True:
            try:
                conn = alive.accept()[0]
            except OSError:
                return
            conn.sendall(b"-NOAUTH Authentication required.\r\n")
            conn.close()
    threading.Thread(target=pong, daemon=True).start()
    try:
        events = run({"config": config(dlr_store=dict(store, port=alive.getsockname()[1])),
                      "cluster": "c1"}, nodes, 0.7)
    finally:
        alive.close()
    assert [e["node"] for e in events if e["decision"] == "takeover"] == ["n1"]


def test_peer_serving_the_set_already_is_no_takeover(config, tmp_path):
    nodes = Nodes()
    nodes.serve_both("n2")
    nodes.down.add("n1")
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    assert "takeover" not in [e["decision"] for e in events]
    assert "peer n2 already serves n1's set" in events[-2]["reason"]


def test_wrong_status_password_errors_every_poll_asks_once_never_takes_over(config, tmp_path):
    nodes = Nodes(password="the-real-one")
    nodes.down.add("n1")  # even with a node really down: the watcher is the broken part
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.8)
    n2 = [e for e in events if e["node"] == "n2"]
    assert len(n2) >= 8 and all(e["decision"] == "error" for e in n2)
    assert "answered Denied" in n2[-1]["error"] and "not asked again" in n2[-1]["error"]
    assert nodes.calls["n2"] == 1, "a Denied is never asked again (bearerbox delays each one more)"
    assert "takeover" not in [e["decision"] for e in events]
    assert "peer n2 is not healthy" in [e for e in events if e["node"] == "n1"][-1]["reason"]
    log = (tmp_path / "state" / "c1.log").read_text()
    assert log.count("c1 n2: error") == len(n2)


def test_restarted_watcher_does_not_start_a_second_takeover(config, tmp_path):
    nodes = Nodes()
    nodes.down.add("n1")
    run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.6)  # the restarted watcher
    assert "takeover" not in [e["decision"] for e in events]
    state = state_of(None, tmp_path)
    assert state["attempts"] == 1 and state["takeover"]["result"] == "running"


def test_served_takeover_stays_disarmed_refused_one_rearms(config, tmp_path):
    store = StateFile(str(tmp_path / "state"), "c1")
    nodes = Nodes()
    nodes.down.add("n1")
    run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    # the playbook returned without the survivor serving n1's set (the second observer refused)
    store.update(lambda s: dict(s, takeover=dict(s["takeover"], ended_at=utc_iso(time.time() - 2))))
    events = run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    state = store.read()
    assert state["takeover"]["result"] in ("not served", "running")
    assert state["attempts"] == 2, "re-armed after the refusal, and the window ran again"
    # now the survivor serves it: recorded as served, stays disarmed, no third attempt
    nodes.serve_both("n2")
    run({"config": config(), "cluster": "c1"}, nodes, 0.6)
    state = store.read()
    assert state["takeover"]["result"] == "served" and state["mode"] == "disarmed"
    assert state["attempts"] == 2
    log = (tmp_path / "state" / "c1.log").read_text()
    assert "re-armed" in log and "no ping-pong" in log
    assert events


def test_over_real_http_on_loopback(config, tmp_path):
    gw = FakeBearerbox({"A1": "online", "A2": "online"}, ["n1"], password=PW)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = gw("http://x" + self.path, 1).encode()
            self.send_response(200)  # Kannel answers everything with 200
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    closed = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    closed_port = closed.server_address[1]
    closed.server_close()  # nothing listens there: the second node is down
    try:
        path = config(nodes={"n1": {"admin_url": "http://127.0.0.1:%d" % server.server_address[1]},
                             "n2": {"admin_url": "http://127.0.0.1:%d" % closed_port}})
        events = run({"config": path, "cluster": "c1"}, None, 0.5)
    finally:
        server.shutdown()
    n1 = [e for e in events if e["node"] == "n1"]
    n2 = [e for e in events if e["node"] == "n2"]
    assert n1[0]["reachable"] and n1[0]["active_sets"] == ["n1"]
    assert not n2[0]["reachable"]
    assert "cannot reach http://127.0.0.1:%d/status.xml" % closed_port in n2[0]["error"]
    assert PW not in json.dumps(events)


def test_a_long_outage_that_ends_is_not_called_a_blip(config, tmp_path):
    nodes = Nodes()
    nodes.down.update(["n1", "n2"])  # both down: held, nothing taken over, then both return

    def during(events):
        if len(events) == 20:
            nodes.down.clear()

    run({"config": config(), "cluster": "c1"}, nodes, 1.0, during)
    log = (tmp_path / "state" / "c1.log").read_text()
    assert "c1 n1: ok | seen: healthy, serves n1 | did: nothing | why: answers again after" in log
    assert "blip" not in log
