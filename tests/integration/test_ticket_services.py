"""Ticket services and selectors, called directly (no HTTP): the rules the adapters rely on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from secdesk.domain import confirmation
from secdesk.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.intake import Answers
from secdesk.tickets import selectors, services, storage
from secdesk.tickets.models import Attachment, Message, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
COMPLETE = Answers(
    category="vulnerability",
    offers=("contoso-backup",),
    description="Path traversal in the restore endpoint.",
    cvss_vectors=(V31,),
    cve_ids=(" cve-2026-1234 ",),
    cwe_ids=("cwe-022",),
    mitigation="workaround",
    remediation_steps="Block /restore at the proxy.",
    customer_message="Update to 4.2.1.",
)


def fields(exc: InvalidInput) -> list[str]:
    return sorted(e.field for e in exc.errors)


def create(world, name="alice", answers=COMPLETE, **kwargs) -> Ticket:
    ticket, created = services.create_ticket(world.actor(name), answers=answers, **kwargs)
    assert created is True
    return ticket


def incoming(name: str, content: bytes, content_type: str = "text/plain") -> storage.IncomingFile:
    return storage.IncomingFile(filename=name, content_type=content_type, chunks=[content])


def files_on_disk(settings) -> list[Path]:
    root = Path(settings.ATTACHMENT_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- creating and submitting -----------------------------------------------------------


def test_submitted_ticket_holds_normalised_answers_and_recomputed_scores(world):
    ticket = create(world, submit=True)
    ticket.refresh_from_db()
    assert ticket.status == "submitted"
    assert ticket.organization == world.orgs["contoso"]
    assert ticket.created_by == world.users["alice"]
    assert list(ticket.offers.values_list("slug", flat=True)) == ["contoso-backup"]
    assert ticket.cve_ids == ["CVE-2026-1234"]
    assert ticket.cwe_ids == ["CWE-22"]
    assert ticket.cvss == [{"vector": V31, "version": "3.1", "base_score": 9.8, "severity": "critical"}]
    assert ticket.suggested_severity == "critical"
    assert ticket.severity == ""  # the responder decides
    assert ticket.submitted_at is not None
    assert ticket.acknowledgement_due > ticket.submitted_at
    assert confirmation.normalise(ticket.confirmation_number) == ticket.confirmation_number
    kinds = list(ticket.timeline.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["ticket.created", "ticket.submitted"]


def test_v40_score(world):
    ticket = create(world, answers=Answers(**{**COMPLETE.__dict__, "cvss_vectors": (V40,)}), submit=True)
    assert ticket.cvss == [{"vector": V40, "version": "4.0", "base_score": 9.3, "severity": "critical"}]


def test_draft_may_be_incomplete_but_submission_reports_everything_missing(world):
    draft = create(world, answers=Answers(category="vulnerability"))
    assert draft.status == "draft"
    assert draft.submitted_at is None
    assert draft.acknowledgement_due is None
    with pytest.raises(InvalidInput) as caught:
        services.submit_ticket(world.actor("alice"), confirmation_number=draft.confirmation_number)
    assert fields(caught.value) == ["cvss_vectors", "description", "mitigation", "offers"]
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert draft.timeline.count() == 1


def test_update_draft_changes_only_the_given_fields_then_submit(world):
    alice = world.actor("alice")
    draft = create(world, answers=Answers(category="security_incident", offers=("contoso-vault",)))
    services.update_draft(
        alice,
        confirmation_number=draft.confirmation_number.lower(),
        changes={"description": "Keys leaked", "mitigation": "none"},
    )
    draft.refresh_from_db()
    assert draft.description == "Keys leaked"
    assert list(draft.offers.values_list("slug", flat=True)) == ["contoso-vault"]
    submitted = services.submit_ticket(alice, confirmation_number=draft.confirmation_number)
    assert submitted.status == "submitted"
    with pytest.raises(Conflict):
        services.submit_ticket(alice, confirmation_number=draft.confirmation_number)
    with pytest.raises(Conflict):
        services.update_draft(alice, confirmation_number=draft.confirmation_number, changes={"description": "x"})
    other = create(world, answers=Answers(category="vulnerability"))
    with pytest.raises(InvalidInput) as caught:
        services.update_draft(alice, confirmation_number=other.confirmation_number, changes={"status": "closed"})
    assert fields(caught.value) == ["status"]


def test_offers_of_another_organisation_are_unknown(world):
    alice = world.actor("alice")
    before = Ticket.objects.count()
    with pytest.raises(InvalidInput) as foreign:
        services.create_ticket(alice, answers=Answers(**{**COMPLETE.__dict__, "offers": ("fabrikam-monitor",)}))
    with pytest.raises(InvalidInput) as unknown:
        services.create_ticket(alice, answers=Answers(**{**COMPLETE.__dict__, "offers": ("no-such-thing",)}))
    assert [(e.field, e.code) for e in foreign.value.errors] == [(e.field, e.code) for e in unknown.value.errors]
    assert foreign.value.errors[0].code == "unknown_offer"
    with pytest.raises(InvalidInput):
        services.create_ticket(alice, answers=COMPLETE, organization="fabrikam")
    assert Ticket.objects.count() == before
    draft = create(world, answers=Answers(category="vulnerability"))
    with pytest.raises(InvalidInput) as caught:
        services.update_draft(
            alice, confirmation_number=draft.confirmation_number, changes={"offers": ["fabrikam-gateway"]}
        )
    assert fields(caught.value) == ["offers.0"]


def test_invalid_answers_are_reported_together_with_unknown_offers(world):
    with pytest.raises(InvalidInput) as caught:
        services.create_ticket(
            world.actor("alice"),
            answers=Answers(
                category="vulnerability",
                offers=("nope",),
                cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",),
                cve_ids=("CVE-1",),
                cwe_ids=("CWE-0",),
                mitigation="fix_available",
            ),
            submit=True,
        )
    errors = {e.field: e for e in caught.value.errors}
    assert sorted(errors) == [
        "cve_ids.0",
        "cvss_vectors.0",
        "cwe_ids.0",
        "description",
        "offers.0",
        "remediation_steps",
    ]
    assert errors["cvss_vectors.0"].metric == "A"


@pytest.mark.parametrize(
    ("name", "write_allowed"),
    [("rita", True), ("leo", True), ("audrey", True), ("alice", False)],
)
def test_only_writing_publishers_file_tickets(world, name, write_allowed):
    with pytest.raises(PermissionDenied):
        services.create_ticket(world.actor(name, write_allowed=write_allowed), answers=COMPLETE)
    assert Ticket.objects.count() == 0


def test_confirmation_number_clash_draws_a_new_one(world, monkeypatch):
    first = create(world)
    drawn = iter([first.confirmation_number, first.confirmation_number, "SEC-0000-0001-1"])
    monkeypatch.setattr(services.confirmation, "generate", lambda: next(drawn))
    second = create(world)
    assert second.confirmation_number == "SEC-0000-0001-1"
    assert Ticket.objects.count() == 2


def test_confirmation_number_exhaustion_is_a_conflict_and_writes_nothing(world, monkeypatch):
    first = create(world)
    monkeypatch.setattr(services.confirmation, "generate", lambda: first.confirmation_number)
    with pytest.raises(Conflict):
        create(world)
    assert Ticket.objects.count() == 1
    assert TimelineEvent.objects.count() == 1


# --- the acknowledgement clock -------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "submitted", "due"),
    [
        # Wednesday before Thanksgiving (a US holiday) → Friday.
        (
            {"timezone": "America/New_York", "country": "US", "subdivision": None, "hours": "09:00-17:00"},
            datetime(2026, 11, 25, 16, 0, tzinfo=ZoneInfo("America/New_York")),
            datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("America/New_York")),
        ),
        # Friday 16:00 → Monday 16:00; Saturday → Monday 17:00; Monday 08:00 → Monday 17:00.
        (
            {"timezone": "UTC", "country": None, "subdivision": None, "hours": "09:00-17:00"},
            datetime(2026, 3, 6, 16, 0, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 3, 9, 16, 0, tzinfo=ZoneInfo("UTC")),
        ),
        (
            {"timezone": "UTC", "country": None, "subdivision": None, "hours": "09:00-17:00"},
            datetime(2026, 3, 7, 11, 0, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 3, 9, 17, 0, tzinfo=ZoneInfo("UTC")),
        ),
        (
            {"timezone": "Europe/Berlin", "country": "DE", "subdivision": "BY", "hours": "08:00-16:00"},
            datetime(2026, 3, 9, 7, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            datetime(2026, 3, 9, 16, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        ),
        # Maundy Thursday 15:00 in Bavaria: Good Friday and Easter Monday are holidays → Tuesday 15:00.
        (
            {"timezone": "Europe/Berlin", "country": "DE", "subdivision": "BY", "hours": "08:00-16:00"},
            datetime(2026, 4, 2, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            datetime(2026, 4, 7, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        ),
    ],
)
def test_acknowledgement_due_follows_the_configured_calendar(world, settings, monkeypatch, calendar, submitted, due):
    from django.utils import timezone as django_timezone

    settings.CALENDAR = calendar
    monkeypatch.setattr(django_timezone, "now", lambda: submitted.astimezone(ZoneInfo("UTC")))
    ticket = create(world, submit=True)
    ticket.refresh_from_db()
    assert ticket.submitted_at == submitted
    assert ticket.acknowledgement_due == due
    event = ticket.timeline.get(kind="ticket.submitted")
    assert datetime.fromisoformat(event.data["acknowledgement_due"]) == due


# --- reading --------------------------------------------------------------------------------


def test_access_ticket_answers_missing_invisible_and_malformed_alike(world):
    alice_ticket = create(world, submit=True)
    bob = world.actor("bob")
    number = alice_ticket.confirmation_number
    for actor, text in (
        (bob, number),
        (world.actor("alice"), "SEC-0000-0000-0"),
        (world.actor("alice"), number[:-1] + ("0" if number[-1] != "0" else "1")),
        (world.actor("alice"), "SEC-XXXX"),
        (world.actor("alice"), ""),
    ):
        with pytest.raises(NotFound) as caught:
            selectors.access_ticket(actor, text)
        assert caught.value.message in ("no such ticket", "Not a valid confirmation number")
    compact = number.replace("-", "").lower()
    assert selectors.access_ticket(world.actor("alice"), compact) == alice_ticket


def test_staff_see_every_submitted_ticket_but_no_draft(world):
    draft = create(world, answers=Answers(category="vulnerability"))
    alice_ticket = create(world, submit=True)
    bob_ticket = create(world, "bob", answers=Answers(**{**COMPLETE.__dict__, "offers": ("fabrikam-gateway",)}))
    rita = world.actor("rita")
    assert set(selectors.tickets_visible_to(rita)) == {alice_ticket}
    services.submit_ticket(world.actor("bob"), confirmation_number=bob_ticket.confirmation_number)
    assert set(selectors.tickets_visible_to(rita)) == {alice_ticket, bob_ticket}
    with pytest.raises(NotFound):
        selectors.access_ticket(rita, draft.confirmation_number)
    assert set(selectors.tickets_visible_to(world.actor("alice"))) == {draft, alice_ticket}
    assert set(selectors.tickets_visible_to(world.actor("bob"))) == {bob_ticket}


def test_keyset_pagination_has_no_gaps_or_repeats(world):
    numbers = [create(world).confirmation_number for _ in range(11)]
    seen: list[str] = []
    cursor = None
    while True:
        page = selectors.list_tickets(world.actor("alice"), cursor=cursor, limit=4)
        seen.extend(t.confirmation_number for t in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(numbers))
    # A ticket filed while paging appears on no later page twice, and never out of order.
    first = selectors.list_tickets(world.actor("alice"), limit=5)
    newer = create(world)
    second = selectors.list_tickets(world.actor("alice"), cursor=first.next_cursor, limit=5)
    assert newer not in second.items
    assert not {t.pk for t in first.items} & {t.pk for t in second.items}
    assert len(selectors.list_tickets(world.actor("alice"), limit=500).items) == 12  # capped at 100


@pytest.mark.parametrize("cursor", ["%%%", "eDox", "dDphYmM", "dDo=", "\x00"])
def test_bad_cursor_is_a_field_error(world, cursor):
    with pytest.raises(InvalidInput) as caught:
        selectors.list_tickets(world.actor("alice"), cursor=cursor)
    assert fields(caught.value) == ["cursor"]


# --- messages and attachments ------------------------------------------------------------------


def test_message_with_attachments_is_recorded_with_hashes(world, settings):
    ticket = create(world, submit=True)
    message = services.post_message(
        world.actor("alice"),
        confirmation_number=ticket.confirmation_number,
        body="logs attached",
        files=[incoming("../../../etc/shadow", b"abc"), incoming("log.txt", b"x" * 200_000)],
    )
    items = list(message.attachments.order_by("id"))
    assert [(a.filename, a.size) for a in items] == [("shadow", 3), ("log.txt", 200_000)]
    assert items[0].sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert b"".join(storage.open_chunks(items[1].storage_name)) == b"x" * 200_000
    assert len(files_on_disk(settings)) == 2
    event = ticket.timeline.get(kind="message.created")
    assert event.public is True
    assert event.data == {"message_id": message.pk, "attachments": [a.sha256 for a in items]}


def test_internal_notes_need_staff_and_stay_hidden(world):
    ticket = create(world, submit=True)
    with pytest.raises(PermissionDenied):
        services.post_message(
            world.actor("alice"), confirmation_number=ticket.confirmation_number, body="x", internal=True
        )
    with pytest.raises(PermissionDenied):
        services.post_message(world.actor("audrey"), confirmation_number=ticket.confirmation_number, body="x")
    note = services.post_message(
        world.actor("rita"),
        confirmation_number=ticket.confirmation_number,
        body="internal",
        internal=True,
        files=[incoming("n.txt", b"n")],
    )
    reply = services.post_message(world.actor("rita"), confirmation_number=ticket.confirmation_number, body="public")
    assert list(selectors.messages_for(world.actor("alice"), ticket)) == [reply]
    assert list(selectors.messages_for(world.actor("rita"), ticket)) == [note, reply]
    assert list(selectors.messages_for(world.actor("audrey"), ticket)) == [note, reply]
    attachment = note.attachments.get()
    with pytest.raises(NotFound):
        selectors.access_attachment(world.actor("alice"), ticket.confirmation_number, attachment.public_id)
    assert selectors.access_attachment(world.actor("audrey"), ticket.confirmation_number, attachment.public_id)
    with pytest.raises(NotFound):
        selectors.access_attachment(world.actor("bob"), ticket.confirmation_number, attachment.public_id)
    assert ticket.timeline.get(kind="note.added").public is False
    assert [e.kind for e in selectors.timeline_for(world.actor("alice"), ticket)] == [
        "ticket.created",
        "ticket.submitted",
        "message.created",
    ]


def test_read_only_actor_cannot_post(world):
    ticket = create(world, submit=True)
    with pytest.raises(PermissionDenied):
        services.post_message(
            world.actor("alice", write_allowed=False), confirmation_number=ticket.confirmation_number, body="x"
        )
    assert Message.objects.count() == 0


def test_file_failing_mid_stream_leaves_nothing(world, settings):
    ticket = create(world, submit=True)

    def broken():
        yield b"first chunk"
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        services.post_message(
            world.actor("alice"),
            confirmation_number=ticket.confirmation_number,
            body="x",
            files=[incoming("ok.txt", b"fine"), storage.IncomingFile("broken.bin", "", broken())],
        )
    assert Message.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert files_on_disk(settings) == []


def test_database_failure_after_writing_files_removes_them(world, settings, monkeypatch):
    ticket = create(world, submit=True)
    events_before = TimelineEvent.objects.count()

    def fail(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.timeline, "append", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        services.post_message(
            world.actor("alice"),
            confirmation_number=ticket.confirmation_number,
            body="x",
            files=[incoming("a.txt", b"a"), incoming("b.txt", b"b")],
        )
    assert Message.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert TimelineEvent.objects.count() == events_before
    assert files_on_disk(settings) == []


def test_oversize_and_empty_files_report_each_index(world, settings):
    settings.MAX_ATTACHMENT_BYTES = 10
    ticket = create(world, submit=True)
    with pytest.raises(InvalidInput) as caught:
        services.post_message(
            world.actor("alice"),
            confirmation_number=ticket.confirmation_number,
            body="x",
            files=[incoming("a", b"ok"), incoming("b", b""), incoming("c", b"c" * 11)],
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [("files.1", "empty"), ("files.2", "too_large")]
    assert files_on_disk(settings) == []
    assert Message.objects.count() == 0


def test_too_many_files_and_nul_body_are_refused_before_touching_disk(world, settings):
    ticket = create(world, submit=True)
    with pytest.raises(InvalidInput) as caught:
        services.post_message(
            world.actor("alice"),
            confirmation_number=ticket.confirmation_number,
            body="a\x00",
            files=[incoming(f"{i}.txt", b"x") for i in range(11)],
        )
    assert fields(caught.value) == ["body", "files"]
    assert files_on_disk(settings) == []
