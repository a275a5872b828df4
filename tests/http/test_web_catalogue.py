"""The responders' offers and customers pages through Django's test client.

Staff only (publishers 403); the offer action form for leads only, its refusals
placed next to the fields with nothing saved; hostile names shown as text; a
bound on the queries of every page whatever the number of rows; and the
customer page's "tickets affecting it" agreeing with the notices' audience
rule (``tickets.selectors.affected_customers_of``).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from secdesk.domain import confirmation
from secdesk.domain.intake import Answers
from secdesk.domain.policy import Permission
from secdesk.marketplace.models import Customer, CustomerContact, Deployment, Offer, OfferAction, Plan
from secdesk.tickets import selectors as ticket_selectors
from secdesk.tickets import services as ticket_services
from secdesk.tickets.models import Ticket
from secdesk.triage import services as triage

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"

ROUTES = {
    "/offers/": Permission.QUEUE_READ,
    "/offers/contoso-backup/": Permission.QUEUE_READ,
    "/offers/contoso-backup/actions/": Permission.OFFER_ENFORCE,
    "/customers/": Permission.CUSTOMER_READ,
    "/customers/northwind/": Permission.CUSTOMER_READ,
}


@pytest.fixture(autouse=True)
def _staff_without_totp(settings):
    settings.SECDESK_DEMO_RELAX_MFA = True  # these tests are about the pages, not the second factor


def _ticket(world, offers=("contoso-backup",), *, description="RCE", acknowledge=False) -> str:
    answers = Answers(category="security_incident", description=description, offers=tuple(offers), mitigation="none")
    number = ticket_services.create_ticket(
        world.actor("alice"), answers=answers, submit=True
    ).ticket.confirmation_number
    if acknowledge:
        triage.acknowledge(world.actor("rita"), confirmation_number=number, priority="P2", severity="high")
    return number


def _review_date() -> str:
    return (timezone.localdate() + timedelta(days=30)).isoformat()


def _unknown_number() -> str:
    numbers = set(Ticket.objects.values_list("confirmation_number", flat=True))
    number = confirmation.generate()
    while number in numbers:
        number = confirmation.generate()
    return number


@pytest.mark.parametrize(("path", "permission"), sorted(ROUTES.items()))
def test_every_page_declares_its_permission(path, permission):
    assert resolve(path).func.permission is permission


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_pages_need_a_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_publishers_are_refused_every_page(client, world, name):
    client.force_login(world.users[name])
    for path in ROUTES:
        if path.endswith("/actions/"):
            continue
        assert client.get(path).status_code == 403, path
    before = OfferAction.objects.count()
    answer = client.post("/offers/contoso-backup/actions/", {"action": "suspend", "reason": "x"})
    assert answer.status_code == 403
    assert OfferAction.objects.count() == before


def test_the_offer_list_shows_status_counts_and_last_action(client, world):
    _ticket(world, ("contoso-backup", "contoso-vault"))
    _ticket(world, ("contoso-backup",))
    closed = _ticket(world, ("contoso-backup",))
    triage.transition(
        world.actor("leo"), confirmation_number=closed, action="close", close_reason="not_a_security_issue"
    )
    triage.take_offer_action(
        world.actor("leo"), offer="fabrikam-gateway", action="suspend", reason="RCE", review_date=timezone.localdate()
    )
    client.force_login(world.users["rita"])
    html = client.get("/offers/").content.decode()
    rows = dict(re.findall(r'<tr data-offer="([^"]+)" data-status="([^"]+)">', html))
    assert rows == {
        "contoso-backup": "live",
        "contoso-vault": "live",
        "fabrikam-gateway": "suspended",
        "fabrikam-monitor": "live",
    }
    backup = re.search(r'<tr data-offer="contoso-backup".*?</tr>', html, re.S).group(0)
    assert 'data-open-tickets="2"' in backup  # the closed one does not count
    customers = Deployment.objects.filter(offer__slug="contoso-backup").values("customer").distinct().count()
    assert f'data-customers="{customers}"' in backup
    gateway = re.search(r'<tr data-offer="fabrikam-gateway".*?</tr>', html, re.S).group(0)
    assert "offer-status--suspended" in gateway
    assert ">Suspended<" in gateway  # the status is said in words, not only by colour
    assert "Suspended <span" in gateway  # the last action


def test_the_offer_list_filters_and_refuses_a_wrong_filter(client, world):
    triage.take_offer_action(
        world.actor("leo"), offer="contoso-vault", action="delist", reason="gone", review_date=timezone.localdate()
    )
    client.force_login(world.users["audrey"])

    def slugs(query: dict[str, str]) -> list[str]:
        response = client.get("/offers/", query)
        assert response.status_code == 200
        return re.findall(r'<tr data-offer="([^"]+)"', response.content.decode())

    assert slugs({"status": "delisted"}) == ["contoso-vault"]
    assert slugs({"publisher": "fabrikam"}) == ["fabrikam-gateway", "fabrikam-monitor"]
    assert slugs({"q": "VAULT"}) == ["contoso-vault"]
    assert slugs({"q": "monitor", "publisher": "contoso"}) == []
    wrong = client.get("/offers/", {"status": "gone"})
    assert wrong.status_code == 400
    assert 'id="err-status"' in wrong.content.decode()
    assert client.get("/offers/", {"cursor": "not-ours"}).status_code == 400


def test_the_offer_list_pages_with_bounded_queries(client, world, django_assert_max_num_queries):
    contoso = world.orgs["contoso"]
    customers = list(Customer.objects.all())
    for index in range(60):
        offer = Offer.objects.create(organization=contoso, slug=f"bulk-{index:03d}", name=f"Bulk {index} {XSS}")
        plan = Plan.objects.create(offer=offer, slug="std", name="Standard", version="1.0")
        for customer in customers:
            Deployment.objects.create(customer=customer, offer=offer, plan=plan, version="1.0")
        OfferAction.objects.create(
            offer=offer,
            action="suspend",
            reason="r",
            previous_status="live",
            new_status="live",
            taken_by=world.users["leo"],
        )
    for index in range(5):
        _ticket(world, ("contoso-backup",), description=f"t{index}")
    client.force_login(world.users["rita"])
    with django_assert_max_num_queries(10):
        first = client.get("/offers/")
    html = first.content.decode()
    assert html.count("<tr data-offer=") == 25
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    next_url = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(10):
        second = client.get("/offers/" + next_url)
    later = re.findall(r'<tr data-offer="([^"]+)"', second.content.decode())
    assert len(later) == 25
    assert later[0] > re.findall(r'<tr data-offer="([^"]+)"', html)[-1]  # keyset: no row twice


def test_the_offer_page_shows_plans_deployments_tickets_and_history(client, world, django_assert_max_num_queries):
    open_number = _ticket(world, acknowledge=True)
    closed = _ticket(world)
    triage.transition(
        world.actor("leo"), confirmation_number=closed, action="close", close_reason="not_a_security_issue"
    )
    triage.take_offer_action(
        world.actor("leo"),
        offer="contoso-backup",
        action="suspend",
        reason=f"Uploads exploited {XSS}",
        review_date=timezone.localdate() + timedelta(days=7),
        confirmation_number=open_number,
    )
    client.force_login(world.users["rita"])
    with django_assert_max_num_queries(14):
        response = client.get("/offers/contoso-backup/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="offer-status" data-status="suspended">Suspended<' in html
    assert "Standard" in html
    assert "Enterprise" in html
    open_table = re.search(r'<table class="data-table" id="open-tickets">.*?</table>', html, re.S).group(0)
    assert f'href="/queue/{open_number}/"' in open_table
    assert closed not in open_table
    assert closed in re.search(r'id="other-tickets">.*?</table>', html, re.S).group(0)
    history = re.search(r'id="offer-actions">.*?</table>', html, re.S).group(0)
    assert "Leo Lead" in history
    assert "&lt;script&gt;" in history
    assert "<script>alert" not in html
    assert open_number in history
    assert 'id="offer-action-form"' not in html  # a responder does not enforce
    # More tickets do not mean more queries.
    for index in range(12):
        _ticket(world, description=f"more {index}")
    with django_assert_max_num_queries(14):
        client.get("/offers/contoso-backup/")


def test_a_lead_sees_the_form_with_the_ticket_filled_in(client, world):
    number = _ticket(world)
    client.force_login(world.users["leo"])
    html = client.get(f"/offers/contoso-backup/?ticket={number}").content.decode()
    form = re.search(r'<form method="post" action="/offers/contoso-backup/actions/".*?</form>', html, re.S).group(0)
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'name="confirmation_number" value="{number}"' in form
    assert 'value="suspend"' in form
    assert 'value="delist"' in form
    assert 'value="reinstate"' not in form  # a live offer cannot be reinstated


def test_a_lead_suspends_an_offer_for_a_ticket(client, world):
    number = _ticket(world, acknowledge=True)
    client.force_login(world.users["leo"])
    response = client.post(
        "/offers/contoso-backup/actions/",
        {
            "action": "suspend",
            "reason": "Exploited in the wild",
            "review_date": _review_date(),
            "confirmation_number": number.lower(),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/queue/{number}/"
    offer = Offer.objects.get(slug="contoso-backup")
    assert offer.status == "suspended"
    action = OfferAction.objects.get(offer=offer)
    assert action.ticket.confirmation_number == number
    assert action.taken_by == world.users["leo"]
    ticket = Ticket.objects.get(confirmation_number=number)
    assert ticket.timeline.filter(kind="offer.suspend").exists()
    page = client.get("/offers/contoso-backup/").content.decode()
    assert "Contoso Backup is now Suspended." in page
    # Reinstating needs no review date, and without a ticket it returns to the offer's page.
    back = client.post("/offers/contoso-backup/actions/", {"action": "reinstate", "reason": "Fixed in 4.2.1"})
    assert back.status_code == 302
    assert back["Location"] == "/offers/contoso-backup/"
    assert Offer.objects.get(slug="contoso-backup").status == "live"


def test_refusals_sit_next_to_their_fields_and_save_nothing(client, world):
    answers = Answers(category="security_incident", description="x", offers=("fabrikam-gateway",), mitigation="none")
    fabrikam = ticket_services.create_ticket(world.actor("bob"), answers=answers, submit=True).ticket
    client.force_login(world.users["leo"])
    url = "/offers/contoso-backup/actions/"

    def refused(data: dict[str, str], field: str, status: int = 400) -> str:
        response = client.post(url, data)
        assert response.status_code == status, response.content.decode()[:2000]
        html = response.content.decode()
        assert f'id="err-{field}"' in html
        control = re.search(rf'<(?:input|textarea|fieldset)[^>]*id="field-{field}"[^>]*>', html).group(0)
        assert f"err-{field}" in control  # tied to the field (aria-describedby)
        assert 'id="error-summary"' in html
        return re.search(rf'<div class="field-error" id="err-{field}">(.*?)</div>', html, re.S).group(1)

    assert "reason" in refused({"action": "suspend", "review_date": _review_date()}, "reason").lower()
    assert "review" in refused({"action": "suspend", "reason": "r"}, "review_date").lower()
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert "past" in refused({"action": "suspend", "reason": "r", "review_date": past}, "review_date")
    refused({"action": "", "reason": "r", "review_date": _review_date()}, "action")
    typo = refused(
        {
            "action": "suspend",
            "reason": "typed",
            "review_date": _review_date(),
            "confirmation_number": "SEC-1234-5678-9X",
        },
        "confirmation_number",
    )
    assert "typo" in typo
    unknown = refused(
        {"action": "suspend", "reason": "r", "review_date": _review_date(), "confirmation_number": _unknown_number()},
        "confirmation_number",
    )
    assert "No ticket" in unknown
    elsewhere = refused(
        {
            "action": "suspend",
            "reason": "r",
            "review_date": _review_date(),
            "confirmation_number": fabrikam.confirmation_number,
        },
        "confirmation_number",
    )
    assert "does not concern" in elsewhere
    refused({"action": "reinstate", "reason": "not suspended"}, "action", status=409)
    # What was typed is shown again.
    kept = client.post(url, {"action": "suspend", "reason": f"kept {XSS}"}).content.decode()
    assert "kept &lt;script&gt;alert(1)&lt;/script&gt;" in kept
    assert re.search(r'<input type="radio" id="action-suspend"[^>]* checked>', kept)
    assert OfferAction.objects.count() == 0
    assert Offer.objects.get(slug="contoso-backup").status == "live"


@pytest.mark.parametrize("name", ["audrey", "rita"])
def test_only_leads_act_on_offers(client, world, name):
    client.force_login(world.users[name])
    assert 'id="offer-action-form"' not in client.get("/offers/contoso-backup/").content.decode()
    answer = client.post(
        "/offers/contoso-backup/actions/", {"action": "suspend", "reason": "r", "review_date": _review_date()}
    )
    assert answer.status_code == 403
    assert Offer.objects.get(slug="contoso-backup").status == "live"
    assert not OfferAction.objects.exists()


def test_a_missing_offer_is_404(client, world):
    client.force_login(world.users["leo"])
    assert client.get("/offers/no-such-offer/").status_code == 404
    assert client.post("/offers/no-such-offer/actions/", {"action": "suspend"}).status_code == 404
    assert client.get("/customers/no-such-customer/").status_code == 404


def test_the_action_form_needs_the_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["leo"])
    data = {"action": "suspend", "reason": "r", "review_date": _review_date()}
    assert client.post("/offers/contoso-backup/actions/", data).status_code == 403
    assert Offer.objects.get(slug="contoso-backup").status == "live"


def test_the_customer_list_searches_and_pages_with_bounded_queries(client, world, django_assert_max_num_queries):
    offer = world.offers["contoso-backup"]
    for index in range(40):
        customer = Customer.objects.create(slug=f"bulk-{index:03d}", name=f"Bulk {index} {XSS}", tenant_id=f"t-{index}")
        CustomerContact.objects.create(customer=customer, email=f"sec{index}@bulk.example")
        Deployment.objects.create(customer=customer, offer=offer, version="4.2")
    client.force_login(world.users["rita"])
    with django_assert_max_num_queries(8):
        first = client.get("/customers/")
    html = first.content.decode()
    assert html.count("<tr data-customer=") == 25
    assert "<script>alert(1)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    next_url = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(8):
        second = client.get("/customers/" + next_url).content.decode()
    assert second.count("<tr data-customer=") == 40 + 4 - 25
    found = client.get("/customers/", {"q": "tenant-north"}).content.decode()
    assert re.findall(r'<tr data-customer="([^"]+)"', found) == ["northwind"]
    assert client.get("/customers/", {"cursor": "%%%"}).status_code == 400


def test_the_customer_page_lists_contacts_deployments_and_affecting_tickets(
    client, world, django_assert_max_num_queries
):
    northwind = Customer.objects.get(slug="northwind")
    CustomerContact.objects.create(
        customer=northwind, email="ciso@northwind.example", name=f"CISO {XSS}", language="tr"
    )
    runs = set(Deployment.objects.filter(customer=northwind).values_list("offer__slug", flat=True))
    affecting = _ticket(world, ("contoso-backup",), acknowledge=True)
    # Narrowed to a plan Northwind does not run (it runs Contoso Backup on Standard).
    unrelated = _ticket(world, ("contoso-backup",), acknowledge=True)
    triage.set_affected(world.actor("leo"), confirmation_number=unrelated, plans=["contoso-backup/enterprise"])
    client.force_login(world.users["audrey"])
    with django_assert_max_num_queries(12):
        response = client.get("/customers/northwind/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "tenant-northwind" in html
    assert "security@northwind.example" in html
    assert "CISO &lt;script&gt;" in html
    assert "<script>alert" not in html
    for slug in runs:
        assert f'<tr data-offer="{slug}">' in html
    assert f'href="/queue/{affecting}/"' in html
    assert unrelated not in html
    for index in range(10):
        _ticket(world, ("contoso-vault",), description=f"more {index}")
    with django_assert_max_num_queries(12):
        client.get("/customers/northwind/")


def test_tickets_affecting_a_customer_follow_the_audience_rule(world):
    """For every customer and ticket: listed on the customer's page iff the ticket counts it as affected."""
    leo = world.actor("leo")
    plain = _ticket(world, ("contoso-backup",))
    narrowed = _ticket(world, ("contoso-backup", "contoso-vault"), acknowledge=True)
    triage.set_affected(leo, confirmation_number=narrowed, plans=["contoso-backup/enterprise"], versions=["4.3"])
    other_version = _ticket(world, ("contoso-vault",), acknowledge=True)
    triage.set_affected(leo, confirmation_number=other_version, versions=["9.9"])
    # A deployment of unknown version is warned about whatever versions are named.
    tailspin = Customer.objects.get(slug="tailspin")
    Deployment.objects.create(customer=tailspin, offer=world.offers["contoso-vault"], plan=None, version="")
    numbers = [plain, narrowed, other_version]
    for customer in Customer.objects.all():
        listed = ticket_selectors.tickets_affecting(leo, customer)
        shown = {t.confirmation_number for t in [*listed.open, *listed.other]}
        expected = {
            number
            for number in numbers
            if ticket_selectors.affected_customers_of(Ticket.objects.get(confirmation_number=number))
            .filter(pk=customer.pk)
            .exists()
        }
        assert shown == expected, customer.slug
    assert any(
        plain in {t.confirmation_number for t in ticket_selectors.tickets_affecting(leo, c).open}
        for c in Customer.objects.all()
    )
