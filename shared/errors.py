"""Domain errors: plain exceptions that the rules raise, with no notion of HTTP.

Each carries a machine `code`, an English `message` and the offending `field`. The edge
(`shared.http`) maps the class to a status and answers `{"code", "message", "field"}`;
RPC answers and workers use the same three values.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """The request breaks a rule or its input is invalid (the edge answers 400)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(DomainError):
    def __init__(self, what: str, field: str | None = None, code: str = "not_found"):
        super().__init__(code, f"{what} not found", field)


class Conflict(DomainError):
    """The thing exists but is in a state that does not allow this."""


class DeadlinePassed(Conflict):
    pass


class EditionClosed(Conflict):
    """A session of a previous edition (a read-only token): its records can be read, not changed."""

    def __init__(self) -> None:
        super().__init__("edition_closed", "this edition is closed: its records can be read, not changed")


class Forbidden(DomainError):
    def __init__(self, message: str = "not allowed", code: str = "forbidden", field: str | None = None):
        super().__init__(code, message, field)


class Unauthorized(DomainError):
    def __init__(self, message: str = "authentication required", code: str = "unauthorized"):
        super().__init__(code, message)


class TooManyRequests(DomainError):
    """Rate limited; `retry_after` seconds when known."""

    def __init__(self, code: str, message: str, field: str | None = None, retry_after: int | None = None):
        super().__init__(code, message, field)
        self.retry_after = retry_after


class AccountLocked(DomainError):
    pass


class Unavailable(DomainError):
    """An outside party (SMS, email, another service) could not be reached; try again."""


class ProviderRefused(DomainError):
    """An outside party answered, and refused."""


def first_field_error(messages: Any, prefix: str = "") -> tuple[str | None, str]:
    """The first (field path, message) of a marshmallow/webargs message tree."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "headers", "path"):  # webargs locations
                return first_field_error(value, prefix)
            if key == "_schema":
                return first_field_error(value, prefix)
            path = f"{prefix}.{key}" if prefix else str(key)
            return first_field_error(value, path)
    if isinstance(messages, list) and messages:
        return first_field_error(messages[0], prefix)
    return (prefix or None), str(messages)


def validation_error(messages: Any) -> DomainError:
    field, message = first_field_error(messages)
    return DomainError("validation_error", message, field)
