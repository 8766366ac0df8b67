"""The unit's 8-step progress, as the portal shows it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.fair import FairProfile, fair

from ..models import Person, Unit
from .unit_info import missing_unit_info

BADGE_STEPS = ("personnel", "payment", "personnel_check", "production", "distribution")


CHECKED = {"check_passed", "in_production", "dispatched", "delivered"}


PRODUCED = {"in_production", "dispatched", "delivered"}


DISTRIBUTED = {"dispatched", "delivered"}


PAID_OR_FREE = {"awaiting_check", "check_passed", "check_failed"} | PRODUCED


def progress(unit: Unit, people: list[Person], profile: FairProfile | None = None) -> dict[str, Any]:
    """An online-only unit (a visitor kind without badges, CIFTIS 线上参展商) has nothing to do
    in the badge steps: they are marked not applicable, and done."""
    active = [p for p in people if p.status != "cancelled"]
    submitted = [p for p in active if p.status != "saved"]

    def count(states: set[str]) -> int:
        return sum(1 for p in active if p.status in states)

    steps = [
        {"step": 1, "name": "account", "done": True},
        {"step": 2, "name": "unit_info", "done": not missing_unit_info(unit, profile)},
        {"step": 3, "name": "personnel", "done": bool(submitted), "count": len(submitted), "total": len(active)},
        {"step": 4, "name": "delegation_review", "done": unit.status == "approved", "status": unit.status},
        {"step": 5, "name": "payment", "done": bool(active) and count(PAID_OR_FREE) == len(submitted) > 0,
         "count": count(PAID_OR_FREE), "total": len(submitted),
         "awaiting_payment": count({"awaiting_payment"})},
        {"step": 6, "name": "personnel_check", "done": bool(submitted) and count(CHECKED) == len(submitted),
         "count": count(CHECKED), "total": len(submitted), "failed": count({"check_failed"})},
        {"step": 7, "name": "production", "done": bool(submitted) and count(PRODUCED) == len(submitted),
         "count": count(PRODUCED), "total": len(submitted)},
        {"step": 8, "name": "distribution", "done": bool(submitted) and count(DISTRIBUTED) == len(submitted),
         "count": count(DISTRIBUTED), "total": len(submitted)},
    ]
    if not (profile or fair()).has_badges(unit.visitor_kind):
        steps = [{"step": s["step"], "name": s["name"], "done": True, "applicable": False}
                 if s["name"] in BADGE_STEPS else s for s in steps]
    return {"unit_id": unit.id, "status": unit.status, "review_comment": unit.review_comment, "steps": steps}


def unit_progress(session: Session, unit: Unit) -> dict[str, Any]:
    return progress(unit, list(session.scalars(select(Person).where(Person.unit_id == unit.id))))
