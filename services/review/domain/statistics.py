"""Statistics: per (sub-)delegation progress against its target, and the weekly CSV report."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.errors import NotFound

from ..models import Delegation, ReviewPerson, UnitReview, UnitSubmission
from .organisations import Actor, in_scope, subtree


Counts = dict[str, int]


def _add(into: Counts, counts: Counts) -> None:
    for status, count in counts.items():
        into[status] = into.get(status, 0) + count


def counted_in(delegation: Delegation, known: set[str]) -> str | None:
    """Where a delegation's figures roll up: an industry delegation's into the local
    delegation it names (its units are reviewed by it but counted there), any other's into
    its parent."""
    if delegation.industry and delegation.rollup_delegation_id in known:
        return delegation.rollup_delegation_id
    return delegation.parent_id


def rolled_up(delegations: list[Delegation], own: dict[str | None, Counts]) -> dict[str, Counts]:
    """Each delegation's own counts plus everything that rolls up into it, all the way down
    (a delegation its sub-delegations', those their industry delegations', …)."""
    known = {d.id for d in delegations}
    below: dict[str, list[str]] = {}
    for d in delegations:
        parent = counted_in(d, known)
        if parent is not None and parent in known:
            below.setdefault(parent, []).append(d.id)
    totals: dict[str, Counts] = {}

    def total(delegation_id: str, path: frozenset[str]) -> Counts:
        if delegation_id not in totals:
            counts = dict(own.get(delegation_id, {}))
            for child in below.get(delegation_id, []):
                if child not in path:  # a misconfigured loop is counted once, never forever
                    _add(counts, total(child, path | {child}))
            totals[delegation_id] = counts
        return totals[delegation_id]

    for d in delegations:
        total(d.id, frozenset({d.id}))
    return totals


def statistics(session: Session, actor: Actor, root_id: str | None = None) -> list[dict[str, Any]]:
    """Per (sub-)delegation in the actor's part of the tree: its target, and its units and
    people by status — its own and all that roll up into it (a delegation counts its
    sub-delegations'; an industry delegation's figures count in its own row and in the
    local delegation they roll up to)."""
    root = root_id or actor.delegation_id
    if root is not None and not in_scope(session, root, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    delegations = list(session.scalars(select(Delegation).order_by(Delegation.id)))
    shown = subtree(session, root) if root is not None else {d.id for d in delegations}
    # units and people of no (known) delegation are counted under None, which no row shows
    own_units: dict[str | None, Counts] = {}
    for delegation_id, status, count in session.execute(
            select(UnitReview.delegation_id, UnitReview.status, func.count()).where(
                UnitReview.status.not_in(("not_submitted", "deleted"))).group_by(UnitReview.delegation_id,
                                                                                 UnitReview.status)):
        _add(own_units.setdefault(delegation_id, {}), {status: count})
    own_people: dict[str | None, Counts] = {}
    for delegation_id, status, count in session.execute(
            select(UnitReview.delegation_id, ReviewPerson.status, func.count())
            .join(UnitReview, UnitReview.unit_id == ReviewPerson.unit_id)
            .where(ReviewPerson.status != "deleted").group_by(UnitReview.delegation_id, ReviewPerson.status)):
        _add(own_people.setdefault(delegation_id, {}), {status: count})
    units, people = rolled_up(delegations, own_units), rolled_up(delegations, own_people)
    known = {d.id for d in delegations}
    rows = []
    for d in delegations:
        if d.id not in shown:
            continue
        u, p = units.get(d.id, {}), people.get(d.id, {})
        rows.append({"delegation_id": d.id, "name": d.name, "parent_id": d.parent_id, "industry": bool(d.industry),
                     "rolls_up_to": counted_in(d, known) if d.industry else None, "target": d.target,
                     "units": sum(u.values()), "units_by_status": u, "approved_units": u.get("approved", 0),
                     "people": sum(p.values()), "people_by_status": p,
                     "completion": round(u.get("approved", 0) / d.target, 4) if d.target else None})
    return rows


def weekly_report_csv(rows: list[dict[str, Any]], generated: dt.datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"weekly report generated {generated.isoformat(timespec='minutes')} UTC"])
    writer.writerow(["delegation_id", "name", "target", "units", "approved_units", "completion", "people",
                     "people_confirmed", "people_awaiting_confirmation"])
    for r in rows:
        writer.writerow([r["delegation_id"], r["name"], r["target"], r["units"], r["approved_units"],
                         "" if r["completion"] is None else f"{r['completion']:.2%}", r["people"],
                         r["people_by_status"].get("confirmed", 0) + r["people_by_status"].get("locked", 0),
                         r["people_by_status"].get("awaiting_confirmation", 0)])
    return out.getvalue()


BEIJING = dt.timedelta(hours=8)
DAILY_MAX_DAYS = 366


def daily_registrations(session: Session, actor: Actor, root_id: str | None, first: dt.date,
                        last: dt.date) -> list[dict[str, Any]]:
    """Units registered with the actor's part of the tree (or one delegation in it) per
    Beijing day from `first` to `last`, every day listed (0 included): a unit counts on the
    day of its first submission."""
    root = root_id or actor.delegation_id
    if root is not None and not in_scope(session, root, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    if last < first:
        first, last = last, first
    first = max(first, last - dt.timedelta(days=DAILY_MAX_DAYS - 1))
    start = dt.datetime.combine(first, dt.time()) - BEIJING
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time()) - BEIJING
    query = (select(UnitSubmission.at).join(UnitReview, UnitReview.unit_id == UnitSubmission.unit_id)
             .where(UnitSubmission.number == 1, UnitSubmission.at >= start, UnitSubmission.at < end,
                    UnitReview.status != "deleted"))
    if root is not None:
        query = query.where(UnitReview.delegation_id.in_(subtree(session, root)))
    counts: dict[dt.date, int] = {}
    for (at,) in session.execute(query):
        day = (at + BEIJING).date()
        counts[day] = counts.get(day, 0) + 1
    days = (last - first).days + 1
    return [{"date": (first + dt.timedelta(days=i)).isoformat(), "units": counts.get(first + dt.timedelta(days=i), 0)}
            for i in range(days)]


WEEKLY_HEADER = ("delegation_id", "name", "target", "units", "approved_units", "completion", "people",
                 "people_confirmed", "people_awaiting_confirmation")


def weekly_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["delegation_id"], r["name"], r["target"], r["units"], r["approved_units"],
             "" if r["completion"] is None else f"{r['completion']:.2%}", r["people"],
             r["people_by_status"].get("confirmed", 0) + r["people_by_status"].get("locked", 0),
             r["people_by_status"].get("awaiting_confirmation", 0)) for r in rows]


def units_in_scope(session: Session, actor: Actor, root_id: str | None) -> list[UnitReview]:
    """Every unit (submitted, not deleted) of the actor's part of the tree, for the export."""
    root = root_id or actor.delegation_id
    if root is not None and not in_scope(session, root, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    query = select(UnitReview).where(UnitReview.status.not_in(("not_submitted", "deleted")))
    if root is not None:
        query = query.where(UnitReview.delegation_id.in_(subtree(session, root)))
    return list(session.scalars(query.order_by(UnitReview.delegation_id, UnitReview.submitted_at,
                                               UnitReview.unit_id)))


def people_in_scope(session: Session, actor: Actor, root_id: str | None) -> list[tuple[ReviewPerson, UnitReview]]:
    units = {u.unit_id: u for u in units_in_scope(session, actor, root_id)}
    if not units:
        return []
    people = session.scalars(select(ReviewPerson).where(ReviewPerson.unit_id.in_(list(units)),
                                                        ReviewPerson.status != "deleted")
                             .order_by(ReviewPerson.unit_id, ReviewPerson.person_id))
    return [(p, units[p.unit_id]) for p in people]
