"""Background tasks of outbound e-mail (``django.tasks``): they take ids, never objects.

The state of every e-mail is in the database (``MailDelivery``,
``NoticeRecipient``), not in the queue: a task that runs twice, late or never
changes nothing that the claim (a conditional UPDATE) and the schedule's
top-up (``upkeep.py``) do not put right. Enqueue only after the transaction
that wrote the rows has committed (``transaction.on_commit``): a Redis
enqueue survives a rollback.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from secdesk.notices import delivery
from secdesk.notices.models import Notice

#: Customer notices yield to e-mails about tickets: a 100,000-recipient notice must not hold up a receipt.
NOTICE_PRIORITY = -10


@task()
def send_mail_delivery(delivery_id: int) -> str:
    """Send one e-mail about a timeline event; a failure is retried later with exponential backoff."""
    outcome = delivery.send_delivery(delivery_id)
    if outcome.retry_at is not None:
        send_mail_delivery.using(run_after=outcome.retry_at).enqueue(delivery_id)
    return outcome.status


@task(priority=NOTICE_PRIORITY)
def deliver_notice(notice_id: int) -> dict[str, Any]:
    """Work on one notice's delivery for a while, then hand over to the queue if recipients are left."""
    report = delivery.deliver_notice_slice(notice_id)
    if report.more:
        enqueue_notice(notice_id, run_after=report.run_after)
    return report.as_dict()


def enqueue_deliveries(ids: Iterable[int]) -> None:
    for delivery_id in ids:
        send_mail_delivery.enqueue(delivery_id)


def enqueue_notice(notice_id: int, *, run_after: datetime | None = None) -> None:
    (deliver_notice.using(run_after=run_after) if run_after else deliver_notice).enqueue(notice_id)


def start_notice_delivery(notice_id: int) -> None:
    """Start ``NOTICE_PARALLEL`` runs on an approved notice (they share its recipients and its rate)."""
    Notice.objects.filter(pk=notice_id).update(delivery_heartbeat_at=timezone.now())
    for _ in range(settings.NOTICE_PARALLEL):
        enqueue_notice(notice_id)


__all__ = [
    "deliver_notice",
    "enqueue_deliveries",
    "enqueue_notice",
    "send_mail_delivery",
    "start_notice_delivery",
]
