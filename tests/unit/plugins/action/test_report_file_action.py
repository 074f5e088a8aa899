"""The report action's writer: the whole report as JSON, its directory made, an error said."""

import json
import os

from ansible_collections.smsgw.cluster.plugins.action.report_file import write_report


def test_the_report_is_written_whole_with_its_directory(tmp_path):
    path = str(tmp_path / "artifacts" / "takeover.json")
    assert write_report(path, {"failed": "node-a", "moved": ["A1", "A2"]}) is None
    with open(path) as fh:
        assert json.load(fh) == {"failed": "node-a", "moved": ["A1", "A2"]}
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_a_second_report_replaces_the_first(tmp_path):
    path = str(tmp_path / "status.json")
    write_report(path, {"run": 1, "old": True})
    write_report(path, {"run": 2})
    with open(path) as fh:
        assert json.load(fh) == {"run": 2}
    assert os.listdir(str(tmp_path)) == ["status.json"]


def test_a_path_that_cannot_be_written_is_said(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert write_report(str(blocker / "report.json"), {"a": 1}) == "%s is not a directory" % blocker
    assert write_report(str(blocker / "sub" / "report.json"), {"a": 1}) == "Not a directory"
