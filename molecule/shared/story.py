"""Tools of the lab scenarios' stories (failover, faults): run the real playbooks against the
scenario's inventory, inject faults into the podman nodes, send SMS through the nodes' sendsms ports
and read the provider simulator.

Everything is measured from outside, the way an operator or a provider would see it: binds come from
the simulator's event log (so a bind that lasted 1 ms still counts), serving state from the nodes'
files and their own status.xml, and operator messages from the playbook output.
"""
import contextlib
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest
import yaml

RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
SERVING_FILE = "/var/lib/kannel-cluster/serving.json"
BEARERBOX = "kannel-bearerbox.service"
GUARD = "kannel-cluster-guard.service"  # the runtime guard
HELD = ".held"  # a link's stand-in is the group <id>.held (kannel_link state=held)


def ssh_vars(repo):
    """How Ansible reaches a lab container over SSH, as inventory/lab/group_vars/lab_ssh.yml says: as
    root with the lab's key, checking the host key scripts/lab ssh-access recorded. Pipelining and
    connection sharing come from ansible.cfg."""
    ssh = os.path.join(repo, ".lab", "ssh")
    return {"ansible_connection": "ansible.builtin.ssh", "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": os.path.join(ssh, "id_ed25519"),
            "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                                       % os.path.join(ssh, "known_hosts")}


class Run:
    """One finished playbook run."""

    def __init__(self, rc, out, seconds):
        self.rc, self.out, self.seconds = rc, out, seconds
        self.report = None  # the JSON result the playbook wrote, when run by Cluster.published
        self.changed = {m.group(1): int(m.group(3)) for m in RECAP.finditer(out)}

    def failure_of(self, host):
        """The first task failure Ansible reported for host with its indented result, whitespace
        collapsed (the yaml callback wraps long messages); '' if none."""
        found = re.search(r"^(?:fatal|failed): \[%s\].*?(?=^\S|\Z)" % re.escape(host), self.out,
                          re.M | re.S)
        return " ".join(found.group(0).split()) if found else ""


class Cluster:
    """The scenario's two nodes, as its inventory describes them."""

    def __init__(self, scenario_dir, inventory=None, name=None):
        """inventory: another inventory of the same nodes (the benchmarks reach them over SSH);
        name: the cluster, when the inventory has several (default: its first)."""
        repo = os.path.dirname(os.path.dirname(scenario_dir))
        self.repo = repo
        self.scenario = os.path.basename(scenario_dir)
        self.inventory = inventory or os.path.join(scenario_dir, "inventory")
        with open(os.path.join(self.inventory, "hosts.yml"), encoding="utf-8") as fh:
            groups = yaml.safe_load(fh)["all"]["children"]["kannel_nodes"]["children"]
        cluster_name = name or next(iter(groups))
        cluster = groups[cluster_name]
        with open(os.path.join(self.inventory, "group_vars", cluster_name, "main.yml"),
                  encoding="utf-8") as fh:
            self.vars = yaml.safe_load(fh)
        self.name = cluster_name
        self.nodes = sorted(cluster["hosts"])
        self.address = {n: cluster["hosts"][n]["kannel_cluster_address"] for n in self.nodes}
        self.sets = self.vars["kannel_client_sets"]
        self.links = {n: [link["id"] for link in self.vars["kannel_links"] if link["home"] == n]
                      for n in self.nodes}
        self.accounts = {link["username"] for link in self.vars["kannel_links"]}
        self.sim_control = "http://" + os.environ["SMSGW_SIM_CONTROL"]
        self.env = self._environment(repo)
        self.sent = []  # every text a gateway accepted: each must reach the provider exactly once

    @staticmethod
    def _environment(repo):
        """The environment the playbooks run in, as an operator's shell in the repository has it."""
        return dict(os.environ,
                    ANSIBLE_CONFIG=os.path.join(repo, "ansible.cfg"),
                    ANSIBLE_COLLECTIONS_PATH=os.path.join(repo, "collections"),
                    CONTAINERS_CONF=os.path.join(repo, "lab", "containers.conf"),
                    ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")

    def peer(self, node):
        return next(n for n in self.nodes if n != node)

    # --- playbooks ----------------------------------------------------------------------------

    def _argv(self, name, args):
        return ["ansible-playbook", "-i", self.inventory, os.path.join(self.repo, name)] + list(args)

    def playbook(self, name, *args, timeout=600):
        """timeout: a guard against a hung run (a whole cluster's maintenance needs more)."""
        started = time.monotonic()
        proc = subprocess.run(self._argv(name, args), cwd=self.repo, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout, time.monotonic() - started)

    def published(self, name, *args):
        """Run playbook `name` (status, takeover, failback) with the JSON result it publishes written
        to artifacts/NAME-SCENARIO.json (its extra var NAME_file); the run holds it as `report`,
        None when the run wrote none (a refused run writes none)."""
        playbook = os.path.splitext(os.path.basename(name))[0]
        path = os.path.join(self.repo, "artifacts", "%s-%s.json" % (playbook, self.scenario))
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        run = self.playbook(name, "-e", "%s_file=%s" % (playbook, path), *args)
        with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as fh:
            run.report = json.load(fh)
        return run

    def playbook_ok(self, name, *args, timeout=600):
        run = self.playbook(name, *args, timeout=timeout)
        assert run.rc == 0, run.out
        return run

    def playbook_killed(self, name, args, play, task, delay=None, timeout=300):
        """Run a playbook and SIGKILL its whole process group partway, as an operator's Ctrl-C
        cannot (Ansible would still clean up): inside the play whose banner contains `play`, either
        `delay` seconds after the banner of the task containing `task` (the task in flight), or with
        delay=None at the next task banner (that task just finished). Fails if the run ended without
        reaching that point."""
        proc = subprocess.Popen(self._argv(name, args), cwd=self.repo, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        watchdog = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        watchdog.start()
        lines, in_play, task_seen, killed = [], False, False, False
        try:
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("PLAY ["):
                    in_play = play in line
                elif in_play and line.startswith("TASK ["):
                    if task_seen:
                        killed = True
                    elif task in line:
                        task_seen = True
                        if delay is not None:
                            time.sleep(delay)
                            killed = True
                if killed:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
        finally:
            watchdog.cancel()
            proc.stdout.close()
            proc.wait()
        if not killed:
            pytest.fail("%s ended (rc %s) before task %r of play %r was reached:\n%s"
                        % (name, proc.returncode, task, play, "".join(lines)))

    # --- nodes --------------------------------------------------------------------------------

    def podman(self, *args, timeout=120):
        return subprocess.run(["podman"] + list(args), env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)

    def ssh_access(self, nodes=None):
        """Authorise the lab's key on the nodes (default: all) and record their host keys
        (scripts/lab ssh-access): then an inventory with ssh_vars() reaches them over SSH, as users
        reach real hosts. It also forgets the host's neighbour entry of each node and waits until
        its SSH server answers."""
        subprocess.run([os.path.join(self.repo, "scripts", "lab"), "ssh-access"] + (nodes or self.nodes),
                       env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=120, check=True)

    def start(self, node):
        """Start a stopped or killed node's container and wait until it has booted and answers SSH.
        A container started again may come back with another MAC address while the host's
        neighbour entry still names the old one: Ansible's SSH connections then time out for up
        to ~45 s (measured: an AWX failback right after the restart). scripts/lab ssh-access
        forgets that entry, in the one place the lab does it."""
        assert self.podman("start", node).returncode == 0
        self.wait_booted(node)
        self.ssh_access([node])

    def exec_ok(self, node, *argv):
        proc = self.podman("exec", node, *argv)
        assert proc.returncode == 0, "%s: %s -> %s" % (node, " ".join(argv), proc.stdout)
        return proc.stdout

    def kill(self, node):
        """podman kill, then drop at the provider the sessions the dead node leaves behind: the TCP
        close of a killed container can be lost with its network namespace, and the simulator, unlike
        a real provider's enquire-link timeout, never notices a dead peer."""
        prefix = self.address[node] + ":"
        bound = {s["account"] for s in self.sim("/state")["sessions"]
                 if s["bound"] and s["peer"].startswith(prefix)}
        assert self.podman("kill", node).returncode == 0
        for account in bound:
            self.sim("/kick", {"account": account})

    def container_state(self, node):
        return self.podman("inspect", "-f", "{{.State.Status}}", node).stdout.strip()

    def serving_file(self, node):
        return json.loads(self.exec_ok(node, "cat", SERVING_FILE))

    def unit_state(self, node, unit):
        return self.podman("exec", node, "systemctl", "is-active", unit).stdout.strip()

    def journal_since(self, node, unit, since):
        return self.exec_ok(node, "journalctl", "-u", unit, "-o", "cat", "--no-pager",
                            "--since", "@%d" % int(since))

    def wait_until(self, what, check, timeout):
        deadline = time.time() + timeout
        while not check():
            if time.time() > deadline:
                pytest.fail("timed out after %s s waiting for %s" % (timeout, what))
            time.sleep(0.5)

    def wait_booted(self, node, timeout=60):
        def booted():
            state = self.podman("exec", node, "systemctl", "is-system-running").stdout.strip()
            return state in ("running", "degraded")
        self.wait_until("%s to boot" % node, booted, timeout)

    def wait_bearerbox_up(self, node, timeout=60):
        """Wait until bearerbox runs and answers: by then the start-up guard has decided."""
        def answers():
            try:
                self.node_view(node)
                return True
            except AssertionError:
                return False
        self.wait_until("bearerbox on %s" % node, answers, timeout)

    def wait_no_ansible_module(self, timeout=60):
        """A killed ansible-playbook leaves the module it had started running in the node (podman
        exec sessions outlive their client): an operator's re-run would meet it there."""
        def idle():
            return all(self.podman("exec", n, "pgrep", "-f", "AnsiballZ_").returncode == 1
                       for n in self.nodes)
        self.wait_until("modules of the killed run to end", idle, timeout)

    def node_view(self, node):
        """(links loaded -> state word, smsbox ids connected) from the node's own status.xml;
        stand-ins (<id>.held) are not links."""
        links, _held, boxes = self.node_status(node)
        return links, boxes

    def node_status(self, node):
        """(links loaded -> state word, stand-ins loaded -> state word, smsbox ids connected)."""
        script = ("import urllib.request,sys;sys.stdout.write(urllib.request.urlopen("
                  "'http://127.0.0.1:13000/status.xml?password=%s',timeout=5).read().decode())"
                  % self.vars["kannel_status_password"])
        proc = self.podman("exec", node, "python3", "-c", script)
        assert proc.returncode == 0, proc.stdout
        root = ET.fromstring(proc.stdout)
        links = {(s.findtext("admin-id") or s.findtext("id")): (s.findtext("status") or "").split()[0]
                 for s in root.iter("smsc")}
        links.pop("smsc-placeholder", None)
        held = {k: v for k, v in links.items() if k.endswith(HELD)}
        boxes = {b.findtext("id") for b in root.iter("box") if b.findtext("type") == "smsbox"}
        return {k: v for k, v in links.items() if k not in held}, held, boxes

    def stand_ins(self, node):
        """The stand-ins a node keeps loaded while its set is taken over (kannel_link held)."""
        return {link + HELD for link in self.links[node]}

    def wait_serving(self, node, sets, timeout=40):
        """Wait until node has exactly the links and smsboxes of `sets`, links online, and the
        stand-ins of its own links loaded exactly while its own set is not among them."""
        want_links = {link for s in sets for link in self.links[s]}
        want_held = set() if node in sets else self.stand_ins(node)
        seen = [None, None, None]
        deadline = time.time() + timeout
        while True:
            try:
                seen = list(self.node_status(node))
            except AssertionError:
                seen = [None, None, None]
            links, held, boxes = seen
            if links is not None and set(links) == want_links and boxes == set(sets) and \
                    all(v == "online" for v in links.values()) and set(held) == want_held:
                return
            if time.time() > deadline:
                pytest.fail("%s should serve %s; it has links %s, stand-ins %s, smsboxes %s"
                            % (node, sorted(sets), links, held, boxes))
            time.sleep(0.5)

    def assert_fenced(self, node):
        links, held, boxes = self.node_status(node)
        assert links == {} and boxes == set(), "fenced %s connected links %s / smsboxes %s" % (
            node, links, boxes)
        # the stand-ins keep what it had queued; they must never come online
        assert set(held) == self.stand_ins(node) and "online" not in held.values(), (
            "fenced %s should hold its set's queued messages with stand-ins %s; it has %s"
            % (node, sorted(self.stand_ins(node)), held))

    def partition(self, cut):
        """Cut (or heal) the nodes' traffic to each other; the controller and the provider still
        reach both. `ip route ... prohibit` because the image has iproute2 but no iptables/nft."""
        for node in self.nodes:
            self.exec_ok(node, "ip", "route", "add" if cut else "del", "prohibit",
                         "%s/32" % self.address[self.peer(node)])

    def cut_off_from_quorum(self, node, cut):
        """Cut (or heal) node's traffic to every quorum address (`ip rule` with the TCP port: the
        provider listens on the same host, and the node must still reach it). Protocol 6 = TCP:
        the image has no /etc/protocols."""
        for address in self.vars.get("kannel_quorum_addresses", []):
            host, port = address.rsplit(":", 1)
            self.exec_ok(node, "ip", "rule", "add" if cut else "del", "to", host, "ipproto", "6",
                         "dport", port, "prohibit")

    def admin_port_silent(self, node, silent, to=None):
        """Make node's admin port silent (or answer again), to everyone or only to address `to`:
        an `ip rule` refuses the port's replies (the image has iproute2, no iptables), so the
        node's other traffic, e.g. its SMPP sessions to the provider on that same host, goes on."""
        selector = ["to", to] if to else []
        self.exec_ok(node, "ip", "rule", "add" if silent else "del", "pref", "10", *selector,
                     "ipproto", "6", "sport", str(self.vars.get("kannel_node_admin_port", 13000)),
                     "prohibit")

    def _unreachable_overlay(self, node, fh):
        yaml.safe_dump({"all": {"children": {"kannel_nodes": {"children": {self.name: {
            "hosts": {node: {"ansible_connection": "containers.podman.podman",
                             "ansible_host": "%s-cut-off-from-the-controller" % node}}}}}}}}, fh)

    def unreachable_inventory(self, node):
        """An extra inventory (-i after the scenario's) in which the controller cannot reach node:
        its connection is podman's, to a container that does not exist, as a node cut off from the
        controller's network looks to Ansible (UNREACHABLE), at once."""
        fd, path = tempfile.mkstemp(prefix="unreachable-%s-" % node, suffix=".yml")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            self._unreachable_overlay(node, fh)
        return path

    def unreachable_inventory_dir(self, node):
        """The scenario's inventory with the overlay of unreachable_inventory, as one directory:
        for a tool that takes a single inventory, such as ansible-rulebook (the watcher), which
        copies it (links are followed) for each playbook it runs."""
        path = tempfile.mkdtemp(prefix="unreachable-%s-" % node)
        for entry in os.listdir(self.inventory):
            os.symlink(os.path.join(self.inventory, entry), os.path.join(path, entry))
        # Ansible reads a directory's inventory files in name order and the last one's host vars
        # win: this name sorts after the scenario's hosts.yml.
        with open(os.path.join(path, "zz-%s-unreachable.yml" % node), "w", encoding="utf-8") as fh:
            self._unreachable_overlay(node, fh)
        return path

    # --- SMS ----------------------------------------------------------------------------------

    def send(self, via, set_name, note=None):
        """Send one SMS as the first client of set_name through node `via` -> (status, body, text).
        The text starts with `note`, by default the cluster's name."""
        return self.send_to(self.address[via], set_name, note, label=via)

    def service_address(self, set_name):
        """The set's service address without its prefix (None when the inventory gives none)."""
        cidr = self.sets[set_name].get("service_address")
        return cidr.split("/")[0] if cidr else None

    def send_to(self, host, set_name, note=None, label=None, timeout=10, extra=None):
        """Send one SMS as the first client of set_name to `host` (an address: a node's, or the
        set's service address) on the set's sendsms port -> (status, body, text). extra: more
        sendsms parameters (e.g. dlr-mask, dlr-url)."""
        acct = self.sets[set_name]["accounts"][0]
        text = "%s %s via %s %s" % (note or self.name, set_name, label or host, uuid.uuid4().hex[:8])
        query = urllib.parse.urlencode(dict({"username": acct["username"], "password": acct["password"],
                                             "from": "SMSGW", "to": "+4790000001", "text": text},
                                            **(extra or {})))
        url = "http://%s:%d/cgi-bin/sendsms?%s" % (host, self.sets[set_name]["sendsms_port"], query)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                status, body = resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read().decode()
        if status == 202:
            self.sent.append(text)
        return status, body, text

    def send_ok(self, via, set_name, note=None):
        status, body, text = self.send(via, set_name, note)
        assert status == 202, "%s refused a client of set %s: %s %s" % (via, set_name, status, body)
        return text

    def assert_refused(self, via, set_name):
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            self.send(via, set_name)

    def accounts_of(self, set_name):
        """The provider accounts (system_ids) of the set's links."""
        return {link["username"] for link in self.vars["kannel_links"] if link["home"] == set_name}

    def arrivals(self, texts):
        delivered = [m.get("text") for m in self.sim("/messages")]
        return {t: delivered.count(t) for t in texts}

    def assert_delivered_once(self, texts, timeout=20):
        """Every text reached the provider exactly once (waiting for late ones up to `timeout`)."""
        deadline = time.time() + timeout
        while True:
            wrong = {t: n for t, n in self.arrivals(texts).items() if n != 1}
            if not wrong or time.time() > deadline:
                break
            time.sleep(0.5)
        assert wrong == {}, "accepted messages not delivered exactly once (text -> times): %s" % wrong

    # --- provider simulator -------------------------------------------------------------------

    def sim(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.sim_control + path, data=data,
                                     method="GET" if body is None else "POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read().decode())

    def link_counters(self):
        """Per account: how often it was bound and unbound so far (a flap moves both)."""
        return {a: (v["binds_total"], v["unbinds"], v["disconnects"])
                for a, v in self.sim("/state")["accounts"].items()}


class MoleculeCluster(Cluster):
    """A scenario whose inventory molecule generates from its molecule.yml (`default`): the same
    tools, the cluster read from molecule.yml, the playbooks run against molecule's inventory."""

    def __init__(self, scenario_dir, inventory):  # pylint: disable=super-init-not-called
        """inventory: molecule's generated inventory (MOLECULE_INVENTORY_FILE in a verifier)."""
        with open(os.path.join(scenario_dir, "molecule.yml"), encoding="utf-8") as fh:
            molecule = yaml.safe_load(fh)
        spec = molecule["provisioner"]["inventory"]
        self.repo = os.path.dirname(os.path.dirname(scenario_dir))
        self.inventory = inventory
        self.name = next(g for g in molecule["platforms"][0]["groups"] if g != "kannel_nodes")
        self.vars = spec["group_vars"][self.name]
        self.nodes = sorted(p["name"] for p in molecule["platforms"])
        self.address = {n: spec["host_vars"][n]["kannel_cluster_address"] for n in self.nodes}
        self.sets = self.vars["kannel_client_sets"]
        self.links = {n: [link["id"] for link in self.vars["kannel_links"] if link["home"] == n]
                      for n in self.nodes}
        self.accounts = {link["username"] for link in self.vars["kannel_links"]}
        self.sim_control = "http://" + molecule["provisioner"]["env"]["SMSGW_SIM_CONTROL"]
        self.env = self._environment(self.repo)
        self.sent = []


class ClientUrls:
    """The URLs a gateway calls back for its clients (dlr-url, an sms-service's get-url), served
    on the lab host (the lab bridge's address, which the nodes reach; port 0: any free one, see
    base): every call is recorded with its time."""

    def __init__(self, host, port):
        calls = self._calls = []
        lock = self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                url = urllib.parse.urlsplit(self.path)
                with lock:
                    calls.append((time.time(), url.path, dict(urllib.parse.parse_qsl(url.query))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = 128  # smsbox calls back many at once in a burst

        self.server = Server((host, port), Handler)
        self.base = "http://%s:%d" % (host, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, path):
        """The queries of every call of `path`, oldest first."""
        with self._lock:
            return [query for _t, p, query in self._calls if p == path]

    def times(self):
        """{path: [time of each call, oldest first]}."""
        found = {}
        with self._lock:
            for t, p, _q in self._calls:
                found.setdefault(p, []).append(t)
        return found

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def paths(self, prefix):
        with self._lock:
            return [p for _t, p, _q in self._calls if p.startswith(prefix)]

    def wait_calls(self, path, count, timeout=30):
        deadline = time.time() + timeout
        while len(self.calls(path)) < count:
            if time.time() > deadline:
                pytest.fail("timed out after %s s waiting for %d call(s) of %s%s; calls so far: %s"
                            % (timeout, count, self.base, path, self.paths("/")))
            time.sleep(0.2)
        return self.calls(path)


class Receipts:
    """Clients sending with delivery reports (dlr-mask 3: delivered or failed, one call per
    message) to their ClientUrls, and what came back, checked against the provider's record."""

    def __init__(self, cluster, urls):
        self.cluster, self.urls = cluster, urls
        self.asked = {}  # text -> the dlr-url path of its receipt

    def send(self, host, set_name, label=None):
        """Send one SMS asking for a receipt; its text (accepted: 202)."""
        tag = uuid.uuid4().hex[:12]
        status, body, text = self.cluster.send_to(host, set_name, "dlr", label, extra={
            "dlr-mask": "3", "dlr-url": "%s/dlr/%s?type=%%d&smsc=%%i" % (self.urls.base, tag)})
        assert status == 202, "%s refused a client of set %s: %s %s" % (host, set_name, status, body)
        self.asked[text] = "/dlr/" + tag
        return text

    def hold(self, held):
        """Keep the provider's receipts that fall due (True) or let them go (False)."""
        self.cluster.sim("/receipts", {"hold": held})

    def submitted(self, text):
        """The provider's message id of text, once it has reached the provider."""
        self.cluster.assert_delivered_once([text])
        return next(m["message_id"] for m in self.cluster.sim("/messages") if m.get("text") == text)

    def assert_reported_through(self, text, node, timeout=30):
        """The provider's receipt of text went out on a session of `node`, and the client's
        dlr-url was called with 'delivered' (type 1) by the link that sent it."""
        message_id = self.submitted(text)
        call = self.urls.wait_calls(self.asked[text], 1, timeout)[0]
        sent = [e for e in self.cluster.sim("/events")
                if e["event"] == "receipt" and e["message_id"] == message_id]
        assert sent and sent[-1]["peer"].startswith(self.cluster.address[node] + ":"), (
            "the receipt of %r should have come in through %s: %s" % (text, node, sent))
        assert call["type"] == "1", call
        return call

    def assert_each_reported_once(self):
        """Every receipt asked for reached its client's dlr-url exactly once."""
        counts = {text: len(self.urls.calls(path)) for text, path in self.asked.items()}
        assert {t: n for t, n in counts.items() if n != 1} == {}, (
            "dlr-url calls per message (each should be called once): %s" % counts)


def mo_reach_their_sets(cluster, urls, accounts_of_set):
    """The provider sends one MO on each given account ({set: [account, ...]}); each must reach
    its own set's URL (/mo/<set>) and no other set's."""
    texts = {}
    for set_name, accounts in accounts_of_set.items():
        for account in accounts:
            text = "mo %s %s" % (account, uuid.uuid4().hex[:8])
            answer = cluster.sim("/deliver", {"account": account, "source": "+4790000002",
                                              "destination": "4711", "text": text})
            assert answer["ok"], answer
            texts[text] = set_name
    expected = sorted(texts.items())
    deadline = time.time() + 30
    while True:
        got = sorted((q.get("text"), p.rsplit("/", 1)[1]) for p in set(urls.paths("/mo/"))
                     for q in urls.calls(p) if q.get("text") in texts)
        if len(got) >= len(expected) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert got == expected, "MO (text, set whose URL it reached): %s, expected %s" % (got, expected)


class ClientProbe:
    """A client of one set sending through an address every `period` seconds, each send in its own
    thread (a send to an address nobody answers hangs until `timeout`; the next one starts on time
    all the same). Records (started, answered, accepted) per send; accepted texts join
    cluster.sent, so the story checks that each one reaches the provider exactly once."""

    def __init__(self, cluster, set_name, host, period=0.1, timeout=2.0, note="probe"):
        self.cluster, self.set_name, self.host = cluster, set_name, host
        self.period, self.timeout, self.note = period, timeout, note
        self.attempts, self.texts = [], []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._loop = threading.Thread(target=self._run, daemon=True)

    def _send(self):
        started = time.time()
        try:
            status, _body, text = self.cluster.send_to(self.host, self.set_name, self.note,
                                                       timeout=self.timeout)
            accepted = status == 202
        except (OSError, urllib.error.URLError):
            accepted, text = False, None
        with self._lock:
            self.attempts.append((started, time.time(), accepted))
            if accepted:
                self.texts.append(text)

    def _run(self):
        while not self._stop.is_set():
            worker = threading.Thread(target=self._send, daemon=True)
            worker.start()
            self._threads.append(worker)
            self._stop.wait(self.period)

    def start(self):
        self._loop.start()
        return self

    def stop_after_accepted(self, since, timeout=60):
        """Keep sending until a send started after `since` was accepted (or `timeout` passed), then
        stop and wait for the sends in flight."""
        deadline = time.time() + timeout
        while time.time() < deadline and not any(ok and t0 >= since for t0, _t1, ok in self.snapshot()):
            time.sleep(0.05)
        self._stop.set()
        self._loop.join()
        for worker in self._threads:
            worker.join(self.timeout + 5)

    def snapshot(self):
        with self._lock:
            return sorted(self.attempts)

    def outage(self, since):
        """What the client saw from `since` on: {"outage": the longest run of failed sends, from
        the start of its first send to the answer of the first accepted send after it (0.0 when
        none failed, None when none was accepted after it), "windows": every such run's length,
        "failed", "sends"}."""
        attempts = [a for a in self.snapshot() if a[0] >= since]
        windows, first_failed = [], None
        for started, answered, accepted in attempts:
            if not accepted and first_failed is None:
                first_failed = started
            elif accepted and first_failed is not None:
                windows.append(round(answered - first_failed, 2))
                first_failed = None
        outage = None if first_failed is not None else max(windows or [0.0])
        return {"outage": outage, "windows": windows, "sends": len(attempts),
                "failed": len([a for a in attempts if not a[2]])}


class BindWatch:
    """Concurrent binds per provider account from a moment on, from the simulator's event log:
    each bind event carries the account's bind count right after it. With from_start, the moment is
    the simulator's start (the scenario's prepare), so the binds of the deploy count too."""

    def __init__(self, cluster, from_start=False):
        self.cluster = cluster
        if from_start:
            self.since, self.at_start = 0, {}
        else:
            self.since = time.time()
            self.at_start = {a: v["binds_now"] for a, v in cluster.sim("/state")["accounts"].items()}

    def max_binds(self):
        peak = {a: self.at_start.get(a, 0) for a in self.cluster.accounts}
        for ev in self.cluster.sim("/events"):
            if ev["event"] == "bind" and ev["t"] >= self.since:
                peak[ev["account"]] = max(peak.get(ev["account"], 0), ev["binds_now"])
        return peak

    def overlap_seconds(self):
        """Per account: how long it was bound more than once at a time (from the event log)."""
        overlap = {}
        for account in self.cluster.accounts:
            events = sorted((e for e in self.cluster.sim("/events") if e["account"] == account
                             and e["event"] in ("bind", "unbind", "disconnect")),
                            key=lambda e: e["t"])
            now, since, total = self.at_start.get(account, 0), self.since, 0.0
            for ev in events:
                if ev["t"] < self.since:
                    now = ev["binds_now"]
                    continue
                if now > 1:
                    total += ev["t"] - since
                now, since = ev["binds_now"], ev["t"]
            if now > 1:
                total += time.time() - since
            overlap[account] = round(total, 3)
        return overlap

    def second_binds_refused(self):
        """Per account: binds the provider refused because the account was bound already (the
        simulator's /second-bind refuse): a try to connect twice that such a provider hides from
        max_binds. Only accounts with any."""
        refused = {}
        for ev in self.cluster.sim("/events"):
            if ev["event"] == "bind_refused" and ev.get("reason") == "second bind" and \
                    ev["t"] >= self.since:
                refused[ev["account"]] = refused.get(ev["account"], 0) + 1
        return refused

    def assert_never_bound_twice(self, refused_ok=False):
        """No account bound twice at a time, nor (unless refused_ok) asked for while bound: with a
        provider that refuses a second bind, the refusal is what a double bind looks like."""
        peak = self.max_binds()
        twice = {a: n for a, n in peak.items() if n > 1}
        assert twice == {}, "provider accounts bound more than once at a time: %s (binds: %s)" % (
            twice, [(e["account"], e["peer"]) for e in self.cluster.sim("/events")
                    if e["event"] == "bind" and e["t"] >= self.since and e["account"] in twice])
        refused = {} if refused_ok else self.second_binds_refused()
        assert refused == {}, (
            "the provider refused second binds (the account was bound already): %s (tries: %s)"
            % (refused, [(e["account"], e["peer"]) for e in self.cluster.sim("/events")
                         if e["event"] == "bind_refused" and e.get("reason") == "second bind"
                         and e["t"] >= self.since]))


class Witness:
    """A quorum address of the lab (the scenario's kannel_quorum_addresses): a TCP port on the lab
    host that accepts connections, as sshd on a watcher's host would."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)

        class Accept(socketserver.BaseRequestHandler):
            def handle(self):
                pass  # the connection is the answer

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((host, int(port)), Accept)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        socket.create_connection((host, int(port)), timeout=2).close()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
