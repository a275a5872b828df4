"""Appending to a ticket's hash-chained timeline (called only by services).

The caller holds the ticket row lock (``select_for_update``; on SQLite the
IMMEDIATE transaction serialises writers), so reading the last event and
writing the next one cannot interleave with another writer.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from secdesk.domain.policy import Actor
from secdesk.domain.timeline import GENESIS, StoredEvent, event_hash
from secdesk.tickets.models import Ticket, TimelineEvent


def append(
    ticket: Ticket,
    kind: str,
    *,
    actor: Actor | None,
    data: dict[str, Any] | None = None,
    public: bool = True,
) -> TimelineEvent:
    last = TimelineEvent.objects.filter(ticket=ticket).order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    now = timezone.now()
    payload = dict(data or {})
    actor_id = actor.user_id if actor else None
    created_at = now.isoformat()
    return TimelineEvent.objects.create(
        ticket=ticket,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        actor_label=actor.email if actor else "system",
        public=public,
        data=payload,
        created_at=now,
        prev_hash=prev,
        hash=event_hash(
            prev_hash=prev,
            seq=seq,
            kind=kind,
            actor_id=actor_id,
            public=public,
            data=payload,
            created_at=created_at,
        ),
    )


def append_new(
    ticket: Ticket, entries: list[tuple[str, dict[str, Any]]], *, actor: Actor | None, public: bool = True
) -> list[TimelineEvent]:
    """The first events of a ticket just inserted: chained from the start in memory, one bulk insert."""
    now = timezone.now()
    created_at = now.isoformat()
    actor_id = actor.user_id if actor else None
    prev = GENESIS
    events = []
    for seq, (kind, data) in enumerate(entries, start=1):
        digest = event_hash(
            prev_hash=prev, seq=seq, kind=kind, actor_id=actor_id, public=public, data=data, created_at=created_at
        )
        events.append(
            TimelineEvent(
                ticket=ticket,
                seq=seq,
                kind=kind,
                actor_id=actor_id,
                actor_label=actor.email if actor else "system",
                public=public,
                data=data,
                created_at=now,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    return TimelineEvent.objects.bulk_create(events)


def as_stored(event: TimelineEvent) -> StoredEvent:
    return StoredEvent(
        seq=event.seq,
        kind=event.kind,
        actor_id=event.actor_id,
        public=event.public,
        data=event.data,
        created_at=event.created_at.isoformat(),
        prev_hash=event.prev_hash,
        hash=event.hash,
    )
