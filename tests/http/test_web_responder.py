# ruff: noqa: RUF001 — Turkish text: its dotless i is meant
"""The responders' pages through Django's test client: the triage queue and a ticket's triage page.

What a plain HTTP client sees, without JavaScript: who may read and who may
act (publishers refused, another organisation's ticket answered like a
missing one, an auditor reading without a single write control), each form's
POST/redirect/GET, field errors tied to their fields with nothing saved, the
typed text kept, user text escaped, and a bound on every page's queries
whatever the number of tickets, messages, events and customers.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from secdesk.domain.intake import Answers
from secdesk.domain.policy import Permission
from secdesk.marketplace.models import Customer, CustomerContact, Deployment
from secdesk.notices import services as notice_services
from secdesk.notices.models import Notice
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Message, PublisherRequest, Ticket
from secdesk.tickets.storage import IncomingFile
from secdesk.triage import services as triage

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
RAW = ("<script>alert(1)", "<img src=x")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # the pages and their refusals are under test here, not the second factor


def _file(world, *, org: str = "contoso", description: str = "RCE in the upload endpoint", **changes) -> str:
    """A submitted ticket (a vulnerability with a critical CVSS vector unless told otherwise)."""
    values = {
        "category": "vulnerability",
        "offers": ("contoso-backup",) if org == "contoso" else ("fabrikam-gateway",),
        "description": description,
        "cvss_vectors": (VECTOR,),
        "mitigation": "workaround",
        "remediation_steps": "Disable uploads.",
        "customer_message": "Please update.",
        **changes,
    }
    actor = world.actor("alice" if org == "contoso" else "bob")
    return ticket_services.create_ticket(actor, answers=Answers(**values), submit=True).ticket.confirmation_number


def _ticket(number: str) -> Ticket:
    return Ticket.objects.get(confirmation_number=number)


def _html(response) -> str:
    return response.content.decode()


def _tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', html)
    assert found, f"no element #{element_id}"
    return found.group(0)


def _error(html: str, name: str) -> str:
    found = re.search(rf'<div class="field-error" id="err-{re.escape(name)}">(.*?)</div>', html, re.S)
    assert found, f"no error for {name}"
    return found.group(1)


ROUTES = {
    "/queue/": Permission.QUEUE_READ,
    "/queue/SEC-0000-0000-0/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/assign/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/acknowledge/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/classification/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/assessment/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/step/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/messages/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/notes/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/requests/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/requests/abc/extension/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/affected/": Permission.TICKET_READ,
    "/queue/SEC-0000-0000-0/notice/start/": Permission.NOTICE_READ,
    "/queue/SEC-0000-0000-0/notice/edit/": Permission.NOTICE_READ,
    "/queue/SEC-0000-0000-0/notice/approve/": Permission.NOTICE_READ,
    "/queue/SEC-0000-0000-0/notice/versions/": Permission.NOTICE_READ,
}


@pytest.mark.parametrize(("path", "permission"), sorted(ROUTES.items()))
def test_every_page_declares_its_permission(path, permission):
    assert resolve(path).func.permission is permission


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_pages_need_a_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/?next=")


# --- Who may read and who may act ------------------------------------------------------------------


def test_publishers_are_refused_and_another_organisations_ticket_is_missing(client, world):
    number = _file(world)
    client.force_login(world.users["alice"])
    assert client.get("/queue/").status_code == 403
    assert client.get(f"/queue/{number}/").status_code == 403  # her own ticket, but not her queue
    assert client.post(f"/queue/{number}/acknowledge/", {"priority": "P1", "severity": "critical"}).status_code == 403
    client.force_login(world.users["bob"])
    assert client.get(f"/queue/{number}/").status_code == 404
    for action in ("acknowledge", "messages", "notes", "assign", "notice/start"):
        assert client.post(f"/queue/{number}/{action}/", {"priority": "P1", "body": "x"}).status_code == 404, action
    assert _ticket(number).status == "submitted"
    assert not Message.objects.filter(ticket__confirmation_number=number).exists()
    client.force_login(world.users["rita"])
    assert client.get("/queue/SEC-0000-0000-0/").status_code == 404  # missing: the same answer


def test_an_auditor_reads_everything_but_sees_no_write_control_and_is_refused(client, world):
    number = _file(world)
    triage.acknowledge(world.actor("rita"), confirmation_number=number, priority="P1", severity="critical")
    ticket_services.post_message(world.actor("rita"), confirmation_number=number, body="internal", internal=True)
    notice_services.start_notice(world.actor("alice"), confirmation_number=number)
    client.force_login(world.users["audrey"])
    queue = _html(client.get("/queue/"))
    assert number in queue
    assert "/assign/" not in queue
    page = client.get(f"/queue/{number}/")
    assert page.status_code == 200
    html = _html(page)
    assert 'id="thread"' in html
    assert "internal" in html
    forms = re.findall(r'<form method="post" action="([^"]+)"', html)
    assert [action for action in forms if "/queue/" in action] == []  # only the language switch and sign-out
    assert 'id="affected-count"' in html  # reading customers is allowed
    assert 'href="/offers/contoso-backup/?ticket=' in html  # offer actions are taken on the offer's page
    refused = client.post(f"/queue/{number}/classification/", {"priority": "P4", "reason": "no"})
    assert refused.status_code == 403
    assert client.post(f"/queue/{number}/notes/", {"body": "hello"}).status_code == 403
    assert _ticket(number).priority == "P1"
    assert not Message.objects.filter(body="hello").exists()


def test_the_publishers_ticket_page_links_staff_to_the_triage_page(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    assert f'href="/queue/{number}/"' in _html(client.get(f"/tickets/{number}/"))
    assert 'href="/queue/"' in _html(client.get(f"/tickets/{number}/"))  # the navigation
    client.force_login(world.users["alice"])
    html = _html(client.get(f"/tickets/{number}/"))
    assert f"/queue/{number}/" not in html
    assert 'href="/queue/"' not in html


# --- The queue -------------------------------------------------------------------------------------


def test_the_queue_lists_what_is_due_first_with_countdowns_and_breach_marks(client, world):
    rita = world.users["rita"]
    rita.timezone = "Asia/Tokyo"
    rita.save(update_fields=["timezone"])
    calm = _file(world, description="calm one")
    late = _file(world, description="late one")
    other = _file(world, org="fabrikam", description="fabrikam one")
    # The late ticket was filed two days ago: its acknowledgement is overdue and the sweep marks it.
    past = timezone.now() - timedelta(days=2)
    Ticket.objects.filter(confirmation_number=late).update(
        submitted_at=past - timedelta(days=1), acknowledgement_due=past, due_at=past
    )
    triage.sweep()
    client.force_login(rita)
    response = client.get("/queue/")
    assert response.status_code == 200
    html = _html(response)
    rows = re.findall(r'<tr data-confirmation-number="([^"]+)"', html)
    assert rows[0] == late
    assert set(rows) == {calm, late, other}
    late_row = html[html.index(f'data-confirmation-number="{late}"') :].split("</tr>")[0]
    assert "data-breached" in late_row
    assert "Breached" in late_row
    assert 'class="icon"' in late_row
    assert "overdue by 2 d" in late_row
    assert re.search(
        r'<time class="countdown countdown--overdue" datetime="[^"]+\+09:00" title="[^"]+Asia/Tokyo"', late_row
    )
    calm_row = html[html.index(f'data-confirmation-number="{calm}"') :].split("</tr>")[0]
    assert "due in " in calm_row
    assert "Breached" not in calm_row
    assert "Contoso Ltd" in calm_row
    assert "Contoso Backup" in calm_row
    assert f'href="/queue/{calm}/"' in calm_row


def test_filters_search_and_their_errors(client, world):
    rce = _file(world, description="Remote code execution via zipbomb")
    incident = _file(world, org="fabrikam", category="security_incident", description="Leaked tokens", cvss_vectors=())
    triage.acknowledge(world.actor("rita"), confirmation_number=rce, priority="P1", severity="critical")
    client.force_login(world.users["rita"])

    def rows(query: str) -> list[str]:
        response = client.get("/queue/?" + query)
        assert response.status_code == 200, _html(response)[:2000]
        return re.findall(r'<tr data-confirmation-number="([^"]+)"', _html(response))

    assert rows("severity=critical") == [rce]
    assert rows("publisher=fabrikam") == [incident]
    assert rows("category=security_incident&assignee=none") == [incident]
    assert rows("q=zipbomb") == [rce]
    assert rows("status=acknowledged&priority=P1&offer=contoso-backup&breached=no") == [rce]
    selected = _html(client.get("/queue/?severity=critical"))
    assert '<option value="critical" selected>' in selected  # the filter shown as chosen
    empty = _html(client.get("/queue/?q=nothingmatchesthis"))
    assert 'id="queue-empty"' in empty
    assert "No open ticket matches these filters." in empty

    bad = client.get("/queue/?status=closed&publisher=nobody&breached=maybe&assignee=x&cursor=zzz")
    html = _html(bad)
    assert bad.status_code == 400
    for name in ("status", "publisher", "assignee", "breached"):  # every problem at once
        assert 'aria-invalid="true"' in _tag(html, f"filter-{name}"), name
        assert f"err-{name}" in _tag(html, f"filter-{name}")
    assert "No publisher has this slug." in _error(html, "publisher")
    assert "That page link is not valid" in html
    assert "<tr data-confirmation-number" not in html


def test_the_queue_is_empty_at_first(client, world):
    client.force_login(world.users["leo"])
    html = _html(client.get("/queue/"))
    assert "The queue is empty" in html
    assert "<table" not in html


def test_the_queue_pages_by_keyset_with_bounded_queries(client, world, django_assert_max_num_queries):
    alice = world.actor("alice")
    for index in range(62):
        answers = Answers(
            category="security_incident", offers=("contoso-vault",), description=f"t{index} {XSS}", mitigation="none"
        )
        ticket_services.create_ticket(alice, answers=answers, submit=True)
    client.force_login(world.users["rita"])
    with django_assert_max_num_queries(8):
        first = client.get("/queue/")
    html = _html(first)
    assert html.count("<tr data-confirmation-number") == 50
    for raw in RAW:
        assert raw not in html
    assert ESCAPED in html
    following = re.search(r'<a href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(8):
        second = client.get(following)
    assert _html(second).count("<tr data-confirmation-number") == 12
    assert 'rel="next"' not in _html(second)
    with django_assert_max_num_queries(11):  # + one query per filter naming something by slug or e-mail
        filtered = client.get("/queue/?offer=contoso-vault&assignee=me&publisher=contoso")
    assert filtered.status_code == 200


def test_htmx_refreshes_the_table_alone(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    partial = client.get("/queue/?severity=", headers={"HX-Request": "true", "HX-Target": "queue-results"})
    html = _html(partial)
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="queue-results"')
    assert number in html
    # A refused filter is still swapped in (htmx drops 4xx answers) and says what is wrong.
    refused = client.get("/queue/?status=nope", headers={"HX-Request": "true", "HX-Target": "queue-results"})
    assert refused.status_code == 200
    assert 'id="queue-errors"' in _html(refused)
    full = client.get("/queue/?status=nope")
    assert full.status_code == 400


def test_claim_from_the_queue_and_come_back_to_it(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    queue = _html(client.get("/queue/?category=vulnerability"))
    assert f'action="/queue/{number}/assign/"' in queue
    claimed = client.post(f"/queue/{number}/assign/", {"action": "claim", "next": "/queue/?category=vulnerability"})
    assert claimed.status_code == 302
    assert claimed["Location"] == "/queue/?category=vulnerability"
    assert _ticket(number).assignee == world.users["rita"]
    mine = _html(client.get("/queue/?assignee=me"))
    assert number in mine
    assert ">You<" in mine
    elsewhere = client.post(f"/queue/{number}/assign/", {"action": "claim", "next": "https://evil.example/"})
    assert elsewhere["Location"] == f"/queue/{number}/#assignee"  # never sent off the desk
    unknown = client.post(f"/queue/{number}/assign/", {"action": "assign", "email": "alice@contoso.example"})
    assert unknown.status_code == 400
    assert "No active responder or lead" in _error(_html(unknown), "assign-email")
    given = client.post(f"/queue/{number}/assign/", {"action": "assign", "email": "leo@marketplace.example"})
    assert given.status_code == 302
    assert _ticket(number).assignee == world.users["leo"]
    client.post(f"/queue/{number}/assign/", {"action": "unassign"})
    assert _ticket(number).assignee is None


# --- The triage page ---------------------------------------------------------------------------------


def test_acknowledge_is_prefilled_with_the_suggestion_and_saved(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    page = client.get(f"/queue/{number}/")
    html = _html(page)
    assert page.status_code == 200
    assert "highest CVSS base score given, 9.8" in html
    assert re.search(r'<select id="ack-severity".*?<option value="critical" selected>', html, re.S)
    assert re.search(r'<select id="ack-priority".*?<option value="P1" selected>', html, re.S)
    assert 'data-suggestions="' in html
    assert "critical:0:P1" in html
    saved = client.post(f"/queue/{number}/acknowledge/", {"priority": "P1", "severity": "critical"})
    assert saved.status_code == 302
    assert saved["Location"] == f"/queue/{number}/#classification"
    ticket = _ticket(number)
    assert (ticket.status, ticket.priority, ticket.severity) == ("acknowledged", "P1", "critical")
    after = _html(client.get(saved["Location"]))
    assert "Acknowledged with priority P1" in after
    assert 'id="acknowledge-form"' not in after
    assert 'value="start_assessment"' in after  # the next step the lifecycle allows


def test_overriding_the_suggestion_needs_a_reason_tied_to_the_field(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    refused = client.post(f"/queue/{number}/acknowledge/", {"priority": "P3", "severity": "critical", "reason": " "})
    assert refused.status_code == 400
    html = _html(refused)
    assert "say why" in _error(html, "ack-reason")
    textarea = _tag(html, "ack-reason")
    assert 'aria-invalid="true"' in textarea
    assert "err-ack-reason" in textarea
    assert re.search(r'<select id="ack-priority".*?<option value="P3" selected>', html, re.S)  # kept as chosen
    assert _ticket(number).status == "submitted"
    missing = client.post(f"/queue/{number}/acknowledge/", {"priority": "", "severity": "critical"})
    assert missing.status_code == 400
    assert "Choose a priority" in _error(_html(missing), "ack-priority")
    done = client.post(
        f"/queue/{number}/acknowledge/", {"priority": "P3", "severity": "critical", "reason": f"Lab only {XSS}"}
    )
    assert done.status_code == 302
    page = _html(client.get(f"/queue/{number}/"))
    assert "Lab only" in page
    for raw in RAW:
        assert raw not in page
    again = client.post(f"/queue/{number}/acknowledge/", {"priority": "P1", "severity": "critical"})
    assert again.status_code == 302  # acknowledged already (another tab): the page as it stands, and why
    assert "This step cannot be taken now: the ticket is Acknowledged" in _html(client.get(again["Location"]))
    client.cookies["django_language"] = "tr"
    refused = client.post(f"/queue/{number}/acknowledge/", {"priority": "P1", "severity": "critical"})
    turkish = _html(client.get(refused["Location"]))
    with translation.override("tr"):
        sentence = _(
            "This step cannot be taken now: the ticket is %(status)s, or someone changed it since you loaded the page."
        ) % {"status": pgettext("ticket status", "Acknowledged")}
    assert escape(sentence) in turkish
    assert "cannot be taken now" not in turkish
    del client.cookies["django_language"]
    assert _ticket(number).priority == "P3"


def test_reclassify_assess_and_lifecycle_steps(client, world):
    number = _file(world)
    original = _file(world, description="first report")
    rita = world.actor("rita")
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    client.force_login(world.users["rita"])

    no_reason = client.post(f"/queue/{number}/classification/", {"priority": "P2", "severity": "high"})
    assert no_reason.status_code == 400
    assert "Give a reason." in _error(_html(no_reason), "re-reason")
    assert _ticket(number).priority == "P1"
    changed = client.post(
        f"/queue/{number}/classification/", {"priority": "P2", "severity": "high", "reason": "Needs auth"}
    )
    assert changed.status_code == 302
    assert (_ticket(number).priority, _ticket(number).severity) == ("P2", "high")

    duplicate = client.post(f"/queue/{number}/assessment/", {"outcome": "duplicate", "summary": "same"})
    assert duplicate.status_code == 400
    assert "confirmation number of the original" in _error(_html(duplicate), "assess-duplicate_of")
    assert 'value="same"' in _html(duplicate) or ">same</textarea>" in _html(duplicate)
    assessed = client.post(
        f"/queue/{number}/assessment/",
        {"outcome": "duplicate", "duplicate_of": original, "summary": f"Same as before {XSS}"},
    )
    assert assessed.status_code == 302
    page = _html(client.get(f"/queue/{number}/"))
    assert f'href="/queue/{original}/"' in page
    assert _ticket(number).status == "assessing"
    assert 'value="start_remediation"' in page
    assert 'value="resolve"' in page
    assert 'value="close"' in page
    assert 'value="start_assessment"' not in page  # not allowed from assessing

    unreasoned = client.post(f"/queue/{number}/step/", {"action": "resolve"})
    assert unreasoned.status_code == 400
    assert _error(_html(unreasoned), "step-reason")
    assert _ticket(number).status == "assessing"
    not_now = client.post(f"/queue/{number}/step/", {"action": "reopen", "reason": "x"})
    assert not_now.status_code == 302
    assert "This step cannot be taken now: the ticket is Being assessed" in _html(client.get(not_now["Location"]))
    closed = client.post(
        f"/queue/{number}/step/", {"action": "close", "close_reason": "duplicate", "duplicate_of": original}
    )
    assert closed.status_code == 302
    assert _ticket(number).status == "closed"
    assert 'value="reopen"' in _html(client.get(f"/queue/{number}/"))


def test_replies_and_internal_notes(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    empty = client.post(f"/queue/{number}/messages/", {"body": "  "})
    assert empty.status_code == 400
    assert 'aria-invalid="true"' in _tag(_html(empty), "reply-body")
    sent = client.post(f"/queue/{number}/messages/", {"body": f"**Thanks** {XSS}"})
    assert sent.status_code == 302
    assert sent["Location"].endswith("#messages")
    noted = client.post(f"/queue/{number}/notes/", {"body": f"Check with leo {XSS}"})
    assert noted.status_code == 302
    note = Message.objects.get(body__startswith="Check with leo")
    assert note.internal
    assert note.from_marketplace
    html = _html(client.get(f"/queue/{number}/"))
    assert "<strong>Thanks</strong>" in html
    assert f'id="message-{note.pk}" data-internal="true"' in html
    assert "Internal note: the publisher does not see it" in html
    for raw in RAW:
        assert raw not in html
    client.force_login(world.users["alice"])
    publisher = _html(client.get(f"/tickets/{number}/"))
    assert "Check with leo" not in publisher
    assert "Thanks" in publisher


def test_requests_to_the_publisher_and_extensions(client, world):
    number = _file(world)
    triage.acknowledge(world.actor("rita"), confirmation_number=number, priority="P1", severity="critical")
    client.force_login(world.users["rita"])
    refused = client.post(
        f"/queue/{number}/requests/", {"kind": "modify_offer", "description": "", "due_at": "yesterday"}
    )
    assert refused.status_code == 400
    html = _html(refused)
    assert _error(html, "request-due_at")
    assert not PublisherRequest.objects.exists()
    refused = client.post(
        f"/queue/{number}/requests/",
        {"kind": "modify_offer", "description": "", "due_at": (timezone.now() + timedelta(days=3)).date().isoformat()},
    )
    html = _html(refused)
    assert "Say what you need" in _error(html, "request-description")
    assert "Choose the offer" in _error(html, "request-offer")
    due = (timezone.now() + timedelta(days=3)).date().isoformat()
    created = client.post(
        f"/queue/{number}/requests/",
        {"kind": "modify_offer", "offer": "contoso-backup", "description": f"Disable uploads {XSS}", "due_at": due},
    )
    assert created.status_code == 302
    item = PublisherRequest.objects.get()
    assert item.offer.slug == "contoso-backup"
    assert item.due_at.date().isoformat() == due
    proposed = item.due_at + timedelta(days=7)
    triage.answer_request(
        world.actor("alice"),
        request_id=item.public_id,
        response="extension",
        reason="Release Friday",
        proposed_due=proposed,
    )
    page = _html(client.get(f"/queue/{number}/"))
    assert f'action="/queue/{number}/requests/{item.public_id}/extension/"' in page
    assert "Release Friday" in page
    url = f"/queue/{number}/requests/{item.public_id}/extension/"
    no_reason = client.post(url, {"decision": "refused"})
    assert no_reason.status_code == 400
    assert _error(_html(no_reason), "extension-reason")
    granted = client.post(url, {"decision": "granted"})
    assert granted.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.due_at) == ("open", proposed)
    other = _file(world)
    assert (
        client.post(f"/queue/{other}/requests/{item.public_id}/extension/", {"decision": "granted"}).status_code == 404
    )


def test_affected_plans_and_versions_recount_the_customers(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    before = _html(client.get(f"/queue/{number}/"))
    total = int(re.search(r'id="affected-count">(\d+)<', before).group(1))
    assert total > 0
    assert 'name="plans" value="contoso-backup/standard"' in before
    unknown = client.post(f"/queue/{number}/affected/", {"plans": ["contoso-vault/nope"]})
    assert unknown.status_code == 400
    assert "Choose plans of the ticket" in _error(_html(unknown), "affected-plans")
    narrowed = client.post(f"/queue/{number}/affected/", {"plans": ["contoso-backup/standard"], "versions": "4.2, 9.9"})
    assert narrowed.status_code == 302
    ticket = _ticket(number)
    assert ticket.affected_versions == ["4.2", "9.9"]
    after = _html(client.get(f"/queue/{number}/"))
    assert int(re.search(r'id="affected-count">(\d+)<', after).group(1)) == ticket.affected_customers < total
    assert re.search(r'name="plans" value="contoso-backup/standard" checked', after)


def test_the_notice_is_started_co_edited_and_approved_by_a_lead(client, world):
    number = _file(world, customer_message=f"Please update. {XSS}")
    client.force_login(world.users["rita"])
    started = client.post(f"/queue/{number}/notice/start/")
    assert started.status_code == 302
    notice = Notice.objects.get()
    saved = client.post(
        f"/queue/{number}/notice/edit/", {"subject": "Update now", "body": "**4.2.1** fixes it", "base_version": "1"}
    )
    assert saved.status_code == 302
    stale = client.post(f"/queue/{number}/notice/edit/", {"subject": "Mine", "body": "my text", "base_version": "1"})
    assert stale.status_code == 409
    html = _html(stale)
    assert "my text</textarea>" in html
    assert "Someone saved the notice since you loaded it" in _error(html, "notice-all")
    empty = client.post(f"/queue/{number}/notice/edit/", {"subject": "", "body": "x", "base_version": "2"})
    assert empty.status_code == 400
    assert _error(_html(empty), "notice-subject")
    notice.refresh_from_db()
    assert notice.current_version == 2
    page = _html(client.get(f"/queue/{number}/"))
    assert "<strong>4.2.1</strong>" in page
    assert 'id="notice-approve-form"' not in page  # a responder does not approve for the marketplace
    versions = client.get(f"/queue/{number}/notice/versions/?from=1&to=2")
    assert versions.status_code == 200
    diff = _html(versions)
    assert 'diff__line--added">' in diff
    assert "--- Version 1" in diff
    assert "+++ Version 2" in diff
    assert "+Subject: Update now" in diff
    client.cookies["django_language"] = "tr"
    turkish = _html(client.get(f"/queue/{number}/notice/versions/?from=1&to=2"))
    with translation.override("tr"):
        assert "--- " + _("Version %(number)s") % {"number": 1} in turkish
        assert "+" + _("Subject: %(subject)s") % {"subject": "Update now"} in turkish
    assert "Version 1" not in turkish
    assert "Subject: Update now" not in turkish
    del client.cookies["django_language"]
    for raw in RAW:
        assert raw not in diff
    assert client.get(f"/queue/{number}/notice/versions/?from=1&to=9").status_code == 400

    client.force_login(world.users["leo"])
    assert 'id="notice-approve-form"' in _html(client.get(f"/queue/{number}/"))
    approved = client.post(f"/queue/{number}/notice/approve/", {"version": "2"})
    assert approved.status_code == 302
    notice.refresh_from_db()
    assert notice.marketplace_approved_by == world.users["leo"]
    notice_services.approve_notice(world.actor("alice"), confirmation_number=number, version=2)
    done = _html(client.get(f"/queue/{number}/"))
    assert 'id="notice-delivery"' in done
    assert 'id="notice-form"' not in done  # approved: no longer edited


def test_forms_need_the_csrf_token(world):
    from django.test import Client

    number = _file(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["rita"])
    assert client.post(f"/queue/{number}/acknowledge/", {"priority": "P1", "severity": "critical"}).status_code == 403
    assert _ticket(number).status == "submitted"
    html = _html(client.get(f"/queue/{number}/"))
    forms = html.count('<form method="post"')
    assert forms >= 8
    assert html.count('name="csrfmiddlewaretoken"') >= forms


def test_pages_carry_no_inline_script_or_style(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    for path in ("/queue/", f"/queue/{number}/"):
        response = client.get(path)
        html = _html(response)
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html, path
        assert "<style" not in html, path
        assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html), path
        assert "/static/web/responder.css" in html
        assert "/static/web/responder.js" in html


def test_the_triage_page_is_bounded_whatever_its_size(client, world, django_assert_max_num_queries):
    small = _file(world)
    large = _file(world)
    rita, alice = world.actor("rita"), world.actor("alice")
    offer = world.offers["contoso-backup"]
    for index in range(60):
        customer = Customer.objects.create(
            name=f"Customer {index:02d}", slug=f"customer-{index}", tenant_id=f"t-{index}"
        )
        CustomerContact.objects.create(customer=customer, email=f"sec@customer{index}.example")
        Deployment.objects.create(customer=customer, offer=offer, version="4.2")
    for number in (small, large):
        triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
        notice_services.start_notice(alice, confirmation_number=number)
    for number, count in ((small, 1), (large, 30)):
        for index in range(count):
            ticket_services.post_message(
                alice if index % 2 else rita,
                confirmation_number=number,
                body=f"message {index} {XSS}",
                internal=index % 3 == 0 and index % 2 == 0,
                files=[IncomingFile(f"log-{index}.txt", "text/plain", [b"data"])],
            )
        for index in range(count if count < 4 else 4):
            triage.create_request(
                rita,
                confirmation_number=number,
                kind="information",
                description=f"question {index}",
                due_at=timezone.now() + timedelta(days=2),
            )
    client.force_login(world.users["rita"])
    with django_assert_max_num_queries(22) as small_queries:
        client.get(f"/queue/{small}/")
    with django_assert_max_num_queries(22) as large_queries:
        page = client.get(f"/queue/{large}/")
    assert len(large_queries.captured_queries) == len(small_queries.captured_queries)
    html = _html(page)
    assert html.count('<article class="message') == 30
    assert html.count('data-request-status="open"') == 4
    assert html.count('<li><a class="customer-list__name" href="/customers/') == 50  # the first 50; the rest as CSV
    assert int(re.search(r'id="affected-count">(\d+)<', html).group(1)) > 60


def test_pages_speak_turkish(client, world):
    number = _file(world)
    client.force_login(world.users["rita"])
    client.cookies["django_language"] = "tr"
    queue = _html(client.get("/queue/"))
    assert '<html lang="tr">' in queue
    assert "Önceliklendirme kuyruğu" in queue
    assert "Bana ata" in queue
    assert re.search(r"\d+ (g|sa|dk)( \d+ (sa|dk))? içinde<", queue)  # "due in 7 h 5 min"
    page = _html(client.get(f"/queue/{number}/"))
    assert "Raporu teyit et" in page
    assert "Masanın önerisi: öncelik <strong>P1</strong>, önem derecesi <strong>Kritik</strong>." in page
    assert "İç not" in page


def test_the_turkish_catalogue_has_no_untranslated_or_fuzzy_entry():
    import shutil
    import subprocess
    from pathlib import Path

    import secdesk.web

    if shutil.which("msgattrib") is None:
        pytest.fail("gettext is not installed (apt-get install gettext; ./dev test does it)")
    po = Path(secdesk.web.__file__).parent / "locale" / "tr" / "LC_MESSAGES" / "django.po"
    for flag in ("--untranslated", "--only-fuzzy"):
        found = subprocess.run(
            ["msgattrib", flag, "--no-obsolete", str(po)], capture_output=True, text=True, check=True
        ).stdout
        assert found.strip() == "", f"{flag}:\n{found[:3000]}"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_countdowns_read_as_people_say_them(english):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from secdesk.web.responder.clocks import countdown, span

    assert span(timedelta(hours=3, minutes=20, seconds=59)) == "3 h 20 min"
    assert span(timedelta(days=2)) == "2 d"
    assert span(timedelta(days=1, hours=5, minutes=30)) == "1 d 5 h"
    assert span(timedelta(hours=4)) == "4 h"
    assert span(timedelta(seconds=30)) == "1 min"
    assert span(timedelta(0)) == "0 min"
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    late = countdown(now - timedelta(days=2, hours=1), now, ZoneInfo("Europe/Istanbul"))
    assert late.overdue
    assert late.text == "overdue by 2 d 1 h"
    assert late.due.utcoffset() == timedelta(hours=3)
    assert late.absolute.endswith("Europe/Istanbul")
    soon = countdown(now + timedelta(minutes=90), now, ZoneInfo("UTC"))
    assert (soon.overdue, soon.text) == (False, "due in 1 h 30 min")
