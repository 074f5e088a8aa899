"""kannel_node_files: one run writes a node's files, and writes, refreshes and prunes its link files;
run as Ansible runs it."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.smsgw.cluster.plugins.module_utils.kannel_files import masked, plan_links, scrubbed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE = os.path.join(REPO, "plugins", "modules", "kannel_node_files.py")
LINK = 'group = smsc\nsmsc-id = "%s"\nsmsc-password = "s3cret-%s"\n'
# Stands in for kannel-check-cfg: a file holding BAD is invalid; every call is counted.
CHECKER = "echo x >> {calls}; if grep -q BAD %s; then echo 'ERROR: bad group' >&2; exit 1; fi"


@pytest.fixture
def dirs(tmp_path):
    avail, active = tmp_path / "avail", tmp_path / "active"
    avail.mkdir()
    active.mkdir()
    return avail, active


def run(dirs, link_files, check=False, diff=False, validate=True, checker=CHECKER, **extra):
    avail, active = dirs
    calls = avail.parent / "calls"
    links_arg = None if link_files is None else [{"name": n, "content": c} for n, c in link_files.items()]
    args = dict({"links": links_arg,
                 "available_dir": str(avail), "active_dir": str(active), "links_group": "root",
                 "_ansible_check_mode": check, "_ansible_diff": diff}, **extra)
    if validate:
        args["validate"] = checker.format(calls=calls)
    path = avail.parent / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "collections"))
    proc = subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.stdout.strip().startswith("{"), proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    result["validations"] = len(calls.read_text().split()) if calls.exists() else 0
    if calls.exists():
        calls.unlink()
    return result


def links(*ids):
    return dict(("%s.conf" % i, LINK % (i, i)) for i in ids)


def test_first_run_writes_every_file_with_one_validation(dirs):
    res = run(dirs, links(*["L%03d" % i for i in range(200)]))
    assert res["changed"] and len(res["written"]) == 200 and res["validations"] == 1
    assert res["written"][7] == str(dirs[0] / "L007.conf")
    avail = dirs[0]
    assert (avail / "L007.conf").read_text() == LINK % ("L007", "L007")
    assert oct((avail / "L007.conf").stat().st_mode & 0o777) == "0o640"
    assert not res["restart_needed"]


def test_second_run_changes_nothing_and_validates_nothing(dirs):
    run(dirs, links("A1", "A2"))
    res = run(dirs, links("A1", "A2"))
    assert not res["changed"] and res["written"] == [] and res["unchanged"] == 2
    assert res["validations"] == 0


def test_only_changed_files_are_written(dirs):
    run(dirs, links("A1", "A2"))
    before = os.stat(dirs[0] / "A1.conf").st_ino
    files = links("A1", "A2")
    files["A2.conf"] += "throughput = 5\n"
    res = run(dirs, files)
    assert res["written"] == [str(dirs[0] / "A2.conf")]
    assert os.stat(dirs[0] / "A1.conf").st_ino == before  # untouched, not rewritten


def test_a_loaded_copy_that_changed_is_refreshed_and_asks_for_a_restart(dirs):
    avail, active = dirs
    run(dirs, links("A1", "B1"))
    (active / "A1.conf").write_text(LINK % ("A1", "A1"))
    files = links("A1", "B1")
    files["A1.conf"] += "reconnect-delay = 2\n"
    res = run(dirs, files)
    assert res["refreshed"] == ["A1.conf"] and res["restart_needed"]
    assert (active / "A1.conf").read_text() == files["A1.conf"]


def test_links_that_left_the_inventory_are_removed_from_both_directories(dirs):
    avail, active = dirs
    run(dirs, links("A1", "OLD"))
    (active / "OLD.conf").write_text(LINK % ("OLD", "OLD"))
    (avail / "notes.txt").write_text("not a link file\n")
    res = run(dirs, links("A1"))
    assert res["removed"] == sorted([str(avail / "OLD.conf"), str(active / "OLD.conf")])
    assert res["restart_needed"]
    assert sorted(os.listdir(avail)) == ["A1.conf", "notes.txt"] and os.listdir(active) == []


def test_an_invalid_file_is_named_and_nothing_is_written(dirs):
    files = links("A1", "A2", "A3")
    files["A2.conf"] += "BAD\n"
    res = run(dirs, files)
    assert res["failed"]
    assert "Kannel rejects A2.conf: " in res["msg"] and "(no Kannel configuration was written)" in res["msg"]
    assert "ERROR: bad group" in res["msg"]
    assert os.listdir(dirs[0]) == []


def test_check_mode_reports_without_writing(dirs):
    res = run(dirs, links("A1"), check=True)
    assert res["changed"] and res["written"] == [str(dirs[0] / "A1.conf")]
    assert os.listdir(dirs[0]) == []


def test_diff_masks_passwords_and_secrets_never_reach_the_output(dirs):
    res = run(dirs, links("A1"), diff=True)
    text = json.dumps(res)
    assert "s3cret-A1" not in text
    assert res["diff"][0]["after"] == 'group = smsc\nsmsc-id = "A1"\nsmsc-password = "********"\n'


def test_wrong_mode_is_fixed_without_rewriting(dirs):
    run(dirs, links("A1"))
    os.chmod(dirs[0] / "A1.conf", 0o644)
    res = run(dirs, links("A1"))
    assert res["changed"] and res["written"] == [] and res["attributes_fixed"] == [str(dirs[0] / "A1.conf")]
    assert oct((dirs[0] / "A1.conf").stat().st_mode & 0o777) == "0o640"


@pytest.mark.parametrize("name", ["../x.conf", "A1", ".hidden.conf"])
def test_bad_file_names_are_refused(dirs, name):
    res = run(dirs, {name: LINK % ("x", "x")})
    assert res["failed"] and "plain file name ending in .conf" in res["msg"]


def test_plan_and_mask_helpers(tmp_path):
    assert plan_links({}, str(tmp_path / "none"), str(tmp_path / "none"))["remove"] == []
    assert masked('smsc-password = "x"\nsecret-key=y\nhost = h\n') == \
        'smsc-password = "********"\nsecret-key="********"\nhost = h\n'
    assert masked('{\n    "admin_password": "a\\",b",\n    "peer": "x"\n}\n') == \
        '{\n    "admin_password": "********",\n    "peer": "x"\n}\n'


# --- the node's other files (configs, units, guard) in the same run

CONF = 'group = core\nadmin-password = "adm-s3cret"\n'


def node_files(tmp_path, conf=CONF, unit="[Unit]\n"):
    etc = str(tmp_path / "etc")
    return etc, {"directories": [{"path": etc, "group": "root", "mode": "0750"}],
                 "files": [{"path": etc + "/bearerbox.conf", "content": conf, "mode": "0640",
                            "validate": True, "notify": ["bearerbox"]},
                           {"path": etc + "/kannel-bearerbox.service", "content": unit,
                            "notify": ["systemd", "bearerbox"]},
                           {"path": etc + "/kannel.conf", "content": "# stock\n"}]}


def test_files_and_directories_are_made_then_left_alone(dirs, tmp_path):
    etc, extra = node_files(tmp_path)
    res = run(dirs, links("A1"), **extra)
    assert res["changed"] and res["directories_created"] == [etc]
    assert oct(os.stat(etc).st_mode & 0o777) == "0o750"
    assert (tmp_path / "etc" / "bearerbox.conf").read_text() == CONF
    assert oct((tmp_path / "etc" / "bearerbox.conf").stat().st_mode & 0o777) == "0o640"
    assert res["notify"] == ["bearerbox", "systemd"]
    # the link files together and bearerbox.conf alone: two checks
    assert res["validations"] == 2
    again = run(dirs, links("A1"), **extra)
    assert not again["changed"] and again["notify"] == [] and again["validations"] == 0
    assert again["unchanged"] == 4 and again["diff"] == []


def test_only_what_changed_is_notified(dirs, tmp_path):
    run(dirs, links("A1"), **node_files(tmp_path)[1])
    res = run(dirs, links("A1"), **node_files(tmp_path, unit="[Unit]\nAfter=network.target\n")[1])
    assert res["written"] == [str(tmp_path / "etc" / "kannel-bearerbox.service")]
    assert res["notify"] == ["bearerbox", "systemd"] and not res["restart_needed"]
    res = run(dirs, links("A1"), **node_files(tmp_path, unit="[Unit]\nAfter=network.target\n")[1])
    assert res["notify"] == []


def test_an_invalid_config_fails_and_no_kannel_file_is_written(dirs, tmp_path):
    etc, extra = node_files(tmp_path, conf=CONF + "BAD\n")
    res = run(dirs, links("A1"), **extra)
    assert res["failed"] and etc + "/bearerbox.conf: ERROR: bad group" in res["msg"]
    # the files that are not checked (the checker may be one of them) are in place; no Kannel file
    assert sorted(os.listdir(etc)) == ["kannel-bearerbox.service", "kannel.conf"]
    assert os.listdir(dirs[0]) == []


def test_config_diff_masks_the_secrets_and_check_mode_writes_nothing(dirs, tmp_path):
    etc, extra = node_files(tmp_path)
    res = run(dirs, None, check=True, diff=True, **extra)
    assert res["changed"] and not os.path.exists(etc)
    assert "adm-s3cret" not in json.dumps(res)
    assert {"before_header": etc, "after_header": etc, "before": "(absent)\n",
            "after": "(directory)\n"} in res["diff"]
    conf = [d for d in res["diff"] if d["after_header"] == etc + "/bearerbox.conf"][0]
    assert conf["before"] == "" and conf["after"] == 'group = core\nadmin-password = "********"\n'


def test_without_links_the_link_directories_are_left_alone(dirs, tmp_path):
    (dirs[0] / "A1.conf").write_text("x\n")
    res = run(dirs, None, **node_files(tmp_path)[1])
    assert res["removed"] == [] and (dirs[0] / "A1.conf").exists()


def test_a_file_outside_any_directory_is_refused(dirs, tmp_path):
    res = run(dirs, None, files=[{"path": str(tmp_path / "no" / "x.conf"), "content": ""}])
    assert res["failed"] and "does not exist" in res["msg"]


# test_cfg prints a line it cannot read between ` and ' (an include, measured), and its dump
# prints every field as <field> = <value>: stand-ins that echo every line of the file so
@pytest.mark.parametrize("echo", ["sed \"s/.*/PANIC: Failed to include \\`&'/\" %s >&2; exit 1",
                                  "sed 's/^\\([a-z-]*\\) = \\(.*\\)$/DEBUG: <\\1> = <\\2>/' %s; exit 1"])
def test_a_checker_that_echoes_the_config_shows_no_secret(dirs, echo):
    files = links("A1")
    files["A1.conf"] += 'smsc-username = "user-include-x"\n'
    res = run(dirs, files, checker=echo)
    assert res["failed"] and "Kannel rejects A1.conf: " in res["msg"], res
    assert "smsc-password" in res["msg"] or "Failed to include" in res["msg"], res["msg"]
    assert "s3cret-A1" not in res["msg"] and "user-include-x" not in res["msg"], res["msg"]


def test_scrubbed_output_keeps_line_numbers_and_file_names(tmp_path):
    included = tmp_path / "L1.conf"
    included.write_text("")
    out = scrubbed("ERROR: couldn't stat `x include y'\nPANIC: Failed to include `x include y' (on line 7 "
                   "of file /tmp/c.cfg).\nERROR: Error found on line 3 of file `%s'.\nERROR: file `/tmp/c.cfg'\n"
                   "DEBUG:     <smsc-password> = <pw-x>\nERROR: no pw-x here" % included,
                   ['smsc-password = "pw-x"\n'], "/tmp/c.cfg")
    assert "x include y" not in out and "pw-x" not in out, out
    assert "on line 7 of file /tmp/c.cfg" in out and "line 3 of file `%s'" % included in out
    assert "file `/tmp/c.cfg'" in out and "<smsc-password> = <(hidden)>" in out


def test_leftovers_in_the_include_directory_go_and_loaded_copies_are_written_outside_it(dirs):
    # bearerbox loads every file of active_dir: a killed writer's temporary copy of A1 is A1 twice
    avail, active = dirs
    run(dirs, links("A1"))
    shutil.copy(str(avail / "A1.conf"), str(active / "A1.conf"))
    (active / ".A1.conf.x8k2").write_text(LINK % ("A1", "old"))
    (avail / ".A1.conf.x8k2").write_text(LINK % ("A1", "old"))  # not included: left alone
    res = run(dirs, {"A1.conf": LINK % ("A1", "new")})
    assert sorted(os.listdir(str(active))) == ["A1.conf"]
    assert str(active / ".A1.conf.x8k2") in res["removed"] and res["restart_needed"]
    assert (active / "A1.conf").read_text() == LINK % ("A1", "new")
    assert os.listdir(str(active) + ".tmp") == []  # the refreshed copy was written there first
    assert (avail / ".A1.conf.x8k2").exists()
