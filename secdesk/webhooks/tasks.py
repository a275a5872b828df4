"""Background tasks of webhooks (``django.tasks``): the schedule enqueues them every few seconds."""

from __future__ import annotations

from django.tasks import task

from secdesk.webhooks import dispatch


@task()
def drain_task() -> int:
    """Turn new timeline events into deliveries; returns how many were created."""
    return dispatch.drain()


@task()
def send_due_task() -> dict[str, int]:
    """Send the deliveries that are due (claimed one by one); returns the counts."""
    report = dispatch.send_due()
    return {"delivered": report.delivered, "retrying": report.retrying, "failed": report.failed}
