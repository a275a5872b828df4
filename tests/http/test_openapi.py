"""The OpenAPI document is complete and valid; every API route needs credentials except a tested allow-list."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver

from tests.http.test_api_tickets import no_nagle  # noqa: F401 — autouse fixture: a fast live server

pytestmark = pytest.mark.django_db(transaction=True)

API_PREFIX = "/api/v1"
#: The only API routes anyone may call without credentials.
PUBLIC_ROUTES = {"openapi.json", "docs"}
#: ninja's root route: it exists only to compute paths and answers 404 to everybody.
ROOT_ROUTE = ""
METHODS = ("get", "post", "put", "patch", "delete")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

#: The foundation's routes; later features may add more, never fewer.
REQUIRED_OPERATIONS = {
    ("/api/v1/tickets", "post"): "ticket_create",
    ("/api/v1/tickets", "get"): "ticket_list",
    ("/api/v1/tickets/{confirmation_number}", "get"): "ticket_show",
    ("/api/v1/tickets/{confirmation_number}", "patch"): "ticket_update",
    ("/api/v1/tickets/{confirmation_number}/submit", "post"): "ticket_submit",
    ("/api/v1/tickets/{confirmation_number}/messages", "get"): "message_list",
    ("/api/v1/tickets/{confirmation_number}/messages", "post"): "message_create",
    ("/api/v1/tickets/{confirmation_number}/attachments/{attachment_id}", "get"): "attachment_download",
    ("/api/v1/offers", "get"): "offer_list",
}


@pytest.fixture
def schema(live_server) -> dict[str, Any]:
    response = requests.get(live_server.url + API_PREFIX + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def api_routes() -> list[str]:
    """Every route under /api/v1/ as the Django URL resolver knows it (pattern text after the prefix)."""
    routes: list[str] = []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == API_PREFIX.strip("/") + "/":
            for inner in entry.url_patterns:
                assert isinstance(inner, URLPattern), f"nested resolver under the API: {inner}"
                routes.append(str(inner.pattern))
    assert routes, "the API is not mounted at /api/v1/"
    return sorted(set(routes))


def openapi_path(route: str) -> str:
    return API_PREFIX + "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def concrete_path(route: str) -> str:
    def sample(match: re.Match[str]) -> str:
        return "SEC-0000-0000-0" if match.group(1) == "confirmation_number" else "1"

    return API_PREFIX + "/" + re.sub(r"<(?:\w+:)?(\w+)>", sample, route)


def resolve_ref(schema: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = schema
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def walk_refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_refs(item)


def test_openapi_document_is_a_valid_openapi_3_document(schema):
    assert re.fullmatch(r"3\.\d+\.\d+", schema["openapi"])
    assert schema["info"]["title"] == "secdesk API"
    assert schema["info"]["version"] == "1.0.0"
    assert isinstance(schema["paths"], dict)
    assert schema["paths"]
    operation_ids = []
    for path, item in schema["paths"].items():
        assert path.startswith(API_PREFIX + "/"), path
        templated = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            assert method in HTTP_METHODS, (path, method)
            operation_ids.append(operation["operationId"])
            assert operation["responses"], (path, method)
            for status in operation["responses"]:
                assert re.fullmatch(r"[1-5]\d\d|default", str(status)), (path, method, status)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, (path, method)
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"path", "query", "header", "cookie"}
                if parameter["in"] == "path":
                    assert parameter["required"] is True
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    refs = list(walk_refs(schema))
    assert refs
    for ref in refs:
        resolve_ref(schema, ref)


def test_openapi_lists_every_foundation_route_with_bearer_security(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    for (path, method), operation_id in REQUIRED_OPERATIONS.items():
        assert path in schema["paths"], path
        operation = schema["paths"][path].get(method)
        assert operation is not None, (path, method)
        assert operation["operationId"] == operation_id
        assert {"BearerToken": []} in operation["security"], (path, method)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert {"BearerToken": []} in operation.get("security", []), f"{method.upper()} {path} is not secured"


def test_openapi_documents_request_bodies_and_problems(schema):
    create = schema["paths"]["/api/v1/tickets"]["post"]
    body = resolve_ref(schema, create["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    for field in ("category", "offers", "description", "cvss_vectors", "cve_ids", "cwe_ids", "mitigation"):
        assert field in body["properties"], field
    assert body.get("additionalProperties") is False
    assert {"201", "200", "401", "409", "422"} <= set(create["responses"])
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
    messages = schema["paths"]["/api/v1/tickets/{confirmation_number}/messages"]["post"]
    content = messages["requestBody"]["content"]
    assert set(content) >= {"application/json", "multipart/form-data"}
    files = content["multipart/form-data"]["schema"]["properties"]["files"]
    assert files == {"type": "array", "items": {"type": "string", "format": "binary"}}
    listing = schema["paths"]["/api/v1/tickets"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "category", "severity", "cursor", "limit"}


def test_every_api_route_is_in_the_openapi_document_and_needs_credentials(live_server, schema, world):
    routes = api_routes()
    documented = {path: {m for m in item if m in HTTP_METHODS} for path, item in schema["paths"].items()}
    session = requests.Session()
    public = set()
    for route in routes:
        url = live_server.url + concrete_path(route)
        answered_401 = set()
        for method in METHODS:
            response = session.request(method.upper(), url, json={}, timeout=10)
            if response.status_code == 401:
                assert response.headers["Content-Type"] == "application/problem+json"
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="secdesk"'
                answered_401.add(method)
            else:
                assert response.status_code in (200, 403, 404, 405), (method, route, response.status_code)
        if not answered_401:
            public.add(route)
            continue
        # A protected route refuses every method it has, and is documented with exactly those methods.
        assert answered_401 == documented.get(openapi_path(route)), route
    assert public == PUBLIC_ROUTES | {ROOT_ROUTE}
    protected = set(routes) - public
    assert len(protected) >= 7
    assert set(documented) == {openapi_path(r) for r in protected}


def test_the_public_routes_serve_the_documentation_only(live_server):
    anonymous = requests.Session()
    document = anonymous.get(live_server.url + API_PREFIX + "/openapi.json", timeout=10)
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.")
    docs = anonymous.get(live_server.url + API_PREFIX + "/docs", timeout=10)
    assert docs.status_code == 200
    assert docs.headers["Content-Type"].startswith("text/html")
    assert "openapi.json" in docs.text
    root = anonymous.get(live_server.url + API_PREFIX + "/", timeout=10)
    assert root.status_code == 404
