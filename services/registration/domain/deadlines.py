"""Edition deadlines: registration closes at its deadline; reminders go out N days before each."""
from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import DeadlinePassed
from shared.outbox import Emit
from shared.times import beijing_text, parse_moment

from ..models import Person, ReminderSent, Unit


class Configuration(Protocol):
    def get(self, name: str, default: str = ...) -> str | None: ...


def deadlines(settings: Configuration) -> dict[str, dt.datetime]:
    """Configured edition deadlines, as naive UTC: REGISTRATION_DEADLINE and PAYMENT_DEADLINE
    (ISO 8601; an offset such as +08:00 is converted, a moment without one is UTC)."""
    found = {}
    for kind, name in (("submission", "REGISTRATION_DEADLINE"), ("payment", "PAYMENT_DEADLINE")):
        value = settings.get(name)
        if value:
            found[kind] = parse_moment(value)
    return found


def check_registration_open(deadline: dt.datetime | None, now: dt.datetime | None = None) -> None:
    """Sign-up, personnel (new, carried over or reused) and submission close at the
    registration deadline."""
    if deadline is not None and (now or utcnow()) > deadline:
        raise DeadlinePassed("deadline_passed", f"registration closed on {beijing_text(deadline)}")


def reminder_days(settings: Configuration) -> list[int]:
    return sorted({int(d) for d in (settings.get("REMINDER_DAYS", "3,1") or "").split(",") if d.strip()}, reverse=True)


def queue_reminders(session: Session, emit: Emit, deadlines_by_kind: dict[str, dt.datetime], days: list[int],
                    now: dt.datetime | None = None) -> int:
    """For each deadline within the largest reminder window: units with people still to
    submit (saved records) or to pay for get one ReminderDue per reminder day."""
    now = now or utcnow()
    sent = 0
    for kind, deadline in deadlines_by_kind.items():
        if now >= deadline:
            continue
        days_left = (deadline - now).days
        due = [d for d in days if d >= days_left]
        if not due:
            continue
        day = min(due)
        status = "saved" if kind == "submission" else "awaiting_payment"
        counts = session.execute(select(Person.unit_id, func.count()).join(Unit, Unit.id == Person.unit_id)
                                 .where(Person.status == status, Unit.status != "deleted").group_by(Person.unit_id))
        for unit_id, people in counts:
            if session.get(ReminderSent, (unit_id, kind, day)) is not None:
                continue
            session.add(ReminderSent(unit_id=unit_id, kind=kind, days_before=day, sent_at=now))
            emit("ReminderDue", {"unit_id": unit_id, "kind": kind, "deadline": deadline.isoformat(),
                                 "people": people, "days_before": day})
            sent += 1
    return sent
