# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long a takeover waits for a failed node to give up its set by itself under quorum.

A node cut off from its peer and every quorum address gives up its own set after
kannel_quorum_seconds (its runtime guard). When the takeover could neither reach nor fence it, the
survivor waits until the node surely has, counted from when the survivor last reached it: the
survivor's runtime guard records that (``guard_node.peer_record``, read by takeover.yml) on the
survivor's own clock, so no clock is compared across hosts; the time since it was read only adds
margin.
Called by the filter ``smsgw.cluster.quorum_wait`` (role cluster_switch, fence.yml).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math


def quorum_wait(silence, quorum, node, peer):
    """silence: the survivor's record of node {peer_reachable, fresh, silent_seconds};
    quorum: kannel_model.quorum {seconds, takeover_wait_seconds}.
    Returns {seconds (whole), by ('peer guard' or 'quorum': what makes node give up its set), msg}."""
    if silence.get("peer_reachable") is True:
        return {"seconds": 0, "by": "peer guard",
                "msg": "Quorum: %s still reaches %s (only the controller does not): its runtime guard gives "
                       "up its set as soon as %s has it active." % (peer, node, peer)}
    fresh = bool(silence.get("fresh"))
    silent = silence.get("silent_seconds") if fresh else 0
    seconds = int(math.ceil(max(0, quorum["takeover_wait_seconds"] - silent)))
    seen = ("last reached it %s s ago" % silent if fresh else
            "cannot tell when it last reached it (its runtime guard is not running), so the whole time counts")
    return {"seconds": seconds, "by": "quorum",
            "msg": "Quorum: %s gives up its set by itself once cut off for kannel_quorum_seconds=%s s; %s %s. "
                   "Waiting %d s before activating anything (quorum %s s + %s s margin)."
                   % (node, quorum["seconds"], peer, seen, seconds, quorum["seconds"],
                      quorum["takeover_wait_seconds"] - quorum["seconds"])}
