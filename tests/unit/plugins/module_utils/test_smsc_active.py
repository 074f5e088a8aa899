"""What belongs in bearerbox's include directory (module_utils/smsc_active.py) and the writers'
temporary files outside it."""
import os
import signal
import subprocess
import sys

from ansible_collections.smsgw.cluster.plugins.module_utils import smsc_active
from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import copy_atomically

SETS = {"node-a": {"links": ["A1", "A2"]}, "node-b": {"links": ["B1"]}}
STAND_INS = {"A1": "A1.held", "A2": "A2.held"}


def test_only_link_file_names_name_a_link():
    assert smsc_active.link_id("A1.conf") == "A1"
    assert smsc_active.link_id("A1.held.conf") == "A1.held"
    for name in (".A1.conf.x8k2", "A1.conf.guard-tmp.7", "A1.conf~", ".A1.conf", "A1.conf\n.conf",
                 "notes.txt"):
        assert smsc_active.link_id(name) is None, name


def test_wanted_ids_follow_the_served_sets_and_the_own_sets_stand_ins():
    assert smsc_active.wanted_ids(SETS, ["node-a", "node-b"], "node-a", STAND_INS,
                                  ["A1.conf", "A2.conf", "B1.conf"]) == {"A1", "A2", "B1"}
    served = smsc_active.wanted_ids(SETS, ["node-a"], "node-a", STAND_INS, ["A1.conf", "A2.conf"])
    assert served == {"A1", "A2"}
    # an interrupted failback: A2 not loaded yet, its stand-in keeps the messages
    assert smsc_active.wanted_ids(SETS, ["node-a"], "node-a", STAND_INS, ["A1.conf"]) == \
        {"A1", "A2", "A2.held"}
    assert smsc_active.wanted_ids(SETS, ["node-b"], "node-a", STAND_INS) == {"B1", "A1.held", "A2.held"}


def test_sweep_removes_what_does_not_belong_and_keeps_directories(tmp_path):
    for name in ("A1.conf", "B1.conf", ".A1.conf.k9", "A1.conf.guard-tmp.3"):
        (tmp_path / name).write_text("group = smsc\n")
    (tmp_path / "sub").mkdir()
    assert smsc_active.sweep(str(tmp_path), check_mode=True) == [".A1.conf.k9", "A1.conf.guard-tmp.3"]
    assert len(os.listdir(tmp_path)) == 5
    assert smsc_active.sweep(str(tmp_path), keep={"A1"}) == [".A1.conf.k9", "A1.conf.guard-tmp.3",
                                                            "B1.conf"]
    assert sorted(os.listdir(tmp_path)) == ["A1.conf", "sub"]
    assert smsc_active.sweep(str(tmp_path / "missing")) == []


KILLED = r"""
import os, signal, sys
from ansible_collections.smsgw.cluster.plugins.module_utils.atomic_file import copy_atomically
from ansible_collections.smsgw.cluster.plugins.module_utils.smsc_active import temp_dir
os.rename = lambda *a: os.kill(os.getpid(), signal.SIGKILL)  # killed before the rename
copy_atomically(sys.argv[1], sys.argv[2], tmp_dir=temp_dir(os.path.dirname(sys.argv[2])))
"""


def test_a_writer_killed_mid_copy_leaves_nothing_in_the_include_directory(tmp_path):
    active, avail = tmp_path / "smsc-active", tmp_path / "smsc-available"
    active.mkdir()
    avail.mkdir()
    (avail / "A1.conf").write_text("group = smsc\n")
    proc = subprocess.run([sys.executable, "-c", KILLED, str(avail / "A1.conf"), str(active / "A1.conf")],
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), check=False)
    assert proc.returncode == -signal.SIGKILL
    assert os.listdir(active) == []
    assert len(os.listdir(smsc_active.temp_dir(str(active)))) == 1


def test_copy_through_a_temporary_directory_is_atomic_and_keeps_mode(tmp_path):
    src, dst = tmp_path / "src.conf", tmp_path / "active" / "A1.conf"
    dst.parent.mkdir()
    src.write_text("x\n")
    os.chmod(str(src), 0o640)
    copy_atomically(str(src), str(dst), tmp_dir=smsc_active.temp_dir(str(dst.parent)))
    assert dst.read_text() == "x\n" and (os.stat(str(dst)).st_mode & 0o777) == 0o640
    assert os.listdir(str(dst.parent)) == ["A1.conf"]
    assert os.listdir(smsc_active.temp_dir(str(dst.parent))) == []
