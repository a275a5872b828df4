"""The hash chain that makes a ticket's timeline tamper-evident.

Each event's hash covers its own content and the previous event's hash, so
changing, removing or reordering any stored event breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    kind: str,
    actor_id: int | None,
    public: bool,
    data: dict[str, Any],
    created_at: str,
) -> str:
    """SHA-256 over a canonical JSON form (sorted keys, no spaces) of one event."""
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "seq": seq,
            "kind": kind,
            "actor": actor_id,
            "public": public,
            "data": data,
            "at": created_at,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    """What the verifier needs of a stored event."""

    seq: int
    kind: str
    actor_id: int | None
    public: bool
    data: dict[str, Any]
    created_at: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(events: Iterable[StoredEvent]) -> list[ChainBreak]:
    """Return every break in one ticket's chain (events in ``seq`` order); empty when intact."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            breaks.append(ChainBreak(event.seq, f"sequence gap: expected {expected_seq}"))
        if event.prev_hash != expected_prev:
            breaks.append(ChainBreak(event.seq, "previous hash does not match the event before"))
        recomputed = event_hash(
            prev_hash=event.prev_hash,
            seq=event.seq,
            kind=event.kind,
            actor_id=event.actor_id,
            public=event.public,
            data=event.data,
            created_at=event.created_at,
        )
        if recomputed != event.hash:
            breaks.append(ChainBreak(event.seq, "content does not match its hash"))
        expected_prev = event.hash
        expected_seq = event.seq + 1
    return breaks
