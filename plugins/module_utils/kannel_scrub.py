# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeping Kannel's passwords out of messages and logs.

Kannel takes its passwords only in the query string (``?password=...``), so an error that echoes a
URL (urllib, http.client) carries the password, plain or URL-encoded. Used by the collection's
admin client (module_utils/kannel_admin.py) and by the node's guard's log
(module_utils/guard_node.py). Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from urllib.parse import quote, quote_plus

MASK = "********"


def scrub(text, *passwords):
    """text with every given password (raw or URL-encoded in any of urllib's ways) and any
    ``password=`` query value replaced by a mask."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = str(text)
    variants = set()
    for password in passwords:
        if password:
            variants.update((password, quote(password, safe=""), quote_plus(password),
                             quote(password)))
    # longest first: an encoded form may contain the raw one
    for variant in sorted(variants, key=len, reverse=True):
        if variant:
            text = text.replace(variant, MASK)
    return re.sub(r"(password=)[^&\s'\"<>]*", r"\1" + MASK, text)
