# -*- coding: utf-8 -*-
# Copyright: SMS gateway cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by the modules that talk to bearerbox's HTTP admin interface.
    DOCUMENTATION = r"""
options:
  admin_url:
    description:
      - Base URL of bearerbox's HTTP admin interface (C(admin-port) of the core group).
      - The default reaches the gateway of the host the module runs on; give another node's
        address to manage it from elsewhere (it must be in that node's C(admin-allow-ip)).
      - Proxies from the environment are not used.
    type: str
    default: http://127.0.0.1:13000
  admin_password:
    description:
      - The C(admin-password) of the core group. It is sent as a query parameter (Kannel accepts
        nothing else) and is never shown in results, warnings or error messages.
      - Read-only modules also work with the C(status-password).
      - A wrong password is never retried, because bearerbox answers each further wrong password one
        second later than the previous one and blocks its admin interface meanwhile.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for each HTTP request to the admin interface.
    type: float
    default: 5
notes:
  - Kannel answers every admin request with HTTP 200; the modules interpret the reply text.
"""
