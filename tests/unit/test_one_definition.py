"""Names and defaults that a Python side and a YAML/Jinja side must both know, each defined once
per side: these tests hold the two sides equal (issue 21), and keep the literals from coming back."""
import os
import re

import yaml

from ansible_collections.smsgw.cluster.plugins.module_utils import kannel_status, kannel_watch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(*path):
    with open(os.path.join(REPO, *path)) as fh:
        return yaml.safe_load(fh)


def text(*path):
    with open(os.path.join(REPO, *path)) as fh:
        return fh.read()


def files_under(*tops):
    for top in tops:
        for root, _dirs, names in os.walk(os.path.join(REPO, top)):
            for name in names:
                yield os.path.relpath(os.path.join(root, name), REPO)


def test_the_watchers_defaults_are_cluster_models():
    settings = load("roles", "cluster_model", "defaults", "main.yml")["cluster_model_settings"]
    documented = load("roles", "cluster_model", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert settings["kannel_watch_interval"] == documented["kannel_watch_interval"]["default"] \
        == kannel_watch.DEFAULT_INTERVAL
    assert settings["kannel_watch_failure_seconds"] == documented["kannel_watch_failure_seconds"]["default"] \
        == kannel_watch.DEFAULT_FAILURE_SECONDS


def test_the_watcher_role_reads_the_model_not_defaults_of_its_own():
    for name in ("checks.j2", "clusters.json.j2"):
        template = text("roles", "kannel_watcher", "templates", name)
        assert "kannel_model.watch." in template
        assert not re.search(r"kannel_watch_(interval|failure_seconds)\s*\|\s*default", template), name


def test_the_stand_in_suffix_is_defined_once():
    # the role's templates take it from the model, the model from the runtime's own constant
    # (with which cluster_model also refuses link ids that end in it)
    assert load("roles", "kannel_node", "vars", "main.yml")["kannel_node_held_suffix"] \
        == "{{ kannel_model.held_suffix }}"
    checks = text("plugins", "module_utils", "cluster_model.py")
    assert "import HELD_SUFFIX" in checks and "'held_suffix': HELD_SUFFIX" in checks
    assert kannel_status.HELD_SUFFIX not in checks


def test_cluster_models_defaults_of_kannel_node_variables_are_kannel_nodes():
    node = load("roles", "kannel_node", "defaults", "main.yml")
    for name, value in load("roles", "cluster_model", "defaults", "main.yml")["cluster_model_node_defaults"].items():
        assert node[name] == value, name


def test_the_guards_install_path_is_named_once():
    node_vars = load("roles", "kannel_node", "vars", "main.yml")
    where = node_vars["kannel_node_lib_dir"]
    assert where == "/usr/local/lib/smsgw-cluster"
    assert node_vars["kannel_node_guard_command"] == "{{ kannel_node_lib_dir }}/kannel-cluster-guard"
    # every other file of the roles and playbooks uses the variables
    found = [path for path in files_under("roles", "playbooks")
             if path != os.path.join("roles", "kannel_node", "vars", "main.yml") and where in text(path)]
    assert found == []
