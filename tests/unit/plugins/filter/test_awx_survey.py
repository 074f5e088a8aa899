"""awx_node_survey: the takeover/failback survey is generated from the inventory's nodes.

The inventory is a real one, loaded by Ansible's own inventory manager: two clusters, node names
unlike the lab's, cluster names from group_vars files, one extra group that is not a cluster.
"""

import pytest
from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.smsgw.cluster.plugins.filter.awx_survey import (
    CONFIRM_VAR,
    FilterModule,
    node_clusters,
    node_survey,
)

HOSTS = """\
all:
  children:
    kannel_nodes:
      children:
        paris:
          hosts:
            par-gw-2: {}
            par-gw-1: {}
        lyon:
          hosts:
            lyo-sms-east: {}
            lyo-sms-west: {}
    monitoring:
      hosts:
        par-gw-1: {}
        grafana: {}
"""

def load(tmp_path, hosts=HOSTS, clusters=("paris", "lyon")):
    (tmp_path / "hosts.yml").write_text(hosts)
    for cluster in clusters:
        (tmp_path / "group_vars" / cluster).mkdir(parents=True)
        (tmp_path / "group_vars" / cluster / "main.yml").write_text("kannel_cluster: %s\n" % cluster)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(tmp_path / "hosts.yml")])
    variables = VariableManager(loader=loader, inventory=inventory)
    nodes = [h.name for h in inventory.get_hosts("kannel_nodes")]
    hostvars = {h.name: variables.get_vars(host=h) for h in inventory.get_hosts("all")}
    return nodes, hostvars

def test_choices_are_every_node_of_every_cluster(tmp_path):
    nodes, hostvars = load(tmp_path)
    survey = node_survey(nodes, hostvars, "failed", "Which node failed?")
    node_question, confirm = survey["spec"]
    assert node_question["type"] == "multiplechoice" and node_question["required"] is True
    assert node_question["variable"] == "failed"
    assert node_question["choices"] == ["lyo-sms-east", "lyo-sms-west", "par-gw-1", "par-gw-2"]
    assert node_question["default"] == ""  # no pre-selected node: the operator must pick one
    assert "grafana" not in node_question["choices"]
    # the operator sees which nodes belong together
    assert "lyon: lyo-sms-east, lyo-sms-west; paris: par-gw-1, par-gw-2" in node_question["question_description"]
    assert survey["name"] == node_question["question_name"] == "Which node failed?"

def test_confirmation_question(tmp_path):
    nodes, hostvars = load(tmp_path)
    confirm = node_survey(nodes, hostvars, "node", "Which node gets its set back?")["spec"][1]
    assert confirm["variable"] == CONFIRM_VAR == "smsgw_confirm"
    assert confirm["type"] == "text" and confirm["required"] is True and confirm["default"] == ""
    assert confirm["min"] == 1 and confirm["max"] == len("lyo-sms-east")

def test_survey_follows_the_inventory(tmp_path):
    nodes, hostvars = load(tmp_path, HOSTS.replace("par-gw-2", "par-gw-3"))
    choices = node_survey(nodes, hostvars, "failed", "q")["spec"][0]["choices"]
    assert "par-gw-3" in choices and "par-gw-2" not in choices

def test_registered_as_a_filter():
    assert FilterModule().filters() == {"awx_node_survey": node_survey}

def test_refuses_a_cluster_without_two_nodes(tmp_path):
    hosts = HOSTS.replace("            lyo-sms-west: {}\n", "")
    nodes, hostvars = load(tmp_path, hosts)
    with pytest.raises(AnsibleFilterError, match=r"cluster lyon has 1 node\(s\) \(lyo-sms-east\)"):
        node_clusters(nodes, hostvars)

def test_refuses_a_node_without_kannel_cluster(tmp_path):
    nodes, hostvars = load(tmp_path, clusters=("paris",))
    with pytest.raises(AnsibleFilterError, match="node lyo-sms-(east|west) has no kannel_cluster"):
        node_survey(nodes, hostvars, "failed", "q")

def test_refuses_an_inventory_without_nodes():
    with pytest.raises(AnsibleFilterError, match="no host in group kannel_nodes"):
        node_survey([], {}, "failed", "q")
