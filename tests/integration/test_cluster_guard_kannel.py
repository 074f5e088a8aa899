"""The node's guard (plugins/module_utils/guard_*.py) against a real bearerbox on
loopback: its own faults (issue 19 section 3)."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import kannel_harness
from ansible_collections.smsgw.cluster.plugins.module_utils import guard_runtime, guard_start
from guard_module import IN_CHILD
from kannel_harness import PLACEHOLDER, STATUS_PASSWORD, closed_port


def guard_config(lab, tmp_path, **extra):
    cfg = {"node": "node-a", "peer": "node-b", "peer_admin_url": "http://127.0.0.1:%d" % closed_port(),
           "status_password": STATUS_PASSWORD,
           "sets": {"node-a": {"links": ["A1"], "smsbox": "node-a"},
                    "node-b": {"links": ["B1"], "smsbox": "node-b"}},
           "serving_file": str(tmp_path / "serving.json"), "active_dir": lab.active_dir,
           "available_dir": lab.available_dir, "stand_ins": {"A1": "A1.held"},
           "wait_seconds": 0, "peer_unreachable": "serve", "admin_url": lab.admin_url,
           "admin_password": "adm-secret-pw", "interval": 1, "smsbox_unit_prefix": "kannel-smsbox@",
           "state_file": str(tmp_path / "run" / "guard-state.json"),
           "quorum": {"enabled": False, "addresses": [], "seconds": 10}}
    cfg.update(extra)
    return cfg


def serve(cfg, sets):
    with open(cfg["serving_file"], "w") as f:
        json.dump({"sets": sets}, f)


def add_stand_in(lab, link):
    """The role's stand-in (smsc-held.conf.j2): an smpp group to a port nothing listens on."""
    path = os.path.join(lab.available_dir, link + ".held.conf")
    with open(path, "w") as f:
        f.write("\n".join(["group = smsc", "smsc = smpp", 'smsc-id = "%s.held"' % link,
                           'smsc-admin-id = "%s.held"' % link, 'host = "127.0.0.1"',
                           "port = %d" % closed_port(), "transceiver-mode = true",
                           'smsc-username = "held"', 'smsc-password = "held"', 'system-type = ""',
                           "reconnect-delay = 30", ""]))
    os.chmod(path, 0o640)


def loaded_ids(lab):
    """Every admin-id bearerbox lists, duplicates included."""
    return sorted(re.findall(r"<admin-id>([^<]*)</admin-id>", lab.status_xml()))


def timed_status(lab, timeout=20.0):
    started = time.monotonic()
    try:
        lab.status_xml(timeout=timeout)
    except OSError:
        return timeout  # did not answer in time
    return time.monotonic() - started


def test_a_peer_that_denies_the_status_password_is_not_stalled_by_the_guard(lab, tmp_path, capsys):
    # The lab's bearerbox is the peer; this node's guard has another status password for it.
    lab.start_bearerbox()
    cfg = guard_config(lab, tmp_path, peer_admin_url=lab.admin_url, status_password="old-status-pw")
    serve(cfg, ["node-a"])
    watch = guard_runtime.RuntimeGuard(cfg)
    assert timed_status(lab) < 0.5
    end = time.monotonic() + 20
    while time.monotonic() < end:  # the runtime loop, at the configured interval
        started = time.monotonic()
        watch.step()
        time.sleep(max(0.0, float(cfg["interval"]) - (time.monotonic() - started)))
    latency = timed_status(lab)
    out = capsys.readouterr().out
    with capsys.disabled():
        print("\nstatus.xml with the right password after 20 s of the guard's loop: %.3f s" % latency)
    # Asked every second (the guard before its back-off), bearerbox made this request wait for
    # the guard's wrong password (measured 1.93-1.96 s, against 0.002 s) and the guard's own
    # requests timed out from the second one on: it saw a peer that answers as silent.
    assert latency < 0.5
    assert out.count("refused the status password (Denied)") == 1, out
    assert json.load(open(cfg["state_file"]))["peer_reachable"] is True


RUNTIME_GUARD = IN_CHILD + r"""
import os, signal
guard_cli.CONFIG = sys.argv[1]
if sys.argv[2] == "kill-before-remove-smsc":
    from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_admin import KannelAdmin
    command = KannelAdmin.command

    def admin_command(admin, name, smsc=None):
        if name == "remove-smsc":
            os.kill(os.getpid(), signal.SIGKILL)  # e.g. deploy's handler restarting the guard
        return command(admin, name, smsc)
    KannelAdmin.command = admin_command
sys.exit(guard_cli.main(["kannel-cluster-guard", "watch"]))
"""


def test_a_guard_killed_mid_give_up_and_restarted_leaves_no_link_of_an_unlisted_set(
        lab, tmp_path):
    peer = kannel_harness.KannelLab(tmp_path / "peer")
    try:
        # the peer took node-a's set over (this node was frozen): A1 is loaded there
        peer.add_fake_link("A1", kannel_harness.free_port(), active=True)
        peer.start_bearerbox()
        lab.add_fake_link("A1", kannel_harness.free_port(), active=True)
        lab.add_fake_link("B1", kannel_harness.free_port(), active=True)  # no set of node-a's
        add_stand_in(lab, "A1")
        lab.start_bearerbox()
        assert loaded_ids(lab) == ["A1", "B1", PLACEHOLDER]
        cfg = guard_config(lab, tmp_path, peer_admin_url=peer.admin_url)
        serve(cfg, ["node-a", "node-b"])
        config = tmp_path / "cluster-guard.json"
        config.write_text(json.dumps(cfg))
        bin_dir = tmp_path / "bin"  # no smsbox unit here: systemctl says ok
        bin_dir.mkdir()
        (bin_dir / "systemctl").write_text("#!/bin/sh\nexit 0\n")
        os.chmod(str(bin_dir / "systemctl"), 0o755)
        env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))

        def guard(mode):
            return subprocess.Popen([sys.executable, "-c", RUNTIME_GUARD, str(config), mode],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)

        first = guard("kill-before-remove-smsc")
        out = first.communicate(timeout=30)[0]
        assert first.returncode == -signal.SIGKILL, out
        assert json.load(open(cfg["serving_file"]))["sets"] == ["node-b"]
        assert "A1" in loaded_ids(lab), out  # killed after the stand-in, before the link went

        peer.stop_bearerbox()  # whatever the peer does now: serving.json is what counts
        second = guard("run")
        try:
            # the guard logs the release's steps when the release is over, then records it as
            # finished: killed before that record, its log may lack the steps
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (
                    "A1" in loaded_ids(lab) or json.load(open(cfg["state_file"]))["releasing"]):
                time.sleep(0.1)
            assert loaded_ids(lab) == ["A1.held", "B1", PLACEHOLDER]
            assert sorted(os.listdir(lab.active_dir)) == ["A1.held.conf", "B1.conf"]
        finally:
            second.kill()
            out += second.communicate()[0]
        assert "finishing the unfinished give-up" in out and "remove-smsc A1 -> SMSC `A1' removed" in out
    finally:
        peer.close()


KILLED_START_UP_GUARD = IN_CHILD + r"""
import json, os, signal
# killed once its copy of a stand-in is written, before the rename
os.rename = os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
guard_start.guard_bearerbox(json.loads(sys.argv[1]))
"""


def test_a_kill_during_a_write_into_the_include_directory_leaves_nothing_bearerbox_loads(
        lab, tmp_path):
    lab.add_fake_link("A1", closed_port(), active=True)
    add_stand_in(lab, "A1")
    # left by a writer killed mid-write before temporary files moved out: a second copy of A1
    with open(os.path.join(lab.available_dir, "A1.conf")) as f, \
            open(os.path.join(lab.active_dir, ".A1.conf.k9x2_q"), "w") as out:
        out.write(f.read())
    cfg = guard_config(lab, tmp_path)
    serve(cfg, [])  # fenced by a takeover: bearerbox starts with the stand-in only
    proc = subprocess.run([sys.executable, "-c", KILLED_START_UP_GUARD, json.dumps(cfg)], check=False, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    # systemd runs ExecStartPre again at the next start
    assert guard_start.guard_bearerbox(cfg) == 0
    lab.start_bearerbox()
    assert loaded_ids(lab) == ["A1.held", PLACEHOLDER]
    assert sorted(os.listdir(lab.active_dir)) == ["A1.held.conf"]
