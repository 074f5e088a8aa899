"""Each AWX job template's playbook, run the way AWX runs it, on the awx scenario's two nodes.

AWX launches a job by laying out a private data directory and handing it to ansible-runner:
project/ (the checked-out repository), inventory/hosts (a script printing the inventory it imported
from the project's inventory source), env/extravars (the template's extra vars, the survey answers
and AWX's own awx_* variables), env/settings and env/envvars (AWX points ANSIBLE_COLLECTIONS_PATH at
the collections it installed from collections/requirements.yml, so the project's own collection must
be found next to the playbooks), env/cmdline and env/passwords (the vault credential: AWX adds
--ask-vault-pass and answers the prompt). The job templates come from awx/vars.yml, the file awx/configure.yml
creates them from, and the survey answers are checked against the survey that configure.yml's filter
generates from the same inventory. The job's artifacts are what set_stats published: AWX stores the
`artifact_data` of the playbook_on_stats event, which ansible-runner also writes to
artifacts/<ident>/job_events/. As AWX does, the jobs reach the nodes over SSH (see over_ssh).

Each test is one step and relies on the steps before it (pytest runs them in file order).
"""
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys

import ansible_runner
import pytest
import yaml

from story import Cluster, ssh_vars

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = Cluster(SCENARIO)  # awx_cluster, the one the jobs switch
NODE_1, NODE_2 = CLUSTER.nodes
# the rest of the fleet: untouched by the jobs on CLUSTER, shown by the status job
OTHERS = [Cluster(SCENARIO, name=name) for name in ("awx_b", "awx_c")]
FLEET = [CLUSTER] + OTHERS
REPO = CLUSTER.repo
sys.path.insert(0, os.path.join(REPO, "collections"))
from ansible_collections.smsgw.cluster.plugins.filter.awx_survey import node_survey  # noqa: E402

with open(os.path.join(REPO, "awx", "vars.yml"), encoding="utf-8") as _fh:
    TEMPLATES = {t["playbook"]: t for t in yaml.safe_load(_fh)["smsgw_awx_job_templates"]}
JOB_IDS = itertools.count(1)
# The vault credential of the templates (example secret): it decrypts the inventory's !vault value,
# the admin password (inventory/group_vars/awx_cluster/vault.yml), which no job may print.
VAULT_PASSWORD = "awx-example-vault"
ADMIN_PASSWORD = "awx-example-admin"


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    """The pieces every job shares: the project checkout and the imported inventory."""
    base = tmp_path_factory.mktemp("awx")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
    project = base / "project"
    for name in filter(None, files):
        src = os.path.join(REPO, name)
        if not os.path.lexists(src):  # deleted in the work tree, not yet committed
            continue
        dst = project / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)  # collections/ansible_collections/smsgw/cluster
        else:
            shutil.copy2(src, dst)
    # What an AWX inventory source sync imports: ansible-inventory --list --export.
    exported = subprocess.run(["ansible-inventory", "-i", CLUSTER.inventory, "--list", "--export"],
                              cwd=REPO, env=CLUSTER.env, check=True, capture_output=True, text=True)
    return {"base": base, "project": project, "inventory": over_ssh(json.loads(exported.stdout))}


def over_ssh(inventory):
    """AWX reaches its hosts over SSH, and so do these jobs: each node at its address on the lab
    network, with the lab's key (molecule itself reaches them with podman exec). Connection settings
    are templated differently over SSH (a delegated task's are templated without its loop variable):
    only jobs over SSH catch a mistake there."""
    for cluster in FLEET:
        cluster.ssh_access()
        for node in cluster.nodes:
            inventory["_meta"]["hostvars"][node]["ansible_host"] = cluster.address[node]
    inventory["kannel_nodes"]["vars"].update(ssh_vars(REPO))
    return inventory


def survey_of(awx, playbook):
    """The survey configure.yml gives the template, generated from the imported inventory."""
    hostvars = {}  # group vars onto their hosts: enough for kannel_cluster (a cluster group's var)
    for content in awx["inventory"].values():
        for host in content.get("hosts", []):
            hostvars.setdefault(host, {}).update(content.get("vars", {}))
    survey = TEMPLATES[playbook]["survey"]
    return node_survey(CLUSTER.nodes, hostvars, survey["variable"], survey["question"])


def run_job(awx, playbook, answers=None):
    """Launch the job template of `playbook` with these survey answers, as AWX does."""
    template = TEMPLATES[playbook]
    job_id = next(JOB_IDS)
    pdd = awx["base"] / ("job_%d" % job_id)
    shutil.copytree(awx["project"], pdd / "project", symlinks=True)
    (pdd / "inventory").mkdir(parents=True)
    script = pdd / "inventory" / "hosts"
    script.write_text("#!%s\nimport sys\nsys.stdout.write(%r)\n"
                      % (sys.executable, json.dumps(awx["inventory"])))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    extravars = dict(template.get("extra_vars", {}), **(answers or {}))
    extravars.update({"awx_job_id": job_id, "awx_job_template_name": template["name"],
                      "awx_user_name": "on-call", "awx_inventory_name": "SMS gateway clusters"})
    (pdd / "env").mkdir()
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (pdd / "env" / "settings").write_text(yaml.safe_dump(
        {"job_timeout": 600, "idle_timeout": 0, "pexpect_timeout": 5, "suppress_ansible_output": True}))
    # A vault credential without a vault id: AWX adds --ask-vault-pass and answers the prompt.
    (pdd / "env" / "cmdline").write_text("--ask-vault-pass")
    (pdd / "env" / "passwords").write_text(yaml.safe_dump({r"^Vault password:\s*?$": VAULT_PASSWORD}))
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATH": str(pdd / "requirements_collections"),
        "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
        "CONTAINERS_CONF": CLUSTER.env["CONTAINERS_CONF"]}))
    run = ansible_runner.run(private_data_dir=str(pdd), playbook=template["playbook"],
                             ident="job-%d" % job_id)
    run.out = run.stdout.read()
    assert ADMIN_PASSWORD not in run.out
    stats = [e for e in run.events if e["event"] == "playbook_on_stats"]
    run.artifacts = stats[0]["event_data"]["artifact_data"] if stats else None
    run.artifact_dir = pdd / "artifacts" / ("job-%d" % job_id)
    return run


def run_ok(awx, playbook, answers=None):
    run = run_job(awx, playbook, answers)
    assert run.status == "successful" and run.rc == 0, run.out
    on_disk = [json.loads(f.read_text()) for f in run.artifact_dir.glob("job_events/*.json")]
    assert [e["event_data"]["artifact_data"] for e in on_disk
            if e["event"] == "playbook_on_stats"] == [run.artifacts], "artifacts not on disk"
    return run


def answers(awx, playbook, node):
    """The survey answers an operator gives: a node of the choices, and its name again."""
    node_question, confirm_question = survey_of(awx, playbook)["spec"]
    assert node in node_question["choices"]
    return {node_question["variable"]: node, confirm_question["variable"]: node}


def serving_files():
    return {n: CLUSTER.serving_file(n) for n in CLUSTER.nodes}


# --- the jobs, in the order an on-call person meets them ------------------------------------

def test_survey_offers_exactly_the_inventory_nodes(awx):
    for playbook in ("takeover.yml", "failback.yml"):
        node_question, confirm_question = survey_of(awx, playbook)["spec"]
        assert node_question["choices"] == [NODE_1, NODE_2]
        assert node_question["variable"] == TEMPLATES[playbook]["survey"]["variable"]
        assert confirm_question["variable"] == "smsgw_confirm" and confirm_question["required"]
        assert TEMPLATES[playbook]["extra_vars"] == {"smsgw_confirm_required": True}
        assert TEMPLATES[playbook]["allow_simultaneous"] is False


def test_deploy_job(awx):
    run = run_ok(awx, "deploy.yml")
    report = run.artifacts["smsgw_deploy"]
    assert sorted(report) == sorted(n for c in FLEET for n in c.nodes)
    for cluster in FLEET:
        for node in cluster.nodes:
            assert report[node]["cluster"] == cluster.name
            assert report[node]["serves"] == [node]
            assert report[node]["health"] == "healthy", report[node]
            assert set(report[node]["links"]) == set(cluster.links[node])
    for cluster in FLEET:
        for node in cluster.nodes:
            cluster.wait_serving(node, [node])


def status_of_the_fleet(awx, **verdicts):
    """The status job: one line per cluster first, the verdicts in its artifacts, the table of each
    cluster that is not normal. verdicts: the clusters expected not normal."""
    run = run_ok(awx, "status.yml")
    status = run.artifacts["status"]
    expected = dict((c.name, verdicts.get(c.name, "normal")) for c in FLEET)
    assert status["verdicts"] == expected
    assert [c["cluster"] for c in status["clusters"]] == sorted(expected)
    said = " ".join(run.out.split())
    assert "3 clusters: " in said, run.out
    for name, verdict in expected.items():
        assert "%s %s " % (name, verdict.upper() if verdict != "normal" else verdict) in said, run.out
        assert (("Cluster %s: " % name) in run.out) == (verdict != "normal"), run.out
    return dict((c["cluster"], c) for c in status["clusters"])


def test_status_job_normal(awx):
    cluster = status_of_the_fleet(awx)[CLUSTER.name]
    assert cluster["normal"] is True
    assert {s["set"]: s["active_on"] for s in cluster["sets"]} == {NODE_1: [NODE_1], NODE_2: [NODE_2]}


@pytest.mark.parametrize("playbook, given, expected", [
    ("takeover.yml", {"failed": "node-a", "smsgw_confirm": "node-a"},
     ['got "node-a"', "one of %s, %s" % (NODE_1, NODE_2)]),
    ("takeover.yml", {"failed": NODE_1}, ["needs the confirmation smsgw_confirm=%s" % NODE_1,
                                          "got no smsgw_confirm"]),
    ("takeover.yml", {"failed": NODE_1, "smsgw_confirm": NODE_2}, ['got "%s"' % NODE_2]),
    ("failback.yml", {"node": NODE_2, "smsgw_confirm": ""}, ['got ""', "node=%s" % NODE_2]),
], ids=["node-outside-choices", "no-confirmation", "wrong-confirmation", "empty-confirmation"])
def test_bad_survey_answer_changes_nothing(awx, playbook, given, expected):
    before = serving_files()
    run = run_job(awx, playbook, given)
    assert run.status == "failed" and run.rc != 0
    assert not run.artifacts  # a refused job publishes no result
    message = " ".join(run.out.split())
    for text in ["Refused:", "Nothing was changed."] + expected:
        assert text in message, run.out
    touched = [e["event_data"]["host"] for e in run.events
               if e["event"] in ("runner_on_ok", "runner_on_unreachable")
               and e["event_data"].get("host") in CLUSTER.nodes
               and (e["event_data"]["res"].get("changed") or e["event"] == "runner_on_unreachable")]
    assert touched == []
    assert serving_files() == before


def binds_of(clusters):
    accounts = set(a for c in clusters for a in c.accounts)
    return [e for e in CLUSTER.sim("/events") if e["event"] == "bind" and e.get("account") in accounts]


def test_takeover_job_of_a_killed_node(awx):
    others_bound = binds_of(OTHERS)
    CLUSTER.kill(NODE_1)
    run = run_ok(awx, "takeover.yml", answers(awx, "takeover.yml", NODE_1))
    result = run.artifacts["takeover"]
    assert result["cluster"] == CLUSTER.name
    assert (result["failed"], result["survivor"], result["fenced"]) == (NODE_1, NODE_2, False)
    assert set(result["moved"]) == set(CLUSTER.links[NODE_1]) | {"smsbox " + NODE_1}
    assert result["check_mode"] is False and result["duration_seconds"] > 0
    CLUSTER.wait_serving(NODE_2, [NODE_1, NODE_2])
    # the rest of the fleet was not touched, and the status job says which cluster is taken over
    cluster = status_of_the_fleet(awx, **{CLUSTER.name: "taken over"})[CLUSTER.name]
    assert {s["set"]: s["active_on"] for s in cluster["sets"]} == {NODE_1: [NODE_2], NODE_2: [NODE_2]}
    assert binds_of(OTHERS) == others_bound


def test_failback_job(awx):
    CLUSTER.start(NODE_1)
    CLUSTER.wait_bearerbox_up(NODE_1)
    run = run_ok(awx, "failback.yml", answers(awx, "failback.yml", NODE_1))
    result = run.artifacts["failback"]
    assert (result["cluster"], result["node"], result["survivor"]) == (CLUSTER.name, NODE_1, NODE_2)
    assert result["moved"] == CLUSTER.links[NODE_1]
    assert result["gap_seconds"] > 0 and result["check_mode"] is False
    CLUSTER.wait_serving(NODE_1, [NODE_1])
    CLUSTER.wait_serving(NODE_2, [NODE_2])
