"""The OpenID Connect providers the desk trusts, read from ``SECDESK_OIDC_PROVIDERS``.

The variable holds a JSON list, one object per provider::

    [{"id": "okta", "name": "Okta", "issuer": "https://example.okta.com",
      "client_id": "…", "client_secret": "…"},
     {"id": "entra", "name": "Microsoft Entra ID",
      "issuer": "https://login.microsoftonline.com/organizations/v2.0",
      "client_id": "…", "client_secret": "…", "tenant": "organizations"}]

Required keys: ``id``, ``name``, ``issuer``, ``client_id``, ``client_secret``.
Optional: ``token_auth_method`` (``client_secret_basic``, the default, or
``client_secret_post``); ``tenant`` (Microsoft Entra ID: ``organizations``,
``common`` or a tenant id), which selects allauth's ``microsoft`` provider
(multi-tenant sign-in; the ``tid`` claim places people in organisations);
``graph_url`` (Entra only, for tests).

Plain Python and read at start-up by ``settings.py``: a malformed value stops
the process with a :class:`~secdesk.config.ConfigError` naming the entry and
the key at fault.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from secdesk.config import ConfigError

ENV_VAR = "SECDESK_OIDC_PROVIDERS"
REQUIRED_KEYS = ("id", "name", "issuer", "client_id", "client_secret")
OPTIONAL_KEYS = ("token_auth_method", "tenant", "graph_url")
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# A provider id appears in URLs (/accounts/oidc/<id>/login/) and is stored on
# every social account: keep it a short, stable slug.
PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# Entra ID: the scopes that make the token answer carry an id_token (with tid and oid).
ENTRA_SCOPES = ("openid", "email", "profile", "User.Read")


@dataclass(frozen=True)
class OidcProvider:
    """One configured provider (see the module docstring)."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str
    token_auth_method: str = "client_secret_basic"  # noqa: S105 — a method name, not a secret
    tenant: str | None = None
    graph_url: str | None = None

    @property
    def is_entra(self) -> bool:
        return self.tenant is not None

    @property
    def login_url(self) -> str:
        """Entra ID's authority host (``https://login.microsoftonline.com``), from the issuer."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"


def _entry(index: int, raw: Any) -> OidcProvider:
    where = f"{ENV_VAR}[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a JSON object, not {type(raw).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise ConfigError(f"{where} is missing {', '.join(missing)} (required: {', '.join(REQUIRED_KEYS)})")
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {', '.join(unknown)}")
    for key in (*REQUIRED_KEYS, *OPTIONAL_KEYS):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise ConfigError(f"{where}.{key} must be a non-empty string")
    if not PROVIDER_ID.match(raw["id"]):
        raise ConfigError(f"{where}.id must be 1-40 lower-case letters, digits, '-' or '_', not {raw['id']!r}")
    issuer = raw["issuer"].strip().rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"{where}.issuer must be an https:// URL, not {raw['issuer']!r}")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"{where}.issuer must use https:// (plain http only for a provider on this machine)")
    method = raw.get("token_auth_method", "client_secret_basic")
    if method not in TOKEN_AUTH_METHODS:
        raise ConfigError(f"{where}.token_auth_method must be one of {', '.join(TOKEN_AUTH_METHODS)}, not {method!r}")
    return OidcProvider(
        id=raw["id"],
        name=raw["name"].strip(),
        issuer=issuer,
        client_id=raw["client_id"].strip(),
        client_secret=raw["client_secret"],
        token_auth_method=method,
        tenant=raw.get("tenant", "").strip() or None,
        graph_url=raw.get("graph_url", "").strip().rstrip("/") or None,
    )


def parse_providers(raw: str) -> list[OidcProvider]:
    """The providers in ``raw`` (the variable's value); an empty value means none."""
    if not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{ENV_VAR} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{ENV_VAR} must be a JSON list of provider objects")
    providers = [_entry(index, item) for index, item in enumerate(data)]
    ids = [p.id for p in providers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{ENV_VAR} has duplicate id(s) {', '.join(duplicates)}")
    if sum(p.is_entra for p in providers) > 1:
        # allauth's microsoft provider serves one app at /accounts/microsoft/: use
        # tenant "organizations" for several tenants rather than several entries.
        raise ConfigError(f"{ENV_VAR} may have at most one entry with a tenant (Microsoft Entra ID)")
    return providers


def socialaccount_providers(providers: list[OidcProvider]) -> dict[str, dict[str, Any]]:
    """The ``SOCIALACCOUNT_PROVIDERS`` setting for ``providers``."""
    oidc_apps: list[dict[str, Any]] = []
    result: dict[str, dict[str, Any]] = {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": oidc_apps}}
    for provider in providers:
        if provider.is_entra:
            entra_settings: dict[str, Any] = {
                "tenant": provider.tenant,
                "login_url": provider.login_url,
                "oauth_pkce_enabled": True,
                "scope": list(ENTRA_SCOPES),
            }
            if provider.graph_url:
                entra_settings["graph_url"] = provider.graph_url
            result["microsoft"] = {
                "APPS": [
                    {
                        "provider_id": provider.id,
                        "name": provider.name,
                        "client_id": provider.client_id,
                        "secret": provider.client_secret,
                        "settings": entra_settings,
                    }
                ]
            }
            continue
        oidc_apps.append(
            {
                "provider_id": provider.id,
                "name": provider.name,
                "client_id": provider.client_id,
                "secret": provider.client_secret,
                "settings": {
                    "server_url": provider.issuer,
                    "token_auth_method": provider.token_auth_method,
                    "oauth_pkce_enabled": True,
                },
            }
        )
    return result
