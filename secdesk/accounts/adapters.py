"""django-allauth adapters: how a sign-in becomes a secdesk user.

* E-mail addresses are stored lower-cased (the user model's invariant).
* A new account made by an OpenID Connect sign-in is placed in its
  organisation by :func:`secdesk.accounts.organizations.place_new_user` —
  by Entra ID tenant or by a **verified** e-mail domain — or waits in a
  pending membership request.
* A local account waits in a pending request once it has verified its
  address (see ``apps.py``), unless an invitation placed it.
* Refused sign-ins (bad state, bad token, provider errors) are logged with
  their reason; the person sees allauth's generic error page.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest

from secdesk.accounts import organizations
from secdesk.accounts.models import User

logger = logging.getLogger("secdesk.accounts.signin")


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()


def _verified(value: object) -> bool:
    # OIDC says boolean; some providers send the string "true". Anything else is unverified.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        for address in sociallogin.email_addresses:
            address.email = address.email.strip().lower()
            address.verified = _verified(address.verified)

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> User:
        user = super().populate_user(request, sociallogin, data)
        user.email = (user.email or "").strip().lower()
        name = data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        user.full_name = (name or "")[:200]
        return user

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        user = super().save_user(request, sociallogin, form)
        account = sociallogin.account
        tenant_id = account.extra_data.get("tid") if account.get_provider().id == "microsoft" else None
        addresses = sociallogin.email_addresses
        organizations.place_new_user(
            user,
            source=f"oidc:{account.provider}",
            tenant_id=tenant_id,
            verified_emails=[a.email for a in addresses if a.verified is True],
            unverified_emails=[a.email for a in addresses if a.verified is not True],
        )
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: BaseException | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        cause = exception.__cause__ if exception is not None and exception.__cause__ is not None else exception
        logger.warning(
            "sign-in refused: provider=%s error=%s reason=%s%s",
            getattr(provider, "sub_id", provider),
            error or "",
            type(cause).__name__ if cause is not None else "missing or replayed state",
            f": {cause}" if cause is not None else "",
        )
        super().on_authentication_error(request, provider, error, exception, extra_context)
