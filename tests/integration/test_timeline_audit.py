"""The timeline: every change recorded, hash-chained per ticket, and tampering detected."""

from __future__ import annotations

import pytest

from secdesk.domain.intake import Answers
from secdesk.domain.timeline import GENESIS, event_hash
from secdesk.tickets import audit, selectors, services
from secdesk.tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

ANSWERS = Answers(
    category="vulnerability",
    offers=("contoso-backup",),
    description="Auth bypass.",
    cve_ids=("CVE-2026-4242",),
    mitigation="none",
)


@pytest.fixture
def activity(world) -> dict[str, Ticket]:
    """A few tickets with drafts, edits, submissions, messages and notes."""
    alice, bob, rita = world.actor("alice"), world.actor("bob"), world.actor("rita")
    draft, _ = services.create_ticket(alice, answers=Answers(category="vulnerability"))
    services.update_draft(alice, confirmation_number=draft.confirmation_number, changes={"description": "first"})
    services.update_draft(
        alice,
        confirmation_number=draft.confirmation_number,
        changes={"offers": ["contoso-vault"], "cve_ids": ["CVE-2026-0001"], "mitigation": "none"},
    )
    services.submit_ticket(alice, confirmation_number=draft.confirmation_number)
    services.post_message(alice, confirmation_number=draft.confirmation_number, body="more info")
    services.post_message(rita, confirmation_number=draft.confirmation_number, body="note", internal=True)
    services.post_message(rita, confirmation_number=draft.confirmation_number, body="thanks")
    direct, _ = services.create_ticket(alice, answers=ANSWERS, submit=True)
    bobs, _ = services.create_ticket(
        bob, answers=Answers(**{**ANSWERS.__dict__, "offers": ("fabrikam-gateway",)}), submit=True
    )
    for ticket in (draft, direct, bobs):
        ticket.refresh_from_db()
    return {"edited": draft, "direct": direct, "bob": bobs}


def test_every_change_is_recorded_in_order_with_its_actor(activity, world):
    events = list(activity["edited"].timeline.order_by("seq"))
    assert [(e.seq, e.kind, e.actor_label, e.public) for e in events] == [
        (1, "ticket.created", "alice@contoso.example", True),
        (2, "ticket.draft_updated", "alice@contoso.example", True),
        (3, "ticket.draft_updated", "alice@contoso.example", True),
        (4, "ticket.submitted", "alice@contoso.example", True),
        (5, "message.created", "alice@contoso.example", True),
        (6, "note.added", "rita@marketplace.example", False),
        (7, "message.created", "rita@marketplace.example", True),
    ]
    assert events[1].data == {"fields": ["description"]}
    assert events[2].data == {"fields": ["cve_ids", "mitigation", "offers"]}
    assert events[0].actor_id == world.users["alice"].pk
    assert events[5].actor_id == world.users["rita"].pk
    visible_to_alice = [e.seq for e in selectors.timeline_for(world.actor("alice"), activity["edited"])]
    assert visible_to_alice == [1, 2, 3, 4, 5, 7]
    assert [e.seq for e in selectors.timeline_for(world.actor("rita"), activity["edited"])] == [1, 2, 3, 4, 5, 6, 7]


def test_chain_links_every_event_to_the_one_before(activity):
    for ticket in activity.values():
        previous = GENESIS
        for expected_seq, event in enumerate(ticket.timeline.order_by("seq"), start=1):
            assert event.seq == expected_seq
            assert event.prev_hash == previous
            assert event.hash == event_hash(
                prev_hash=event.prev_hash,
                seq=event.seq,
                kind=event.kind,
                actor_id=event.actor_id,
                public=event.public,
                data=event.data,
                created_at=event.created_at.isoformat(),
            )
            previous = event.hash
    hashes = list(TimelineEvent.objects.values_list("hash", flat=True))
    assert len(hashes) == len(set(hashes))


def test_verify_all_is_intact_after_activity(activity):
    report = audit.verify_all()
    assert report.broken == {}
    assert report.tickets == 3
    assert report.events == TimelineEvent.objects.count() == 7 + 2 + 2


def test_verify_all_walks_more_tickets_than_one_batch(activity, monkeypatch):
    monkeypatch.setattr(audit, "BATCH", 2)
    report = audit.verify_all()
    assert report.tickets == 3
    assert report.events == 11
    assert report.broken == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"data": {"fields": ["customer_message"]}}, "content does not match its hash"),
        ({"kind": "ticket.withdrawn"}, "content does not match its hash"),
        ({"public": False}, "content does not match its hash"),
        ({"actor_id": None}, "content does not match its hash"),
    ],
)
def test_tampering_with_one_event_is_reported_at_its_seq(activity, change, reason):
    ticket = activity["edited"]
    TimelineEvent.objects.filter(ticket=ticket, seq=2).update(**change)
    report = audit.verify_all()
    assert list(report.broken) == [ticket.confirmation_number]
    breaks = report.broken[ticket.confirmation_number]
    assert [(b.seq, b.reason) for b in breaks] == [(2, reason)]


def test_rewriting_a_hash_to_match_breaks_the_next_link(activity):
    ticket = activity["edited"]
    event = ticket.timeline.get(seq=3)
    forged_data = {"fields": ["nothing"]}
    forged = event_hash(
        prev_hash=event.prev_hash,
        seq=3,
        kind=event.kind,
        actor_id=event.actor_id,
        public=event.public,
        data=forged_data,
        created_at=event.created_at.isoformat(),
    )
    TimelineEvent.objects.filter(pk=event.pk).update(data=forged_data, hash=forged)
    breaks = audit.verify_all().broken[ticket.confirmation_number]
    assert [(b.seq, b.reason) for b in breaks] == [(4, "previous hash does not match the event before")]


def test_deleting_an_event_is_detected(activity):
    ticket = activity["direct"]
    TimelineEvent.objects.filter(ticket=ticket, seq=1).delete()
    breaks = audit.verify_all().broken[ticket.confirmation_number]
    assert {b.seq for b in breaks} == {2}
    assert {b.reason for b in breaks} == {
        "sequence gap: expected 1",
        "previous hash does not match the event before",
    }


def test_other_tickets_stay_intact_when_one_is_tampered(activity):
    TimelineEvent.objects.filter(ticket=activity["bob"], seq=2).update(data={"acknowledgement_due": "never"})
    report = audit.verify_all()
    assert set(report.broken) == {activity["bob"].confirmation_number}
    assert report.tickets == 3
