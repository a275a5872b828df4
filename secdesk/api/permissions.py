"""Each API operation declares the permission it needs; the OpenAPI document shows it.

``@requires(Permission.X)`` marks the view function (under the ``@router``
decorator); the services still do the checking — the declaration is what a
test holds them to: a role lacking every declared permission never gets a
2xx, whatever the route. ``x-permissions`` in the OpenAPI lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ninja import NinjaAPI

from secdesk.domain.policy import Permission

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "secdesk_permissions"


def requires(*permissions: Permission) -> Callable[[F], F]:
    """Declare that a view needs one of ``permissions``."""

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, tuple(Permission(p) for p in permissions))
        return view

    return mark


def declared(view: Callable[..., Any]) -> tuple[Permission, ...]:
    return tuple(getattr(view, ATTRIBUTE, ()))


def operations(api: NinjaAPI) -> Iterator[Any]:
    """Every operation of the API, through its routers."""
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            yield from path_view.operations


def publish(api: NinjaAPI) -> None:
    """Copy the declarations into each operation's OpenAPI entry (``x-permissions``)."""
    for operation in operations(api):
        names = [p.value for p in declared(operation.view_func)]
        if names:
            operation.openapi_extra = {**(operation.openapi_extra or {}), "x-permissions": names}
