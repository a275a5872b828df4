"""The Django admin is there for staff: reference data editable, tickets read-only."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client(client, world):
    client.force_login(world.users["leo"])
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/marketplace/offer/",
        "/admin/marketplace/customer/",
        "/admin/marketplace/deployment/",
        "/admin/marketplace/offeraction/",
        "/admin/tickets/ticket/",
        "/admin/tickets/timelineevent/",
    ],
)
def test_a_lead_with_admin_access_sees_the_lists(lead_client, url, settings):
    settings.SECDESK_DEMO_RELAX_MFA = True
    response = lead_client.get(url, follow=False)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        # The MFA requirement may send staff to set up TOTP first — never to a server error.
        assert "/accounts/2fa/" in response["Location"]


def test_tickets_cannot_be_added_through_the_admin(world):
    from django.contrib.admin.sites import site

    from secdesk.tickets.models import Ticket

    model_admin = site._registry[Ticket]
    assert model_admin.has_add_permission(None) is False
    assert model_admin.has_change_permission(None) is False


def test_offers_are_registered_and_their_status_is_read_only():
    from django.contrib.admin.sites import site

    from secdesk.marketplace.models import Offer

    assert "status" in site._registry[Offer].readonly_fields
