"""Transactional outbox: event rows written in the caller's transaction, then relayed.

`Outbox.unit_of_work()` is the one way into a transaction (services reach it as
`deps.uow()`): rows and events commit together; right after commit the new events are
published (low latency); the relay (a thread in the API process, a timer in the worker)
publishes whatever is left, so an event survives a crash between commit and publish.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any, Callable

from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .broker import Broker
from .db import Database, utcnow
from .events import LATEST, make_event

log = logging.getLogger(__name__)
PENDING_KEY = "outbox_pending_events"
# The relay sends rows at least this old: a younger one is its own transaction's to send, right
# after its commit (a crash in between leaves it to the relay a few seconds later).
RELAY_MIN_AGE = 5.0


class OutboxMixin:
    """Columns of a service's `outbox` table (each service maps it on its own Base)."""
    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    exchange: Mapped[str] = mapped_column(String(128))
    routing_key: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


Emit = Callable[[str, dict[str, Any]], str]


class Outbox:
    def __init__(self, service: str, db: Database, model: type[Any], broker: Broker):
        self.service, self.db, self.model, self.broker = service, db, model, broker
        self._wake = threading.Event()
        self._stop = threading.Event()

    def emit(self, session: Session, event_type: str, payload: dict[str, Any],
             correlation_id: str | None = None) -> str:
        """Validate the event and add its outbox row to `session`'s transaction."""
        envelope = make_event(event_type, payload, producer=self.service, correlation_id=correlation_id)
        spec = LATEST[event_type]
        session.add(self.model(id=envelope["id"], event_type=event_type, exchange=spec.exchange,
                               routing_key=event_type, body=json.dumps(envelope), created_at=utcnow(),
                               attempts=0))
        session.info.setdefault(PENDING_KEY, []).append((spec.exchange, event_type, envelope))
        return envelope["id"]

    @contextlib.contextmanager
    def unit_of_work(self, correlation_id: str | None = None) -> Iterator[tuple[Session, Emit]]:
        """A transaction and the way to emit events in it: commit on success (then publish
        what was emitted), roll back on any error."""
        session = self.db.sessions()
        try:
            with self.db.turn(), session.begin():
                yield session, lambda event_type, payload: self.emit(session, event_type, payload, correlation_id)
            pending = session.info.pop(PENDING_KEY, [])
        finally:
            session.close()
        if pending:
            self.publish_committed(pending)

    def publish_committed(self, pending: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Publish what a transaction has just committed, from memory (its rows are not read
        back), then mark those rows sent in one statement. The relay leaves rows younger than
        RELAY_MIN_AGE to this path, so a row is not sent twice by the two. Whatever fails to
        go (the broker down) stays for the relay."""
        sent: list[str] = []
        for exchange, event_type, envelope in pending:
            try:
                self.broker.publish(exchange, event_type, envelope, message_id=envelope["id"],
                                    correlation_id=envelope.get("correlation_id"))
            except Exception as exc:
                log.warning("outbox publish failed for %s %s: %s", event_type, envelope["id"], exc)
                break
            sent.append(envelope["id"])
        if sent:
            self.mark_published(sent, [i for (_, t, e), i in zip(pending, sent) if LATEST[t].restricted])
        return len(sent)

    def mark_published(self, ids: list[str], restricted_ids: list[str]) -> None:
        table = self.model.__table__
        try:
            with self.db.turn(), self.db.engine.begin() as conn:
                conn.execute(update(table).where(table.c.id.in_(ids), table.c.published_at.is_(None))
                             .values(published_at=utcnow(), attempts=table.c.attempts + 1))
                if restricted_ids:  # personal data leaves no copy behind once delivered
                    conn.execute(update(table).where(table.c.id.in_(restricted_ids)).values(body="{}"))
        except Exception as exc:  # sent but not marked: the relay sends them again (consumers de-duplicate)
            log.warning("outbox: marking %d sent events failed: %s", len(ids), exc)

    def publish_pending(self, ids: list[str] | None = None, limit: int = 200, min_age: float = 0.0) -> int:
        """Publish unsent rows (oldest first) with confirms; several relays share the work
        on PostgreSQL through SKIP LOCKED. `min_age` (seconds) leaves younger rows to the
        transaction that wrote them. Returns how many were published."""
        published = 0
        try:
            with self.db.transaction() as session:
                query = (select(self.model).where(self.model.published_at.is_(None))
                         .order_by(self.model.created_at).limit(limit))
                if ids is not None:
                    query = query.where(self.model.id.in_(ids))
                if min_age > 0:
                    query = query.where(self.model.created_at < utcnow() - dt.timedelta(seconds=min_age))
                if self.db.is_postgres:
                    query = query.with_for_update(skip_locked=True)
                for row in session.scalars(query).all():
                    row.attempts += 1
                    try:
                        envelope = json.loads(row.body)
                        self.broker.publish(row.exchange, row.routing_key, envelope, message_id=row.id,
                                            correlation_id=envelope.get("correlation_id"))
                    except Exception as exc:  # broker down: keep the row for the next pass
                        log.warning("outbox publish failed for %s %s: %s", row.event_type, row.id, exc)
                        break
                    row.published_at = utcnow()
                    if LATEST[row.event_type].restricted:
                        row.body = "{}"  # personal data leaves no copy behind once delivered
                    published += 1
        except Exception as exc:
            log.warning("outbox relay pass failed: %s", exc)
        return published

    # --- background relay for API processes -------------------------------------------
    def start_relay_thread(self, interval: float = 1.0) -> threading.Thread:
        def loop():
            while not self._stop.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                while self.publish_pending(min_age=RELAY_MIN_AGE) >= 200:
                    pass
        thread = threading.Thread(target=loop, name=f"{self.service}-outbox-relay", daemon=True)
        thread.start()
        return thread

    def stop_relay(self) -> None:
        self._stop.set()
        self._wake.set()
