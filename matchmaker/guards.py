"""Services that guard themselves.

A view checks who may open a page; the service it calls checks again who may make the change,
so that a CLI command, a job or another domain calling the service cannot skip the check:

    @guarded(can_release_lead, "lead")
    def release_claim(actor, lead, reason=None): ...

The predicate is a domain's `can_<verb>_<thing>(user, subject)` (or `(user)` without a
subject): the same function the views and templates ask. A failing predicate raises
`Forbidden` (a ServiceError: the view shows its Chinese message). `actor=None` is the
platform itself (the sweep, an import, a job): refused unless the service says `system=True`.

Every guarded service is listed in GUARDED; tests/test_guards.py calls each one with an actor
its predicate refuses, and fails when a state-changing service (a public function of a
service module whose first parameter is `actor`) is not guarded.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from .errors import ServiceError

NOT_ALLOWED = "您没有权限进行此操作"


class Forbidden(ServiceError):
    """The actor may not make this change (whoever called the service)."""


@dataclass(frozen=True)
class Guard:
    predicate: Callable[..., bool]
    subject: str | None
    system: bool
    message: str
    field: str | None = None


GUARDED: dict[str, Callable] = {}


def guarded(predicate: Callable[..., bool], subject: str | None = None, *,
            system: bool = False, message: str = NOT_ALLOWED, field: str | None = None):
    """Refuse the call unless `predicate(actor[, subject])` holds (actor None: `system`).
    `field` names the form field the refusal belongs beside (the invitation's role)."""

    def decorate(service: Callable) -> Callable:
        signature = inspect.signature(service)
        names = list(signature.parameters)
        if not names or names[0] != "actor":
            raise TypeError(f"{service.__qualname__}: a guarded service takes the actor first")
        if subject is not None and subject not in signature.parameters:
            raise TypeError(f"{service.__qualname__} has no parameter {subject!r}")

        @wraps(service)
        def checked(*args, **kwargs):
            given = signature.bind_partial(*args, **kwargs).arguments
            actor = given.get("actor")
            if actor is None:
                if not system:
                    raise Forbidden(message, field)
            elif not (predicate(actor, given.get(subject)) if subject else predicate(actor)):
                raise Forbidden(message, field)
            return service(*args, **kwargs)

        checked.guard = Guard(predicate, subject, system, message, field)
        GUARDED[f"{service.__module__}.{service.__qualname__}"] = checked
        return checked

    return decorate
