"""Review rules: automatic review, manual decisions, confirmation of personnel."""
from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import ApiError, Conflict, NotFound, Unauthorized
from shared.inbox import HandlerContext
from shared.outbox import Emit

from .models import Admin, Delegation, RegistryRecord, ReviewPerson, UnitReview

AUTO_REVIEW_CATEGORIES = ("enterprise", "public_institution")
_hasher = PasswordHasher()

# A small default structure so that the one-machine run has delegations to choose from.
DEFAULT_DELEGATIONS = [
    {"id": "GD", "name": "广东交易团", "parent_id": None, "recommendation_code": "Q2021089", "target": 3500},
    {"id": "GD-GZ", "name": "广州交易分团", "parent_id": "GD", "recommendation_code": None, "target": 400},
    {"id": "GD-SZ", "name": "深圳交易分团", "parent_id": "GD", "recommendation_code": None, "target": 500},
    {"id": "FJ", "name": "福建交易团", "parent_id": None, "recommendation_code": "Q2021391", "target": 0},
]


def announce_delegation(emit: Emit, d: Delegation) -> None:
    emit("DelegationChanged", {"delegation_id": d.id, "name": d.name, "parent_id": d.parent_id,
                               "recommendation_code": d.recommendation_code, "industry": bool(d.industry),
                               "active": bool(d.active)})


def seed_defaults(session: Session, emit: Emit, admin_password: str | None = None) -> None:
    """Idempotent: creates the default delegations (announcing them to registration) and,
    if a password is given, an organising-committee admin `admin`."""
    for d in DEFAULT_DELEGATIONS:
        if session.get(Delegation, d["id"]) is None:
            delegation = Delegation(**d, centralised_payment=False, two_level=False, industry=False, active=True)
            session.add(delegation)
            announce_delegation(emit, delegation)
    session.flush()
    if admin_password and session.scalar(select(Admin).where(Admin.username == "admin")) is None:
        session.add(Admin(id=new_id(), username="admin", password_hash=_hasher.hash(admin_password),
                          role="organising_committee", delegation_id=None))


def authenticate_admin(session: Session, username: str, password: str) -> Admin:
    admin = session.scalar(select(Admin).where(Admin.username == username))
    if admin is None:
        _hasher.hash(password)
        raise Unauthorized("wrong username or password")
    try:
        _hasher.verify(admin.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("wrong username or password")
    return admin


def set_registry_record(session: Session, uscc: str, name: str) -> RegistryRecord:
    record = session.get(RegistryRecord, uscc) or RegistryRecord(uscc=uscc, name=name)
    record.name = name
    session.add(record)
    return record


def registry_matches(session: Session, uscc: str, name: str) -> bool:
    record = session.get(RegistryRecord, uscc)
    return record is not None and record.name.strip() == name.strip()


def may_auto_approve(review: UnitReview, registry_match: bool) -> bool:
    """无感审核: domestic enterprises and public institutions that the registry knows."""
    return review.region == "mainland" and review.category in AUTO_REVIEW_CATEGORIES and registry_match


def confirmation_for(requested_label: str, delegation: Delegation | None) -> tuple[str, str] | None:
    """(label, payer) to confirm at once, or None when the delegation must decide.

    A professional visitor whose delegation has no centralised payment pays for
    themself: there is nothing to choose. VIP/staff labels and 统付 delegations wait for
    an admin's confirmation (确认代付/取消代付)."""
    if requested_label == "visitor" and (delegation is None or not delegation.centralised_payment):
        return "visitor", "unit"
    return None


def _confirm_ready_people(session: Session, emit: Emit, review: UnitReview) -> None:
    delegation = session.get(Delegation, review.delegation_id) if review.delegation_id else None
    people = session.scalars(select(ReviewPerson).where(ReviewPerson.unit_id == review.unit_id,
                                                        ReviewPerson.status.in_(("submitted",))))
    for person in people:
        person.status = "awaiting_confirmation"
        decision = confirmation_for(person.requested_label, delegation)
        if decision:
            person.label, person.payer = decision
            person.status = "confirmed"
            emit("PersonnelConfirmed", {"person_id": person.person_id, "unit_id": person.unit_id,
                                        "delegation_id": review.delegation_id, "label": person.label,
                                        "payer": person.payer})


def approve(session: Session, emit: Emit, review: UnitReview, automatic: bool, by: str | None) -> None:
    if review.status not in ("pending",):
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    review.status, review.automatic, review.decided_at, review.decided_by = "approved", automatic, utcnow(), by
    emit("UnitApproved", {"unit_id": review.unit_id, "delegation_id": review.delegation_id,
                          "automatic": automatic})
    _confirm_ready_people(session, emit, review)


def return_for_modification(emit: Emit, review: UnitReview, comment: str, by: str) -> None:
    if review.status != "pending":
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    if not comment.strip():
        raise ApiError("comment_required", "say what the unit must change", "comment")
    review.status, review.comment, review.decided_at, review.decided_by = "returned", comment, utcnow(), by
    emit("UnitReturned", {"unit_id": review.unit_id, "comment": comment})


def reject(emit: Emit, review: UnitReview, reason: str, by: str) -> None:
    if review.status != "pending":
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    if not reason.strip():
        raise ApiError("reason_required", "give the reason for rejection", "reason")
    review.status, review.comment, review.decided_at, review.decided_by = "rejected", reason, utcnow(), by
    emit("UnitRejected", {"unit_id": review.unit_id, "reason": reason})


def get_review_in_scope(session: Session, unit_id: str, admin_delegation_id: str | None) -> UnitReview:
    """An admin sees only units of their delegation or its sub-delegations (404 otherwise)."""
    review = session.get(UnitReview, unit_id, with_for_update=True)
    if review is None or review.status == "not_submitted" or not in_scope(session, review.delegation_id, admin_delegation_id):
        raise NotFound("unit", "unit_id")
    return review


def in_scope(session: Session, unit_delegation_id: str | None, admin_delegation_id: str | None) -> bool:
    if admin_delegation_id is None:  # organising committee: everything
        return True
    current = unit_delegation_id
    while current is not None:
        if current == admin_delegation_id:
            return True
        parent = session.get(Delegation, current)
        current = parent.parent_id if parent else None
    return False


# --- event handlers -------------------------------------------------------------------
def locked_unit(session: Session, unit_id: str) -> UnitReview:
    """The unit's review row, created if needed, locked for this transaction. The unit's
    events arrive on different queues and are handled concurrently; the lock makes each
    handler see what the other committed (otherwise a person submitted at the same
    moment as the unit would be confirmed by neither)."""
    if session.get(UnitReview, unit_id) is None:
        try:
            with session.begin_nested():
                session.add(UnitReview(unit_id=unit_id, status="not_submitted", automatic=False))
        except IntegrityError:
            pass  # another handler created it first
    return session.scalar(select(UnitReview).where(UnitReview.unit_id == unit_id)
                          .with_for_update().execution_options(populate_existing=True))


def on_unit_submitted(ctx: HandlerContext) -> None:
    p: dict[str, Any] = ctx.payload
    review = locked_unit(ctx.session, p["unit_id"])
    review.edition, review.uscc, review.name = p["edition"], p["uscc"], p["name"]
    review.category, review.region, review.delegation_id = p["category"], p["region"], p["delegation_id"]
    review.status, review.comment, review.submitted_at, review.automatic = "pending", None, utcnow(), False
    ctx.session.flush()
    if may_auto_approve(review, registry_matches(ctx.session, review.uscc, review.name)):
        approve(ctx.session, ctx.emit, review, automatic=True, by=None)


def on_personnel_submitted(ctx: HandlerContext) -> None:
    p = ctx.payload
    review = locked_unit(ctx.session, p["unit_id"])
    if ctx.session.get(ReviewPerson, p["person_id"]) is not None:
        return
    ctx.session.add(ReviewPerson(person_id=p["person_id"], unit_id=p["unit_id"],
                                 requested_label=p["requested_label"], status="submitted"))
    ctx.session.flush()
    if review.status == "approved":  # added after approval
        _confirm_ready_people(ctx.session, ctx.emit, review)


HANDLERS = {"UnitSubmitted": on_unit_submitted, "PersonnelSubmitted": on_personnel_submitted}
