"""Domain errors: what the rules refuse, with enough detail for a field-level answer."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base class of every error the rules raise on purpose."""

    title = "Request refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field.

    ``field`` is a dotted path into the input (``cvss_vectors.1``); ``metric``
    names the CVSS metric at fault when there is one.
    """

    field: str
    message: str
    code: str = "invalid"
    metric: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"field": self.field, "message": self.message, "code": self.code}
        if self.metric is not None:
            out["metric"] = self.metric
        return out


class InvalidInput(DomainError):
    """Input that breaks the rules; carries one entry per field at fault."""

    title = "Invalid input"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = list(errors)
        super().__init__(message or "; ".join(f"{e.field}: {e.message}" for e in self.errors))


class NotFound(DomainError):
    """The object does not exist, or the actor may not see it — the same answer for both."""

    title = "Not found"


class PermissionDenied(DomainError):
    """The actor can see the object but may not do this to it."""

    title = "Forbidden"


class InvalidTransition(DomainError):
    """The lifecycle does not allow this step from the ticket's current state."""

    title = "Transition not allowed"


class Conflict(DomainError):
    """The request clashes with the current state (a concurrent change, a reused key)."""

    title = "Conflict"


@dataclass
class ErrorList:
    """Collects field errors so a use case can report all of them at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, message: str, *, code: str = "invalid", metric: str | None = None) -> None:
        self.errors.append(FieldError(field_name, message, code, metric))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
