from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "secdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        email_confirmed.connect(_ask_to_join_after_verification, dispatch_uid="secdesk.accounts.ask_to_join")


def _ask_to_join_after_verification(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    """A person with no organisation who verifies an address asks to join (the one owning its domain, if any)."""
    from secdesk.accounts import organizations
    from secdesk.accounts.models import Membership, User

    user = User.objects.filter(pk=email_address.user_id).first()
    if user is None or user.staff_role or Membership.objects.filter(user=user).exists():
        return
    organizations.request_membership(
        user, source="local", organization=organizations.organization_for_domain(email_address.email)
    )
