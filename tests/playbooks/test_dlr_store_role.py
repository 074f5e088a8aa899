"""dlr_store.yml refuses bad store settings before the store host is touched.

The store host is reached over ssh at a loopback port where nothing listens, so any connection
attempt would show up as UNREACHABLE; the settings check runs on the controller before it. A valid
case shows that the same host is contacted once the check passes.
"""
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
STORE_HOST = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
              "ansible_user": "nobody",
              "ansible_ssh_common_args": "-o ConnectTimeout=2 -o BatchMode=yes -o StrictHostKeyChecking=no"}


def run(tmp_path, **settings):
    inventory = {"all": {"vars": settings,
                         "children": {"kannel_dlr_stores": {"hosts": {"store1": STORE_HOST}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(path), os.path.join(REPO, "dlr_store.yml")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


GOOD = {"kannel_dlr_store": {"host": "192.0.2.30"}, "kannel_dlr_store_password": "a-long-store-password"}


@pytest.mark.parametrize("settings, expected", [
    ({"kannel_dlr_store_password": "a-long-store-password"},
     "dlr_store_address: '' is not an IPv4 address (default: kannel_dlr_store.host)"),
    (dict(GOOD, kannel_dlr_store={"host": "192.0.2.30", "port": 70000}),
     "dlr_store_port: 70000 is not a TCP port (1-65535)"),
    (dict(GOOD, kannel_dlr_store_password="short"),
     "dlr_store_password: at least 16 characters required"),
])
def test_bad_settings_are_refused_before_the_host_is_contacted(tmp_path, settings, expected):
    rc, out = run(tmp_path, **settings)
    assert rc != 0 and expected in out, out
    assert "UNREACHABLE" not in out and "short" not in out.replace("short_description", "")


def test_valid_settings_reach_the_host(tmp_path):
    rc, out = run(tmp_path, **GOOD)
    assert rc != 0 and "UNREACHABLE" in out, out
    assert "a-long-store-password" not in out
