# ruff: noqa: RUF001 — Turkish text: its dotless i is meant
"""A publisher's whole journey in a real browser (headless Chromium), in English and in Turkish.

Alice signs in, starts a request as a vulnerability using the CVSS calculator (the
score comes from the desk), submits it and gets a confirmation number; a responder
acknowledges it and replies (services called directly); Alice sees priority,
severity and the reply, answers an offer-modification request, and co-edits and
approves the customer notice. Every free-text field carries an XSS payload that
must show up as text, with no dialog ever opened; the pages keep to the strict CSP.
Also: one submission with the keyboard only, the form without JavaScript, and
axe-core on the main pages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import TEST_PASSWORD
from tests.e2e.browser import PageWatch, assert_accessible

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("compiled_catalogues")]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "[click me](javascript:alert(1))"
VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
# The calculator's radio groups for VECTOR (CVSS 3.1).
PICKS = {"AV": "N", "AC": "L", "PR": "N", "UI": "N", "S": "U", "C": "H", "I": "H", "A": "H"}
# The last character is a check symbol, which may also be one of * ~ $ = (secdesk.domain.confirmation).
NUMBER = re.compile(r"^SEC-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=]$")

# What the pages say, per language (the Turkish catalogue is compiled by the build).
WORDS = {
    "en": {
        "my_tickets": "My tickets",
        "start": "Start request",
        "vulnerability": "Vulnerability",
        "workaround": "A workaround exists",
        "submit": "Submit",
        "score": "9.8",
        "critical": "Critical",
        "open_ticket": "Open the ticket",
        "send_message": "Send the message",
        "done_modified": "Done: the offer is modified",
        "send_answer": "Send the answer",
        "answer_sent": "Your answer was sent to the marketplace.",
        "start_notice": "Start the customer notice",
        "save_version": "Save a new version",
        "approve": "Approve version 2",
        "approved_by": "approved by Alice Contoso",
        "add_vector": "Add this vector to the request",
        "one_business_day": "one business day",
        "earlier": "Done",
    },
    "tr": {
        "my_tickets": "Raporlarım",
        "start": "Rapor başlat",
        "vulnerability": "Güvenlik açığı",
        "workaround": "Geçici bir çözüm var",
        "submit": "Gönder",
        "score": "9,8",
        "critical": "Kritik",
        "open_ticket": "Raporu aç",
        "send_message": "Mesajı gönder",
        "done_modified": "Tamamlandı: teklif değiştirildi",
        "send_answer": "Yanıtı gönder",
        "answer_sent": "Yanıtınız pazar yerine gönderildi.",
        "start_notice": "Müşteri bildirimini başlat",
        "save_version": "Yeni sürümü kaydet",
        "approve": "2. sürümü onayla",
        "approved_by": "Alice Contoso onayladı",
        "add_vector": "Bu vektörü rapora ekle",
        "one_business_day": "bir iş günü",
        "earlier": "Tamamlandı",
    },
}


def _shot(page: Page, artifacts: Any, name: str, language: str = "en") -> None:
    suffix = "" if language == "en" else f"-{language}"
    page.screenshot(path=str(artifacts / f"{name}{suffix}.png"), full_page=True)


def _assert_shown_as_text(page: Page, selector: str, *payloads: str) -> None:
    for payload in payloads:
        expect(page.locator(selector)).to_contain_text(payload)
    assert page.locator(f"{selector} img, {selector} script").count() == 0


@pytest.mark.parametrize("language", ["en", "tr"])
def test_publisher_files_follows_and_answers_a_vulnerability(
    language: str, live_server, page: Page, watch: PageWatch, world, sign_in, artifacts
):
    from secdesk.accounts.models import User
    from secdesk.tickets import services as ticket_services
    from secdesk.triage import services as triage

    words = WORDS[language]
    User.objects.filter(email="alice@contoso.example").update(timezone="Europe/Istanbul")
    sign_in(page, "alice@contoso.example", TEST_PASSWORD)
    if language == "tr":
        page.get_by_role("button", name="Türkçe").click()
        expect(page.locator("h1")).to_have_text("Raporlarım")
        expect(page.locator("html")).to_have_attribute("lang", "tr")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["my_tickets"])

    # --- Start a request: category, offer, the four questions, the calculator -------------------------
    page.get_by_role("navigation", name=re.compile("Main|Ana")).get_by_role("link", name=words["start"]).click()
    page.get_by_label(words["vulnerability"], exact=True).check()
    page.get_by_label("Contoso Backup").check()
    page.locator("#field-description").fill(f"RCE in the upload endpoint {SCRIPT} {IMG}")

    calculator = page.locator("#cvss-calculator")
    expect(calculator).to_be_visible()
    for code, value in list(PICKS.items())[:-1]:
        page.locator(f"#m31_{code}-{value}").check()
    expect(page.locator("#cvss-result [data-cvss-missing]")).to_be_visible()  # one metric still to pick
    page.locator("#m31_A-H").check()
    expect(page.locator("#cvss-result [data-cvss-score]")).to_have_text(words["score"])
    expect(page.locator("#cvss-result [data-cvss-severity]")).to_have_text(words["critical"])
    expect(page.locator("#cvss-result [data-cvss-vector]")).to_have_text(VECTOR)
    page.get_by_role("button", name=words["add_vector"]).click()
    expect(page.locator("#field-cvss_vectors")).to_have_value(VECTOR)
    expect(page.locator("#cvss-vectors-check [data-cvss-score]")).to_have_text(words["score"])
    # A pasted vector is parsed by the desk too, and its error names the metric.
    page.locator("#cvss-paste").fill("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    expect(page.locator("#cvss-paste-result [data-cvss-error]")).to_have_attribute("data-metric", "AV")
    _shot(page, artifacts, "new-request-calculator", language)

    # A bad CVE id first: the error sits next to its field, escaped, and the field says it is invalid.
    page.locator("#field-cve_ids").fill(f"CVE-2026-12345 {IMG}")
    page.locator("#field-cwe_ids").fill("CWE-78")
    page.get_by_label(words["workaround"]).check()
    page.locator("#field-remediation_steps").fill(f"Disable uploads {SCRIPT}")
    page.locator("#field-customer_message").fill(f"Please update. {JS_LINK} {IMG}")
    page.get_by_role("button", name=words["submit"], exact=True).click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#field-cve_ids")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-cve_ids")).to_have_attribute("aria-describedby", re.compile("err-cve_ids"))
    expect(page.locator("#err-cve_ids")).to_contain_text("<img")
    expect(page.locator("#field-cvss_vectors")).to_have_value(VECTOR)  # what was typed is kept
    page.locator("#field-cve_ids").fill("CVE-2026-12345")
    page.get_by_role("button", name=words["submit"], exact=True).click()

    # --- Confirmation -----------------------------------------------------------------------------------
    number = page.locator("#confirmation-number").inner_text().strip()
    assert NUMBER.match(number), number
    expect(page.locator("main")).to_contain_text(words["one_business_day"])
    expect(page.locator("#acknowledgement-due")).to_contain_text("Europe/Istanbul")
    _shot(page, artifacts, "confirmation", language)

    # --- The marketplace acknowledges, replies and asks for an offer change --------------------------
    rita = world.actor("rita")
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    ticket_services.post_message(rita, confirmation_number=number, body=f"Thanks, we are on it. {IMG} {JS_LINK}")
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="modify_offer",
        offer="contoso-backup",
        description=f"Disable the upload endpoint in the listing. {SCRIPT}",
        due_at=timezone.now() + timedelta(days=3),
    )

    page.get_by_role("link", name=words["open_ticket"]).click()
    expect(page.locator("#ticket-number")).to_have_text(number)
    expect(page.locator("#ticket-priority")).to_have_text("P1")
    expect(page.locator("#ticket-severity")).to_have_text(words["critical"])
    expect(page.locator("#cvss-scores")).to_contain_text(VECTOR)
    _assert_shown_as_text(page, "#messages", "Thanks, we are on it.", IMG, JS_LINK)
    _assert_shown_as_text(page, "#report-description", SCRIPT, IMG)
    _assert_shown_as_text(page, "#requests", SCRIPT)
    assert page.locator('a[href^="javascript:"]').count() == 0

    # --- Reply with an attachment ------------------------------------------------------------------------
    page.locator("#reply-body").fill(f"Logs attached. {SCRIPT}")
    page.locator("#reply-files").set_input_files(
        files=[{"name": "upload.log", "mimeType": "text/plain", "buffer": b"POST /upload 200\n"}]
    )
    page.get_by_role("button", name=words["send_message"]).click()
    _assert_shown_as_text(page, "#messages", "Logs attached.", SCRIPT)
    expect(page.get_by_role("link", name="upload.log")).to_have_attribute("href", re.compile(r"/attachments/"))

    # --- Answer the offer-modification request in one step ------------------------------------------
    request_form = page.locator("#requests .answer-form")
    request_form.get_by_label(words["done_modified"]).check()
    request_form.locator("textarea[name=text]").fill(f"Upload disabled in 4.2.1. {IMG}")
    request_form.get_by_role("button", name=words["send_answer"]).click()
    expect(page.locator(".flash")).to_contain_text(words["answer_sent"])
    expect(page.locator("#earlier-requests")).to_contain_text(words["earlier"])
    expect(page.locator("#requests .answer-form")).to_have_count(0)

    # --- Co-edit and approve the customer notice -------------------------------------------------------
    page.get_by_role("button", name=words["start_notice"]).click()
    _assert_shown_as_text(page, "#notice-body", "Please update.", JS_LINK, IMG)
    page.locator("#notice-subject-input").fill(f"Security update for Contoso Backup {SCRIPT}")
    page.locator("#notice-body-input").fill(
        f"**Update to 4.2.1.** See [the advisory](https://contoso.example/advisory). {JS_LINK} {IMG}"
    )
    page.get_by_role("button", name=words["save_version"]).click()
    _assert_shown_as_text(page, "#notice-subject", SCRIPT)
    _assert_shown_as_text(page, "#notice-body", "Update to 4.2.1.", JS_LINK, IMG)
    expect(page.locator("#notice-body strong")).to_have_text("Update to 4.2.1.")
    expect(page.locator('#notice-body a[href="https://contoso.example/advisory"]')).to_have_attribute(
        "rel", "noopener noreferrer nofollow"
    )
    page.get_by_role("button", name=words["approve"]).click()
    expect(page.locator("#notice-approvals")).to_contain_text(words["approved_by"])
    expect(page.locator("#timeline")).to_contain_text("Europe/Istanbul")
    assert page.locator('a[href^="javascript:"]').count() == 0
    _shot(page, artifacts, "ticket", language)
    page.get_by_role("navigation", name=re.compile("Main|Ana")).get_by_role("link", name=words["my_tickets"]).click()
    expect(page.locator(f'tr[data-confirmation-number="{number}"]')).to_contain_text("P1")
    _shot(page, artifacts, "tickets", language)
    watch.assert_clean()


def test_keyboard_only_submission(live_server, page: Page, watch: PageWatch, world, sign_in):
    """Tab to move, Space to choose, typing to answer, Enter to submit: no mouse anywhere."""
    sign_in(page, "alice@contoso.example", TEST_PASSWORD, start="/tickets/new/")

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#field-category")  # "Security incident", the first of the group
    page.keyboard.press("Space")
    tab_to("#field-offers")
    page.keyboard.press("Space")
    tab_to("#field-description")
    page.keyboard.type("Credentials of the support portal leaked.")
    tab_to("#field-mitigation")  # "No fix or mitigation yet"
    page.keyboard.press("Space")
    tab_to("#field-customer_message")
    page.keyboard.type("No action needed yet.")
    tab_to("button[value=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#confirmation-number")).to_have_text(NUMBER)
    watch.assert_clean()


def test_the_request_form_works_without_javascript(live_server, new_context, world, session_for):
    context = new_context(java_script_enabled=False)
    session_for(context, world.users["alice"])
    page = context.new_page()
    page.goto(f"{live_server.url}/tickets/new/")
    expect(page.locator("#cvss-calculator")).to_be_hidden()  # the text area alone; the desk checks on submit
    page.get_by_label("Vulnerability", exact=True).check()
    page.get_by_label("Contoso Vault").check()
    page.locator("#field-description").fill("XXE in the import")
    page.locator("#field-cvss_vectors").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q")
    page.get_by_label("No fix or mitigation yet").check()
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#err-cvss_vectors")).to_contain_text("Line 1, metric A:")
    page.locator("#field-cvss_vectors").fill("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue your draft")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#confirmation-number")).to_have_text(NUMBER)


def test_main_pages_pass_axe(live_server, new_context, world, session_for, artifacts):
    """axe-core (WCAG 2.1 A/AA and best practices): no serious or critical violation on the main pages."""
    from secdesk.domain.intake import Answers
    from secdesk.notices import services as notice_services
    from secdesk.tickets import services as ticket_services
    from secdesk.tickets.storage import IncomingFile
    from secdesk.triage import services as triage

    alice, rita = world.actor("alice"), world.actor("rita")
    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup",),
        description="RCE in the upload endpoint.",
        cvss_vectors=(VECTOR,),
        mitigation="workaround",
        remediation_steps="Disable uploads.",
        customer_message="Please update to **4.2.1**.",
    )
    number = ticket_services.create_ticket(alice, answers=answers, submit=True).ticket.confirmation_number
    ticket_services.create_ticket(alice, answers=Answers(category="security_incident"))  # a draft
    ticket_services.post_message(
        alice, confirmation_number=number, body="Logs.", files=[IncomingFile("a.log", "text/plain", [b"x"])]
    )
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    ticket_services.post_message(rita, confirmation_number=number, body="Thanks, **on it**.")
    triage.create_request(
        rita,
        confirmation_number=number,
        kind="modify_offer",
        offer="contoso-backup",
        description="Disable uploads in the listing.",
        due_at=timezone.now() + timedelta(days=3),
    )
    notice_services.start_notice(alice, confirmation_number=number)

    # axe is injected as a script: this context alone lets it past the CSP (the desk never serves it).
    context = new_context(bypass_csp=True)
    session_for(context, world.users["alice"])
    page = context.new_page()
    pages = {
        "tickets": "/tickets/",
        "new-request": "/tickets/new/",
        "submitted": f"/tickets/{number}/submitted/",
        "ticket-detail": f"/tickets/{number}/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        if name == "new-request":
            for code, value in PICKS.items():
                page.locator(f"#m31_{code}-{value}").check()
            expect(page.locator("#cvss-result [data-cvss-score]")).to_have_text("9.8")
            page.get_by_role("button", name="Submit", exact=True).click()  # the form with its errors shown
            expect(page.locator("#error-summary")).to_be_visible()
        assert_accessible(page)
        page.screenshot(path=str(artifacts / f"axe-{name}.png"), full_page=True)
