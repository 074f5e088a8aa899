"""The kannel_node handlers' shell command, run as the role runs it (the role's own task, a stub
`systemctl` on PATH): node names reach systemctl whole, whatever they hold. The inventory check
refuses such names first; the quoting is the second line."""
import os
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NODES = ["node-a", "x'y;touch pwned", "$(touch pwned)"]


def test_reenable_handler_passes_each_node_name_as_one_unit(tmp_path):
    handlers = yaml.safe_load(open(os.path.join(REPO, "roles", "kannel_node", "handlers", "main.yml")))
    task = [h for h in handlers if h["name"] == "Re-enable the enabled smsboxes"][0]
    stub = tmp_path / "bin" / "systemctl"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "{}"\n'.format(tmp_path / "calls"))
    stub.chmod(0o755)
    task = dict(task, environment={"PATH": "%s:/usr/bin:/bin" % stub.parent}, args={"chdir": str(tmp_path)})
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task],
             "vars": {"kannel_model": {"nodes": NODES}, "kannel_node_smsbox_unit_prefix": "kannel-smsbox@"}}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    proc = subprocess.run([PLAYBOOK_BIN, "-i", "localhost,", "-c", "local", "-e",
                           "ansible_python_interpreter=" + sys.executable, str(tmp_path / "play.yml")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    units = ["kannel-smsbox@%s.service" % n for n in NODES]
    # the stub says "enabled" (exit 0) to is-enabled, so each unit is re-enabled
    assert calls == [c for u in units for c in ("is-enabled --quiet " + u, "reenable --quiet " + u)]
    assert not (tmp_path / "pwned").exists()
