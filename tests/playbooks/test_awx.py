"""The AWX pieces that need no AWX: awx/configure.yml (syntax, refusal, surveys generated from the
inventory it runs with, up to the first call to the controller) and the execution environment's
build context (ansible-builder create; no image is built: no registry here)."""
import json
import os
import re
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
CONFIGURE = os.path.join(REPO, "awx", "configure.yml")

TWO_CLUSTERS = {"all": {"children": {"kannel_nodes": {"children": {
    "oslo": {"hosts": {"osl-a": {}, "osl-b": {}}, "vars": {"kannel_cluster": "oslo"}},
    "bergen": {"hosts": {"brg-1": {}, "brg-2": {}}, "vars": {"kannel_cluster": "bergen"}},
}}}}}


def ansible_playbook(*args, **env):
    return subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(args), cwd=REPO,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", **env),
                          capture_output=True, text=True, timeout=300)


def test_configure_syntax_check():
    run = ansible_playbook("--syntax-check", CONFIGURE)
    assert run.returncode == 0, run.stdout + run.stderr


def test_configure_refuses_without_project_url():
    run = ansible_playbook(CONFIGURE, CONTROLLER_HOST="http://127.0.0.1:9")
    assert run.returncode != 0
    assert "Refused: set -e smsgw_awx_scm_url=URL" in " ".join(run.stdout.split())
    assert "TASK [Organization]" not in run.stdout  # refused before the first AWX object


def test_configure_builds_surveys_from_its_inventory(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(TWO_CLUSTERS))
    # Port 9 (discard) is closed: the run stops at the first AWX call, after the surveys were built.
    run = ansible_playbook(CONFIGURE, "-i", str(inventory), "-e", "smsgw_awx_scm_url=https://git.invalid/x",
                           CONTROLLER_HOST="http://127.0.0.1:9", CONTROLLER_USERNAME="admin",
                           CONTROLLER_PASSWORD="unused", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    assert run.returncode != 0
    result = json.loads(run.stdout)
    tasks = {t["task"]["name"]: t["hosts"]["localhost"] for play in result["plays"] for t in play["tasks"]}
    assert "Connection refused" in tasks["Organization"]["msg"]  # it went on to the controller
    surveys = tasks["Build the surveys from the inventory's nodes"]["results"][-1]["ansible_facts"][
        "smsgw_awx_surveys"]
    with open(os.path.join(REPO, "awx", "vars.yml"), encoding="utf-8") as fh:
        templates = yaml.safe_load(fh)["smsgw_awx_job_templates"]
    with_survey = {t["name"]: t["survey"]["variable"] for t in templates if "survey" in t}
    assert sorted(t["playbook"] for t in templates if "survey" in t) == ["failback.yml", "takeover.yml"]
    assert sorted(surveys) == sorted(with_survey)
    for name, variable in with_survey.items():
        node_question, confirm = surveys[name]["spec"]
        assert node_question["variable"] == variable
        assert node_question["choices"] == ["brg-1", "brg-2", "osl-a", "osl-b"]
        assert confirm["variable"] == "smsgw_confirm"
    # every template that changes what the nodes serve runs one job at a time
    assert {t["playbook"]: t["allow_simultaneous"] for t in templates} == {
        "deploy.yml": False, "takeover.yml": False, "failback.yml": False, "status.yml": True}


def test_execution_environment_build_context(tmp_path):
    context = tmp_path / "context"
    run = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "--file",
                          os.path.join(REPO, "execution-environment.yml"), "--context", str(context)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    containerfile = (context / "Containerfile").read_text()
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as fh:
        pins = dict(re.findall(r"^(ansible-core|ansible-runner)==(\S+)$", fh.read(), re.M))
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==%s"' % (
        pins["ansible-core"], pins["ansible-runner"]) in containerfile
    assert "COPY _build/smsgw.cluster /usr/share/ansible/collections/ansible_collections/smsgw/cluster" \
        in containerfile
    assert "ENV JAVA_HOME=" in containerfile
    build = context / "_build"
    assert "ansible-rulebook==1.3.2" in (build / "requirements.txt").read_text().split()
    assert "java-17-openjdk-headless [platform:rpm]" in (build / "bindep.txt").read_text()
    with open(os.path.join(REPO, "collections", "requirements.yml"), encoding="utf-8") as fh:
        assert yaml.safe_load((build / "requirements.yml").read_text()) == yaml.safe_load(fh)
    for path in ("galaxy.yml", "plugins/modules/kannel_link.py", "plugins/filter/awx_survey.py",
                 "roles/kannel_node/tasks/main.yml", "playbooks/takeover.yml"):
        assert (build / "smsgw.cluster" / path).is_file(), path


def test_project_inventory_imports_as_an_inventory_source():
    """What an AWX sync of the project's inventory/lab runs: ansible-inventory --list --export in the
    project, with no vault secret; every node is imported with its cluster."""
    run = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", "inventory/lab", "--list",
                          "--export"], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
    assert run.returncode == 0, run.stderr
    exported = json.loads(run.stdout)
    assert "lab_cluster" in exported["kannel_nodes"]["children"]
    assert sorted(exported["lab_cluster"]["hosts"]) == ["node-a", "node-b"]
    assert exported["lab_cluster"]["vars"]["kannel_cluster"] == "lab_cluster"
