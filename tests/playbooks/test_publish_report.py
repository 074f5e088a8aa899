"""playbooks/tasks/publish_report.yml in a real run: the report is written as JSON on the
controller in check mode too, never changed; a path that cannot be written is said and does not
fail the run (the run's work is done by then)."""
import json
import os
import subprocess
import sys

import yaml

from test_inventory_validation import REPO

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
REPORT = {"failed": "north", "moved": ["N1", "N2"], "check_mode": True}


def publish(tmp_path, report_file):
    hosts = {"north": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (tmp_path / "publish.yml").write_text(yaml.safe_dump([{
        "hosts": "north", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_tasks": os.path.join(REPO, "playbooks", "tasks", "publish_report.yml"),
                   "vars": {"report_name": "takeover", "report": REPORT, "report_file": report_file}}]}]))
    proc = subprocess.run([PLAYBOOK_BIN, "--check", "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "publish.yml")],
                          cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return " ".join(proc.stdout.split())


def test_the_report_is_written_in_check_mode_and_not_changed(tmp_path):
    report_file = tmp_path / "artifacts" / "takeover.json"
    out = publish(tmp_path, str(report_file))
    assert json.loads(report_file.read_text()) == REPORT
    assert "changed=0" in out and "was not written" not in out, out


def test_a_report_that_cannot_be_written_is_said_and_the_run_goes_on(tmp_path):
    (tmp_path / "artifacts").write_text("a file where the directory should be")
    out = publish(tmp_path, str(tmp_path / "artifacts" / "takeover.json"))
    assert ("The takeover report was not written (cannot write {0}/takeover.json: {0} is not a directory); the "
            "result is in the summary above".format(tmp_path / "artifacts")) in out, out
    assert "failed=0" in out, out
