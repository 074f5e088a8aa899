"""watcher.yml writes the watcher's configuration and launcher on the witness (here the
controller itself, no service, nothing installed): the files that hold the status passwords and
the watcher's environment are readable by the watcher's user only."""
import copy
import os
import stat
import subprocess
import sys

import yaml

from test_inventory_validation import GOOD, REPO

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def test_launcher_and_configuration_are_not_world_readable(tmp_path):
    inv = copy.deepcopy(GOOD)
    watch_dir = tmp_path / "watch"
    inv["all"]["hosts"] = {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "kannel_watcher_install": False, "kannel_watcher_service": False,
        "kannel_watcher_config_dir": str(watch_dir), "kannel_watch_state_dir": str(tmp_path / "state"),
        "kannel_watcher_user": "root",
        "kannel_watcher_environment": {"WATCH_TOKEN": "token-s3cret"}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inv))
    old_umask = os.umask(0o022)
    try:
        proc = subprocess.run([PLAYBOOK_BIN, "-i", str(tmp_path / "hosts.yml"), "watcher.yml"], cwd=REPO,
                              env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True,
                              timeout=300)
    finally:
        os.umask(old_umask)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "token-s3cret" not in proc.stdout + proc.stderr
    launcher = watch_dir / "smsgw-watch"
    assert "token-s3cret" in launcher.read_text()
    for path, mode in ((watch_dir, 0o750), (launcher, 0o700), (watch_dir / "clusters.json", 0o600)):
        st = os.stat(str(path))
        assert stat.S_IMODE(st.st_mode) == mode, "%s: %o" % (path, stat.S_IMODE(st.st_mode))
        assert st.st_uid == 0
