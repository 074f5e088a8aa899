# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long a failback left the returning set's clients without a node that accepts them."""

from __future__ import annotations

DOCUMENTATION = r"""
name: failback_gap
short_description: The clients' gap of a failback, from the two serve runs' windows and steps
description:
  - Each side is what role kannel_node's serve.yml leaves on its node, C(window) (the controller's
    clock before the serve's address release and after its address bind, C(kannel_node_serve_window))
    and C(result) (the smsgw.cluster.kannel_serve result, C(kannel_node_served), whose steps say on
    the node's own clock when they ran, C(started), C(seconds) and C(elapsed)).
  - The gap begins at the survivor's first step of the set (its smsbox stops, or, for a set without
    clients, its links go) and ends with the returning node's last step that makes the set accept
    again (its smsbox started; else its links loaded). From the span between the survivor's window
    start and the returning node's window end, only what a run measured on its own clock before or
    after those steps is taken off, so the figure never comes out shorter than the gap; the
    module start-ups and the controller's round trips stay in it.
  - A set with a service address is unreachable for its clients from the address's release on the
    survivor to its bind on the returning node, outside the runs; then, and without timed steps
    (check mode, nothing moved), the whole span.
positional: served, node, address
options:
  _input:
    description: The survivor's side, C(window) and C(result).
    type: dict
    required: true
  served:
    description: The returning node's side, C(window) and C(result).
    type: dict
    required: true
  node:
    description: The returning set.
    type: str
    required: true
  address:
    description: The set has a service address (in C(kannel_model.service_addresses)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Work out the gap on the returning node
  ansible.builtin.set_fact:
    gap_seconds: >-
      {{ {'window': hostvars[survivor].kannel_node_serve_window, 'result': hostvars[survivor].kannel_node_served}
         | smsgw.cluster.failback_gap({'window': kannel_node_serve_window, 'result': kannel_node_served},
                                      inventory_hostname, inventory_hostname in kannel_model.service_addresses) }}
"""

RETURN = r"""
_value:
  description: Seconds, rounded to hundredths, between 0 and the span.
  type: float
"""


def _timed(result, names, node):
    """The timed steps of a serve run named in names; an smsbox step only of node's set (the
    link steps of a failback's runs are all of the returning set: the survivor releases it, the
    returning node serves nothing else)."""
    return [s for s in (result or {}).get("steps") or []
            if "started" in s and s.get("step") in names
            and (not s["step"].startswith("smsbox-") or s.get("target") == node)]


def failback_gap(released, served, node, address=False):
    begun, ended = float(released["window"][0]), float(served["window"][1])
    span = max(ended - begun, 0.0)
    stops = _timed(released.get("result"), ("smsbox-stop", "passive"), node)
    starts = (_timed(served.get("result"), ("smsbox-start",), node)
              or _timed(served.get("result"), ("active",), node))
    if address or not stops or not starts or "elapsed" not in (served.get("result") or {}):
        return round(span, 2)
    head = min(s["started"] for s in stops)
    tail = float(served["result"]["elapsed"]) - max(s["started"] + s["seconds"] for s in starts)
    return round(min(max(span - head - max(tail, 0.0), 0.0), span), 2)


class FilterModule:
    def filters(self):
        return {"failback_gap": failback_gap}
