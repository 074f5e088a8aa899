"""Fixtures: real bearerbox (+ smsbox) and the project's SMPP simulator on loopback, and a runner
that executes the collection's modules through Ansible itself (`ansible -m`, local connection).

Every process is started in a temp dir on free ports and killed in teardown."""
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import kannel_harness  # noqa: E402

VENV_BIN = os.path.join(REPO, ".venv", "bin")
if not os.path.exists(os.path.join(VENV_BIN, "ansible")):
    VENV_BIN = os.path.dirname(sys.executable)


def load_sim():
    import smsc_sim  # lab/ is on sys.path (tests/conftest.py)
    return smsc_sim


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(kannel_harness.BEARERBOX):
        skip = pytest.mark.skip(reason="Kannel (bearerbox) not installed")
        for item in items:
            if "integration" in str(item.fspath) and "smsc_sim" not in str(item.fspath):
                item.add_marker(skip)


ACCOUNTS = {"acct-a1": "pw-a1", "acct-a2": "pw-a2", "acct-p1": "pw-p1", "acct-x": "pw-x",
            "acct-stray": "pw-stray"}
# a survivor's own links (s..) and the failed node's (f..), for takeover-sized activations;
# SMPP passwords have at most 8 characters
ACCOUNTS.update(("acct-%s%02d" % (kind, i), "pw-%s%02d" % (kind, i))
                for kind in ("s", "f") for i in range(20))


@pytest.fixture
def sim():
    mod = load_sim()
    s = mod.SmscSimulator(listen=("127.0.0.1", 0), control=("127.0.0.1", 0),
                          accounts=dict(ACCOUNTS))
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def lab(tmp_path):
    lab = kannel_harness.KannelLab(tmp_path / "gw")
    try:
        yield lab
    finally:
        lab.close()


def sim_account(sim, name):
    return sim.state()["accounts"].get(name, {"binds_now": 0, "binds_total": 0, "binds_max": 0})


class AnsibleRunner(object):
    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.env = dict(os.environ)
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, "collections"),
            "ANSIBLE_CONFIG": os.path.join(self.workdir, "ansible.cfg"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.workdir, "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
        })
        with open(self.env["ANSIBLE_CONFIG"], "w") as f:
            f.write("[defaults]\nstdout_callback = ansible.builtin.minimal\n"
                    "interpreter_python = %s\n" % sys.executable)

    def result(self, name, args, **kw):
        """Like module(), the result dict only."""
        return self.module(name, args, **kw)[0]

    def module(self, name, args, check=False, diff=False, timeout=180):
        """Run one module on localhost; returns (result dict, elapsed seconds, stderr)."""
        argv = [os.path.join(VENV_BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                "-m", "smsgw.cluster." + name, "-a", json.dumps(args),
                "-e", "ansible_python_interpreter=%s" % sys.executable]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=self.workdir, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)
        elapsed = time.monotonic() - started
        out = proc.stdout
        marker = out.find(" => {")
        if marker < 0:
            raise AssertionError("no module result in ansible output (rc=%d):\n%s\n%s"
                                 % (proc.returncode, out, proc.stderr))
        result = json.JSONDecoder().raw_decode(out[marker + 4:])[0]
        result["_rc"] = proc.returncode
        result["_header"] = out[:marker]
        return result, elapsed, proc.stderr


@pytest.fixture
def ansible(tmp_path):
    d = tmp_path / "ansible"
    d.mkdir()
    return AnsibleRunner(d)
