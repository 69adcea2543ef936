"""Errors raised by services; views turn them into flashes, API into JSON."""
from __future__ import annotations

from typing import Optional


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, field: Optional[str] = None, errors: Optional[list[str]] = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or []


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
