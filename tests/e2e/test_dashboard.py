"""The responders' dashboard in a real browser (headless Chromium): accessible, within the CSP, readable.

A responder opens the dashboard from the navigation, changes the period with
the keyboard, opens a chart's data table; a hostile offer name shows as text;
axe-core finds no serious or critical problem; nothing breaks the strict CSP.
The screenshot goes to ``test-artifacts/web/dashboard.png``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.browser import PageWatch, assert_accessible

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("compiled_catalogues")]

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # the page is under test here, not the second factor


def _scene(world: Any) -> None:
    """Twelve weeks of tickets with varied acknowledgement delays and outcomes; offers under action."""
    from secdesk.domain import confirmation
    from secdesk.marketplace.models import Offer, OfferAction
    from secdesk.tickets.models import Ticket

    now = timezone.now()
    statuses = ["submitted", "acknowledged", "assessing", "awaiting_publisher", "remediating", "resolved", "closed"]
    severities = ["critical", "high", "medium", "medium", "low", "low", "none"]
    tickets = []
    for index in range(420):
        submitted = now - timedelta(days=(index * 37) % 84, hours=index % 11)
        status = statuses[index % len(statuses)]
        # Mostly a few hours, sometimes a day or two: some late.
        delay = timedelta(minutes=20 + (index * 53) % (60 * (8 if index % 5 else 40)))
        acknowledged = submitted + delay if status != "submitted" else None
        tickets.append(
            Ticket(
                confirmation_number=confirmation.generate(),
                organization=world.orgs["contoso" if index % 3 else "fabrikam"],
                created_by=world.users["alice" if index % 3 else "bob"],
                category="vulnerability",
                status=status,
                severity="" if status == "submitted" else severities[index % len(severities)],
                submitted_at=submitted,
                acknowledgement_due=submitted + timedelta(days=1),
                acknowledged_at=acknowledged,
                close_reason="resolved" if status == "closed" else "",
                remediation_due=acknowledged + timedelta(days=7 + index % 20) if acknowledged else None,
                remediation_breached_at=(
                    acknowledged + timedelta(days=7 + index % 20) if acknowledged and index % 4 == 0 else None
                ),
            )
        )
    Ticket.objects.bulk_create(tickets)
    Offer.objects.filter(slug="contoso-vault").update(name=f"Contoso Vault {XSS}", status="suspended")
    Offer.objects.filter(slug="fabrikam-monitor").update(status="delisted")
    Offer.objects.filter(slug="contoso-backup").update(status="modification_requested")
    for slug, action, status, days in (
        ("contoso-vault", "suspend", "suspended", 9),
        ("fabrikam-monitor", "delist", "delisted", 23),
    ):
        OfferAction.objects.create(
            offer=Offer.objects.get(slug=slug), action=action, reason="Actively exploited.", previous_status="live",
            new_status=status, taken_by=world.users["leo"], taken_at=now - timedelta(days=days),
            review_date=(now + timedelta(days=14)).date(),
        )  # fmt: skip


def test_a_responder_reads_the_dashboard(live_server, page: Page, watch: PageWatch, world, session_for, artifacts):
    _scene(world)
    session_for(page.context, world.users["rita"])
    page.goto(f"{live_server.url}/tickets/")
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")

    # Six charts, each an image named by its title, each followed by its data table.
    expect(page.locator("svg[role=img]")).to_have_count(6)
    expect(page.get_by_role("img", name="Time to acknowledge, distribution")).to_be_visible()
    expect(page.get_by_role("img", name="Open tickets by severity and age")).to_be_visible()
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    table = page.get_by_role("table", name="Offers under action, longest first")
    expect(table).to_be_hidden()
    page.locator("#chart-offers-heading ~ details summary").click()
    expect(table).to_be_visible()
    expect(table).to_contain_text(f"Contoso Vault {XSS}")  # shown as text, never run
    expect(table.get_by_role("link", name=f"Contoso Vault {XSS}")).to_have_attribute("href", "/offers/contoso-vault/")

    # The period, with the keyboard only: focus the select, pick the last choice (26 weeks), submit.
    page.get_by_label("Period").focus()
    page.keyboard.press("End")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/dashboard/?weeks=26")
    expect(page.get_by_label("Period")).to_have_value("26")
    expect(page.get_by_text("the last 26 weeks").first).to_be_visible()
    watch.assert_clean()


def test_the_dashboard_passes_axe(live_server, new_context, world, session_for, artifacts):
    """axe-core (WCAG 2.1 A/AA and best practices): no serious or critical violation, data tables open too."""
    _scene(world)
    # axe is injected as a script: this context alone lets it past the CSP (the desk never serves it).
    context = new_context(bypass_csp=True)
    session_for(context, world.users["audrey"])
    page = context.new_page()
    page.goto(f"{live_server.url}/dashboard/")
    for summary in page.locator("details summary").all():
        summary.click()
    expect(page.locator("details[open]")).to_have_count(6)
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "dashboard-tables.png"), full_page=True)

    response = page.goto(f"{live_server.url}/dashboard/?weeks=7")
    assert response is not None
    assert response.status == 400
    expect(page.get_by_label("Period")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-weeks")).to_contain_text("4, 12, 26")
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "dashboard-bad-period.png"), full_page=True)


def test_an_empty_desk_draws_empty_charts(live_server, page: Page, watch: PageWatch, world, session_for, new_context):
    session_for(page.context, world.users["leo"])
    page.goto(f"{live_server.url}/dashboard/?weeks=4")
    expect(page.locator("svg[role=img]")).to_have_count(6)
    expect(page.get_by_text("No data in this period").first).to_be_visible()
    watch.assert_clean()
    context = new_context(bypass_csp=True)
    session_for(context, world.users["leo"])
    checked = context.new_page()
    checked.goto(f"{live_server.url}/dashboard/?weeks=4")
    assert_accessible(checked)
