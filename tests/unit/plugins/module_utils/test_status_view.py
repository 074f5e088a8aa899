"""status.yml's fleet view: the verdict of each cluster and the lines an operator reads first."""
import copy

from ansible_collections.smsgw.cluster.plugins.module_utils import status_view as sv


def cluster(name, active=None, reachable=(True, True), health=("healthy", "healthy"), mode=None, bound=None,
            lock=None):
    """A cluster of nodes NAME-a, NAME-b as status_report.json.j2 writes it; active: {set: [nodes]}."""
    a, b = name + "-a", name + "-b"
    active = active or {a: [a], b: [b]}
    return {"cluster": name, "mode": mode or "normal operation", "normal": mode is None,
            "nodes": [{"node": n, "reachable": r, "health": h} for n, r, h in zip((a, b), reachable, health)],
            "sets": [{"set": s, "home": s, "active_on": active[s], "service_address_bound_on": (bound or {}).get(s, [])}
                     for s in (a, b)],
            "lock": lock or {"held": False}}


NORMAL = cluster("paris")
TAKEN_OVER = cluster("lyon", active={"lyon-a": ["lyon-b"], "lyon-b": ["lyon-b"]}, reachable=(False, True),
                     health=("down", "healthy"), mode="taken over: lyon-a on lyon-b")
NODE_DOWN = cluster("nice", active={"nice-a": [], "nice-b": ["nice-b"]}, reachable=(False, True),
                    health=("down", "healthy"), mode="not served (or node unreachable): nice-a")
DOUBLE = cluster("brest", active={"brest-a": ["brest-a", "brest-b"], "brest-b": ["brest-b"]},
                 mode="CONNECTED ON BOTH NODES: brest-a")


def report(*clusters):
    return sv.with_verdicts({"generated_at": "now", "clusters": copy.deepcopy(list(clusters))})


def test_verdicts():
    assert sv.verdict(NORMAL) == "normal"
    assert sv.verdict(TAKEN_OVER) == "taken over"
    assert sv.verdict(NODE_DOWN) == "node down"
    assert sv.verdict(DOUBLE) == "degraded"
    # a set served nowhere while both nodes answer is not a node down
    assert sv.verdict(cluster("x", active={"x-a": [], "x-b": ["x-b"]}, mode="not served")) == "degraded"
    # one address on both nodes
    assert sv.verdict(cluster("x", bound={"x-a": [{"node": "x-a"}, {"node": "x-b"}]}, mode="CONFLICT")) == "degraded"
    # every set at home but a node reports trouble
    assert sv.verdict(cluster("x", health=("healthy", "degraded"))) == "degraded"
    # a node down whose set is served by the peer, even if its serving.json is unknown: taken over
    assert sv.verdict(cluster("x", active={"x-a": ["x-b"], "x-b": ["x-b"]}, reachable=(False, True))) == "taken over"


def test_the_report_keeps_its_fields_and_gains_verdicts():
    r = report(NORMAL, TAKEN_OVER)
    assert r["generated_at"] == "now"
    assert [c["verdict"] for c in r["clusters"]] == ["normal", "taken over"]
    assert r["verdicts"] == {"paris": "normal", "lyon": "taken over"}
    assert r["clusters"][1]["sets"] == TAKEN_OVER["sets"]


def test_one_line_per_cluster_first():
    lines = sv.fleet_lines(report(NORMAL, TAKEN_OVER, NODE_DOWN, DOUBLE))
    assert lines == [
        "4 clusters: 1 normal, 1 taken over, 1 node down, 1 degraded",
        "CLUSTER  VERDICT     WHAT IS NOT NORMAL",
        "paris    normal      -",
        "lyon     TAKEN OVER  taken over: lyon-a on lyon-b; unreachable: lyon-a",
        "nice     NODE DOWN   not served (or node unreachable): nice-a; unreachable: nice-a",
        "brest    DEGRADED    CONNECTED ON BOTH NODES: brest-a",
    ]


def test_the_line_names_a_held_lock_and_unhealthy_nodes():
    held = cluster("paris", lock={"held": True, "holder": "ops@ctl (takeover failed=paris-a, pid 1)"},
                   health=("healthy", "degraded"))
    line = sv.fleet_lines(report(held))[2]
    assert line == "paris    DEGRADED    health: paris-b degraded; lock held by ops@ctl (takeover failed=paris-a, pid 1)"


def test_one_cluster_asked_for_is_said_so():
    assert sv.fleet_lines(report(NORMAL), "paris")[0] == "1 cluster: 1 normal (only paris, -e cluster=paris)"


def test_details_of_the_clusters_that_are_not_normal():
    r = report(NORMAL, TAKEN_OVER, cluster("held", lock={"held": True, "holder": "x"}))
    assert [c["cluster"] for c in sv.detailed(r)] == ["lyon", "held"]
    # a single cluster (a one-cluster inventory, or -e cluster=NAME) always gets its table
    assert [c["cluster"] for c in sv.detailed(report(NORMAL))] == ["paris"]


def test_the_fleet_view_is_the_report_with_verdicts_its_lines_and_details():
    view = sv.fleet_view({"clusters": copy.deepcopy([NORMAL, NODE_DOWN])}, None)
    assert view["report"]["verdicts"] == {"paris": "normal", "nice": "node down"}
    assert view["lines"][0] == "2 clusters: 1 normal, 1 node down"
    assert [c["cluster"] for c in view["detailed"]] == ["nice"]
