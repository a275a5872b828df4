"""Every route x role x organisation, enumerated from the URL resolver and the OpenAPI document.

A new route cannot escape: an API operation must declare its permission
(``x-permissions``) and have a sample request here, and a web route must be
on the public allow-list or carry a ``permission`` attribute — otherwise
these tests fail and say what to add. For each operation:

- anonymous callers get 401;
- a role that holds none of the declared permissions on Contoso's objects
  never gets a 2xx (the policy module is the oracle);
- Fabrikam's publisher asking for Contoso's objects gets 404, exactly like a
  missing object;
- a read-scoped token never changes anything.

Only callers that must be refused are sent, so no request here changes state
unless the desk is wrong.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from secdesk.accounts.models import MembershipRequest, User
from secdesk.domain.intake import Answers
from secdesk.domain.policy import Permission, can
from secdesk.inbound import services as inbound_services
from secdesk.notices import services as notice_services
from secdesk.tickets import services as ticket_services
from secdesk.tickets.storage import IncomingFile
from secdesk.triage import services as triage
from secdesk.webhooks import services as webhook_services

pytestmark = pytest.mark.django_db(transaction=True)

# A valid request body for each operation that takes one: refusals must come
# from authorisation, not from validation.
BODIES: dict[str, dict[str, object] | None] = {
    "ticket_create": {"category": "vulnerability", "offers": ["contoso-backup"], "description": "x"},
    "ticket_update": {"description": "changed"},
    "ticket_submit": None,
    "message_create": {"body": "hello"},
    "ticket_acknowledge": {"priority": "P1", "severity": "critical"},
    "ticket_reclassify": {"priority": "P2", "reason": "because"},
    "ticket_assign": {"assignee": "me"},
    "ticket_assess": {"outcome": "confirmed", "summary": "ok"},
    "ticket_transition": {"action": "start_assessment"},
    "ticket_withdraw": {"reason": "mistake"},
    "ticket_set_affected": {"plans": [], "versions": []},
    "request_create": {"kind": "information", "description": "more please", "due_at": "2099-01-01T00:00:00+00:00"},
    "request_answer": {"response": "done", "text": "here"},
    "request_decide_extension": {"decision": "granted"},
    "offer_action_create": {"action": "suspend", "reason": "r", "review_date": "2099-01-01"},
    "notice_start": None,
    "notice_edit": {"subject": "s", "body": "b", "base_version": 1},
    "notice_approve": {"version": 1},
    "member_invite": {"email": "new@contoso.example"},
    "member_remove": None,
    "membership_request_approve": {},
    "membership_request_reject": {},
    "inbound_release": {"confirmation_number": "SEC-0000-0000-0"},
    "inbound_discard": {},
    "webhook_create": {"url": "https://hooks.example.org/secdesk", "events": ["*"]},
    "webhook_delete": None,
}
# Query parameters an operation needs to get past validation.
QUERIES: dict[str, dict[str, object]] = {"notice_diff": {"from": 1, "to": 1}}
# Web routes anyone may reach (sign-in pages, static files, the admin's own login).
PUBLIC_WEB = [
    r"^$",  # the home page sends anonymous visitors to sign in
    r"^admin/",  # Django admin: staff flag and its own permissions
    r"^accounts/",  # django-allauth: sign-in, sign-up, e-mail, password reset, MFA
    r"^invitations/",  # invitation links are signed tokens; accepting needs a signed-in, verified e-mail
    r"^api/v1/",  # covered operation by operation below
    r"^static/",
    r"^preferences/$",  # one's own language and timezone: login_required, nobody else's (tests/http)
    r"^i18n/",  # Django's set_language: stores the chosen language in a cookie (a CSRF-checked POST)
]
ROLES = ["alice", "bob", "rita", "leo", "audrey"]


@pytest.fixture
def scene(world, live_server, token_for):
    """Contoso's ticket with a message, an attachment, a request and a notice; a pending membership request."""
    alice, rita = world.actor("alice"), world.actor("rita")
    answers = Answers(
        category="vulnerability",
        offers=("contoso-backup",),
        description="RCE",
        cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",),
        mitigation="none",
        customer_message="Please update.",
    )
    ticket, _ = ticket_services.create_ticket(alice, answers=answers, submit=True)
    number = ticket.confirmation_number
    message = ticket_services.post_message(
        alice, confirmation_number=number, body="logs", files=[IncomingFile("a.txt", "text/plain", [b"data"])]
    )
    triage.acknowledge(rita, confirmation_number=number, priority="P1", severity="critical")
    request = triage.create_request(
        rita, confirmation_number=number, kind="information", description="?", due_at=timezone.now() + timedelta(days=2)
    )
    notice_services.start_notice(alice, confirmation_number=number)
    newcomer = User.objects.create_user("dave@unknown.example", "pw-long-enough-123")
    pending = MembershipRequest.objects.create(user=newcomer, organization=world.orgs["contoso"])
    quarantined = inbound_services.receive(
        b"From: stranger@unknown.example\r\nSubject: hello\r\n\r\nhi\r\n", source="test"
    )
    endpoint = webhook_services.create_endpoint(alice, url=live_server.url + "/hook", events=["*"]).endpoint
    values = {
        "inbound_id": str(quarantined.inbound_id),
        "webhook_id": endpoint.public_id,
        "confirmation_number": number,
        "attachment_id": message.attachments.get().public_id,
        "email": "alice@contoso.example",
    }
    return {
        "values": values,
        "request_ids": {"requests": request.public_id, "membership-requests": str(pending.pk)},
        "slugs": {"offers": "contoso-backup", "organizations": "contoso"},
        "url": live_server.url,
        "tokens": {name: token_for(name) for name in ROLES},
        "read_tokens": {name: token_for(name, "read") for name in ROLES},
        "org": world.orgs["contoso"].pk,
        "world": world,
    }


def operations(client_get):
    schema = client_get("/api/v1/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            yield path, method.upper(), op


def fill(path: str, scene) -> str:
    first = path.removeprefix("/api/v1/").split("/", 1)[0]

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "request_id":
            return scene["request_ids"][first]
        if name == "slug":
            return scene["slugs"][first]
        if name not in scene["values"]:
            raise AssertionError(f"tests/security: add a sample value for path parameter {name!r} ({path})")
        return scene["values"][name]

    return re.sub(r"{(\w+)}", value, path)


def send(session, method: str, url: str, operation_id: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = BODIES.get(operation_id)
    kwargs = {"json": body} if body is not None else {}
    return session.request(method, url, headers=headers, params=QUERIES.get(operation_id), timeout=30, **kwargs)


def holds(actor, declared, *, organization_id: int | None) -> bool:
    """For an object of ``organization_id``; for a list (None), held for any of the actor's organisations."""
    if organization_id is not None:
        return any(can(actor, p, organization_id=organization_id) for p in declared)
    scopes = [None, *actor.organization_ids()]
    return any(can(actor, p, organization_id=scope) for p in declared for scope in scopes)


def test_every_route_is_declared_and_refuses_whom_the_policy_refuses(scene):
    import requests

    session = requests.Session()
    get = lambda path: session.get(scene["url"] + path, timeout=30)  # noqa: E731 — a tiny local shorthand
    seen = 0
    failures: list[str] = []
    for path, method, op in operations(get):
        seen += 1
        operation_id = op.get("operationId", f"{method} {path}")
        declared = [Permission(p) for p in op.get("x-permissions", [])]
        if not declared:
            failures.append(f"{method} {path}: declares no permission (use @requires)")
            continue
        if method != "GET" and operation_id not in BODIES:
            failures.append(f"{method} {path}: add a sample body for {operation_id!r} in tests/security")
            continue
        url = scene["url"] + fill(path, scene)
        object_scoped = "{" in path

        anonymous = send(session, method, url, operation_id, None)
        if anonymous.status_code != 401:
            failures.append(f"{method} {path}: anonymous got {anonymous.status_code}, not 401")

        for name in ROLES:
            actor = scene["world"].actor(name)
            allowed = holds(actor, declared, organization_id=scene["org"] if object_scoped else None)
            if name == "bob" and object_scoped:
                response = send(session, method, url, operation_id, scene["tokens"][name])
                if response.status_code != 404:
                    failures.append(f"{method} {path}: another organisation's publisher got {response.status_code}")
            elif not allowed:
                response = send(session, method, url, operation_id, scene["tokens"][name])
                if 200 <= response.status_code < 300:
                    failures.append(f"{method} {path}: {name} lacks {declared} but got {response.status_code}")
            if method != "GET":
                response = send(session, method, url, operation_id, scene["read_tokens"][name])
                if 200 <= response.status_code < 300:
                    failures.append(f"{method} {path}: a read-scoped token of {name} changed something")
    assert seen >= 35, f"only {seen} operations found: is the OpenAPI document complete?"
    assert not failures, "\n".join(failures)


def _walk(patterns, prefix=""):
    for item in patterns:
        if isinstance(item, URLResolver):
            yield from _walk(item.url_patterns, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            yield prefix + str(item.pattern), item.callback


def test_every_web_route_is_public_by_name_or_declares_its_permission():
    undeclared = []
    for route, view in _walk(get_resolver().url_patterns):
        if any(re.match(rule, route) for rule in PUBLIC_WEB):
            continue
        permission = getattr(view, "permission", None) or getattr(getattr(view, "view_class", None), "permission", None)
        if not isinstance(permission, Permission):
            undeclared.append(route)
    assert undeclared == [], f"web routes neither public nor declaring a permission: {undeclared}"


def test_the_allow_list_is_not_a_blanket():
    # The allow-list must not swallow the signed-in pages of the product.
    routes = [route for route, _ in _walk(get_resolver().url_patterns)]
    assert any(route.startswith("account/") for route in routes)
    assert not any(re.match(rule, "account/tokens/") for rule in PUBLIC_WEB)


def _web_url(route: str, scene) -> str:
    """A concrete URL for a web route pattern, with Contoso's objects for its parameters."""
    values = {
        **scene["values"],
        "request_id": scene["request_ids"]["requests"],
        "token_id": str(scene["alice_token_id"]),
        # The responders' pages name offers and customers by slug.
        "offer_slug": "contoso-backup",
        "customer_slug": "northwind",
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AssertionError(f"tests/security: add a sample value for web route parameter {name!r} ({route})")
        return values[name]

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route).lstrip("^").rstrip("$")


@pytest.fixture
def web_scene(scene, world):
    from secdesk.accounts.models import ApiToken

    scene["alice_token_id"] = ApiToken.objects.filter(user=world.users["alice"]).values_list("pk", flat=True).first()
    return scene


def test_every_web_view_refuses_whom_the_policy_refuses(web_scene, client, world, settings):
    """Web views x roles x organisation: anonymous never served, another organisation 404, no 2xx without it."""
    settings.SECDESK_DEMO_RELAX_MFA = True  # staff sessions without TOTP: the policy is under test here, not MFA
    failures: list[str] = []
    checked = 0
    for route, view in _walk(get_resolver().url_patterns):
        permission = getattr(view, "permission", None)
        if not isinstance(permission, Permission):
            continue
        checked += 1
        url = _web_url(route, web_scene)
        object_scoped = "<" in route
        client.logout()
        for method in ("get", "post"):
            answer = getattr(client, method)(url)
            if 200 <= answer.status_code < 300:
                failures.append(f"{method.upper()} {url}: anonymous got {answer.status_code}")
        for name in ROLES:
            client.force_login(world.users[name])
            actor = world.actor(name)
            allowed = holds(actor, (permission,), organization_id=web_scene["org"] if object_scoped else None)
            for method in ("get", "post"):
                answer = getattr(client, method)(url)
                if name == "bob" and object_scoped and "confirmation_number" in route:
                    if answer.status_code not in (404, 405):
                        failures.append(
                            f"{method.upper()} {url}: another organisation's publisher got {answer.status_code}"
                        )
                elif not allowed and 200 <= answer.status_code < 300:
                    failures.append(
                        f"{method.upper()} {url}: {name} lacks {permission.value} but got {answer.status_code}"
                    )
            client.logout()
    assert checked >= 10, f"only {checked} web views declare a permission"
    assert not failures, "\n".join(failures)
