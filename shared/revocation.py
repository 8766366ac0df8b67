"""Revoked tokens: each service keeps, per account (or unit), the lowest token version it
still accepts. The issuer writes it in the same transaction as the change that revokes
(a password reset, a deletion, a deactivation) and announces it (TokensRevoked /
AdminTokensRevoked); the other services record what they hear. Every authenticated
request is checked against it, so a token dies everywhere within an event hop instead
of living out its eight hours."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from .auth import Principal
from .db import utcnow
from .inbox import HandlerContext

EVERY_VERSION = 2 ** 31 - 1  # a deleted unit or purged account: no token of it works again


class TokenRevocationMixin:
    """Columns of a service's `token_revocations` table."""
    __tablename__ = "token_revocations"

    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # an account, or a whole unit
    min_version: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime)


def record_revocation(session: Session, model: type[Any], subject_id: str, min_version: int) -> None:
    """Remember that tokens of `subject_id` below `min_version` are void (never lowered)."""
    row = session.get(model, subject_id, with_for_update=True)
    if row is None:
        session.add(model(subject_id=subject_id, min_version=min_version, revoked_at=utcnow()))
    elif min_version > row.min_version:
        row.min_version, row.revoked_at = min_version, utcnow()


def is_revoked(session: Session | Connection, model: type[Any], principal: Principal) -> bool:
    """A token is void if its account's, or its unit's, minimum version is above its own.
    (Asked on every request: one plain query, no objects loaded.)"""
    subjects = list({principal.subject, principal.unit_id} - {None})
    table = model.__table__
    highest = session.execute(select(func.max(table.c.min_version))
                              .where(table.c.subject_id.in_(subjects))).scalar()
    return highest is not None and principal.version < highest


def on_tokens_revoked(ctx: HandlerContext[Any]) -> None:
    """The handler every service uses for TokensRevoked and AdminTokensRevoked."""
    record_revocation(ctx.session, ctx.deps.revocation_model, ctx.payload["subject_id"], ctx.payload["min_version"])
