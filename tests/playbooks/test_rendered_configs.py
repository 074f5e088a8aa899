"""The Kannel configs kannel_node writes, rendered by Ansible from an inventory (no host contacted).

An inventory that does not use the delivery-report store or per-set services renders the same bytes
as before they existed (fixtures/rendered/, captured from the templates before issue 20), so deploy
on such a cluster has nothing to change. An inventory that uses them renders configs that Kannel's
own test_cfg accepts, with each set's sms-service groups only in that set's smsbox file.

configure.yml writes every file of a node from one template (node-files.json.j2), which includes
the config templates instead of looking each up (a lookup costs the controller per file and node):
each file still carries the bytes the template module writes, the captured ones included.
"""
import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

from test_inventory_validation import GOOD, cluster_vars

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "rendered")
TEST_CFG = "/usr/lib/kannel/test/test_cfg"
ROLE = os.path.join(REPO, "roles", "kannel_node")

RENDER = """
- name: Render the Kannel configs of each node
  hosts: kannel_nodes
  gather_facts: false
  connection: local
  roles:
    - smsgw.cluster.cluster_model
  tasks:
    - name: Load the node role's variables
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop: ["%(role)s/defaults/main.yml", "%(role)s/vars/main.yml"]
    - name: Write bearerbox.conf
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', '%(role)s/templates/bearerbox.conf.j2') }}"
        dest: "%(out)s/{{ inventory_hostname }}-bearerbox.conf"
        mode: "0600"
    - name: Write each set's smsbox config
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', '%(role)s/templates/smsbox.conf.j2', template_vars={'cset': item}) }}"
        dest: "%(out)s/{{ inventory_hostname }}-smsbox-{{ item.home }}.conf"
        mode: "0600"
      loop: "{{ kannel_model.sets.values() | list }}"
      loop_control:
        label: "{{ item.home }}"
"""


NODE_FILES = """
- name: Render every file of each node as configure.yml does, and each config template by itself
  hosts: kannel_nodes
  gather_facts: false
  connection: local
  roles:
    - smsgw.cluster.cluster_model
  vars:
    role_path: "%(role)s"
    _kannel_node_guard: {}
    templates: [kannel.conf.j2, default-kannel.j2, logrotate.j2, kannel-bearerbox.service.j2,
                kannel-smsbox@.service.j2, kannel-cluster-guard.service.j2]
  tasks:
    - name: Load the node role's variables
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop: ["%(role)s/defaults/main.yml", "%(role)s/vars/main.yml"]
    - name: Write what configure.yml gives kannel_node_files
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', '%(role)s/templates/node-files.json.j2') }}"
        dest: "%(out)s/{{ inventory_hostname }}-node-files.json"
        mode: "0600"
    - name: Write each config template looked up by itself, as the template module renders it
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', '%(role)s/templates/' ~ item) }}"
        dest: "%(out)s/{{ inventory_hostname }}-lookup-{{ item }}"
        mode: "0600"
      loop: "{{ templates }}"
"""


def render(tmp_path, inventory, playbook=RENDER):
    inventory["all"]["children"]["kannel_nodes"]["vars"] = {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "render.yml").write_text(playbook % {"role": ROLE, "out": out})
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"))
    proc = subprocess.run([PLAYBOOK_BIN, "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "render.yml")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout + proc.stderr


def test_an_inventory_without_the_new_variables_renders_the_same_bytes(tmp_path):
    out, _ = render(tmp_path, copy.deepcopy(GOOD))
    names = sorted(os.listdir(out))
    assert names == sorted(os.listdir(FIXTURES))
    for name in names:
        with open(os.path.join(FIXTURES, name), "rb") as f:
            assert (out / name).read_bytes() == f.read(), name


def test_redis_store_and_per_set_services_render_configs_kannel_accepts(tmp_path):
    inv = copy.deepcopy(GOOD)
    cvars = cluster_vars(inv)
    cvars.update(kannel_dlr_storage="redis", kannel_dlr_store_password="dlr-store-secret",
                 kannel_dlr_store={"host": "192.0.2.30", "key_prefix": "edge-dlr"})
    cvars["kannel_client_sets"]["alpha"]["sms_services"] = [
        {"keyword": "default", "catch-all": True, "get-url": "http://192.0.2.40/mo?from=%p&text=%a",
         "max-messages": 0, "accept-x-kannel-headers": True}]
    out, log = render(tmp_path, inv)
    assert "dlr-store-secret" not in log

    bearerbox = (out / "alpha-bearerbox.conf").read_text()
    assert bearerbox == (out / "beta-bearerbox.conf").read_text().replace(
        "node beta", "node alpha").replace("192.0.2.11;192.0.2.10", "192.0.2.10;192.0.2.11")
    for line in ('dlr-storage = redis', 'group = redis-connection', 'host = "192.0.2.30"',
                 'port = 6379', 'password = "dlr-store-secret"', 'database = 0', 'group = dlr-db',
                 'table = "edge-dlr"', 'ttl = 604800', 'field-boxc-id = boxc'):
        assert line + "\n" in bearerbox, line
    for node in ("alpha", "beta"):
        alpha, beta = (out / ("%s-smsbox-alpha.conf" % node)).read_text(), \
            (out / ("%s-smsbox-beta.conf" % node)).read_text()
        assert 'get-url = "http://192.0.2.40/mo?from=%p&text=%a"' in alpha
        assert "accept-x-kannel-headers = true" in alpha
        assert "192.0.2.40" not in beta
        assert 'text = ""' in beta and "catch-all = true" in beta  # the global default
        assert alpha.count("group = sms-service") == beta.count("group = sms-service") == 1
    if not os.access(TEST_CFG, os.X_OK):
        pytest.skip("Kannel's test_cfg is not installed")
    active = tmp_path / "smsc-active"  # the node's include directory, here empty
    active.mkdir()
    for name in sorted(os.listdir(out)):
        conf = out / name
        conf.write_text(conf.read_text().replace('include = "/etc/kannel/smsc-active"',
                                                 'include = "%s"' % active))
        proc = subprocess.run([TEST_CFG, str(conf)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and "ERROR" not in proc.stdout + proc.stderr, (name, proc.stderr[-2000:])


def test_the_node_files_carry_the_bytes_the_template_module_writes(tmp_path):
    (tmp_path / "files").symlink_to(os.path.join(ROLE, "files"))  # the role's, for the file lookups
    out, _ = render(tmp_path, copy.deepcopy(GOOD), NODE_FILES)
    paths = {"kannel.conf.j2": "/etc/kannel/kannel.conf", "default-kannel.j2": "/etc/default/kannel",
             "logrotate.j2": "/etc/logrotate.d/kannel",
             "kannel-bearerbox.service.j2": "/etc/systemd/system/kannel-bearerbox.service",
             "kannel-smsbox@.service.j2": "/etc/systemd/system/kannel-smsbox@.service",
             "kannel-cluster-guard.service.j2": "/etc/systemd/system/kannel-cluster-guard.service"}
    for node in ("alpha", "beta"):
        files = dict((f["path"], f["content"]) for f in json.loads((out / ("%s-node-files.json" % node)).read_text()))
        for template, path in paths.items():
            assert files[path] == (out / ("%s-lookup-%s" % (node, template))).read_text(), (node, template)
        # the captured bytes, whose smsbox files end in a blank line (the template's last block)
        captured = {"/etc/kannel/bearerbox.conf": "%s-bearerbox.conf" % node}
        captured.update(("/etc/kannel/smsbox-%s.conf" % s, "%s-smsbox-%s.conf" % (node, s)) for s in ("alpha", "beta"))
        for path, name in captured.items():
            with open(os.path.join(FIXTURES, name)) as f:
                assert files[path] == f.read(), (node, path)
