"""Errors raised by services; views turn them into flashes, API into JSON."""
from __future__ import annotations

from typing import Optional


class ServiceError(Exception):
    """`message` says what went wrong (the first problem when there are several); `field` names the
    input it is about; `errors` lists details (a file's bad rows); `field_errors` maps each input to
    its messages when a form had problems in several places, so a page can show them all at once."""
    status = 400

    def __init__(self, message: str, field: Optional[str] = None, errors: Optional[list[str]] = None,
                 field_errors: Optional[dict[str, list[str]]] = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or []
        self.field_errors = field_errors if field_errors else ({field: [message]} if field else {})


class InvalidInput(ServiceError):
    status = 400


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class DeadlinePassed(ServiceError):
    status = 403


class TooManyRequests(ServiceError):
    """A limit on use was reached (messages per hour, a course's model budget)."""
    status = 429


class Unavailable(ServiceError):
    """Something the action needs is not set up on this server (e.g. no model for teach mode)."""
    status = 503


class ErrorCollector:
    """Checks every input of a form and remembers each refusal, so one error names them all.

    `check(fn, ...)` runs a validator and returns its value, or None after noting its InvalidInput;
    `raise_any()` raises one InvalidInput carrying every field's messages (the first as its message).
    """

    def __init__(self) -> None:
        self.field_errors: dict[str, list[str]] = {}

    def check(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InvalidInput as exc:
            self.add(exc.field, exc.message)
            return None

    def add(self, field: Optional[str], message: str) -> None:
        self.field_errors.setdefault(field or "", []).append(message)

    def raise_any(self) -> None:
        if self.field_errors:
            field, messages = next(iter(self.field_errors.items()))
            raise InvalidInput(messages[0], field=field or None, field_errors=dict(self.field_errors))
