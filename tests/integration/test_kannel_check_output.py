"""kannel_node_files with Kannel's own test_cfg as the config check: a config Kannel cannot read
fails the task naming the file and line, and the failure shows none of the configured values.

Measured with test_cfg 1.4.5: a line that holds "include" anywhere is read as an include of the
whole value, and test_cfg prints that value ("Failed to include `<value>'", "couldn't stat
`<value>'")."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

TEST_CFG = "/usr/lib/kannel/test/test_cfg"
MODULE = os.path.join(REPO, "plugins", "modules", "kannel_node_files.py")
CHECKERS = {
    "the role's kannel-check-cfg": os.path.join(REPO, "roles", "kannel_node", "files", "kannel-check-cfg") + " %s",
    "test_cfg itself": TEST_CFG + " %s",
}
LINK = ('group = smsc\nsmsc = smpp\nsmsc-id = "L1"\nhost = "127.0.0.1"\nport = 2775\n'
        'smsc-username = "user-L1"\nsmsc-password = "pw-include"\nsystem-type = ""\n')

pytestmark = pytest.mark.skipif(not os.path.exists(TEST_CFG), reason="kannel-extras (test_cfg) not installed")


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_a_value_kannel_reads_as_an_include_fails_without_showing_the_value(tmp_path, checker):
    avail, active = tmp_path / "avail", tmp_path / "active"
    avail.mkdir()
    active.mkdir()
    args = {"links": [{"name": "L1.conf", "content": LINK}], "available_dir": str(avail),
            "active_dir": str(active), "links_group": "root", "validate": CHECKERS[checker]}
    (tmp_path / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, MODULE, str(tmp_path / "args.json")], capture_output=True,
                          text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "collections")))
    res = json.loads(proc.stdout)
    assert res["failed"] and res["msg"].startswith("Kannel rejects L1.conf: "), res
    assert "Failed to include" in res["msg"] and "on line 7" in res["msg"], res["msg"]
    assert "pw-include" not in proc.stdout + proc.stderr, res["msg"]
    assert os.listdir(str(avail)) == []
