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

from ..models import Person, QuotaView, Unit

FREE_LABELS = ("vip", "staff")


def record_quota(session: Session, uscc: str, vip: int, staff: int) -> QuotaView:
    row = session.get(QuotaView, uscc, with_for_update=True)
    if row is None:
        row = QuotaView(uscc=uscc)
        session.add(row)
    row.vip, row.staff, row.updated_at = vip, staff, utcnow()
    return row


def applied(session: Session, unit: Unit, except_person_id: str | None = None) -> dict[str, int]:
    """People of the unit asking for or holding each free label (review's label wins over
    the request once given); cancelled people give theirs back."""
    label = func.coalesce(Person.label, Person.requested_label)
    query = (select(label, func.count()).where(Person.unit_id == unit.id, Person.status != "cancelled",
                                               label.in_(FREE_LABELS)).group_by(label))
    if except_person_id:
        query = query.where(Person.id != except_person_id)
    counts = {str(k): int(n) for k, n in session.execute(query).all()}
    return {k: counts.get(k, 0) for k in FREE_LABELS}


def unit_quota(session: Session, unit: Unit) -> dict[str, Any]:
    row = session.get(QuotaView, unit.uscc)
    given = {"vip": row.vip if row else 0, "staff": row.staff if row else 0}
    used = applied(session, unit)
    return {"labels": [{"label": k, "quota": given[k], "applied": used[k],
                        "remaining": max(0, given[k] - used[k])} for k in FREE_LABELS]}


def check_label_within_quota(session: Session, unit: Unit, label: str, person_id: str | None = None) -> None:
    """A VIP or staff label is asked for only while the unit's quota has room for it."""
    if label not in FREE_LABELS:
        return
    row = session.get(QuotaView, unit.uscc)
    given = getattr(row, label) if row else 0
    if applied(session, unit, except_person_id=person_id)[label] >= given:
        raise Conflict("label_over_quota",
                       f"the unit has no {label} quota left ({given} given); choose professional visitor",
                       "requested_label")
