# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text the controller-side filters put in an operator's report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def shorten(text, length, end="..."):
    """Jinja's truncate(length): whole words, '...' added, 5 characters of leeway (a connection
    error's text can run to kilobytes; the report keeps its start)."""
    if len(text) <= length + 5:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end
