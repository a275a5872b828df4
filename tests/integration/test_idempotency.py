"""Idempotent ticket creation: a retried request never files a second ticket, even when retries race."""

from __future__ import annotations

import threading

import pytest

from secdesk.domain.errors import Conflict, InvalidInput
from secdesk.domain.intake import Answers
from secdesk.tickets import services
from secdesk.tickets.models import Ticket, TimelineEvent
from tests.http.test_api_tickets import no_nagle  # noqa: F401 — autouse fixture: a fast live server

ANSWERS = Answers(
    category="vulnerability",
    offers=("contoso-backup",),
    description="Stored XSS in the report viewer.",
    cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",),
    mitigation="none",
)


# --- the service ------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_key_same_input_returns_the_first_ticket(world):
    alice = world.actor("alice")
    first, created = services.create_ticket(alice, answers=ANSWERS, submit=True, idempotency_key="retry-1")
    again, created_again = services.create_ticket(alice, answers=ANSWERS, submit=True, idempotency_key="retry-1")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert again.confirmation_number == first.confirmation_number
    assert Ticket.objects.count() == 1
    assert TimelineEvent.objects.count() == 2  # created + submitted, once


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"answers": Answers(**{**ANSWERS.__dict__, "description": "something else"})},
        {"submit": False},
        {"organization": "contoso"},
    ],
)
def test_same_key_other_input_is_a_conflict(world, change):
    alice = world.actor("alice")
    services.create_ticket(alice, answers=ANSWERS, submit=True, idempotency_key="k")
    kwargs = {"answers": ANSWERS, "submit": True, "organization": None, **change}
    with pytest.raises(Conflict):
        services.create_ticket(alice, idempotency_key="k", **kwargs)
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_user(world):
    bob_answers = Answers(**{**ANSWERS.__dict__, "offers": ("fabrikam-gateway",)})
    alice_ticket, _ = services.create_ticket(world.actor("alice"), answers=ANSWERS, idempotency_key="shared")
    bob_ticket, created = services.create_ticket(world.actor("bob"), answers=bob_answers, idempotency_key="shared")
    assert created is True
    assert bob_ticket.pk != alice_ticket.pk
    assert bob_ticket.organization.slug == "fabrikam"
    # Without a key every call files a new ticket.
    services.create_ticket(world.actor("alice"), answers=ANSWERS)
    services.create_ticket(world.actor("alice"), answers=ANSWERS)
    assert Ticket.objects.count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 201])
def test_key_length_is_checked(world, key):
    with pytest.raises(InvalidInput) as caught:
        services.create_ticket(world.actor("alice"), answers=ANSWERS, idempotency_key=key)
    assert [e.field for e in caught.value.errors] == ["Idempotency-Key"]
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_a_failed_first_attempt_does_not_burn_the_key(world):
    alice = world.actor("alice")
    broken = Answers(**{**ANSWERS.__dict__, "cvss_vectors": ("CVSS:3.1/AV:N",)})
    with pytest.raises(InvalidInput):
        services.create_ticket(alice, answers=broken, submit=True, idempotency_key="k2")
    ticket, created = services.create_ticket(alice, answers=ANSWERS, submit=True, idempotency_key="k2")
    assert created is True
    assert ticket.status == "submitted"


# --- through the API ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_http_retry_returns_200_and_the_same_ticket(api, vulnerability):
    alice = api("alice")
    headers = {"Idempotency-Key": "0b9c6f4e-retry"}
    first = alice.post("/tickets", json={**vulnerability, "submit": True}, headers=headers)
    second = alice.post("/tickets", json={**vulnerability, "submit": True}, headers=headers)
    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    assert second.json()["confirmation_number"] == first.json()["confirmation_number"]
    assert second.json()["timeline"] == first.json()["timeline"]
    assert Ticket.objects.count() == 1

    changed = alice.post("/tickets", json={**vulnerability, "description": "other", "submit": True}, headers=headers)
    assert changed.status_code == 409
    assert changed.headers["Content-Type"] == "application/problem+json"
    assert changed.json()["type"] == "urn:secdesk:problem:conflict"
    assert Ticket.objects.count() == 1

    too_long = alice.post("/tickets", json=vulnerability, headers={"Idempotency-Key": "x" * 201})
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["Idempotency-Key"]
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_file_exactly_one_ticket(api, vulnerability):
    clients = [api("alice") for _ in range(6)]  # separate sessions, separate connections
    for round_ in range(3):  # a race may be won cleanly by chance; three rounds make the clash near certain
        race(clients, vulnerability, key=f"race-{round_}")
    assert Ticket.objects.count() == 3


def race(token_clients, vulnerability, *, key: str) -> None:
    workers = len(token_clients)
    barrier = threading.Barrier(workers)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def post(client) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post("/tickets", json={**vulnerability, "submit": True}, headers={"Idempotency-Key": key})
            with lock:
                results.append((response.status_code, response.json().get("confirmation_number", response.text)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(c,)) for c in token_clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (workers - 1) + [201], results
    assert len({number for _, number in results}) == 1
    ticket = Ticket.objects.get(idempotency_key=key)
    assert ticket.confirmation_number == results[0][1]
    kinds = list(ticket.timeline.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["ticket.created", "ticket.submitted"]
