# -*- coding: utf-8 -*-
# Copyright: (c) 2026, smsgw.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""status.yml's fleet view: one verdict per cluster, then the details of the clusters that need a look.

Standard library only. The input is status.yml's report (playbooks/templates/status_report.json.j2):
{'clusters': [{'cluster', 'mode', 'normal', 'nodes': [...], 'sets': [...], 'lock': {...}}]}.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The verdicts, from the most to the least urgent when several apply.
DEGRADED, NODE_DOWN, TAKEN_OVER, NORMAL = 'degraded', 'node down', 'taken over', 'normal'


def _moved(cluster):
    """The sets served by a node other than their home, and nowhere else."""
    return [s for s in cluster['sets'] if len(s['active_on']) == 1 and s['active_on'][0] != s['home']]


def verdict(cluster):
    """One word for a cluster: normal; taken over (every set served once, some by the peer); node
    down (a node unreachable and its set served nowhere); degraded (anything else not normal: a set
    served on both nodes or nowhere, a service address on two nodes, a node's health not ok)."""
    down = [n['node'] for n in cluster['nodes'] if not n['reachable']]
    sets = cluster['sets']
    if any(len(s['active_on']) > 1 or len(s.get('service_address_bound_on') or []) > 1 for s in sets):
        return DEGRADED
    unserved = [s for s in sets if not s['active_on']]
    if unserved:
        return NODE_DOWN if all(s['home'] in down for s in unserved) else DEGRADED
    if _moved(cluster):
        return TAKEN_OVER
    if down:
        return NODE_DOWN
    if not cluster['normal'] or any(n['health'] != 'healthy' for n in cluster['nodes']):
        return DEGRADED
    return NORMAL


def with_verdicts(report):
    """The report with each cluster's `verdict`, and `verdicts` {cluster: verdict} for AWX."""
    clusters = [dict(c, verdict=verdict(c)) for c in report['clusters']]
    return dict(report, clusters=clusters, verdicts=dict((c['cluster'], c['verdict']) for c in clusters))


def summary_line(cluster, width):
    """`NAME  VERDICT  what is not normal`; the lock if someone holds it."""
    down = [n['node'] for n in cluster['nodes'] if not n['reachable']]
    unhealthy = ['%s %s' % (n['node'], n['health']) for n in cluster['nodes']
                 if n['reachable'] and n['health'] != 'healthy']
    notes = [] if cluster['normal'] else [cluster['mode']]
    if down:
        notes.append('unreachable: ' + ', '.join(down))
    if unhealthy:
        notes.append('health: ' + ', '.join(unhealthy))
    if cluster.get('lock', {}).get('held'):
        notes.append('lock held by %s' % cluster['lock'].get('holder'))
    return ('%-*s  %-10s  %s' % (width, cluster['cluster'], cluster['verdict'].upper() if cluster['verdict'] != NORMAL
                                 else NORMAL, '; '.join(notes) or '-')).rstrip()


def fleet_lines(report, selected=None):
    """The fleet summary: a count, one line per cluster (the report must have verdicts)."""
    clusters = report['clusters']
    counts = {}
    for c in clusters:
        counts[c['verdict']] = counts.get(c['verdict'], 0) + 1
    head = '%d cluster%s: %s' % (len(clusters), '' if len(clusters) == 1 else 's',
                                 ', '.join('%d %s' % (counts[v], v) for v in (NORMAL, TAKEN_OVER, NODE_DOWN, DEGRADED)
                                           if v in counts))
    if selected:
        head += ' (only %s, -e cluster=%s)' % (selected, selected)
    width = max([len('CLUSTER')] + [len(c['cluster']) for c in clusters])
    return [head, '%-*s  %-10s  %s' % (width, 'CLUSTER', 'VERDICT', 'WHAT IS NOT NORMAL')] + \
        [summary_line(c, width) for c in clusters]


def detailed(report):
    """The clusters whose tables status.yml prints: every cluster of a report of one (a one-cluster
    inventory, or -e cluster=NAME), else those not normal or whose lock someone holds."""
    clusters = report['clusters']
    if len(clusters) == 1:
        return clusters
    return [c for c in clusters if c['verdict'] != NORMAL or c.get('lock', {}).get('held')]


def fleet_view(report, selected=None):
    """Everything status.yml shows: {'report': the report with verdicts (its JSON), 'lines': the
    fleet summary, 'detailed': the clusters whose tables follow}."""
    report = with_verdicts(report)
    return {'report': report, 'lines': fleet_lines(report, selected), 'detailed': detailed(report)}
