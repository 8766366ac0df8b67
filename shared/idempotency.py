"""Idempotency keys (Stripe's model) for requests that move money.

The first request with a key stores its response in the same transaction as its effect;
a retry with the same key and the same body replays that response; the same key with a
different body is refused. A concurrent twin waits on the key's row and then replays.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Callable

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import utcnow
from .errors import Conflict, DomainError


class IdempotencyMixin:
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)  # who + which endpoint
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


def request_fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def require_key(header_value: str | None) -> str:
    if not header_value or not (8 <= len(header_value) <= 128):
        raise DomainError("idempotency_key_required",
                       "send an Idempotency-Key header (8 to 128 characters) with this request",
                       "Idempotency-Key")
    return header_value


def replay_or_none(session: Session, model: type, key: str, scope: str, body: Any) -> tuple[int, Any] | None:
    row = session.get(model, (key, scope), with_for_update=True)
    if row is None:
        return None
    if row.request_hash != request_fingerprint(body):
        raise Conflict("idempotency_key_reused", "this Idempotency-Key was used with a different request",
                       "Idempotency-Key")
    return row.status_code, json.loads(row.response)


def remember(session: Session, model: type, key: str, scope: str, body: Any, status: int, response: Any) -> None:
    session.add(model(key=key, scope=scope, request_hash=request_fingerprint(body), status_code=status,
                      response=json.dumps(response, default=str), created_at=utcnow()))
    session.flush()  # a concurrent twin now blocks on this key until we commit


def run_idempotent(session: Session, model: type, key: str, scope: str, body: Any,
                   action: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    replay = replay_or_none(session, model, key, scope, body)
    if replay is not None:
        return replay
    status, response = action()
    remember(session, model, key, scope, body, status, response)
    return status, response
