"""Customer notices through the services and selectors: versions, diffs, approvals, audience."""

from __future__ import annotations

import pytest

from secdesk.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from secdesk.domain.intake import Answers
from secdesk.domain.timeline import verify_chain
from secdesk.marketplace.models import CustomerContact, Deployment, Plan
from secdesk.notices import selectors, services
from secdesk.notices.models import Notice, NoticeRecipient, NoticeStatus, NoticeVersion
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import TimelineEvent
from secdesk.tickets.timeline import as_stored

pytestmark = pytest.mark.django_db

MESSAGE = "Please disable uploads."


def file_ticket(world, *, submit: bool = True, offers: tuple[str, ...] = ("contoso-backup",)) -> str:
    answers = Answers(
        category="vulnerability",
        offers=offers,
        description="Unauthenticated remote code execution in the upload endpoint.",
        cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",),
        mitigation="workaround",
        remediation_steps="Disable the upload endpoint until 4.2.1 ships.",
        customer_message=MESSAGE,
    )
    ticket, created = ticket_services.create_ticket(world.actor("alice"), answers=answers, submit=submit)
    assert created
    return ticket.confirmation_number


def events(number: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(ticket__confirmation_number=number).order_by("seq"))


def kinds(number: str) -> list[str]:
    return [e.kind for e in events(number) if e.kind.startswith("notice.")]


def expected_emails(world, offer_slugs, *, plan_ids=(), versions=()) -> set[str]:
    """The audience, worked out independently of the selector with a plain loop."""
    customer_ids = set()
    for deployment in Deployment.objects.all():
        if deployment.offer.slug not in offer_slugs:
            continue
        if plan_ids and deployment.plan_id not in plan_ids:
            continue
        if versions and deployment.version not in versions:
            continue
        customer_ids.add(deployment.customer_id)
    return {c.email.lower() for c in CustomerContact.objects.all() if c.customer_id in customer_ids}


@pytest.fixture
def number(world) -> str:
    return file_ticket(world)


@pytest.fixture
def started(world, number) -> str:
    services.start_notice(world.actor("alice"), confirmation_number=number)
    return number


# --- starting ---------------------------------------------------------------


def test_start_copies_the_publishers_message_and_is_idempotent(world, number):
    notice, created = services.start_notice(world.actor("rita"), confirmation_number=number)
    assert created is True
    again, created_again = services.start_notice(world.actor("alice"), confirmation_number=number)
    assert created_again is False
    assert again.pk == notice.pk
    assert Notice.objects.count() == 1

    (version,) = NoticeVersion.objects.filter(notice=notice)
    assert version.number == 1
    assert version.base_version is None
    assert version.subject == f"Security notice {number}: Contoso Backup"
    assert version.body == MESSAGE
    assert version.author == world.users["rita"]
    assert notice.status == NoticeStatus.DRAFT
    assert notice.current_version == 1
    assert kinds(number) == ["notice.started"]


def test_a_draft_ticket_has_no_notice(world):
    draft = file_ticket(world, submit=False)
    with pytest.raises(Conflict, match="submit the ticket"):
        services.start_notice(world.actor("alice"), confirmation_number=draft)
    # Staff do not see drafts at all.
    with pytest.raises(NotFound):
        services.start_notice(world.actor("rita"), confirmation_number=draft)
    assert Notice.objects.count() == 0


def test_reading_before_start_is_not_found(world, number):
    with pytest.raises(NotFound):
        selectors.notice_for(world.actor("alice"), number)


# --- co-editing ---------------------------------------------------------------


def test_publisher_and_responder_co_edit_with_versions_and_a_diff(world, started):
    alice, rita = world.actor("alice"), world.actor("rita")
    services.edit_notice(
        alice,
        confirmation_number=started,
        subject="Action needed: Contoso Backup uploads",
        body="Please disable uploads.\nUpgrade to 4.2.1 when it ships.",
        base_version=1,
    )
    notice = services.edit_notice(
        rita,
        confirmation_number=started,
        subject="Action needed: Contoso Backup uploads",
        body="Please disable uploads now.\nUpgrade to 4.2.1 when it ships.",
        base_version=2,
    )
    assert notice.current_version == 3

    rows = list(selectors.versions(world.actor("leo"), started))
    assert [(v.number, v.base_version, v.author.email) for v in rows] == [
        (1, None, "alice@contoso.example"),
        (2, 1, "alice@contoso.example"),
        (3, 2, "rita@marketplace.example"),
    ]
    assert selectors.current_version(notice).body == "Please disable uploads now.\nUpgrade to 4.2.1 when it ships."

    assert selectors.diff(alice, started, 2, 3) == "\n".join(
        [
            "--- version 2",
            "+++ version 3",
            "@@ -1,4 +1,4 @@",
            " Subject: Action needed: Contoso Backup uploads",
            " ",
            "-Please disable uploads.",
            "+Please disable uploads now.",
            " Upgrade to 4.2.1 when it ships.",
        ]
    )
    first_to_last = selectors.diff(rita, started, 1, 3)
    assert f"-Subject: Security notice {started}: Contoso Backup" in first_to_last.splitlines()
    assert "+Subject: Action needed: Contoso Backup uploads" in first_to_last.splitlines()
    assert selectors.diff(rita, started, 3, 3) == ""
    with pytest.raises(InvalidInput) as caught:
        selectors.diff(rita, started, 1, 9)
    assert [e.field for e in caught.value.errors] == ["to"]

    edited = [e for e in events(started) if e.kind == "notice.edited"]
    assert [(e.data["version"], e.data["base_version"], e.actor_id) for e in edited] == [
        (2, 1, world.users["alice"].pk),
        (3, 2, world.users["rita"].pk),
    ]


def test_a_stale_base_version_is_refused(world, started):
    # Both load version 1; alice saves first.
    services.edit_notice(world.actor("alice"), confirmation_number=started, subject="A", body="alice", base_version=1)
    with pytest.raises(Conflict, match="the notice changed since you loaded it; version 2 is current"):
        services.edit_notice(world.actor("rita"), confirmation_number=started, subject="R", body="rita", base_version=1)
    assert list(NoticeVersion.objects.order_by("number").values_list("number", "body")) == [(1, MESSAGE), (2, "alice")]


def test_saving_the_same_text_adds_no_version(world, started):
    subject = f"Security notice {started}: Contoso Backup"
    notice = services.edit_notice(
        world.actor("alice"), confirmation_number=started, subject=subject, body=MESSAGE, base_version=1
    )
    assert notice.current_version == 1
    assert NoticeVersion.objects.count() == 1
    assert "notice.edited" not in kinds(started)


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "text", "subject"),
        ("Line one\r\nBcc: victim@example.com", "text", "subject"),
        ("x" * 201, "text", "subject"),
        ("Fine", "x" * 50_001, "body"),
        ("Fine", "nul \x00 byte", "body"),
    ],
)
def test_bad_text_is_refused(world, started, subject, body, field):
    with pytest.raises(InvalidInput) as caught:
        services.edit_notice(
            world.actor("alice"), confirmation_number=started, subject=subject, body=body, base_version=1
        )
    assert [e.field for e in caught.value.errors] == [field]
    assert NoticeVersion.objects.count() == 1


def test_only_notice_editors_edit(world, started):
    with pytest.raises(PermissionDenied):
        services.edit_notice(world.actor("audrey"), confirmation_number=started, subject="S", body="B", base_version=1)
    with pytest.raises(PermissionDenied):
        services.edit_notice(
            world.actor("alice", write_allowed=False),
            confirmation_number=started,
            subject="S",
            body="B",
            base_version=1,
        )
    with pytest.raises(PermissionDenied):
        services.start_notice(world.actor("audrey"), confirmation_number=started)
    assert NoticeVersion.objects.count() == 1


# --- approvals and audience -------------------------------------------------------


def test_both_approvals_fix_the_audience_and_queue_delivery(
    world, started, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(services, "queue_delivery", queued.append)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = services.approve_notice(world.actor("alice"), confirmation_number=started, version=1)
    assert callbacks == []
    assert notice.status == NoticeStatus.DRAFT
    assert notice.publisher_approved_by == world.users["alice"]
    assert notice.publisher_approved_at is not None
    assert notice.marketplace_approved_by is None
    assert NoticeRecipient.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notice = services.approve_notice(world.actor("leo"), confirmation_number=started, version=1)
    assert len(callbacks) == 1
    assert queued == [notice.pk]

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.APPROVED
    assert notice.approved_at is not None
    assert notice.marketplace_approved_by == world.users["leo"]

    expected = expected_emails(world, {"contoso-backup"})
    assert len(expected) == 4  # the demo spreads contoso-backup's plans over all four customers
    recipients = list(NoticeRecipient.objects.filter(notice=notice))
    assert {r.email.lower() for r in recipients} == expected
    assert {r.status for r in recipients} == {"pending"}
    assert all(r.attempts == 0 and r.contact_id is not None for r in recipients)
    # Each recipient's Message-ID is fixed now, so a repeat after a crash carries the same one.
    assert all(r.message_id.startswith(f"<notice-{notice.pk}.") for r in recipients)
    assert len({r.message_id for r in recipients}) == 4
    assert selectors.recipient_counts(notice) == {"pending": 4, "sending": 0, "sent": 0, "failed": 0, "bounced": 0}

    assert kinds(started) == ["notice.started", "notice.approval_given", "notice.approval_given", "notice.approved"]
    approved = events(started)[-1]
    assert approved.data == {"version": 1, "recipients": 4}
    assert approved.public is True
    assert verify_chain(as_stored(e) for e in events(started)) == []


def test_audience_follows_affected_plans_and_versions_once_per_mailbox(world, started):
    from secdesk.tickets.models import Ticket

    ticket = Ticket.objects.get(confirmation_number=started)
    standard = Plan.objects.get(offer__slug="contoso-backup", slug="standard")
    # A second contact at one affected customer, and the same mailbox (other case) at another.
    northwind = standard.deployments.order_by("customer_id").first().customer
    others = standard.deployments.exclude(customer=northwind).order_by("customer_id")
    CustomerContact.objects.create(customer=northwind, email="ciso@northwind.example")
    CustomerContact.objects.create(customer=others.first().customer, email="CISO@Northwind.example")

    ticket.affected_plans.set([standard])
    names = {c.slug for c in selectors.affected_customers_queryset(ticket)}
    assert names == {d.customer.slug for d in standard.deployments.all()}
    assert len(names) < 4

    ticket.affected_plans.clear()
    ticket.affected_versions = ["4.3"]
    ticket.save(update_fields=["affected_versions"])
    by_version = {c.pk for c in selectors.affected_customers_queryset(ticket)}
    assert by_version == set(
        Deployment.objects.filter(offer__slug="contoso-backup", version="4.3").values_list("customer_id", flat=True)
    )

    ticket.affected_versions = []
    ticket.save(update_fields=["affected_versions"])
    ticket.affected_plans.set([standard])
    services.approve_notice(world.actor("alice"), confirmation_number=started, version=1)
    services.approve_notice(world.actor("leo"), confirmation_number=started, version=1)
    emails = sorted(NoticeRecipient.objects.values_list("email", flat=True))
    expected = expected_emails(world, {"contoso-backup"}, plan_ids={standard.pk})
    assert {e.lower() for e in emails} == expected
    assert len(emails) == len(expected)  # the two spellings of one mailbox give one recipient
    assert "ciso@northwind.example" in emails


def test_affected_customers_is_one_query(world, started, django_assert_num_queries):
    from secdesk.tickets.models import Ticket

    ticket = Ticket.objects.get(confirmation_number=started)
    ticket.affected_plans.set(Plan.objects.filter(offer__slug="contoso-backup"))
    with django_assert_num_queries(1):
        customers = list(selectors.affected_customers_queryset(ticket))
    assert len(customers) == len({c.pk for c in customers}) == 4


def test_a_responder_cannot_approve(world, started):
    with pytest.raises(PermissionDenied):
        services.approve_notice(world.actor("rita"), confirmation_number=started, version=1)
    with pytest.raises(PermissionDenied):
        services.approve_notice(world.actor("audrey"), confirmation_number=started, version=1)
    notice = Notice.objects.get()
    assert notice.publisher_approved_by_id is None
    assert notice.marketplace_approved_by_id is None
    assert "notice.approval_given" not in kinds(started)


def test_one_person_cannot_give_both_approvals(world, started):
    from secdesk.accounts.models import Membership

    # Leo is a lead and, here, also a member of the publisher.
    Membership.objects.create(user=world.users["leo"], organization=world.orgs["contoso"], role="publisher_member")
    leo = world.actor("leo")
    notice = services.approve_notice(leo, confirmation_number=started, version=1)
    assert notice.publisher_approved_by == world.users["leo"]
    assert notice.marketplace_approved_by is None
    with pytest.raises(PermissionDenied, match="two different people"):
        services.approve_notice(leo, confirmation_number=started, version=1)
    assert Notice.objects.get().status == NoticeStatus.DRAFT


def test_approving_twice_changes_nothing(world, started):
    services.approve_notice(world.actor("leo"), confirmation_number=started, version=1)
    services.approve_notice(world.actor("leo"), confirmation_number=started, version=1)
    assert kinds(started).count("notice.approval_given") == 1


def test_only_the_current_version_can_be_approved(world, started):
    services.edit_notice(world.actor("rita"), confirmation_number=started, subject="S", body="B", base_version=1)
    with pytest.raises(Conflict, match="version 2 is current"):
        services.approve_notice(world.actor("alice"), confirmation_number=started, version=1)
    with pytest.raises(InvalidInput):
        services.approve_notice(world.actor("leo"), confirmation_number=started, version=3)
    notice = Notice.objects.get()
    assert notice.publisher_approved_by_id is None
    assert notice.marketplace_approved_by_id is None


def test_an_edit_clears_both_approvals(world, started):
    services.approve_notice(world.actor("alice"), confirmation_number=started, version=1)
    notice = services.edit_notice(
        world.actor("rita"), confirmation_number=started, subject="S", body="B", base_version=1
    )
    assert notice.publisher_approved_by_id is None
    assert notice.publisher_approved_at is None
    edited = [e for e in events(started) if e.kind == "notice.edited"][-1]
    assert edited.data["approvals_cleared"] == ["publisher"]

    # The lead's approval of version 2 alone does not approve the notice.
    notice = services.approve_notice(world.actor("leo"), confirmation_number=started, version=2)
    assert notice.status == NoticeStatus.DRAFT
    assert NoticeRecipient.objects.count() == 0
    notice = services.approve_notice(world.actor("alice"), confirmation_number=started, version=2)
    assert notice.status == NoticeStatus.APPROVED
    assert NoticeRecipient.objects.count() == len(expected_emails(world, {"contoso-backup"}))


def test_an_approved_notice_cannot_be_edited(world, started):
    services.approve_notice(world.actor("alice"), confirmation_number=started, version=1)
    services.approve_notice(world.actor("leo"), confirmation_number=started, version=1)
    with pytest.raises(Conflict, match="approved"):
        services.edit_notice(world.actor("alice"), confirmation_number=started, subject="S", body="B", base_version=1)
    assert NoticeVersion.objects.count() == 1


# --- visibility -------------------------------------------------------------------


def test_another_publisher_sees_nothing(world, started):
    bob = world.actor("bob")
    calls = [
        lambda: services.start_notice(bob, confirmation_number=started),
        lambda: services.edit_notice(bob, confirmation_number=started, subject="S", body="B", base_version=1),
        lambda: services.approve_notice(bob, confirmation_number=started, version=1),
        lambda: selectors.notice_for(bob, started),
        lambda: selectors.versions(bob, started),
        lambda: selectors.diff(bob, started, 1, 1),
        lambda: selectors.recipients(bob, started),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert NoticeVersion.objects.count() == 1


def test_recipients_are_for_staff_only(world, started):
    services.approve_notice(world.actor("alice"), confirmation_number=started, version=1)
    services.approve_notice(world.actor("leo"), confirmation_number=started, version=1)
    with pytest.raises(PermissionDenied):
        selectors.recipients(world.actor("alice"), started)
    assert selectors.recipients(world.actor("audrey"), started).count() == 4
    assert selectors.recipients(world.actor("rita"), started, status="pending").count() == 4
    assert selectors.recipients(world.actor("rita"), started, status="sent").count() == 0
    with pytest.raises(InvalidInput):
        selectors.recipients(world.actor("rita"), started, status="nonsense")

    first = selectors.recipients_page(world.actor("rita"), started, limit=3)
    assert len(first.items) == 3
    assert first.next_after == first.items[-1].pk
    rest = selectors.recipients_page(world.actor("rita"), started, after=first.next_after, limit=3)
    assert len(rest.items) == 1
    assert rest.next_after is None
    assert {r.pk for r in first.items} | {r.pk for r in rest.items} == set(
        NoticeRecipient.objects.values_list("pk", flat=True)
    )
