"""What a log line may say about an error: its class and the first line of its message,
without SQL parameters, driver details or anything that looks like an ID number or a
phone (long digit runs are masked)."""
from __future__ import annotations

import re

from sqlalchemy.exc import StatementError

from .errors import DomainError

_LONG_NUMBER = re.compile(r"[0-9]{10,}[0-9Xx]*")
MAX_LENGTH = 300


def _mask(match: re.Match[str]) -> str:
    value = match.group(0)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def describe(exc: BaseException) -> str:
    """`ClassName: first line of the message`, safe to log."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        message = str(exc.orig)  # the driver's words; str(exc) would add the SQL and its parameters
    elif isinstance(exc, DomainError):
        message = f"{exc.code}: {exc.message}"
    else:
        message = str(exc)
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = _LONG_NUMBER.sub(_mask, first)[:MAX_LENGTH]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
