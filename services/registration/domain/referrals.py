"""Referral links and the points ledger."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow

from ..models import Person, PointsEntry, Unit
from .links import sign_up_link


REGISTRATION_POINTS = 5


REFERRAL_POINTS_PER_PERSON = 10


APPROVED_PERSON_STATES = ("awaiting_confirmation", "awaiting_payment", "awaiting_check", "check_passed",
                          "in_production", "dispatched", "delivered")


def award_points(session: Session, unit_id: str, person_id: str | None, points: int, reason: str,
                 source_id: str) -> bool:
    """One ledger line per (reason, source, person); a repeat is ignored."""
    exists = session.scalar(select(PointsEntry.id).where(
        PointsEntry.reason == reason, PointsEntry.source_id == source_id,
        PointsEntry.person_id.is_(None) if person_id is None else PointsEntry.person_id == person_id))
    if exists:
        return False
    session.add(PointsEntry(id=new_id(), unit_id=unit_id, person_id=person_id, points=points, reason=reason,
                            source_id=source_id, created_at=utcnow()))
    return True


def award_referral_points(session: Session, invited: Unit) -> int:
    """When an invited unit is approved, each approved person of the inviter earns points."""
    if not invited.referred_by_unit_id:
        return 0
    people = session.scalars(select(Person).where(Person.unit_id == invited.referred_by_unit_id,
                                                  Person.status.in_(APPROVED_PERSON_STATES)))
    return sum(award_points(session, invited.referred_by_unit_id, p.id, REFERRAL_POINTS_PER_PERSON, "referral",
                            invited.id) for p in people)


def points(session: Session, unit_id: str) -> dict[str, Any]:
    entries = list(session.scalars(select(PointsEntry).where(PointsEntry.unit_id == unit_id)
                                   .order_by(PointsEntry.created_at, PointsEntry.id)))
    return {"balance": sum(e.points for e in entries), "entries": entries}


def referral(session: Session, unit: Unit, public_base_url: str) -> dict[str, Any]:
    """The unit's referral link: approved invited units earn its approved people points."""
    invited = session.scalar(select(func.count()).select_from(Unit).where(Unit.referred_by_unit_id == unit.id))
    return {"code": unit.referral_code, "link": sign_up_link(public_base_url, ref=unit.referral_code),
            "invited_units": invited or 0}
