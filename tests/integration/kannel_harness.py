"""Real Kannel daemons on loopback for tests and benchmarks (no Ansible here).

``KannelLab(tmpdir)`` lays out a gateway like a node does (``bearerbox.conf`` including the
``smsc-active`` directory, one smsc group per link in ``smsc-available``), starts/stops bearerbox and
smsboxes on free loopback ports and always kills what it started in ``close()``.
A ``MiniSmsc`` (bind/enquire_link/unbind/submit only) is included so that fixture capture does not
depend on the project's simulator; integration tests use ``lab/smsc_sim.py``.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
PLACEHOLDER = "placeholder"
ADMIN_PASSWORD = "adm-secret-pw"
STATUS_PASSWORD = "stat-secret-pw"


DLR_FIELDS = (("smsc", "smsc"), ("timestamp", "ts"), ("destination", "destination"),
              ("source", "source"), ("service", "service"), ("url", "url"), ("mask", "mask"),
              ("status", "status"), ("boxc-id", "boxc"))
REDIS_SERVER = "/usr/bin/redis-server"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def closed_port():
    """A loopback port nothing listens on (best effort)."""
    return free_port()


class KannelLab:
    def __init__(self, root, dlr=None):
        """dlr: None (dlr-storage internal) or a RedisServer both bearerboxes of a test share."""
        self.dlr = dlr
        self.root = os.path.abspath(str(root))
        self.active_dir = os.path.join(self.root, "smsc-active")
        self.available_dir = os.path.join(self.root, "smsc-available")
        self.store_dir = os.path.join(self.root, "spool")
        for d in (self.active_dir, self.available_dir, self.store_dir):
            os.makedirs(d, exist_ok=True)
        self.admin_port = free_port()
        self.smsbox_port = free_port()
        self.conf = os.path.join(self.root, "bearerbox.conf")
        self.procs = {}
        self.smsbox_sets = {}
        self.write_core()

    # ---------------------------------------------------------------- config
    @property
    def admin_url(self):
        return "http://127.0.0.1:%d" % self.admin_port

    def write_core(self, routes=(), placeholder=True):
        lines = [
            "group = core",
            "admin-port = %d" % self.admin_port,
            'admin-password = "%s"' % ADMIN_PASSWORD,
            'status-password = "%s"' % STATUS_PASSWORD,
            'admin-allow-ip = "127.0.0.1"',
            'admin-deny-ip = "*.*.*.*"',
            "smsbox-port = %d" % self.smsbox_port,
            'box-allow-ip = "127.0.0.1"',
            'box-deny-ip = "*.*.*.*"',
            'log-file = "%s"' % os.path.join(self.root, "bearerbox.log"),
            'access-log = "%s"' % os.path.join(self.root, "bearerbox-access.log"),
            "log-level = 1",
            "store-type = file",
            # the router looks at queued messages every sms-resend-freq / 2 s (default 30 s)
            "sms-resend-freq = 2",
            'store-location = "%s"' % os.path.join(self.store_dir, "kannel.store"),
            "dlr-storage = %s" % ("internal" if self.dlr is None else "redis"),
            "",
        ]
        if self.dlr is not None:
            # the groups roles/kannel_node/templates/bearerbox.conf.j2 writes for a redis store
            lines += [
                "group = redis-connection", "id = smsgw-dlr", 'host = "127.0.0.1"',
                "port = %d" % self.dlr.port, 'password = "%s"' % self.dlr.password,
                "database = 0", "max-connections = 2", "",
                "group = dlr-db", "id = smsgw-dlr", 'table = "%s"' % self.dlr.prefix, "ttl = 600",
            ] + ["field-%s = %s" % (f, c) for f, c in DLR_FIELDS] + [""]
        lines += [
            # bearerbox refuses smsbox-port without an smsbox group
            "group = smsbox",
            'bearerbox-host = "127.0.0.1"',
            "",
        ]
        # Kannel 1.4.5 starts its smsc subsystem only if the loaded config has an smsc group:
        # with none, every later add-smsc answers "Could not add". A loopback link that no
        # account may use keeps it running (no network, never binds anywhere).
        if placeholder:
            lines += ["group = smsc", "smsc = loopback", 'smsc-id = "%s"' % PLACEHOLDER,
                      'smsc-admin-id = "%s"' % PLACEHOLDER,
                      'allowed-smsc-id = "no-account-uses-this"', ""]
        for set_id, smsc_ids in routes:
            lines += ["group = smsbox-route", 'smsbox-id = "%s"' % set_id,
                      'smsc-id = "%s"' % ";".join(smsc_ids), ""]
        lines.append('include = "%s"' % self.active_dir)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def add_smpp_link(self, link_id, port, username=None, password="pw", reconnect_delay=1,
                      active=False, extra=None):
        body = [
            "group = smsc", "smsc = smpp",
            'smsc-id = "%s"' % link_id, 'smsc-admin-id = "%s"' % link_id,
            'host = "127.0.0.1"', "port = %d" % port, "transceiver-mode = true",
            'smsc-username = "%s"' % (username or link_id), 'smsc-password = "%s"' % password,
            'system-type = ""', "reconnect-delay = %d" % reconnect_delay,
            "enquire-link-interval = 30",
        ]
        for k, v in (extra or {}).items():
            body.append("%s = %s" % (k, v))
        return self._write_link(link_id, body, active)

    def add_fake_link(self, link_id, port, active=False):
        body = ["group = smsc", "smsc = fake", 'smsc-id = "%s"' % link_id,
                'smsc-admin-id = "%s"' % link_id, "port = %d" % port,
                'connect-allow-ip = "127.0.0.1"']
        return self._write_link(link_id, body, active)

    def _write_link(self, link_id, body, active):
        path = os.path.join(self.available_dir, link_id + ".conf")
        with open(path, "w") as f:
            f.write("\n".join(body) + "\n")
        os.chmod(path, 0o640)
        if active:
            shutil.copy2(path, os.path.join(self.active_dir, link_id + ".conf"))
        return path

    def active_files(self):
        return sorted(n[:-5] for n in os.listdir(self.active_dir) if n.endswith(".conf"))

    # ----------------------------------------------------------- processes
    def _spawn(self, name, argv):
        log = open(os.path.join(self.root, name + ".out"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                             start_new_session=True)
        log.close()
        self.procs[name] = p
        return p

    def start_bearerbox(self, wait=10.0):
        p = self._spawn("bearerbox", [BEARERBOX, self.conf])
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("bearerbox exited rc=%s, see %s" % (p.returncode, self.root))
            try:
                if "<gateway>" in self.status_xml(timeout=1):
                    return p
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("bearerbox admin not answering")

    def _kill(self, name, sig=signal.SIGTERM, wait=10.0):
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    def stop_bearerbox(self, hard=False):
        self._kill("bearerbox", signal.SIGKILL if hard else signal.SIGTERM)
        # wait for the admin port to be released
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", self.admin_port))
            except OSError:
                return
            finally:
                s.close()
            time.sleep(0.05)

    def start_smsbox(self, set_id, wait=10.0, forced_smsc=None, services=()):
        """services: sms-service groups of this smsbox, each a dict of Kannel fields."""
        port = free_port()
        conf = os.path.join(self.root, "smsbox-%s.conf" % set_id)
        with open(conf, "w") as f:
            f.write("\n".join([
                "group = core", "smsbox-port = %d" % self.smsbox_port, "",
                "group = smsbox", 'bearerbox-host = "127.0.0.1"',
                "bearerbox-port = %d" % self.smsbox_port,
                'smsbox-id = "%s"' % set_id, "sendsms-port = %d" % port,
                'sendsms-interface = "127.0.0.1"',
                'log-file = "%s"' % os.path.join(self.root, "smsbox-%s.log" % set_id),
                "log-level = 1", "",
                "group = sendsms-user", 'username = "u-%s"' % set_id,
                'password = "p-%s"' % set_id,
            ] + (['forced-smsc = "%s"' % forced_smsc] if forced_smsc else []) + [""]
                + [line for svc in services for line in
                   ["group = sms-service"] + ['%s = "%s"' % kv for kv in svc.items()] + [""]]) + "\n")
        p = self._spawn("smsbox-" + set_id, [SMSBOX, conf])
        self.smsbox_sets[set_id] = port
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if "<id>%s</id>" % set_id in self.status_xml():
                return p
            time.sleep(0.05)
        raise RuntimeError("smsbox %s did not connect" % set_id)

    def stop_smsbox(self, set_id):
        self._kill("smsbox-" + set_id)

    def start_fakesmsc(self, name, port):
        """fakesmsc crashes if nothing listens: wrap it in a retry loop."""
        script = "while true; do %s -H 127.0.0.1 -r %d -i 1 -m 0 '0 0 text hello'; sleep 0.2; done" % (
            FAKESMSC, port)
        return self._spawn("fakesmsc-" + name, ["/bin/sh", "-c", script])

    def close(self):
        for name in list(self.procs):
            self._kill(name, signal.SIGKILL if name.startswith("fakesmsc") else signal.SIGTERM)

    # ------------------------------------------------------------- admin
    def admin(self, command, password=ADMIN_PASSWORD, timeout=10, **params):
        params["password"] = password
        url = "%s/%s?%s" % (self.admin_url, command, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode("utf-8", "replace")

    def status_xml(self, password=STATUS_PASSWORD, timeout=5):
        return self.admin("status.xml", password=password, timeout=timeout)

    def wait_status(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            text = self.status_xml()
            if pred(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError("status condition not met; last status:\n" + text)
            time.sleep(0.05)


class RedisServer:
    """Debian's redis-server on a free loopback port, with a password, in a temp dir, no
    persistence; start()/stop() may be called again (the store going down and coming back)."""

    def __init__(self, root, password="dlr-store-pw", prefix="dlr"):
        self.root = os.path.abspath(str(root))
        os.makedirs(self.root, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.prefix = prefix
        self.proc = None

    def start(self, wait=10.0):
        log = open(os.path.join(self.root, "redis.out"), "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass",
             self.password, "--dir", self.root, "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + wait
        while True:
            try:
                if self.command("PING") == "PONG":
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start, see %s" % self.root)
            time.sleep(0.05)

    def command(self, *words):
        """One command after AUTH (RESP protocol); the reply as str, int, list or None."""
        def enc(args):
            return b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a), a)
                                                      for a in (w.encode() for w in args)])
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(enc(["AUTH", self.password]) + enc(list(words)))
            f = s.makefile("rb")
            replies = [self._reply(f), self._reply(f)]
        return replies[1]

    def _reply(self, f):
        line = f.readline().rstrip(b"\r\n").decode()
        kind, rest = line[:1], line[1:]
        if kind == "+":
            return rest
        if kind == "-":
            raise RuntimeError("redis: " + rest)
        if kind == ":":
            return int(rest)
        if kind == "$":
            return None if int(rest) < 0 else f.read(int(rest) + 2)[:-2].decode()
        if kind == "*":
            return [self._reply(f) for _ in range(int(rest))]
        raise RuntimeError("redis: unexpected reply %r" % line)

    def dlr_keys(self):
        return sorted(self.command("KEYS", self.prefix + ":*"))

    def stop(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


class Blackhole:
    """Accepts TCP connections (kernel backlog) and never answers: an SMPP link stays `connecting`."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


# ------------------------------------------------------------------ MiniSmsc
class MiniSmsc:
    """Minimal SMPP 3.4 server: bind_* / enquire_link / unbind / submit_sm. Counts binds."""

    def __init__(self, unbind_delay=0.0):
        self.unbind_delay = unbind_delay
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.binds = 0
        self._stop = False
        self._conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                c = self.sock.accept()[0]
            except OSError:
                return
            self._conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _recv(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self, c):
        try:
            while True:
                length, cmd, _status, seq = struct.unpack(">IIII", self._recv(c, 16))
                self._recv(c, length - 16)
                if cmd in (1, 2, 9):
                    self.binds += 1
                    body = b"mini\x00"
                elif cmd == 4:
                    body = b"m%d\x00" % seq
                else:
                    body = b""
                if cmd == 6 and self.unbind_delay:
                    time.sleep(self.unbind_delay)
                rcmd = (cmd | 0x80000000) if cmd in (1, 2, 4, 6, 9, 0x15) else 0x80000000
                c.sendall(struct.pack(">IIII", 16 + len(body), rcmd, 0, seq) + body)
                if cmd == 6:
                    break
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    def close(self):
        self._stop = True
        self.sock.close()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
