"""RFC 9457 problem details for every error the API returns.

Each answer is ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; input errors add ``errors``, one entry per field
(``field``, ``message``, ``code`` and, for CVSS, the ``metric`` at fault).
Unexpected exceptions are logged and answered without a stack trace.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from secdesk.domain.errors import Conflict, DomainError, InvalidInput, InvalidTransition, NotFound, PermissionDenied

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("secdesk.api")
CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:secdesk:problem:"


def problem(
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    request: HttpRequest | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + type_ if type_ else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.path
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_from_loc(loc: list[Any] | tuple[Any, ...]) -> str:
    # ninja locations look like ("body", "payload", "cvss_vectors", 0): drop the transport part.
    parts = [str(p) for p in loc]
    while parts and parts[0] in {"body", "query", "path", "header", "form", "file", "payload", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, InvalidInput):
        return problem(
            422,
            exc.message,
            type_="invalid-input",
            title="Invalid input",
            errors=[e.as_dict() for e in exc.errors],
            request=request,
        )
    if isinstance(exc, NotFound):
        return problem(404, "No such resource, or not visible to you.", request=request)
    if isinstance(exc, PermissionDenied):
        return problem(403, exc.message, request=request)
    if isinstance(exc, InvalidTransition):
        return problem(409, exc.message, type_="invalid-transition", title=exc.title, request=request)
    if isinstance(exc, Conflict):
        return problem(409, exc.message, type_="conflict", title=exc.title, request=request)
    return problem(400, exc.message, type_="refused", title=exc.title, request=request)


def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        loc = item.get("loc", ())
        errors.append(
            {
                "field": _field_from_loc(loc),
                "message": str(item.get("msg", "invalid")),
                "code": str(item.get("type", "invalid")),
            }
        )
    return problem(
        422,
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        type_="invalid-input",
        title="Invalid input",
        errors=errors,
        request=request,
    )


def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return problem(
            401,
            "A valid API token (Authorization: Bearer …) or session is required.",
            request=request,
            headers={"WWW-Authenticate": 'Bearer realm="secdesk"'},
        )
    if isinstance(exc, Throttled):
        wait = exc.wait
        return problem(
            429,
            "Too many requests (or failed authentications) from this client; wait before retrying.",
            type_="throttled",
            title="Too many requests",
            request=request,
            headers={"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else None,
        )
    if exc.status_code == 400:
        return problem(
            400,
            "The request body is not valid UTF-8 JSON.",
            type_="malformed",
            title="Malformed request",
            request=request,
        )
    return problem(exc.status_code, str(exc), request=request)


def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return problem(413, "The request body is too large.", request=request)
    if isinstance(exc, SuspiciousOperation):
        return problem(400, "The request was refused.", request=request)
    if isinstance(exc, Http404):
        return problem(404, "No such resource, or not visible to you.", request=request)
    logger.exception("unexpected error on %s", request.path)
    return problem(500, "Something went wrong on our side; it has been logged.", request=request)


def install(api: NinjaAPI) -> None:
    api.add_exception_handler(DomainError, domain_error)  # type: ignore[arg-type]  # ninja's stub wrongly widens exc to its class
    api.add_exception_handler(ValidationError, validation_error)  # type: ignore[arg-type]  # ninja's stub wrongly widens exc to its class
    api.add_exception_handler(HttpError, http_error)  # type: ignore[arg-type]  # ninja's stub wrongly widens exc to its class
    api.add_exception_handler(Exception, unexpected)  # type: ignore[arg-type]  # ninja's stub wrongly widens exc to its class
