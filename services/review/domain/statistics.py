"""Statistics: per (sub-)delegation progress against its target, and the weekly CSV report."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.errors import NotFound

from ..models import Delegation, ReviewPerson, UnitReview
from .organisations import Actor, in_scope, subtree


def statistics(session: Session, actor: Actor, root_id: str | None = None) -> list[dict[str, Any]]:
    """Per (sub-)delegation: its target, units by status and people by status. Industry
    delegations count towards the local delegation they roll up to."""
    root = root_id or actor.delegation_id
    if root is not None and not in_scope(session, root, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    delegations = list(session.scalars(select(Delegation).order_by(Delegation.id)))
    if root is not None:
        ids = subtree(session, root)
        delegations = [d for d in delegations if d.id in ids]
    # units and people of no delegation are counted under None, which no row shows
    rollup: dict[str | None, str | None] = {
        d.id: d.rollup_delegation_id for d in session.scalars(select(Delegation).where(Delegation.industry))}
    units: dict[str | None, dict[str, int]] = {}
    for delegation_id, status, count in session.execute(
            select(UnitReview.delegation_id, UnitReview.status, func.count()).where(
                UnitReview.status.not_in(("not_submitted", "deleted"))).group_by(UnitReview.delegation_id,
                                                                                 UnitReview.status)):
        key = rollup.get(delegation_id) or delegation_id
        units.setdefault(key, {})[status] = units.get(key, {}).get(status, 0) + count
    people: dict[str | None, dict[str, int]] = {}
    for delegation_id, status, count in session.execute(
            select(UnitReview.delegation_id, ReviewPerson.status, func.count())
            .join(UnitReview, UnitReview.unit_id == ReviewPerson.unit_id)
            .where(ReviewPerson.status != "deleted").group_by(UnitReview.delegation_id, ReviewPerson.status)):
        key = rollup.get(delegation_id) or delegation_id
        people.setdefault(key, {})[status] = people.get(key, {}).get(status, 0) + count
    rows = []
    for d in delegations:
        if d.industry and d.rollup_delegation_id:
            continue  # counted in its local delegation
        u = units.get(d.id, {})
        rows.append({"delegation_id": d.id, "name": d.name, "parent_id": d.parent_id, "target": d.target,
                     "units": sum(u.values()), "units_by_status": u, "approved_units": u.get("approved", 0),
                     "people": sum(people.get(d.id, {}).values()), "people_by_status": people.get(d.id, {}),
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
