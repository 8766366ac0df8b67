"""Inbox de-duplication and the event-consumer runtime (no nameko here: see nameko_edge)."""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .broker import Broker, retry_delays_ms
from .db import retry_transient, utcnow
from .events import Event, InvalidEvent, parse_event
from .logsafe import describe
from .outbox import Emit, Outbox
from .deadletters import dead_letter_headers
from .topology import DEAD_LETTER_EXCHANGE, retry_exchange_name

log = logging.getLogger(__name__)
D = TypeVar("D")
RETRY_JITTER = 0.25  # a retry waits between 75% and 100% of its delay


def jittered(delay_ms: int) -> int:
    """A retry's own wait: its queue's delay shortened by a random share, so that the
    messages that failed together (a service restarting) do not all come back together.
    Shortened, not lengthened: the queue's TTL is the upper bound."""
    return max(1, int(delay_ms * (1 - RETRY_JITTER * random.random())))


class InboxMixin:
    """Columns of a service's `inbox` table: one row per event a consumer has applied."""
    __tablename__ = "inbox"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime)


@dataclass
class HandlerContext(Generic[D]):
    """What a handler gets: its transaction, the event, a way to emit events, the
    service's dependencies and (in workers) RPC proxies to other services."""
    session: Session
    event: Event
    emit: Emit
    deps: D
    rpc: Any = None
    after_commit: list[Callable[[], Any]] = field(default_factory=list)  # e.g. send the email

    @property
    def payload(self) -> dict[str, Any]:
        return self.event.payload


Handler = Callable[[HandlerContext[D]], Any]
Answers = dict[tuple[str, str, Any], Any]  # (service, method, argument) -> the answer


class Prefetched:
    """A handler's questions to other services, asked before its transaction opens so that no
    row (and, on SQLite, no database) is locked while another service answers; inside the
    transaction `ctx.rpc` serves the answers given."""

    def __init__(self, answers: Answers):
        self._answers = answers

    def __getattr__(self, service: str) -> Any:
        answers = self._answers

        class Service:
            def __getattr__(self, method: str) -> Callable[[Any], Any]:
                def answer(argument: Any) -> Any:
                    try:
                        return answers[(service, method, argument)]
                    except KeyError:
                        raise LookupError(f"{service}.{method}({argument!r}) was not asked before the "
                                          "transaction") from None
                return answer
        return Service()


def ask(rpc: Any, *calls: tuple[str, str, Any]) -> Answers:
    """Put the questions now: {(service, method, argument): answer}."""
    return {(service, method, arg): getattr(getattr(rpc, service), method)(arg) for service, method, arg in calls}


def prefetching(prefetch: Callable[[dict[str, Any], Any], Answers]) -> Callable[[Handler[D]], Handler[D]]:
    """Give a handler the RPC questions it will need, from the event's payload and the
    worker's RPC proxies, to be asked before its transaction."""
    def decorate(handler: Handler[D]) -> Handler[D]:
        handler.prefetch = prefetch  # type: ignore[attr-defined]
        return handler
    return decorate


class EventConsumer(Generic[D]):
    """Applies each event once: the inbox row and the handler's effect commit together."""

    def __init__(self, outbox: Outbox, inbox_model: type[Any], handlers: Mapping[str, Handler[D]], deps: D,
                 broker: Broker | None = None):
        self.outbox, self.inbox_model, self.handlers, self.deps = outbox, inbox_model, handlers, deps
        self.broker = broker or outbox.broker
        self.delays = retry_delays_ms()

    def apply(self, consumer: str, event: Event, rpc: Any = None) -> bool:
        """Run the handler for `event` once for `consumer` (again at once if the database
        refused the transaction for a passing reason). False if it was a duplicate."""
        prefetch = getattr(self.handlers[event.type], "prefetch", None)
        if prefetch is not None and rpc is not None:
            if self._already_applied(consumer, event):
                return False
            rpc = Prefetched(prefetch(event.payload, rpc))  # no transaction is open while they answer
        return retry_transient(lambda: self._apply_once(consumer, event, rpc))

    def _already_applied(self, consumer: str, event: Event) -> bool:
        """A plain read before the RPC questions (the transaction checks again under its lock)."""
        table = self.inbox_model.__table__
        db = self.outbox.db
        with db.turn(), db.engine.connect() as conn:
            return conn.execute(select(table.c.event_id).where(table.c.event_id == event.id,
                                                               table.c.consumer == consumer)).first() is not None

    def _apply_once(self, consumer: str, event: Event, rpc: Any = None) -> bool:
        handler = self.handlers[event.type]
        try:
            with self.outbox.unit_of_work(event.correlation_id or event.id) as (session, emit):
                if session.get(self.inbox_model, (event.id, consumer)) is not None:
                    return False
                session.add(self.inbox_model(event_id=event.id, consumer=consumer, event_type=event.type,
                                             processed_at=utcnow()))
                session.flush()  # a concurrent twin blocks here, then fails on the key
                ctx = HandlerContext(session, event, emit, self.deps, rpc)
                handler(ctx)
        except IntegrityError:
            with self.outbox.db.transaction() as session:
                if session.get(self.inbox_model, (event.id, consumer)) is not None:
                    return False
            raise
        for callback in ctx.after_commit:
            try:
                callback()
            except Exception as exc:  # the effect is committed; its sweeper retries the rest
                log.warning("after-commit step for %s %s failed: %s", event.type, event.id, describe(exc))
        return True

    def publisher_refusal(self, event: Event, published_by: str | None, attempt: int,
                          replayed: bool = False) -> str | None:
        """Why a message may not be applied because of who published it, or None.

        `published_by` is the message's `user_id`, which RabbitMQ has checked against the
        publishing connection's user. An event is the producer's only when its producer's
        broker user published it; a retry (attempt > 1) may also come back from this
        consumer's own user, which republished it after accepting it the first time, and so
        may a replayed dead letter (which this service accepted before it died)."""
        expected = self.broker.user_of(event.producer)
        if published_by == expected:
            return None
        if (attempt > 1 or replayed) and published_by == self.broker.user:
            return None
        return (f"forged producer: {event.type} is {event.producer}'s and must be published by broker user "
                f"{expected!r}, not {published_by!r}")

    def process(self, queue: str, body: Any, attempt: int, rpc: Any = None, *, published_by: str | None,
                replayed: bool = False) -> str:
        """Entry point for a delivered message; `published_by` is its validated `user_id`.
        Never raises: a failure is retried after a back-off (through a TTL queue), then
        dead-lettered; a message its producer did not publish is dead-lettered at once,
        never applied. Returns what happened."""
        try:
            event = parse_event(body)
        except InvalidEvent as exc:
            self.dead_letter(queue, body, attempt, f"invalid event: {exc}")
            return "dead-lettered"
        refusal = self.publisher_refusal(event, published_by, attempt, replayed)
        if refusal is not None:
            self.dead_letter(queue, body, attempt, refusal, event)
            return "refused"
        try:
            outcome = "applied" if self.apply(queue, event, rpc) else "duplicate"
            log.info("%s %s %s (attempt %d)", event.type, event.id, outcome, attempt)  # ids only
            return outcome
        except Exception as exc:
            reason = describe(exc)
            log.warning("handler for %s %s failed (attempt %d): %s", event.type, event.id, attempt, reason)
            if attempt <= len(self.delays):
                delay = self.delays[attempt - 1]
                self.broker.publish(retry_exchange_name(delay), queue, body, headers={"x-attempt": attempt + 1},
                                    message_id=event.id, expiration_ms=jittered(delay))
                return "retry-scheduled"
            self.dead_letter(queue, body, attempt, reason, event)
            return "dead-lettered"

    def dead_letter(self, queue: str, body: Any, attempt: int, reason: str, event: Event | None = None) -> None:
        """To this service's dead-letter queue, with why; its worker records it (shared.deadletters)."""
        log.error("dead-lettering a message from %s after %d attempt(s): %s", queue, attempt, reason)
        self.broker.publish(DEAD_LETTER_EXCHANGE, str(self.broker.service),
                            body if isinstance(body, (dict, list)) else {"raw": json.dumps(body, default=str)},
                            headers=dead_letter_headers(queue, attempt, reason, event.id if event else None,
                                                        event.type if event else None),
                            message_id=event.id if event else None)
