# ruff: noqa: RUF001 — Turkish text: its dotless i is meant
"""The whole process between a publisher and the marketplace, in real browsers (headless Chromium).

Alice (publisher) files a vulnerability with the CVSS calculator and gets a
confirmation number. Rita (responder) signs in in another browser with her
password and authenticator code, finds the ticket in the triage queue,
acknowledges it with the desk's suggested priority and severity, replies,
adds an internal note, records the assessment, changes the classification
with a reason and asks for an offer modification. Alice sees priority,
severity and the reply (never the note) and answers the request; Rita sees
the answer. The customer notice is started by Rita, edited by both, and
approved by Alice and by Leo (lead). In English and in Turkish; every free
text Rita types carries an XSS payload that must show as text, with no dialog
and no CSP violation. Also: an acknowledgement with the keyboard only, and
axe-core on the responders' pages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import TEST_PASSWORD
from tests.e2e.browser import PageWatch, assert_accessible
from tests.e2e.flows import VECTOR, file_vulnerability, give_totp, sign_in_with_totp
from tests.e2e.test_publisher_flow import IMG, JS_LINK, NUMBER, SCRIPT, _assert_shown_as_text, _shot
from tests.e2e.test_publisher_flow import WORDS as PUBLISHER_WORDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("compiled_catalogues")]

# What the responders' pages say, per language.
WORDS = {
    "en": {
        "queue": "Triage queue",
        "suggests": "The desk suggests priority P1 and severity Critical.",
        "acknowledge": "Acknowledge the ticket",
        "acknowledged": "Acknowledged with priority P1",
        "send_reply": "Send to the publisher",
        "add_note": "Add the internal note",
        "confirmed": "Confirmed: the issue is real and affects the offer",
        "record_assessment": "Record the assessment",
        "change": "Change priority or severity",
        "save_change": "Save the change",
        "ask": "Ask the publisher for something",
        "send_request": "Send the request",
        "done": "Done",
        "start_notice": "Start the customer notice",
        "edit_notice": "Edit the notice",
        "save_version": "Save a new version",
        "approve_marketplace": "Approve version 3 for the marketplace",
        "approve_publisher": "Approve version 3",
        "approved": "Approved — queued for delivery",
        "internal": "Internal note: the publisher does not see it",
        "critical": "Critical",
    },
    "tr": {
        "queue": "Önceliklendirme kuyruğu",
        "suggests": "Masanın önerisi: öncelik P1, önem derecesi Kritik.",
        "acknowledge": "Raporu teyit et",
        "acknowledged": "P1 önceliği ve Kritik önem derecesiyle teyit edildi",
        "send_reply": "Yayıncıya gönder",
        "add_note": "İç notu ekle",
        "confirmed": "Doğrulandı: sorun gerçek ve teklifi etkiliyor",
        "record_assessment": "Değerlendirmeyi kaydet",
        "change": "Önceliği veya önem derecesini değiştir",
        "save_change": "Değişikliği kaydet",
        "ask": "Yayıncıdan bir şey iste",
        "send_request": "Talebi gönder",
        "done": "Tamamlandı",
        "start_notice": "Müşteri bildirimini başlat",
        "edit_notice": "Bildirimi düzenle",
        "save_version": "Yeni sürümü kaydet",
        "approve_marketplace": "3. sürümü pazar yeri adına onayla",
        "approve_publisher": "3. sürümü onayla",
        "approved": "Onaylandı — gönderim sırasında",
        "internal": "İç not: yayıncı bunu görmez",
        "critical": "Kritik",
    },
}


def _watched(context: Any) -> tuple[Page, PageWatch]:
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    return page, watch


def _speak(page: Page, language: str) -> None:
    if language == "tr":
        page.get_by_role("button", name="Türkçe").click()
        expect(page.locator("html")).to_have_attribute("lang", "tr")


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_vulnerability_from_submission_to_an_approved_customer_notice(
    language: str, live_server, page: Page, new_context, watch: PageWatch, world, sign_in, session_for, artifacts
):
    words, publisher_words = WORDS[language], PUBLISHER_WORDS[language]
    base = live_server.url

    # --- Alice files a vulnerability with the calculator ---------------------------------------------
    sign_in(page, "alice@contoso.example", TEST_PASSWORD)
    _speak(page, language)
    number = file_vulnerability(
        page,
        publisher_words,
        description=f"RCE in the upload endpoint {SCRIPT}",
        customer_message="Please disable uploads.",
    )
    assert NUMBER.match(number), number

    # --- Rita signs in with her authenticator, finds the ticket in the queue ------------------------
    secret = give_totp(world.users["rita"])
    rita, rita_watch = _watched(new_context())
    sign_in_with_totp(rita, base, "rita@marketplace.example", secret, start="/queue/")
    _speak(rita, language)
    expect(rita.get_by_role("heading", level=1)).to_have_text(words["queue"])
    rita.locator("#filter-q").fill(number)
    rita.locator("#filter-q").press("Enter")
    row = rita.locator(f'tr[data-confirmation-number="{number}"]')
    expect(row).to_be_visible()
    expect(rita.locator("#queue-table tbody tr")).to_have_count(1)
    expect(row).to_contain_text("Contoso Ltd")
    _shot(rita, artifacts, "responder-queue", language)
    row.get_by_role("link", name=number).click()
    expect(rita.locator("#ticket-number")).to_have_text(number)

    # --- Acknowledge with the desk's suggestion -------------------------------------------------------
    expect(rita.locator("#ack-suggestion")).to_contain_text(words["suggests"])
    expect(rita.locator("#ack-severity")).to_have_value("critical")
    expect(rita.locator("#ack-priority")).to_have_value("P1")
    expect(rita.locator("#cvss-scores")).to_contain_text(VECTOR)
    _assert_shown_as_text(rita, "#report-description", SCRIPT)
    rita.get_by_role("button", name=words["acknowledge"]).click()
    expect(rita.locator(".flash")).to_contain_text(words["acknowledged"])
    expect(rita.locator("#ticket-priority")).to_have_text("P1")

    # --- Reply, internal note, assessment, a reasoned reclassification -------------------------------
    rita.locator("#reply-body").fill(f"Thanks, we are on it. {SCRIPT} {JS_LINK}")
    rita.get_by_role("button", name=words["send_reply"]).click()
    _assert_shown_as_text(rita, "#messages", "Thanks, we are on it.", SCRIPT, JS_LINK)
    rita.locator("#note-body").fill(f"Exploit seen in the wild? {IMG}")
    rita.get_by_role("button", name=words["add_note"]).click()
    note = rita.locator('#messages article[data-internal="true"]')
    expect(note).to_contain_text(words["internal"])
    _assert_shown_as_text(rita, '#messages article[data-internal="true"]', "Exploit seen in the wild?", IMG)
    rita.get_by_label(words["confirmed"]).check()
    rita.locator("#assess-summary").fill(f"Reproduced on 4.2.0. {IMG}")
    rita.get_by_role("button", name=words["record_assessment"]).click()
    _assert_shown_as_text(rita, "#messages", "Reproduced on 4.2.0.", IMG)
    rita.locator("#classification summary").filter(has_text=words["change"]).click()
    rita.locator("#re-reason").fill(f"Confirmed exploitable without authentication {SCRIPT}")
    rita.get_by_role("button", name=words["save_change"]).click()
    _assert_shown_as_text(rita, "#timeline", "Confirmed exploitable without authentication", SCRIPT)

    # --- Ask for an offer modification ---------------------------------------------------------------
    rita.locator("#request-details summary").click()
    rita.locator("#request-kind").select_option("modify_offer")
    expect(rita.locator("#request-offer")).to_be_visible()
    rita.locator("#request-offer").select_option("contoso-backup")
    rita.locator("#request-description").fill(f"Disable the upload endpoint in the listing. {SCRIPT}")
    rita.get_by_role("button", name=words["send_request"]).click()
    _assert_shown_as_text(rita, "#request-list", "Disable the upload endpoint in the listing.", SCRIPT)

    # --- Alice sees priority, severity and the reply (never the note), answers the request ------------
    page.goto(f"{base}/tickets/{number}/")
    expect(page.locator("#ticket-priority")).to_have_text("P1")
    expect(page.locator("#ticket-severity")).to_have_text(publisher_words["critical"])
    _assert_shown_as_text(page, "#messages", "Thanks, we are on it.", SCRIPT, JS_LINK)
    _assert_shown_as_text(page, "#messages", "Reproduced on 4.2.0.", IMG)
    expect(page.locator("#messages")).not_to_contain_text("Exploit seen in the wild?")
    request_form = page.locator("#requests .answer-form")
    request_form.get_by_label(publisher_words["done_modified"]).check()
    request_form.locator("textarea[name=text]").fill(f"Upload disabled in 4.2.1. {IMG}")
    request_form.get_by_role("button", name=publisher_words["send_answer"]).click()
    expect(page.locator(".flash")).to_contain_text(publisher_words["answer_sent"])

    # --- Rita sees the answer -------------------------------------------------------------------------
    rita.reload()
    answered = rita.locator('#request-list [data-request-status="done"]')
    expect(answered).to_contain_text(words["done"])
    _assert_shown_as_text(rita, '#request-list [data-request-status="done"]', "Upload disabled in 4.2.1.", IMG)

    # --- The notice: started and edited by Rita, edited and approved by Alice, approved by Leo --------
    rita.get_by_role("button", name=words["start_notice"]).click()
    rita.locator("#notice-edit summary").click()
    rita.locator("#notice-subject-input").fill(f"Security update for Contoso Backup {SCRIPT}")
    rita.locator("#notice-body-input").fill(f"**Update to 4.2.1.** {JS_LINK} {IMG}")
    rita.get_by_role("button", name=words["save_version"]).click()
    _assert_shown_as_text(rita, "#notice-subject", SCRIPT)
    _assert_shown_as_text(rita, "#notice-body", "Update to 4.2.1.", JS_LINK, IMG)
    page.goto(f"{base}/tickets/{number}/")
    page.locator("#notice-body-input").fill(f"**Update to 4.2.1 today.** {JS_LINK} {IMG}")
    page.get_by_role("button", name=publisher_words["save_version"]).click()
    page.get_by_role("button", name=words["approve_publisher"]).click()
    expect(page.locator("#notice-approvals")).to_contain_text(publisher_words["approved_by"])

    give_totp(world.users["leo"])
    leo_context = new_context()
    session_for(leo_context, world.users["leo"])
    leo, leo_watch = _watched(leo_context)
    leo.goto(f"{base}/queue/{number}/")
    _speak(leo, language)
    expect(leo.locator("#notice-body strong")).to_have_text("Update to 4.2.1 today.")
    leo.get_by_role("button", name=words["approve_marketplace"]).click()
    expect(leo.locator("#notice-status")).to_have_text(words["approved"])
    expect(leo.locator("#notice-approvals")).to_contain_text("Alice Contoso")
    expect(leo.locator("#notice-approvals")).to_contain_text("Leo Lead")

    page.reload()
    expect(page.locator("#notice-status")).to_have_text(words["approved"])
    rita.reload()
    expect(rita.locator("#notice-status")).to_have_text(words["approved"])
    expect(rita.locator("#notice-delivery")).to_be_visible()
    for viewer in (page, rita, leo):
        assert viewer.locator('a[href^="javascript:"]').count() == 0
    _shot(rita, artifacts, "responder-triage", language)
    for watcher in (watch, rita_watch, leo_watch):
        watcher.assert_clean()


def _submitted(world: Any, description: str = "RCE in the upload endpoint.") -> str:
    from secdesk.domain.intake import Answers
    from secdesk.tickets import services as ticket_services

    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup",),
        description=description,
        cvss_vectors=(VECTOR,),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
        customer_message="Please update to **4.2.1**.",
    )
    return ticket_services.create_ticket(world.actor("alice"), answers=answers, submit=True).ticket.confirmation_number


def test_keyboard_only_acknowledgement(live_server, new_context, world, session_for):
    """From the queue to an acknowledged ticket with Tab and Enter alone."""
    number = _submitted(world)
    give_totp(world.users["rita"])
    context = new_context()
    session_for(context, world.users["rita"])
    page, watch = _watched(context)
    page.goto(f"{live_server.url}/queue/")

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to(f'a[href="/queue/{number}/"]')
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-number")).to_have_text(number)
    tab_to("#ack-submit")
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-priority")).to_have_text("P1")
    expect(page.locator("#ticket-severity")).to_have_text("Critical")
    watch.assert_clean()


def test_the_responders_pages_pass_axe(live_server, new_context, world, session_for, artifacts):
    """axe-core (WCAG 2.1 A/AA and best practices): no serious or critical violation."""
    from secdesk.notices import services as notice_services
    from secdesk.tickets import services as ticket_services
    from secdesk.tickets.models import Ticket
    from secdesk.tickets.storage import IncomingFile
    from secdesk.triage import services as triage

    alice, rita = world.actor("alice"), world.actor("rita")
    fresh = _submitted(world)
    late = _submitted(world, "A late one")
    past = timezone.now() - timedelta(days=2)
    Ticket.objects.filter(confirmation_number=late).update(acknowledgement_due=past, due_at=past)
    triage.sweep()
    busy = _submitted(world, "A busy one")
    triage.acknowledge(rita, confirmation_number=busy, priority="P2", severity="critical", reason="Lab only")
    ticket_services.post_message(
        alice, confirmation_number=busy, body="Logs.", files=[IncomingFile("a.log", "text/plain", [b"x"])]
    )
    ticket_services.post_message(rita, confirmation_number=busy, body="Thanks, **on it**.")
    ticket_services.post_message(rita, confirmation_number=busy, body="Check with Leo.", internal=True)
    triage.assess(rita, confirmation_number=busy, outcome="confirmed", summary="Reproduced.")
    item = triage.create_request(
        rita,
        confirmation_number=busy,
        kind="modify_offer",
        offer="contoso-backup",
        description="Disable uploads in the listing.",
        due_at=timezone.now() + timedelta(days=3),
    )
    triage.answer_request(
        alice,
        request_id=item.public_id,
        response="extension",
        reason="Release on Friday",
        proposed_due=item.due_at + timedelta(days=4),
    )
    notice_services.start_notice(alice, confirmation_number=busy)
    notice_services.edit_notice(rita, confirmation_number=busy, subject="Update", body="**Now**", base_version=1)

    give_totp(world.users["rita"])
    # axe is injected as a script: this context alone lets it past the CSP (the desk never serves it).
    context = new_context(bypass_csp=True)
    session_for(context, world.users["rita"])
    page = context.new_page()
    pages = {
        "queue": "/queue/",
        "queue-errors": "/queue/?status=nope&publisher=nobody",
        "triage-submitted": f"/queue/{fresh}/",
        "triage-busy": f"/queue/{busy}/",
        "notice-versions": f"/queue/{busy}/notice/versions/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        if name == "triage-busy":
            for summary in page.locator("details > summary").all():
                summary.click()  # every folded form open, as a person would see it
        if name == "triage-submitted":
            page.locator("#ack-priority").select_option("P3")  # an override: the reason is now asked for
            expect(page.locator("#ack-reason")).to_have_attribute("required", "")
            # The browser would stop the form; let it through to show the desk's own answer next to the field.
            page.locator("#acknowledge-form").evaluate("form => { form.noValidate = true; }")
            page.get_by_role("button", name="Acknowledge the ticket").click()
            expect(page.locator("#err-ack-reason")).to_be_visible()
        assert_accessible(page)
        page.screenshot(path=str(artifacts / f"axe-responder-{name}.png"), full_page=True)
    page.goto(f"{live_server.url}/queue/")
    expect(page.locator(f'tr[data-confirmation-number="{late}"]')).to_contain_text("overdue by")
