"""The cluster_model filter on a real inventory (Ansible's own inventory and variable managers):
it reads each node once from hostvars, and a 50-cluster fleet validates in well under a second."""
import os
import time

import yaml

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.smsgw.cluster.plugins.filter.cluster_model import FilterModule

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(REPO, "roles", "cluster_model", "defaults", "main.yml")) as _fh:
    DEFAULTS = yaml.safe_load(_fh)


def inventory(tmp_path, clusters, broken=None):
    """A fleet inventory laid out as users keep one: hosts.yml and one group_vars file per cluster."""
    hosts = ["all:", "  children:", "    kannel_nodes:", "      children:"]
    (tmp_path / "group_vars").mkdir()
    for c in range(1, clusters + 1):
        a, b = "c%d-a" % c, "c%d-b" % c
        port = 0 if c == broken else 2775
        hosts += ["        fleet_c%d:" % c, "          hosts:",
                  "            %s: {kannel_cluster_address: 10.1.%d.1}" % (a, c),
                  "            %s: {kannel_cluster_address: 10.1.%d.2}" % (b, c)]
        lines = ["kannel_cluster: fleet_c%d" % c, "kannel_admin_password: fleet-admin-pw",
                 "kannel_status_password: fleet-status-pw", "kannel_links:"]
        for node in (a, b):
            for i in (1, 2):
                lines.append("  - {id: %s-l%d, home: %s, host: 10.1.0.1, port: %d, username: u%d, password: pw}"
                             % (node, i, node, port, i))
        lines.append("kannel_client_sets:")
        for node, sendsms in ((a, 13013), (b, 13014)):
            lines += ["  %s:" % node, "    sendsms_port: %d" % sendsms,
                      "    service_address: 10.2.%d.%d/24" % (c, sendsms - 13000), "    accounts:"]
            for i in (1, 2):
                lines.append("      - {username: %s-client%d, password: secret, links: [%s-l%d]}" % (node, i, node, i))
        (tmp_path / "group_vars" / ("fleet_c%d.yml" % c)).write_text("\n".join(lines) + "\n")
    (tmp_path / "hosts.yml").write_text("\n".join(hosts) + "\n")
    return inventory_reread(tmp_path)


def inventory_reread(tmp_path):
    """Ansible's view of the inventory written in tmp_path."""
    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(tmp_path / "hosts.yml")])
    variables = VariableManager(loader=loader, inventory=inv)
    groups = dict((name, [h.name for h in group.get_hosts()]) for name, group in inv.groups.items())
    return HostVars(inventory=inv, variable_manager=variables, loader=loader), groups


def run(hostvars, groups):
    fn = FilterModule().filters()["cluster_model"]
    return fn(groups["kannel_nodes"], hostvars, groups, DEFAULTS["cluster_model_settings"],
              DEFAULTS["cluster_model_node_defaults"], DEFAULTS["cluster_model_dlr_redis_defaults"])


def test_a_fleet_of_fifty_clusters(tmp_path):
    hostvars, groups = inventory(tmp_path, 50)
    start = time.process_time()
    result = run(hostvars, groups)
    seconds = time.process_time() - start
    assert result["errors"] == {}
    assert len(result["models"]) == 100
    assert result["models"]["c50-b"]["peer_address"] == "10.1.50.1"
    # CPU time, not wall-clock: a loaded 2-core box stretches the latter (measured 0.1-0.2 s)
    assert seconds < 1.0, "50 clusters took %.2f s of CPU" % seconds


def test_an_error_in_one_cluster_of_many_names_its_nodes_only(tmp_path):
    hostvars, groups = inventory(tmp_path, 5, broken=3)
    result = run(hostvars, groups)
    assert sorted(result["errors"]) == ["c3-a", "c3-b"]
    assert result["errors"]["c3-a"][0] == "kannel_links[0] (id c3-a-l1).port: 0 is not a TCP port"
    assert len(result["models"]) == 8


def test_client_set_types_are_checked_before_the_rules_and_name_the_set(tmp_path):
    inventory(tmp_path, 2)
    path = tmp_path / "group_vars" / "fleet_c2.yml"
    path.write_text(path.read_text().replace("    sendsms_port: 13014\n", "    sendsms_port: many\n"))
    hostvars, groups = inventory_reread(tmp_path)
    result = run(hostvars, groups)
    assert result["models"] == {}  # the rules did not run: they read the sets' fields
    assert sorted(result["errors"]) == ["c2-a", "c2-b"]
    message = result["errors"]["c2-a"][0]
    assert "sendsms_port" in message and "kannel_client_sets -> c2-b" in message and "int" in message
    assert result["report"][0] == "Inventory errors for node c2-a:"
