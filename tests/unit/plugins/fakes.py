"""A fake bearerbox admin interface: renders status.xml like Kannel 1.4.5 and answers commands
with the reply texts captured in tests/unit/fixtures/status/replies.json."""
from __future__ import absolute_import, division, print_function

import os

from ansible.module_utils.six.moves.urllib.parse import parse_qs, urlsplit

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "status")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


HEAD = fixture("empty.xml").split("<boxes>")[0]

LINK_TMPL = """<smsc>
\t\t<name>SMPP:127.0.0.1:1/1:{id}:</name>
\t\t<admin-id>{id}</admin-id>
\t\t<id>{id}</id>
\t\t<status>{status}</status>
\t\t<failed>0</failed>
\t\t<queued>{queued}</queued>
\t\t<sms>
\t\t\t<received>0</received>
\t\t\t<sent>0</sent>
\t\t\t<inbound>0.00,0.00,0.00</inbound>
\t\t\t<outbound>0.00,0.00,0.00</outbound>
\t\t</sms>
\t\t<dlr>
\t\t\t<received>0</received>
\t\t\t<sent>0</sent>
\t\t\t<inbound>0.00,0.00,0.00</inbound>
\t\t\t<outbound>0.00,0.00,0.00</outbound>
\t\t</dlr>
\t</smsc>
"""

BOX_TMPL = """<box>
\t\t<type>smsbox</type>
\t\t<id>{id}</id>
\t\t<IP>127.0.0.1</IP>
\t\t<queue>0</queue>
\t\t<status>on-line 0d 0h 0m 5s</status>
\t\t<ssl>no</ssl>
\t</box>"""


class FakeBearerbox(object):
    """links: {id: state}; state "online" renders as "online Ns".

    after_add / after_start: states a link passes through, one per status read, after the command
    (default: connecting then online; a stand-in <id>.held: connecting then re-connecting, as its
    closed port makes it). ``stuck`` links never leave their state.
    """

    def __init__(self, links=None, boxes=(), password="right-pw", queued=None):
        self.links = dict(links or {})
        self.order = list(self.links)
        self.boxes = list(boxes)
        self.password = password
        self.queued = dict(queued or {})
        self.requests = []
        self.pending = {}
        self.after_add = ["connecting", "online"]
        self.after_start = ["online"]
        self.after_remove = []
        self.stuck = set()
        self.drain_per_read = 0
        self.gateway_queued = 0
        self.down = False
        # graceful-restart loads the files of active_dir (None: it loads nothing, as Kannel does
        # when a configuration file has an error) and unloads links with no file there, except
        # those of the main configuration (config_links, e.g. the placeholder).
        self.active_dir = None
        self.config_links = set()

    # -- the fetch callable KannelAdmin uses
    def __call__(self, url, timeout):
        parts = urlsplit(url)
        path = parts.path.lstrip("/")
        query = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        self.requests.append((path, query.get("smsc")))
        if self.down:
            from ansible.module_utils.six.moves.urllib.error import URLError
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        if query.get("password") != self.password:
            if path == "status.xml":
                return fixture("denied.txt")
            return "Denied"
        if path == "status.xml":
            return self.render()
        if path == "graceful-restart":
            return self.cmd_graceful_restart()
        smsc = query.get("smsc")
        if smsc is None:
            return "SMSC id not given"
        return getattr(self, "cmd_" + path.replace("-", "_"))(smsc)

    def advance(self):
        for link in list(self.pending):
            seq = self.pending[link]
            if link in self.stuck:
                continue
            if not seq:
                del self.pending[link]
                continue
            nxt = seq.pop(0)
            if nxt is None:
                self.links.pop(link, None)
                self.order.remove(link)
            else:
                self.links[link] = nxt
            if not seq:
                del self.pending[link]
        if self.drain_per_read:
            for link in self.queued:
                self.queued[link] = max(0, self.queued[link] - self.drain_per_read)
            self.gateway_queued = max(0, self.gateway_queued - self.drain_per_read)

    def render(self):
        self.advance()
        boxes = "".join(BOX_TMPL.format(id=b) for b in self.boxes)
        smscs = "".join(LINK_TMPL.format(id=link, queued=self.queued.get(link, 0),
                                         status="online 3s" if self.links[link] == "online"
                                         else self.links[link])
                        for link in self.order)
        head = HEAD
        if self.gateway_queued:
            pre, sms = head.split("<sms>", 1)
            sms = sms.replace("<sent><total>0</total><queued>0</queued></sent>",
                              "<sent><total>0</total><queued>%d</queued></sent>"
                              % self.gateway_queued, 1)
            head = pre + "<sms>" + sms
        return "%s<boxes>\n\t%s</boxes>\n<smscs><count>%d</count>\n\t%s</smscs>\n</gateway>\n" % (
            head, boxes, len(self.order), smscs)

    def cmd_add_smsc(self, smsc):
        if smsc in self.links:
            return "Could not add smsc-id `%s'" % smsc
        self.links[smsc] = "connecting"
        self.order.append(smsc)
        self.pending[smsc] = self.states_after_add(smsc)
        return "SMSC `%s' added" % smsc

    def states_after_add(self, link):
        return ["connecting", "re-connecting"] if link.endswith(".held") else list(self.after_add)

    def cmd_graceful_restart(self):
        if self.active_dir is not None:
            files = set(n[:-5] for n in os.listdir(self.active_dir) if n.endswith(".conf"))
            for link in [x for x in self.order if x not in files | self.config_links]:
                del self.links[link]
                self.order.remove(link)
            for link in sorted(files - set(self.links)):
                self.links[link] = "connecting"
                self.order.append(link)
                self.pending[link] = self.states_after_add(link)
        return "Restarting gracefully....."

    def cmd_start_smsc(self, smsc):
        if self.links.get(smsc) != "dead":
            return "Could not re-start smsc-id `%s'" % smsc
        self.links[smsc] = "connecting"
        self.pending[smsc] = list(self.after_start)
        return "SMSC `%s' re-started" % smsc

    def cmd_stop_smsc(self, smsc):
        if smsc not in self.links or self.links[smsc] == "dead":
            return "Could not shut down smsc-id `%s'" % smsc
        self.links[smsc] = "disconnected"
        self.pending[smsc] = ["dead"]
        return "SMSC `%s' shut down" % smsc

    def cmd_remove_smsc(self, smsc):
        if smsc not in self.links:
            return "Could not remove smsc-id `%s'" % smsc
        if self.after_remove:
            self.pending[smsc] = list(self.after_remove) + [None]
        else:
            del self.links[smsc]
            self.order.remove(smsc)
        return "SMSC `%s' removed" % smsc

    def commands(self):
        return [r for r in self.requests if r[0] != "status.xml"]

    def status_reads(self):
        return len([r for r in self.requests if r[0] == "status.xml"])


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds
