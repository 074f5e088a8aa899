"""failback_gap: the returning set's clients' gap, from the serve runs' windows and steps."""

from ansible_collections.smsgw.cluster.plugins.filter.failback_gap import FilterModule

failback_gap = FilterModule().filters()["failback_gap"]

# the survivor: 0.4 s after its start its smsbox of node-a stops, then node-a's links go
RELEASED = {"elapsed": 1.0, "steps": [
    {"step": "smsbox-stop", "target": "node-a", "actions": ["stop"], "started": 0.4, "seconds": 0.2},
    {"step": "passive", "target": ["A1", "A2"], "actions": [], "started": 0.6, "seconds": 0.3}]}
# node-a: its smsbox starts first (stand-ins loaded), then its links load for 1.3 s
SERVED = {"elapsed": 2.5, "steps": [
    {"step": "smsbox-start", "target": "node-a", "actions": ["start"], "started": 0.5, "seconds": 0.3},
    {"step": "active", "target": ["A1", "A2"], "actions": [], "started": 0.8, "seconds": 1.3}]}


def gap(released, served, begun=100.0, ended=110.0, address=False):
    return failback_gap({"window": [begun, begun + 1.5], "result": released},
                        {"window": [ended - 3.0, ended], "result": served}, "node-a", address)


def test_what_each_run_timed_before_and_after_the_gap_is_trimmed_off_the_span():
    # span 10 s; 0.4 s before the survivor's smsbox stopped; 2.5 - 0.8 = 1.7 s after node-a's started
    assert gap(RELEASED, SERVED) == 7.9


def test_the_smsbox_of_another_set_does_not_count():
    served = {"elapsed": 2.5, "steps": [
        {"step": "smsbox-start", "target": "node-b", "actions": ["start"], "started": 0.1, "seconds": 0.1},
        {"step": "active", "target": ["A1"], "actions": [], "started": 0.5, "seconds": 1.0}]}
    # no smsbox of node-a started (a set without clients): its links loaded end the gap
    assert gap(RELEASED, served) == 10.0 - 0.4 - 1.0


def test_the_whole_span_without_the_steps_or_with_a_service_address():
    assert gap({}, SERVED, ended=104.0) == 4.0  # check mode, nothing released
    assert gap(RELEASED, {"elapsed": 0.2, "steps": []}, ended=104.0) == 4.0
    # steps of an older module (no timing) are not guessed at
    untimed = {"elapsed": 1.0, "steps": [{"step": "smsbox-stop", "target": "node-a", "actions": []}]}
    assert gap(untimed, SERVED, ended=104.0) == 4.0
    # the address goes before the survivor's run and comes back after node-a's
    assert gap(RELEASED, SERVED, address=True) == 10.0


def test_never_more_than_the_span_nor_less_than_nothing():
    assert gap(RELEASED, SERVED, ended=101.0) == 0.0
    assert gap(RELEASED, SERVED, ended=99.0) == 0.0
