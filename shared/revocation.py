"""Revoked tokens: each service keeps, per account (or unit), the lowest token version it
still accepts. The issuer writes it in the same transaction as the change that revokes
(a password reset, a deletion, a deactivation) and announces it (TokensRevoked /
AdminTokensRevoked); the other services record what they hear. Every authenticated
request is checked against it, so a token dies everywhere within an event hop instead
of living out its eight hours."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Integer, String, event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from .auth import Principal
from .changes import ChannelListener, notify
from .db import Database, utcnow
from .inbox import HandlerContext

EVERY_VERSION = 2 ** 31 - 1  # a deleted unit or purged account: no token of it works again


class TokenRevocationMixin:
    """Columns of a service's `token_revocations` table."""
    __tablename__ = "token_revocations"

    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # an account, or a whole unit
    min_version: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime)


REVOCATIONS_CHANNEL = "token_revocations"  # tells every API process to forget what it remembers


def record_revocation(session: Session, model: type[Any], subject_id: str, min_version: int) -> None:
    """Remember that tokens of `subject_id` below `min_version` are void (never lowered)."""
    row = session.get(model, subject_id, with_for_update=True)
    if row is None:
        session.add(model(subject_id=subject_id, min_version=min_version, revoked_at=utcnow()))
    elif min_version > row.min_version:
        row.min_version, row.revoked_at = min_version, utcnow()
    else:
        return
    notify(session, REVOCATIONS_CHANNEL, subject_id)
    for cache in _caches:  # this process's own caches forget at once, not an instant later
        event.listen(session, "after_commit", lambda _s, c=cache: c.forget(subject_id), once=True)


class RevocationCache:
    """Every request asks whether its token is revoked; the answer per account or unit changes
    rarely. Remembered per process, and forgotten when the table changes: the transaction
    that records a revocation notifies every process (PostgreSQL NOTIFY, shared.changes).
    Used only while listening: before, after a broken connection, and on SQLite (other
    processes' commits unheard), every request asks the database."""

    MAX_SUBJECTS = 100_000

    def __init__(self, db: Database, model: type[Any]):
        self.db, self.model = db, model
        self._known: dict[str, int | None] = {}  # subject -> its minimum version (None: none)
        self._generation = 0  # moves on each change heard: an answer read before it is not kept
        self.listener = ChannelListener(db, REVOCATIONS_CHANNEL, self.forget, self.forget_all)
        _caches.append(self)

    def forget(self, subject_id: str) -> None:
        self._generation += 1
        self._known.pop(subject_id, None)

    def forget_all(self) -> None:
        self._generation += 1
        self._known.clear()

    def revoked(self, principal: Principal) -> bool:
        if not self.db.is_postgres:
            return self._read(principal)
        self.listener.ensure_started()
        if not self.listener.connected:
            return self._read(principal)
        subjects = {s for s in (principal.subject, principal.unit_id) if s is not None}
        if any(s not in self._known for s in subjects):
            generation = self._generation
            versions = self._versions(subjects)
            if generation == self._generation and self.listener.connected:  # nothing heard meanwhile
                if len(self._known) > self.MAX_SUBJECTS:
                    self._known.clear()
                self._known.update({s: versions.get(s) for s in subjects})
            known = {s: versions.get(s) for s in subjects}
        else:
            known = {s: self._known.get(s) for s in subjects}
        return any(v is not None and principal.version < v for v in known.values())

    def _read(self, principal: Principal) -> bool:
        with self.db.turn(), self.db.engine.connect() as conn:
            return is_revoked(conn, self.model, principal)

    def _versions(self, subjects: set[str]) -> dict[str, int]:
        table = self.model.__table__
        with self.db.turn(), self.db.engine.connect() as conn:
            rows = conn.execute(select(table.c.subject_id, table.c.min_version)
                                .where(table.c.subject_id.in_(list(subjects)))).all()
        return {subject: version for subject, version in rows}


_caches: list[RevocationCache] = []


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
