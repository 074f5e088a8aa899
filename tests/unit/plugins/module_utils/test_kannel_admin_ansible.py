"""How kannel_link, kannel_smsbox and kannel_serve end a manager's run (run_and_exit): the exit
with the result, or the failure with its message and what was done so far."""
import time

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import (
    KannelAdminDenied,
    KannelUnreachable,
)
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin_ansible import run_and_exit
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_links import LinkError
from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_smsbox import SmsboxError

DONE = [{"link": "L1", "action": "copy-config"}, {"link": "L1.held", "action": "remove-smsc"}]


class Exited(Exception):
    def __init__(self, failed, result):
        super(Exited, self).__init__(result)
        self.failed, self.result = failed, result


class FakeModule(object):
    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Exited(False, result)

    def fail_json(self, **result):
        raise Exited(True, result)


class FakeManager(object):
    """Has done DONE and warned once; run() returns result or raises error."""

    def __init__(self, error=None, result=None):
        self.error, self.result = error, result
        self.changed, self.actions, self.warnings = True, list(DONE), ["removed stray file x.tmp"]

    def run(self):
        if self.error:
            raise self.error
        return dict(self.result)


def finish(manager, **kwargs):
    module = FakeModule()
    with pytest.raises(Exited) as e:
        run_and_exit(module, manager, time.monotonic() - 2, **kwargs)
    return e.value.failed, e.value.result, module.warnings


def test_the_result_exits_with_the_seconds_since_started_and_the_warnings():
    failed, result, warnings = finish(FakeManager(result={"changed": True, "links": {}}))
    assert not failed and result["changed"] is True and result["links"] == {}
    assert result["elapsed"] >= 2
    assert warnings == ["removed stray file x.tmp"]


def test_a_managers_error_fails_with_its_fields_and_the_work_done_over_a_delegates_part():
    # a stand-ins' manager the link manager delegated to raised with its own actions only
    error = LinkError("bearerbox refused: remove-smsc L1.held", changed=False, actions=DONE[1:],
                      links={"L1.held": {}}, unknown_links=[])
    failed, result, warnings = finish(FakeManager(error))
    assert failed and result["msg"] == "bearerbox refused: remove-smsc L1.held"
    assert result["changed"] is True and result["actions"] == DONE
    assert result["links"] == {"L1.held": {}} and result["unknown_links"] == []
    assert result["elapsed"] >= 2 and warnings == ["removed stray file x.tmp"]


@pytest.mark.parametrize("error, msg", [
    (KannelAdminDenied("bearerbox at u answered Denied to status.xml"),
     "bearerbox at u answered Denied to status.xml"),
    (KannelUnreachable("cannot reach u/status.xml: refused"),
     "bearerbox admin interface: cannot reach u/status.xml: refused"),
    (OSError(13, "Permission denied"), "file operation failed: [Errno 13] Permission denied"),
])
def test_admin_and_file_errors_fail_naming_them_with_the_work_done(error, msg):
    failed, result, warnings = finish(FakeManager(error))
    assert failed and result == {"msg": msg, "changed": True, "actions": DONE,
                                 "elapsed": result["elapsed"]}
    assert result["elapsed"] >= 2 and warnings == ["removed stray file x.tmp"]


def test_the_modules_fields_replace_the_defaults_and_win_over_the_errors():
    manager = FakeManager(SmsboxError("systemctl start failed", changed=False, service="u@b",
                                      diff={"before": {}}, before={"unit_active": False}))
    failed, result, _warnings = finish(manager, fields=lambda: {
        "changed": True, "steps": ["smsbox-start"], "diff": {"before": {"sets": ["b"]}}})
    assert failed and result == {"msg": "systemctl start failed", "changed": True,
                                 "steps": ["smsbox-start"], "diff": {"before": {"sets": ["b"]}},
                                 "service": "u@b", "before": {"unit_active": False},
                                 "elapsed": result["elapsed"]}


def test_run_replaces_the_managers_own_run():
    manager = FakeManager(OSError("never raised: run() is not the manager's"))
    failed, result, _warnings = finish(manager, run=lambda: {"health": "healthy"})
    assert not failed and result["health"] == "healthy" and result["elapsed"] >= 2
