"""Dead letters a person can act on.

A message a consumer gives up on (after its bounded retries, or at once when it is not a
valid event or not its producer's) goes to the dead-letter exchange keyed by the service,
into that service's dead-letter queue, with why in its headers. The service's worker
records each one in its own `dead_letters` table (`record`): one row per queue and event,
so a message that dies again after a replay updates its row. The broker keeps a message
until the database has it.

Operations list them (`listing`) and replay one, a filter, or all (`replay`): a replayed
message goes back to the queue it died in with a fresh set of retries. Replaying is
idempotent twice over: a row is replayed once until it dies again, and the consumer's
inbox applies an event once however often it arrives. A message refused for its
publisher or its shape is recorded but never replayed (nothing can fix it).

Events carry no personal data, so neither does a dead letter (the police-only request
dead-letters into the police's own queue, which no service records).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import new_id, utcnow
from .errors import DomainError
from .topology import REQUEUE_EXCHANGE

log = logging.getLogger(__name__)

REASON_LIMIT = 500
REPLAY_LIMIT = 1000  # rows one replay request takes on; "all" pages through the rest


class DeadLetterMixin:
    """Columns of a service's `dead_letters` table."""
    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("queue", "event_id", name="uq_dead_letters_queue_event"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(255), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # the message as it arrived (JSON); events carry no personal data
    replayable: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), index=True)  # dead | replayed
    times_dead: Mapped[int] = mapped_column(Integer)
    replays: Mapped[int] = mapped_column(Integer)
    first_dead_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_dead_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    replayed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


# Why a message was never applied, rather than failed: replaying it cannot help.
REFUSED_PREFIXES = ("invalid event", "forged producer")


def is_replayable(reason: str) -> bool:
    return not reason.startswith(REFUSED_PREFIXES)


def dead_letter_headers(queue: str, attempts: int, reason: str, event_id: str | None,
                        event_type: str | None) -> dict[str, Any]:
    """What a consumer puts on a message it dead-letters."""
    return {"x-original-queue": queue, "x-attempts": attempts, "x-reason": reason[:REASON_LIMIT],
            "x-event-id": event_id or "", "x-event-type": event_type or ""}


def _event_id(body: Any, headers: dict[str, Any], text: str) -> str:
    given = headers.get("x-event-id") or (body.get("id") if isinstance(body, dict) else None)
    if isinstance(given, str) and 0 < len(given) <= 64:
        return given
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:56]  # a shapeless message still has one row


def record(session: Session, model: type[Any], body: Any, headers: dict[str, Any]) -> Any:
    """Keep a dead letter from the service's dead-letter queue (once per queue and event)."""
    text = json.dumps(body, ensure_ascii=False, default=str, sort_keys=True)
    queue = str(headers.get("x-original-queue") or "")[:255] or "(unknown)"
    reason = str(headers.get("x-reason") or "dead-lettered by the broker")[:REASON_LIMIT]
    try:
        attempts = int(headers.get("x-attempts") or 0)
    except (TypeError, ValueError):
        attempts = 0
    event_type = headers.get("x-event-type") or (body.get("type") if isinstance(body, dict) else None)
    event_type = str(event_type)[:64] if event_type else None
    event_id, now = _event_id(body, headers, text), utcnow()
    row = session.scalars(select(model).where(model.queue == queue, model.event_id == event_id)
                          .with_for_update()).first()
    if row is None:
        row = model(id=new_id(), queue=queue, event_id=event_id, times_dead=0, replays=0, first_dead_at=now)
        session.add(row)
    row.event_type, row.reason, row.attempts, row.body = event_type, reason, attempts, text
    row.replayable, row.status, row.last_dead_at = is_replayable(reason), "dead", now
    row.times_dead += 1
    session.flush()
    log.error("dead letter recorded: %s %s from %s: %s", event_type or "message", event_id, queue, reason)
    return row


def view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "queue": row.queue, "event_id": row.event_id, "event_type": row.event_type,
            "reason": row.reason, "attempts": row.attempts, "replayable": row.replayable, "status": row.status,
            "times_dead": row.times_dead, "replays": row.replays, "first_dead_at": row.first_dead_at,
            "last_dead_at": row.last_dead_at, "replayed_at": row.replayed_at}


@dataclass
class Filter:
    """Which dead letters: by id, event type, queue, status (dead by default) and age."""
    ids: Sequence[str] = ()
    event_type: str | None = None
    queue: str | None = None
    status: str | None = "dead"
    since: dt.datetime | None = None

    def where(self, model: type[Any]) -> list[Any]:
        clauses: list[Any] = []
        if self.ids:
            clauses.append(model.id.in_(list(self.ids)))
        if self.event_type:
            clauses.append(model.event_type == self.event_type)
        if self.queue:
            clauses.append(model.queue == self.queue)
        if self.status:
            clauses.append(model.status == self.status)
        if self.since:
            clauses.append(model.last_dead_at >= self.since)
        return clauses

    @property
    def narrows(self) -> bool:
        return bool(self.ids or self.event_type or self.queue or self.since)


def listing(session: Session, model: type[Any], which: Filter, page: int = 1, per_page: int = 50
            ) -> dict[str, Any]:
    where = which.where(model)
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = session.scalars(select(model).where(*where).order_by(model.last_dead_at.desc(), model.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [view(r) for r in rows], "total": total, "page": page, "per_page": per_page}


@dataclass
class ReplayResult:
    replayed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}


class NothingChosen(DomainError):
    def __init__(self) -> None:
        super().__init__("nothing_chosen", "name dead letters (ids, an event type or a queue) or ask for all", "ids")


def replay(deps: Any, which: Filter, everything: bool = False) -> ReplayResult:
    """Send the chosen dead letters back to their queues with a fresh set of retries. Each is
    published (confirmed) before its row says so: if the commit is lost, a second replay
    sends it again and the consumer's inbox applies it once. Named ids that cannot be
    replayed are reported with why; a filter takes the replayable ones still dead."""
    if not which.narrows and not everything:
        raise NothingChosen()
    result = ReplayResult()
    while True:
        before = len(result.replayed)
        taken = _replay_batch(deps, which, result)
        if which.ids or taken < REPLAY_LIMIT or len(result.replayed) == before:
            break  # else "all" or a wide filter goes on: replayed rows are no longer chosen
    log.info("replayed %d dead letter(s), skipped %d", len(result.replayed), len(result.skipped))
    return result


def _replay_batch(deps: Any, which: Filter, result: ReplayResult) -> int:
    model = deps.dead_letter_model
    chosen = Filter((), which.event_type, which.queue, None, which.since).where(model)
    wanted = (model.id.in_(list(which.ids)) if which.ids
              else (model.status == "dead") & model.replayable.is_(True))
    with deps.uow() as (session, _):
        rows = session.scalars(select(model).where(*chosen, wanted).order_by(model.last_dead_at, model.id)
                               .limit(REPLAY_LIMIT).with_for_update(skip_locked=True)).all()
        found = {r.id for r in rows}
        result.skipped.extend({"id": i, "reason": "not_found"} for i in which.ids if i not in found)
        for row in rows:
            if row.status != "dead":
                result.skipped.append({"id": row.id, "reason": "already_replayed"})
            elif not row.replayable:
                result.skipped.append({"id": row.id, "reason": "refused_message"})
            elif _send_back(deps, row):
                row.status, row.replays, row.replayed_at = "replayed", row.replays + 1, utcnow()
                result.replayed.append(row.id)
            else:
                result.skipped.append({"id": row.id, "reason": "broker_unavailable"})
    return len(rows)


def _send_back(deps: Any, row: Any) -> bool:
    try:
        deps.broker.publish(REQUEUE_EXCHANGE, row.queue, json.loads(row.body),
                            headers={"x-attempt": 1, "x-replay-of": row.id}, message_id=row.event_id)
        return True
    except Exception as exc:  # the broker refused: this row stays dead, the rest go on
        log.warning("replaying dead letter %s failed: %s", row.id, type(exc).__name__)
        return False
