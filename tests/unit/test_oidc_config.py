"""SECDESK_OIDC_PROVIDERS: parsed strictly at start-up, mapped to allauth's settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from secdesk.accounts.oidc import parse_providers, socialaccount_providers
from secdesk.config import ConfigError

OKTA = {
    "id": "okta",
    "name": "Okta",
    "issuer": "https://example.okta.com/",
    "client_id": "abc",
    "client_secret": "s3cret",
}
ENTRA = {
    "id": "entra",
    "name": "Microsoft Entra ID",
    "issuer": "https://login.microsoftonline.com/organizations/v2.0",
    "client_id": "def",
    "client_secret": "s3cret2",
    "tenant": "organizations",
}


def test_empty_means_no_providers():
    assert parse_providers("") == []
    assert parse_providers("  ") == []
    assert socialaccount_providers([])["openid_connect"]["APPS"] == []


def test_openid_connect_entry():
    [provider] = parse_providers(json.dumps([OKTA]))
    assert provider.issuer == "https://example.okta.com"
    app = socialaccount_providers([provider])["openid_connect"]["APPS"][0]
    assert app == {
        "provider_id": "okta",
        "name": "Okta",
        "client_id": "abc",
        "secret": "s3cret",
        "settings": {
            "server_url": "https://example.okta.com",
            "token_auth_method": "client_secret_basic",
            "oauth_pkce_enabled": True,
        },
    }


def test_token_auth_method_may_be_overridden():
    [provider] = parse_providers(json.dumps([{**OKTA, "token_auth_method": "client_secret_post"}]))
    app = socialaccount_providers([provider])["openid_connect"]["APPS"][0]
    assert app["settings"]["token_auth_method"] == "client_secret_post"


def test_a_tenant_selects_the_microsoft_provider():
    providers = parse_providers(json.dumps([OKTA, ENTRA]))
    setting = socialaccount_providers(providers)
    assert [a["provider_id"] for a in setting["openid_connect"]["APPS"]] == ["okta"]
    [app] = setting["microsoft"]["APPS"]
    assert app["provider_id"] == "entra"
    assert app["settings"]["tenant"] == "organizations"
    assert app["settings"]["login_url"] == "https://login.microsoftonline.com"
    assert app["settings"]["oauth_pkce_enabled"] is True
    assert "openid" in app["settings"]["scope"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"id": "x"}), "JSON list"),
        (json.dumps(["okta"]), "must be a JSON object"),
        (json.dumps([{k: v for k, v in OKTA.items() if k != "client_secret"}]), "missing client_secret"),
        (json.dumps([{**OKTA, "issuer": "ftp://x"}]), "issuer must be an https:// URL"),
        (json.dumps([{**OKTA, "issuer": "http://idp.example"}]), "must use https://"),
        (json.dumps([{**OKTA, "id": "Has Spaces"}]), ".id must be"),
        (json.dumps([{**OKTA, "client_id": ""}]), "client_id must be a non-empty string"),
        (json.dumps([{**OKTA, "token_auth_method": "private_key_jwt"}]), "token_auth_method must be one of"),
        (json.dumps([{**OKTA, "scopes": "x"}]), "unknown key(s) scopes"),
        (json.dumps([OKTA, OKTA]), "duplicate id(s) okta"),
        (json.dumps([ENTRA, {**ENTRA, "id": "entra2"}]), "at most one entry with a tenant"),
    ],
)
def test_malformed_values_are_refused_with_a_clear_message(value, message):
    with pytest.raises(ConfigError) as refused:
        parse_providers(value)
    assert message in str(refused.value)
    assert "SECDESK_OIDC_PROVIDERS" in str(refused.value)


def test_a_malformed_value_stops_start_up(tmp_path):
    env = {
        "SECDESK_OIDC_PROVIDERS": '[{"id": "x"}]',
        "SECDESK_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "secdesk.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECDESK_OIDC_PROVIDERS[0] is missing" in result.stderr
