"""Periodic upkeep of outbound e-mail (run by the schedule, ``secdesk/schedule.py``).

Every job here is idempotent and safe to run from several workers at once:
each change is a conditional UPDATE that applies once.

- :func:`reset_stuck` — rows claimed (``sending``) longer ago than
  ``MAIL_CLAIM_TIMEOUT_SECONDS`` belong to a worker that died: back to
  ``pending`` (same Message-ID), or ``failed`` for good after
  ``MAIL_MAX_ATTEMPTS``.
- :func:`top_up` — e-mails due but with no task in sight (the process died
  between commit and enqueue, or the task was lost) are enqueued again;
  notices with work left and no sign of life for the claim timeout get a
  new delivery run, and notices with nothing left are marked sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from secdesk.notices import delivery, tasks
from secdesk.notices.models import MailDelivery, Notice, NoticeRecipient, NoticeStatus

#: A due e-mail enqueued longer ago than this without being claimed is enqueued again.
REENQUEUE_AFTER = timedelta(minutes=2)
TOP_UP_BATCH = 1000


def reset_stuck(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    stale = now - delivery.claim_timeout()
    counts: dict[str, int] = {}
    for name, model in (("mail", MailDelivery), ("notice", NoticeRecipient)):
        stuck = model.objects.filter(status=delivery.SENDING, claimed_at__lt=stale)
        given_up = stuck.filter(attempts__gte=settings.MAIL_MAX_ATTEMPTS).update(
            status="failed",
            next_attempt_at=None,
            last_error="gave up: the worker stopped while sending, too many times",
            updated_at=now,
        )
        extra: dict[str, Any] = {"enqueued_at": None} if model is MailDelivery else {}
        back = stuck.update(status="pending", claim_token="", updated_at=now, **extra)
        counts[f"{name}_reset"] = back
        counts[f"{name}_given_up"] = given_up
    return counts


def top_up(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    due = Q(status="pending") | Q(status="failed", next_attempt_at__isnull=False, next_attempt_at__lte=now)
    waiting = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER)
    ids = list(MailDelivery.objects.filter(due & waiting).order_by("id").values_list("id", flat=True)[:TOP_UP_BATCH])
    mine = [i for i in ids if MailDelivery.objects.filter(pk=i).filter(due & waiting).update(enqueued_at=now)]
    tasks.enqueue_deliveries(mine)

    stale = now - delivery.claim_timeout()
    restarted = finished = 0
    quiet = Notice.objects.filter(status__in=[NoticeStatus.APPROVED, NoticeStatus.SENDING]).filter(
        Q(delivery_heartbeat_at__isnull=True) | Q(delivery_heartbeat_at__lt=stale)
    )
    for notice_id, heartbeat in quiet.values_list("id", "delivery_heartbeat_at")[:TOP_UP_BATCH]:
        recipients = NoticeRecipient.objects.filter(notice_id=notice_id)
        if recipients.filter(delivery.claimable(now)).exists():
            # One restart per quiet period, however many workers run this job.
            won = Notice.objects.filter(pk=notice_id, delivery_heartbeat_at=heartbeat)
            if heartbeat is None:
                won = Notice.objects.filter(pk=notice_id, delivery_heartbeat_at__isnull=True)
            if won.update(delivery_heartbeat_at=now):
                tasks.enqueue_notice(notice_id)
                restarted += 1
        elif not recipients.filter(delivery.unfinished()).exists() and delivery.finish_notice(notice_id):
            finished += 1
    return {"mail_enqueued": len(mine), "notices_restarted": restarted, "notices_finished": finished}


def prune_task_results() -> dict[str, int]:
    """Drop finished task results older than a week (database task backend only)."""
    if getattr(settings, "TASKS_BACKEND", "database") != "database":
        return {"pruned": 0}
    call_command("prune_db_task_results", min_age_days=7, queue_name="*", verbosity=0)
    return {"pruned": 1}


__all__ = ["prune_task_results", "reset_stuck", "top_up"]
