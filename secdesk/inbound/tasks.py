"""Background tasks of inbound e-mail (``django.tasks``); the schedule enqueues them, they take no objects."""

from __future__ import annotations

from django.tasks import task

from secdesk.inbound import imap


@task()
def poll_mailbox_task() -> dict[str, object]:
    """Poll ``SECDESK_IMAP_URL`` once (a no-op when it is unset); returns the counts by outcome."""
    report = imap.poll_mailbox()
    return {"fetched": report.fetched, "failed": report.failed, **report.by_status}
