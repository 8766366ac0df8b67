"""What units and delegations see: counts of checks, production and distribution (never
a failed check's reason), over a unit or a delegation with its sub-delegations, from the
delegation tree kept from review's DelegationChanged events."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.errors import NotFound

from ..models import BackgroundCheck, Credential, DelegationView, Holder
from .production import VALID


def record_delegation(session: Session, delegation_id: str, parent_id: str | None) -> None:
    view = session.get(DelegationView, delegation_id)
    if view is None:
        view = DelegationView(id=delegation_id)
        session.add(view)
    view.parent_id = parent_id


def subtree(session: Session, root: str) -> set[str]:
    ids, frontier = {root}, [root]
    while frontier:
        children = [c for c in session.scalars(select(DelegationView.id).where(DelegationView.parent_id.in_(frontier)))
                    if c not in ids]
        ids.update(children)
        frontier = children
    return ids


def counts(session: Session, unit_ids: list[str] | None = None,
           delegation_ids: set[str] | None = None) -> dict[str, int]:
    checks = select(BackgroundCheck.status, func.count()).group_by(BackgroundCheck.status)
    creds = select(Credential.status, func.count()).group_by(Credential.status)
    if unit_ids is not None:
        checks = checks.where(BackgroundCheck.unit_id.in_(unit_ids))
        creds = creds.where(Credential.unit_id.in_(unit_ids))
    if delegation_ids is not None:
        checks = checks.where(BackgroundCheck.person_id.in_(
            select(Holder.person_id).where(Holder.delegation_id.in_(delegation_ids))))
        creds = creds.where(Credential.delegation_id.in_(delegation_ids))
    c: dict[str, int] = {status: n for status, n in session.execute(checks)}
    k: dict[str, int] = {status: n for status, n in session.execute(creds)}
    return {"requested": sum(c.values()), "awaiting_answer": c.get("requested", 0), "passed": c.get("passed", 0),
            "failed": c.get("failed", 0), "overdue": c.get("overdue", 0),
            "in_production": k.get("queued", 0), "produced": sum(k.get(s, 0) for s in VALID),
            "dispatched": sum(k.get(s, 0) for s in ("dispatched", "ready_for_pickup", "delivered", "collected")),
            "handed_over": k.get("delivered", 0) + k.get("collected", 0), "reused": k.get("reused", 0),
            "revoked": k.get("revoked", 0)}


def delegation_counts(session: Session, delegation_id: str, scope: str | None) -> dict[str, int]:
    """Counts over the delegation's units and its sub-delegations'. An administrator
    bound to a delegation (`scope`) sees only its own subtree; others do not exist for them."""
    if scope is not None and delegation_id not in subtree(session, scope):
        raise NotFound("delegation", "delegation_id")
    return counts(session, delegation_ids=subtree(session, delegation_id))
