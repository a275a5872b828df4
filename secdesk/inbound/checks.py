"""Deployment check: a desk that reads replies by e-mail should know who really sent them.

A From address is easy to forge; without ``SECDESK_INBOUND_AUTHSERV_ID`` the
desk cannot tell a member's reply from a forgery that names them, and posts
both. ``manage.py check --deploy`` says so when a reply mailbox is configured
(``SECDESK_IMAP_URL``); ``secdesk mail-gateway`` says so when it starts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

UNVERIFIED_SENDERS = "secdesk.inbound.W001"
MESSAGE = "Replies by e-mail are accepted on the strength of their From address alone."
HINT = (
    "Have the receiving MTA check DMARC and set SECDESK_INBOUND_AUTHSERV_ID to its authserv-id: "
    "mail without an Authentication-Results header from it saying dmarc=pass is then quarantined."
)


@register(Tags.security, deploy=True)
def sender_verification(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if not settings.IMAP_URL or settings.INBOUND_AUTHSERV_ID:
        return []
    return [Warning(MESSAGE, hint=HINT, id=UNVERIFIED_SENDERS)]
