"""The unit's VIP and staff quotas (额度) as the unit sees them: what the delegation gave,
what its people have asked for or hold, what is left. A person asks for a free label only
within what is left (分配额度内选择相应标签); review still grants it atomically against its
own count — this check spares the unit a request review would refuse."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import Conflict
from shared.fair import FairProfile, fair

from ..models import Person, QuotaView, Unit

def quota_labels(profile: FairProfile | None = None) -> tuple[str, ...]:
    """The badge types granted within a quota (CIIE: VIP, staff), highest first."""
    profile = profile or fair()
    return tuple(sorted(profile.quota_badges(), key=profile.badge_rank, reverse=True))


def _given(row: QuotaView | None, label: str) -> int:
    """What the delegation gave for `label` (the projection keeps a column per quota badge)."""
    return int(getattr(row, label, 0) or 0) if row is not None else 0


def record_quota(session: Session, uscc: str, vip: int, staff: int) -> QuotaView:
    row = session.get(QuotaView, uscc, with_for_update=True)
    if row is None:
        row = QuotaView(uscc=uscc)
        session.add(row)
    row.vip, row.staff, row.updated_at = vip, staff, utcnow()
    return row


def applied(session: Session, unit: Unit, except_person_id: str | None = None,
            profile: FairProfile | None = None) -> dict[str, int]:
    """People of the unit asking for or holding each quota label (review's label wins over
    the request once given); cancelled people give theirs back."""
    labels = quota_labels(profile)
    if not labels:
        return {}
    label = func.coalesce(Person.label, Person.requested_label)
    query = (select(label, func.count()).where(Person.unit_id == unit.id, Person.status != "cancelled",
                                               label.in_(labels)).group_by(label))
    if except_person_id:
        query = query.where(Person.id != except_person_id)
    counts = {str(k): int(n) for k, n in session.execute(query).all()}
    return {k: counts.get(k, 0) for k in labels}


def unit_quota(session: Session, unit: Unit, profile: FairProfile | None = None) -> dict[str, Any]:
    row = session.get(QuotaView, unit.uscc)
    used = applied(session, unit, profile=profile)
    return {"labels": [{"label": k, "quota": _given(row, k), "applied": used[k],
                        "remaining": max(0, _given(row, k) - used[k])} for k in quota_labels(profile)]}


def check_label_within_quota(session: Session, unit: Unit, label: str, person_id: str | None = None,
                             profile: FairProfile | None = None) -> None:
    """A quota label (CIIE: VIP, staff) is asked for only while the unit's quota has room for it."""
    profile = profile or fair()
    if label not in quota_labels(profile):
        return
    row = session.get(QuotaView, unit.uscc)
    given = _given(row, label)
    if applied(session, unit, except_person_id=person_id, profile=profile)[label] >= given:
        fallback = profile.badge_label(profile.default_badge(unit.visitor_kind) or "", "en").lower()
        raise Conflict("label_over_quota", f"the unit has no {label} quota left ({given} given); choose {fallback}",
                       "requested_label")
