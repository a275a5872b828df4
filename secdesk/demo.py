"""Demo data for the embedded desk: two publishers, their offers, customers and staff.

Idempotent: running it again changes nothing except, when a password is
given, the demo users' passwords.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction

from secdesk.accounts.models import Membership, Organization, OrganizationDomain, User
from secdesk.domain.policy import Role
from secdesk.marketplace.models import Customer, CustomerContact, Deployment, Offer, Plan

PUBLISHERS: dict[str, dict[str, Any]] = {
    "contoso": {
        "name": "Contoso Ltd",
        "member": ("alice@contoso.example", "Alice Contoso"),
        "offers": {
            "contoso-backup": (
                "Contoso Backup",
                [("standard", "Standard", "4.2"), ("enterprise", "Enterprise", "4.3")],
            ),
            "contoso-vault": ("Contoso Vault", [("team", "Team", "2.0"), ("business", "Business", "2.1")]),
        },
    },
    "fabrikam": {
        "name": "Fabrikam Inc",
        "member": ("bob@fabrikam.example", "Bob Fabrikam"),
        "offers": {
            "fabrikam-gateway": ("Fabrikam Gateway", [("basic", "Basic", "1.8"), ("pro", "Pro", "1.9")]),
            "fabrikam-monitor": ("Fabrikam Monitor", [("cloud", "Cloud", "3.0"), ("onprem", "On-premises", "2.7")]),
        },
    },
}
STAFF = [
    ("rita@marketplace.example", "Rita Responder", Role.RESPONDER),
    ("leo@marketplace.example", "Leo Lead", Role.LEAD),
    ("audrey@marketplace.example", "Audrey Auditor", Role.AUDITOR),
]
CUSTOMERS = [
    ("northwind", "Northwind Traders", "tenant-northwind", "security@northwind.example"),
    ("tailspin", "Tailspin Toys", "tenant-tailspin", "soc@tailspin.example"),
    ("woodgrove", "Woodgrove Bank", "tenant-woodgrove", "cert@woodgrove.example"),
    ("adatum", "Adatum Corporation", "tenant-adatum", "it-security@adatum.example"),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: str
    password: str | None  # None when the user existed and no password was given


def _user(email: str, name: str, password: str | None, **extra: object) -> tuple[User, str | None]:
    user = User.objects.filter(email=email).first()
    if user is None:
        chosen = password or secrets.token_urlsafe(12)
        user = User.objects.create_user(email, chosen, full_name=name, **extra)
        return user, chosen
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    for key, value in extra.items():
        setattr(user, key, value)
    if extra:
        user.save(update_fields=list(extra))
    return user, password


def _verified_address(user: User) -> None:
    # Demo people sign in with a password at once: their address counts as verified.
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


@transaction.atomic
def load(password: str | None = None) -> list[DemoUser]:
    """Create (or refresh) the demo data; returns the demo users and any password set."""
    users: list[DemoUser] = []
    customers = []
    for slug, name, tenant, contact in CUSTOMERS:
        customer, _ = Customer.objects.get_or_create(slug=slug, defaults={"name": name, "tenant_id": tenant})
        CustomerContact.objects.get_or_create(customer=customer, email=contact, defaults={"name": f"{name} security"})
        customers.append(customer)
    for index, (org_slug, spec) in enumerate(PUBLISHERS.items()):
        org, _ = Organization.objects.get_or_create(slug=org_slug, defaults={"name": spec["name"]})
        OrganizationDomain.objects.get_or_create(domain=f"{org_slug}.example", defaults={"organization": org})
        email, full_name = spec["member"]
        user, chosen = _user(email, full_name, password)
        _verified_address(user)
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.PUBLISHER_ADMIN.value})
        users.append(DemoUser(email, f"publisher admin, {spec['name']}", chosen))
        for offer_index, (offer_slug, (offer_name, plans)) in enumerate(spec["offers"].items()):
            offer, _ = Offer.objects.get_or_create(
                slug=offer_slug,
                defaults={"organization": org, "name": offer_name, "security_contact": email},
            )
            for plan_index, (plan_slug, plan_name, version) in enumerate(plans):
                plan, _ = Plan.objects.get_or_create(
                    offer=offer, slug=plan_slug, defaults={"name": plan_name, "version": version}
                )
                # Spread deployments so each offer has a different set of affected customers.
                for customer in customers[(index + offer_index + plan_index) % 2 :: 2]:
                    Deployment.objects.get_or_create(customer=customer, offer=offer, plan=plan, version=version)
    for email, name, role in STAFF:
        user, chosen = _user(
            email, name, password, staff_role=role.value, is_staff=role is Role.LEAD, is_superuser=role is Role.LEAD
        )
        _verified_address(user)
        users.append(DemoUser(email, role.value, chosen))
    return users
