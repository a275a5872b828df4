"""The responders' offers and customers pages and the operations pages in a real browser (headless Chromium).

A lead opens an offer from a ticket (``?ticket=``), is refused without a reason,
then suspends it for the ticket; the offer then shows "Suspended" and the
action in its history. Hostile offer, customer and e-mail text must show up as
text with no dialog ever opened; every page keeps to the strict CSP; axe-core
finds no serious or critical problem on any of them. Screenshots go to
``test-artifacts/web/``.
"""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # the pages are under test here, not the second factor


def _scene(world) -> dict[str, Any]:
    """Tickets, a suspended offer, hostile names, a quarantined e-mail and a webhook with deliveries."""
    from secdesk.domain.intake import Answers
    from secdesk.inbound import services as inbound_services
    from secdesk.marketplace.models import Customer, CustomerContact, Offer
    from secdesk.tickets import services as ticket_services
    from secdesk.triage import services as triage
    from secdesk.webhooks import services as webhook_services
    from secdesk.webhooks.models import WebhookAttempt, WebhookDelivery
    from tests.inbound_fixtures import make_reply

    alice, rita, leo = world.actor("alice"), world.actor("rita"), world.actor("leo")
    numbers = []
    for index, offers in enumerate((("contoso-backup",), ("contoso-backup", "contoso-vault"), ("contoso-vault",))):
        answers = Answers(
            category="vulnerability" if index % 2 else "security_incident",
            description=f"Issue {index}",
            offers=offers,
            cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",) if index % 2 else (),
            mitigation="none",
        )
        number = ticket_services.create_ticket(alice, answers=answers, submit=True).ticket.confirmation_number
        numbers.append(number)
    triage.acknowledge(rita, confirmation_number=numbers[0], priority="P1", severity="critical")
    triage.acknowledge(rita, confirmation_number=numbers[1], priority="P1", severity="critical")
    triage.take_offer_action(
        leo,
        offer="fabrikam-monitor",
        action="suspend",
        reason="Credentials leaked from the build pipeline.",
        review_date=timezone.localdate() + timedelta(days=14),
    )
    Offer.objects.filter(slug="contoso-vault").update(name=f"Contoso Vault {SCRIPT}{IMG}")
    northwind = Customer.objects.get(slug="northwind")
    CustomerContact.objects.create(customer=northwind, email="ciso@northwind.example", name=f"CISO {IMG}")
    inbound = inbound_services.receive(
        make_reply(
            sender="stranger@unknown.example",
            subject=f"Please read {SCRIPT}",
            body=f"Our scanner found this on your portal {IMG}",
            headers={"Authentication-Results": "mx.example.net; dmarc=fail header.from=unknown.example"},
            attachments=[("scan-report.html", "text/html", SCRIPT.encode())],
        ),
        source="test",
    )
    endpoint = webhook_services.create_endpoint(alice, url="http://127.0.0.1:9/hook", events=["*"]).endpoint
    now = timezone.now()
    for index, status in enumerate(("delivered", "pending", "failed")):
        delivery = WebhookDelivery.objects.create(
            public_id=f"dlv_e2e{index}",
            endpoint=endpoint,
            event_id=f"evt_{index}.ticket.status_changed",
            event_type="ticket.status_changed",
            payload={},
            status=status,
            attempts=index + 1,
            next_attempt_at=now + timedelta(minutes=10),
            response_code={"delivered": 200, "failed": 503}.get(status),
            last_error="HTTP 503" if status == "failed" else "",
            delivered_at=now if status == "delivered" else None,
        )
        WebhookAttempt.objects.create(delivery=delivery, number=1, response_code=delivery.response_code, duration_ms=40)
    return {"numbers": numbers, "inbound_id": inbound.inbound_id, "webhook_id": endpoint.public_id}


def _shot(page: Page, artifacts: Any, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_a_lead_suspends_an_offer_for_a_ticket(live_server, page: Page, watch: PageWatch, world, sign_in, artifacts):
    from secdesk.marketplace.models import Offer, OfferAction

    scene = _scene(world)
    number = scene["numbers"][0]
    sign_in(page, "leo@marketplace.example", TEST_PASSWORD, start="/offers/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Offers")
    vault = page.locator('tr[data-offer="contoso-vault"] th a')
    expect(vault).to_contain_text(SCRIPT)  # a hostile name, shown as text
    expect(page.locator('tr[data-offer="fabrikam-monitor"] .offer-status')).to_have_text("Suspended")
    _shot(page, artifacts, "catalogue-offers")

    # From the ticket's triage page a lead arrives with the ticket filled in.
    page.goto(f"{live_server.url}/offers/contoso-backup/?ticket={number}")
    expect(page.locator("#offer-status")).to_have_text("Live")
    expect(page.locator("#field-confirmation_number")).to_have_value(number)
    page.locator("#action-suspend").check()
    page.get_by_role("button", name="Record the action").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#err-reason")).to_contain_text("reason")
    expect(page.locator("#field-reason")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-confirmation_number")).to_have_value(number)  # kept
    assert OfferAction.objects.filter(offer__slug="contoso-backup").count() == 0
    _shot(page, artifacts, "catalogue-offer-action-errors")

    page.locator("#action-suspend").check()
    page.locator("#field-reason").fill(f"Uploads exploited in the wild {SCRIPT}")
    page.locator("#field-review_date").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Record the action").click()
    page.wait_for_url(f"{live_server.url}/queue/{number}/")  # back to the ticket's triage page

    assert Offer.objects.get(slug="contoso-backup").status == "suspended"
    page.goto(f"{live_server.url}/offers/contoso-backup/")
    expect(page.locator("#offer-status")).to_have_text("Suspended")
    history = page.locator("#offer-actions tbody tr").first
    expect(history).to_contain_text("Suspended")
    expect(history).to_contain_text(number)
    expect(history).to_contain_text(SCRIPT)
    expect(page.locator("#action-reinstate")).to_be_visible()  # what can be done now
    _shot(page, artifacts, "catalogue-offer-suspended")
    watch.assert_clean()


def _pages(scene: dict[str, Any]) -> dict[str, str]:
    return {
        "catalogue-offers-list": "/offers/",
        "catalogue-offer-detail": "/offers/contoso-backup/",
        "catalogue-customers": "/customers/",
        "catalogue-customer-detail": "/customers/northwind/",
        "operations-quarantine": "/operations/quarantine/",
        "operations-quarantine-detail": f"/operations/quarantine/{scene['inbound_id']}/",
        "operations-webhooks": "/operations/webhooks/",
        "operations-webhook-detail": f"/operations/webhooks/{scene['webhook_id']}/",
    }


def test_pages_keep_to_the_csp_and_run_no_injected_script(
    live_server, page: Page, watch: PageWatch, world, session_for
):
    scene = _scene(world)
    session_for(page.context, world.users["leo"])
    for path in _pages(scene).values():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200, path
        assert "script-src 'self'" in (response.header_value("content-security-policy") or "")
        assert page.locator("main script, main img").count() == 0, path
    page.goto(f"{live_server.url}/operations/quarantine/{scene['inbound_id']}/")
    expect(page.locator("#mail-body")).to_contain_text(IMG)
    expect(page.locator("#mail-subject")).to_contain_text(SCRIPT)
    watch.assert_clean()


def test_catalogue_and_operations_pages_pass_axe(live_server, new_context, world, session_for, artifacts):
    """axe-core (WCAG 2.1 A/AA and best practices): no serious or critical violation, lead's and publisher's views."""
    scene = _scene(world)
    # axe is injected as a script: this context alone lets it past the CSP (the desk never serves it).
    context = new_context(bypass_csp=True)
    session_for(context, world.users["leo"])
    page = context.new_page()
    for name, path in _pages(scene).items():
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        assert_accessible(page)
        _shot(page, artifacts, name)

    # Forms shown again with their errors.
    page.goto(f"{live_server.url}/offers/contoso-backup/")
    page.get_by_role("button", name="Record the action").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}/operations/quarantine/{scene['inbound_id']}/")
    page.locator("#field-confirmation_number").fill("SEC-1234-5678-9X")
    page.get_by_role("button", name="Release to this ticket").click()
    expect(page.locator("#err-confirmation_number")).to_contain_text("typo")
    assert_accessible(page)
    _shot(page, artifacts, "operations-quarantine-release-error")

    # A publisher admin registers an endpoint: the secret, shown once.
    publisher = new_context(bypass_csp=True)
    session_for(publisher, world.users["alice"])
    page = publisher.new_page()
    page.goto(f"{live_server.url}/operations/webhooks/")
    page.locator("#field-url").fill("http://127.0.0.1:9/siem")
    page.locator("#field-description").fill("SIEM intake")
    page.get_by_label("Every move of a ticket through its lifecycle.").check()
    page.get_by_role("button", name="Register the endpoint").click()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    assert_accessible(page)
    _shot(page, artifacts, "operations-webhook-created")
    page.locator("#field-url").fill("ftp://example.org/")
    page.get_by_role("button", name="Register the endpoint").click()
    expect(page.locator("#err-url")).to_be_visible()
    expect(page.locator("#err-events")).to_be_visible()
    assert_accessible(page)
    _shot(page, artifacts, "operations-webhook-errors")
