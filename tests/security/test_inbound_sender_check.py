"""``check --deploy`` warns when a reply mailbox is read without verifying who sent the mail."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from secdesk.inbound.checks import UNVERIFIED_SENDERS

MAILBOX = "imaps://desk:secret@mail.example/INBOX"


def _ids() -> list[str]:
    return [message.id for message in run_checks(include_deployment_checks=True)]


@pytest.mark.parametrize(
    ("imap_url", "authserv_id", "warned"),
    [
        (MAILBOX, "", True),  # replies read, From trusted
        (MAILBOX, "mx.desk.example", False),  # replies read, DMARC result required
        ("", "", False),  # no mailbox polled
    ],
)
def test_unverified_senders_are_a_deployment_warning(settings, imap_url, authserv_id, warned):
    settings.IMAP_URL = imap_url
    settings.INBOUND_AUTHSERV_ID = authserv_id
    assert (UNVERIFIED_SENDERS in _ids()) is warned


def test_not_a_warning_outside_deploy_checks(settings):
    settings.IMAP_URL = MAILBOX
    settings.INBOUND_AUTHSERV_ID = ""
    assert UNVERIFIED_SENDERS not in [message.id for message in run_checks()]
