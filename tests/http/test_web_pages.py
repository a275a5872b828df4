# ruff: noqa: RUF001 — Turkish text: its dotless i is meant
"""The publisher's pages through Django's test client: no JavaScript, bounded queries, safe output.

The browser journeys are in ``tests/e2e``; here each page is checked for what a
plain HTTP client sees: permissions and tenant isolation, the POST/redirect/GET
flow, field errors placed next to their fields, escaping and Markdown
sanitising, the language switch, and a bound on the queries of every page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from secdesk.domain.intake import Answers
from secdesk.domain.policy import Permission
from secdesk.notices import services as notice_services
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Ticket
from secdesk.tickets.storage import IncomingFile
from secdesk.triage import services as triage

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def _form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "problem_type": "security_incident",
        "category": "vulnerability",
        "offers": ["contoso-backup"],
        "description": "RCE in the upload endpoint.",
        "cvss_vectors": VECTOR,
        "cve_ids": "CVE-2026-12345",
        "cwe_ids": "CWE-78",
        "mitigation": "workaround",
        "remediation_steps": "Disable uploads.",
        "customer_message": "Please update.",
        "action": "submit",
    }
    data.update(changes)
    return data


def _filed(world, *, notice: bool = True, messages: int = 1) -> str:
    """A submitted, acknowledged ticket with messages, an attachment, a request and a notice."""
    alice, rita = world.actor("alice"), world.actor("rita")
    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup", "contoso-vault"),
        description=f"RCE {XSS}",
        cvss_vectors=(VECTOR,),
        mitigation="none",
        customer_message=f"Please update. [x](javascript:alert(1)) {XSS}",
    )
    number = ticket_services.create_ticket(alice, answers=answers, submit=True).ticket.confirmation_number
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    for index in range(messages):
        ticket_services.post_message(
            rita if index % 2 else alice,
            confirmation_number=number,
            body=f"message {index} {XSS}",
            files=[IncomingFile(f"log-{index}.txt", "text/plain", [b"data"])],
        )
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="modify_offer",
        offer="contoso-backup",
        description="Disable uploads in the listing.",
        due_at=timezone.now() + timedelta(days=2),
    )
    if notice:
        notice_services.start_notice(alice, confirmation_number=number)
    return number


WEB_ROUTES = {
    "/tickets/": Permission.TICKET_READ,
    "/tickets/new/": Permission.TICKET_CREATE,
    "/tickets/SEC-0000-0000-0/": Permission.TICKET_READ,
    "/tickets/SEC-0000-0000-0/edit/": Permission.TICKET_CREATE,
    "/tickets/SEC-0000-0000-0/submitted/": Permission.TICKET_READ,
    "/tickets/SEC-0000-0000-0/messages/": Permission.TICKET_READ,
    "/tickets/SEC-0000-0000-0/requests/abc/answer/": Permission.TICKET_READ,
    "/tickets/SEC-0000-0000-0/notice/start/": Permission.NOTICE_READ,
    "/tickets/SEC-0000-0000-0/notice/edit/": Permission.NOTICE_READ,
    "/tickets/SEC-0000-0000-0/notice/approve/": Permission.NOTICE_READ,
    "/cvss/score": Permission.TICKET_READ,
}


@pytest.mark.parametrize(("path", "permission"), WEB_ROUTES.items())
def test_every_page_declares_its_permission(path, permission):
    assert resolve(path).func.permission is permission


@pytest.mark.parametrize("path", list(WEB_ROUTES))
def test_pages_need_a_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_staff_cannot_file_and_publishers_of_another_organisation_see_nothing(client, world, settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # this is about the portal's refusals, not the second factor
    number = _filed(world)
    client.force_login(world.users["rita"])
    assert client.get("/tickets/new/").status_code == 403
    client.force_login(world.users["bob"])
    for path in (f"/tickets/{number}/", f"/tickets/{number}/submitted/", f"/tickets/{number}/edit/"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/tickets/{number}/messages/", {"body": "hi"}).status_code == 404
    assert client.post(f"/tickets/{number}/notice/approve/", {"version": "1"}).status_code == 404
    assert number not in client.get("/tickets/").content.decode()
    assert Ticket.objects.get(confirmation_number=number).messages.filter(body="hi").count() == 0


def test_forms_need_the_csrf_token(world):
    from django.test import Client

    number = _filed(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["alice"])
    assert client.post("/tickets/new/", _form()).status_code == 403
    assert client.post(f"/tickets/{number}/messages/", {"body": "hi"}).status_code == 403
    page = client.get(f"/tickets/{number}/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 6  # language, sign-out, reply, answer, notice edit/approve


def test_submit_without_javascript_redirects_to_the_confirmation(client, world, django_assert_max_num_queries):
    alice = world.users["alice"]
    alice.timezone = "Asia/Tokyo"
    alice.save(update_fields=["timezone"])
    client.force_login(alice)
    response = client.post("/tickets/new/", _form(idempotency_key="one"))
    assert response.status_code == 302
    number = re.fullmatch(r"/tickets/([^/]+)/submitted/", response["Location"]).group(1)
    with django_assert_max_num_queries(8):
        page = client.get(response["Location"])
    html = page.content.decode()
    assert f'id="confirmation-number" class="mono">{number}<' in html
    assert "one business day" in html
    assert "Asia/Tokyo" in html
    ticket = Ticket.objects.get(confirmation_number=number)
    assert ticket.status == "submitted"
    assert ticket.cvss[0]["base_score"] == 9.8
    # The same form sent twice files one ticket (the idempotency key rendered into the form).
    again = client.post("/tickets/new/", _form(idempotency_key="one"))
    assert again["Location"] == response["Location"]
    assert Ticket.objects.filter(organization=ticket.organization).count() == 1


def test_field_errors_sit_next_to_their_fields_with_the_metric_named(client, world):
    client.force_login(world.users["alice"])
    bad = _form(
        offers=[],
        description="",
        cvss_vectors=f"{VECTOR}\n\nCVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q",
        cve_ids="CVE-2026-12345 nonsense",
    )
    response = client.post("/tickets/new/", bad)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="error-summary" role="alert"' in html
    textarea = re.search(r'<textarea id="field-cvss_vectors"[^>]*>', html, re.S).group(0)
    assert 'aria-invalid="true"' in textarea
    assert "err-cvss_vectors" in textarea
    errors = re.search(r'<div class="field-error" id="err-cvss_vectors">(.*?)</div>', html, re.S).group(1)
    assert "Line 3, metric A:" in errors  # the line as typed (the empty line counts) and the metric
    assert 'id="err-offers"' in html
    assert 'id="err-description"' in html
    assert "Entry 2:" in re.search(r'id="err-cve_ids">(.*?)</div>', html, re.S).group(1)
    assert VECTOR in html  # what was typed is shown again
    assert not Ticket.objects.exists()


def test_a_draft_is_saved_listed_continued_and_submitted(client, world):
    client.force_login(world.users["alice"])
    response = client.post("/tickets/new/", _form(action="draft", description="", offers=[]))
    assert response.status_code == 302
    edit = response["Location"]
    assert edit.endswith("/edit/")
    listing = client.get("/tickets/").content.decode()
    assert 'data-status="draft"' in listing
    assert edit in listing
    assert client.post(edit, _form(description="")).status_code == 422  # still incomplete: saved, not submitted
    assert Ticket.objects.get().status == "draft"
    done = client.post(edit, _form())
    assert done.status_code == 302
    assert done["Location"].endswith("/submitted/")
    assert Ticket.objects.get().status == "submitted"
    assert client.get(edit)["Location"].endswith(done["Location"].removesuffix("submitted/"))


def test_the_ticket_page_shows_everything_escaped_and_bounded(client, world, django_assert_max_num_queries):
    number = _filed(world, messages=2)
    client.force_login(world.users["alice"])
    with django_assert_max_num_queries(20):
        first = client.get(f"/tickets/{number}/")
    many = _filed(world, messages=8)
    with django_assert_max_num_queries(20):
        client.get(f"/tickets/{many}/")
    html = first.content.decode()
    assert first.status_code == 200
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert f"/api/v1/tickets/{number}/attachments/" in html
    assert 'id="ticket-priority">P1<' in html
    assert "Modify the offer" in html
    assert 'id="notice-body"' in html


def test_answering_a_request_in_one_step(client, world):
    from secdesk.tickets.models import PublisherRequest

    number = _filed(world, notice=False)
    request = PublisherRequest.objects.get()
    client.force_login(world.users["alice"])
    url = f"/tickets/{number}/requests/{request.public_id}/answer/"
    refused = client.post(url, {"response": "declined", "text": ""})
    assert refused.status_code == 422
    assert 'id="err-reason"' in refused.content.decode()
    later = client.post(url, {"response": "extension", "reason": "Release on Friday", "proposed_due": "not a date"})
    assert later.status_code == 422
    assert 'id="err-proposed_due"' in later.content.decode()
    done = client.post(url, {"response": "done", "text": f"Disabled. {XSS}"})
    assert done.status_code == 302
    assert done["Location"].endswith("#requests")
    request.refresh_from_db()
    assert request.status == "done"
    assert request.answered_by == world.users["alice"]
    # A request id of another ticket is not answered through this ticket's page.
    other = _filed(world, notice=False)
    elsewhere = client.post(f"/tickets/{other}/requests/{request.public_id}/answer/", {"response": "done"})
    assert elsewhere.status_code == 404


def test_notice_co_editing_keeps_the_text_on_a_conflict_and_approval_needs_the_current_version(client, world):
    from secdesk.notices.models import Notice

    number = _filed(world)
    client.force_login(world.users["alice"])
    saved = client.post(f"/tickets/{number}/notice/edit/", {"subject": "Update", "body": "v2", "base_version": "1"})
    assert saved.status_code == 302
    stale = client.post(f"/tickets/{number}/notice/edit/", {"subject": "Mine", "body": "my text", "base_version": "1"})
    assert stale.status_code == 409
    assert "my text</textarea>" in stale.content.decode()
    assert Notice.objects.get().current_version == 2
    client.post(f"/tickets/{number}/notice/approve/", {"version": "1"})  # not the current text
    assert Notice.objects.get().publisher_approved_by is None
    client.post(f"/tickets/{number}/notice/approve/", {"version": "2"})
    assert Notice.objects.get().publisher_approved_by == world.users["alice"]


def test_reply_with_an_attachment(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    number = _filed(world, notice=False)
    client.force_login(world.users["alice"])
    empty = client.post(f"/tickets/{number}/messages/", {"body": "  "})
    assert empty.status_code == 422
    assert 'id="err-body"' in empty.content.decode()
    upload = SimpleUploadedFile("trace.txt", b"stack trace", content_type="text/plain")
    sent = client.post(f"/tickets/{number}/messages/", {"body": "Trace attached", "files": [upload]})
    assert sent.status_code == 302
    message = Ticket.objects.get(confirmation_number=number).messages.get(body="Trace attached")
    attachment = message.attachments.get()
    assert attachment.filename == "trace.txt"
    # The page links to the API's download route, which serves the file to the signed-in session.
    page = client.get(f"/tickets/{number}/").content.decode()
    link = f"/api/v1/tickets/{number}/attachments/{attachment.public_id}"
    assert f'href="{link}"' in page
    download = client.get(link)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == b"stack trace"


def test_the_list_is_bounded_and_pages_with_older(client, world, django_assert_max_num_queries):
    alice = world.actor("alice")
    for index in range(27):
        ticket_services.create_ticket(
            alice, answers=Answers(category="security_incident", description=f"t{index}", offers=("contoso-vault",))
        )
    _filed(world, notice=False)
    client.force_login(world.users["alice"])
    with django_assert_max_num_queries(10):
        first = client.get("/tickets/")
    html = first.content.decode()
    assert html.count("<tr data-confirmation-number") == 25
    assert "1 request" in html  # what waits on the publisher
    older = re.search(r'href="\?cursor=([^"]+)" rel="next"', html).group(1)
    with django_assert_max_num_queries(10):
        second = client.get(f"/tickets/?cursor={older}")
    assert second.content.decode().count("<tr data-confirmation-number") == 3
    assert client.get("/tickets/?cursor=%00bad").status_code == 400


def test_the_calculator_scores_with_the_domain(client, world, django_assert_max_num_queries):
    client.force_login(world.users["alice"])
    picks = {"m31_AV": "N", "m31_AC": "L", "m31_PR": "N", "m31_UI": "N", "m31_S": "U", "m31_C": "H", "m31_I": "H"}
    picks["m31_A"] = "H"
    with django_assert_max_num_queries(4):
        scored = client.get("/cvss/score", {"version": "3.1", **picks})
    html = scored.content.decode()
    assert "<html" not in html  # a fragment
    assert "data-cvss-score>9.8<" in html
    assert f'data-cvss-use="{VECTOR}"' in html
    partial = client.get("/cvss/score", {"version": "3.1", "m31_AV": "N"}).content.decode()
    assert "data-cvss-missing" in partial
    assert "Attack Complexity" in partial
    pasted = client.get("/cvss/score", {"vector": "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"})
    assert 'data-metric="AV"' in pasted.content.decode()  # v4.0 order is checked, and the metric named
    hostile = client.get("/cvss/score", {"vector": XSS}).content.decode()
    assert "<script>" not in hostile
    assert "&lt;script&gt;" in hostile
    v4 = client.get(
        "/cvss/score",
        {
            "version": "4.0",
            **{f"m40_{m}": "N" for m in ("AV", "AT", "PR", "UI")},
            "m40_AC": "L",
            **{f"m40_{m}": "H" for m in ("VC", "VI", "VA")},
            **{f"m40_{m}": "N" for m in ("SC", "SI", "SA")},
        },
    )
    assert "data-cvss-score>9.3<" in v4.content.decode()


def test_pages_speak_turkish(client, world):
    number = _filed(world)
    client.force_login(world.users["alice"])
    client.cookies["django_language"] = "tr"
    listing = client.get("/tickets/").content.decode()
    assert '<html lang="tr">' in listing
    assert "Raporlarım" in listing
    detail = client.get(f"/tickets/{number}/").content.decode()
    assert "Sizden ihtiyacımız olanlar" in detail
    assert "Kritik" in detail
    assert "9,8" in detail  # numbers in the Turkish format
    form = client.get("/tickets/new/").content.decode()
    assert "Saldırı vektörü" in form


def test_the_language_switcher_posts_to_set_language(client, world):
    client.force_login(world.users["alice"])
    html = client.get("/tickets/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    response = client.post("/i18n/setlang/", {"language": "tr", "next": "/tickets/"})
    assert response.status_code == 302
    assert "Raporlarım" in client.get("/tickets/").content.decode()


def test_pages_carry_no_inline_script_or_style(client, world):
    number = _filed(world)
    client.force_login(world.users["alice"])
    for path in ("/tickets/", "/tickets/new/", f"/tickets/{number}/", f"/tickets/{number}/submitted/"):
        response = client.get(path)
        html = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html, path
        assert "<style" not in html, path
        assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html), path  # no event handler attribute


def test_no_other_catalogue_changes_the_portals_turkish():
    """All apps share gettext's one ``django`` domain: an earlier app's translation of the same words wins.

    Words the portal shares with another app must mean the same there (or carry a context).
    """
    import gettext
    from pathlib import Path

    from django.utils import translation

    import secdesk.web

    path = Path(secdesk.web.__file__).parent / "locale" / "tr" / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    overridden = []
    with translation.override("tr"):
        for key, ours in catalogue._catalog.items():  # type: ignore[attr-defined]
            if isinstance(key, tuple) or not key:
                continue  # plural forms and the header
            context, _sep, msgid = key.rpartition("\x04")
            shown = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
            if shown != ours:
                overridden.append(f"{msgid!r}: {shown!r} instead of {ours!r}")
    assert overridden == []
