"""allauth's OpenID Connect and Microsoft callbacks, with the id_token always verified.

allauth skips the id_token signature check when the token came straight from
the token endpoint (OpenID Connect Core 3.1.3.7 allows that over TLS). The
desk checks it anyway: it costs one JWKS fetch per sign-in and still holds
when TLS is terminated somewhere unexpected or a provider is misconfigured.
It also checks that ``/userinfo`` describes the same subject as the id_token.

For Microsoft Entra ID (allauth's ``microsoft`` provider) the token answer's
id_token is verified the multi-tenant way — signed by a key of
``<login_url>/common/discovery/v2.0/keys``, issued by
``<login_url>/<tid>/v2.0`` for this client, about the same object (``oid``)
as Microsoft Graph's ``/me`` — and its ``tid`` kept on the social account, so
that the person can be placed in the organisation owning that tenant.

``secdesk/accounts/urls.py`` mounts these views on allauth's own callback
paths, ahead of ``allauth.urls``.
"""

from __future__ import annotations

from typing import Any

import jwt
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.microsoft.views import MicrosoftGraphOAuth2Adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse

# The consumer (personal Microsoft account) pseudo-tenant.
ENTRA_GENERIC_TENANTS = frozenset({"common", "organizations", "consumers"})


class VerifiedOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's adapter, verifying the id_token's signature every time."""

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )

    def complete_login(self, request: HttpRequest, app: SocialApp, token: Any, **kwargs: Any) -> Any:
        if not kwargs["response"].get("id_token"):
            raise OAuth2Error("the provider sent no id_token")
        login = super().complete_login(request, app, token, **kwargs)
        data = login.account.extra_data
        userinfo, claims = data.get("userinfo"), data.get("id_token")
        if userinfo is not None and str(userinfo.get("sub")) != str(claims.get("sub")):
            raise OAuth2Error("userinfo describes another subject than the id_token")
        return login


class VerifiedEntraAdapter(MicrosoftGraphOAuth2Adapter):
    """allauth's Microsoft Graph adapter, plus a verified id_token for the tenant id."""

    def complete_login(self, request: HttpRequest, app: SocialApp, token: Any, **kwargs: Any) -> Any:
        id_token = kwargs["response"].get("id_token")
        if not id_token:
            raise OAuth2Error("Entra ID sent no id_token (the scope must include openid)")
        login = super().complete_login(request, app, token, **kwargs)
        claims = self.verify_id_token(app, id_token)
        if str(claims.get("oid", claims.get("sub"))) != str(login.account.extra_data.get("id")):
            raise OAuth2Error("the id_token describes another user than Microsoft Graph")
        login.account.extra_data["tid"] = claims["tid"]
        return login

    def verify_id_token(self, app: SocialApp, id_token: str) -> dict[str, Any]:
        login_url = app.settings.get("login_url", "https://login.microsoftonline.com").rstrip("/")
        try:
            unverified = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise OAuth2Error("Invalid id_token") from exc
        tid = str(unverified.get("tid", ""))
        if not tid or "/" in tid:
            raise OAuth2Error("the id_token has no tenant id (tid)")
        tenant = app.settings.get("tenant", "organizations")
        if tenant not in ENTRA_GENERIC_TENANTS and tenant != tid:
            raise OAuth2Error("the id_token comes from another tenant than the one configured")
        # The issuer embeds the tenant id; with the signature it authenticates tid.
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=f"{login_url}/common/discovery/v2.0/keys",
            issuer=f"{login_url}/{tid}/v2.0",
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


@login_not_required
def oidc_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = OAuth2CallbackView.adapter_view(VerifiedOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


microsoft_callback = OAuth2CallbackView.adapter_view(VerifiedEntraAdapter)
