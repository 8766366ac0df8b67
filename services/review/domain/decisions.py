"""Decisions on units: the business registry and automatic review (无感审核), manual
review on one or two levels (approve, return, reject), reassignment, corrections,
deletion, and the review queue of an admin's part of the tree."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.fair import FairProfile
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.outbox import Emit
from shared.validators import is_valid_uscc

from ..models import Delegation, RegistryRecord, ReviewPerson, UnitReview
from .fair_rules import profile_of
from .host_organisations import check_actor_approved
from .organisations import HOST_ADMIN, Actor, audit, check_deadline, in_scope, settings_for, subtree, top_delegation
from .personnel import confirm_ready_people, release

AUTO_REVIEW_CATEGORIES = ("enterprise", "public_institution")
EDITABLE_CATEGORIES = ("enterprise", "government", "public_institution", "social_organisation", "other")


# --- registry and automatic review ------------------------------------------------------
def set_registry_record(session: Session, uscc: str, name: str) -> RegistryRecord:
    """Sandbox business registry: set the record that automatic review matches against."""
    if not is_valid_uscc(uscc):
        raise DomainError("invalid_uscc", "USCC check character does not match (GB 32100-2015)", "uscc")
    record = session.get(RegistryRecord, uscc) or RegistryRecord(uscc=uscc, name=name)
    record.name = name
    session.add(record)
    return record


def registry_matches(session: Session, uscc: str, name: str) -> bool:
    record = session.get(RegistryRecord, uscc)
    return record is not None and record.name.strip() == name.strip()


def may_auto_approve(review: UnitReview, registry_match: bool, profile: FairProfile | None = None) -> bool:
    """无感审核, where the fair reviews automatically: domestic enterprises and public
    institutions that the registry knows."""
    return bool(profile_of(profile).review["automatic"]) and review.region == "mainland" and \
        review.category in AUTO_REVIEW_CATEGORIES and registry_match


# --- decisions on units -----------------------------------------------------------------
def snapshot(review: UnitReview) -> dict[str, Any]:
    return {"status": review.status, "delegation_id": review.delegation_id, "comment": review.comment}


def get_review_in_scope(session: Session, unit_id: str, actor: Actor) -> UnitReview:
    """An admin sees only units of their delegation or its sub-delegations (404 otherwise)."""
    review = session.get(UnitReview, unit_id, with_for_update=True)
    if review is None or review.status in ("not_submitted", "deleted") or \
            not in_scope(session, review.delegation_id, actor.delegation_id):
        raise NotFound("unit", "unit_id")
    return review


def approve(session: Session, emit: Emit, review: UnitReview, actor: Actor | None,
            now: dt.datetime | None = None, profile: FairProfile | None = None) -> UnitReview:
    """Automatic (actor None) or manual approval. Where the delegation reviews on two
    levels, a sub-delegation's approval waits for the secretariat's confirmation (复审确认);
    a host organisation's always waits for the organising committee's ("承办机构审核通过后，
    审核状态变为审核中，等待组委会审核")."""
    before = snapshot(review)
    check_actor_approved(session, actor)
    if actor is not None:
        check_deadline(settings_for(session, review.edition or "").review_deadline, "review", now)
    if review.status == "first_approved":
        if actor is None or not actor.is_secretariat:
            raise Forbidden("the second level (the delegation secretariat, the organising committee) confirms a "
                            "first-level approval")
    elif review.status != "pending":
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    top = top_delegation(session, review.delegation_id)
    two_level = (top is not None and top.two_level) or (actor is not None and actor.role == HOST_ADMIN)
    if actor is not None and review.status == "pending" and not actor.is_secretariat and two_level:
        review.status, review.first_decided_by = "first_approved", actor.id
        audit(session, actor, "unit.first_approve", "unit", review.unit_id, review.delegation_id, before,
              snapshot(review))
        return review
    review.status, review.automatic, review.decided_at = "approved", actor is None, utcnow()
    review.decided_by = actor.id if actor else None
    emit("UnitApproved", {"unit_id": review.unit_id, "delegation_id": review.delegation_id,
                          "automatic": actor is None})
    if actor is not None:
        audit(session, actor, "unit.approve", "unit", review.unit_id, review.delegation_id, before, snapshot(review))
    confirm_ready_people(session, emit, review, profile)
    return review


def _close(session: Session, emit: Emit, review: UnitReview, actor: Actor, status: str, text: str,
           missing: DomainError, event: tuple[str, str], action: str) -> None:
    """Return or reject a unit pending review, with the text the unit will read."""
    if review.status not in ("pending", "first_approved"):
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    if not text.strip():
        raise missing
    check_actor_approved(session, actor)
    check_deadline(settings_for(session, review.edition or "").review_deadline, "review")
    before = snapshot(review)
    review.status, review.comment, review.decided_at, review.decided_by = status, text, utcnow(), actor.id
    emit(event[0], {"unit_id": review.unit_id, event[1]: text})
    audit(session, actor, action, "unit", review.unit_id, review.delegation_id, before, snapshot(review))


def return_for_modification(session: Session, emit: Emit, review: UnitReview, comment: str, actor: Actor) -> None:
    """退回修改: the unit edits and resubmits."""
    _close(session, emit, review, actor, "returned", comment,
           DomainError("comment_required", "say what the unit must change", "comment"),
           ("UnitReturned", "comment"), "unit.return")


def reject(session: Session, emit: Emit, review: UnitReview, reason: str, actor: Actor) -> None:
    """审核不通过: the unit loses eligibility."""
    _close(session, emit, review, actor, "rejected", reason,
           DomainError("reason_required", "give the reason for rejection", "reason"),
           ("UnitRejected", "reason"), "unit.reject")


def reassign(session: Session, emit: Emit, review: UnitReview, to_delegation_id: str, actor: Actor) -> None:
    target = session.get(Delegation, to_delegation_id)
    if target is None or not target.active:
        raise DomainError("unknown_delegation", "no such delegation", "delegation_id")
    if not in_scope(session, to_delegation_id, actor.delegation_id):
        raise Forbidden("you may reassign only within your delegation; the organising committee moves units "
                        "between delegations")
    if to_delegation_id == review.delegation_id:
        raise Conflict("same_delegation", "the unit is already there", "delegation_id")
    before = snapshot(review)
    emit("UnitReassigned", {"unit_id": review.unit_id, "from_delegation_id": review.delegation_id,
                            "to_delegation_id": to_delegation_id})
    review.delegation_id = to_delegation_id
    audit(session, actor, "unit.reassign", "unit", review.unit_id, to_delegation_id, before, snapshot(review))


def edit_unit(session: Session, emit: Emit, review: UnitReview, changes: dict[str, Any], actor: Actor) -> None:
    """A delegation corrects the name or category of a unit attached directly to it."""
    if actor.role == "sub_delegation_admin" and review.delegation_id != actor.delegation_id:
        raise Forbidden("a sub-delegation edits only units attached directly to it")
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise DomainError("nothing_to_change", "give a name or a category", "name")
    if "category" in changes and changes["category"] not in EDITABLE_CATEGORIES:
        raise DomainError("invalid_category", f"category must be one of {', '.join(EDITABLE_CATEGORIES)}",
                          "category")
    before = {k: getattr(review, k) for k in changes}
    for key, value in changes.items():
        setattr(review, key, value)
    emit("UnitEdited", {"unit_id": review.unit_id, "name": changes.get("name"), "category": changes.get("category")})
    audit(session, actor, "unit.edit", "unit", review.unit_id, review.delegation_id, before, changes)


def delete_unit(session: Session, emit: Emit, review: UnitReview, actor: Actor) -> None:
    """Removes the unit and its personnel everywhere (through UnitDeleted); final."""
    if actor.role == "sub_delegation_admin" and review.delegation_id != actor.delegation_id:
        raise Forbidden("a sub-delegation deletes only units attached directly to it")
    before = snapshot(review)
    for person in session.scalars(select(ReviewPerson).where(ReviewPerson.unit_id == review.unit_id)
                                  .with_for_update()):
        release(session, review, person)
        person.status = "deleted"
    review.status, review.decided_at, review.decided_by = "deleted", utcnow(), actor.id
    emit("UnitDeleted", {"unit_id": review.unit_id})
    audit(session, actor, "unit.delete", "unit", review.unit_id, review.delegation_id, before, snapshot(review))


# --- the queue --------------------------------------------------------------------------
def beijing_midnight_utc(day: dt.date) -> dt.datetime:
    """The naive UTC moment a Beijing day starts (UTC+8, no daylight saving)."""
    return dt.datetime.combine(day, dt.time()) - dt.timedelta(hours=8)


def decide_batch(uow: Any, actor: Actor, action: str, unit_ids: list[str], comment: str | None) -> list[dict[str, Any]]:
    """批量审核: each unit decided in its own transaction, so one that cannot be (another
    state, out of scope) is reported on its line and the others go through."""
    outcomes = []
    for unit_id in dict.fromkeys(unit_ids):  # each once, in the order chosen
        try:
            with uow() as (session, emit):
                review = get_review_in_scope(session, unit_id, actor)
                if action == "approve":
                    approve(session, emit, review, actor)
                elif action == "return":
                    return_for_modification(session, emit, review, comment or "", actor)
                else:
                    reject(session, emit, review, comment or "", actor)
                outcomes.append({"unit_id": unit_id, "ok": True, "status": review.status})
        except DomainError as err:
            outcomes.append({"unit_id": unit_id, "ok": False, "status": None, "code": err.code,
                             "message": err.message})
    return outcomes

def queue_page(session: Session, actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    """Units in the admin's part of the tree; filters: status, delegation_id, category,
    q (name contains or exact USCC)."""
    query = select(UnitReview).where(UnitReview.status.not_in(("not_submitted", "deleted")))
    if actor.delegation_id is not None:
        query = query.where(UnitReview.delegation_id.in_(subtree(session, actor.delegation_id)))
    if filters.get("status") and filters["status"] != "all":
        query = query.where(UnitReview.status == filters["status"])
    if filters.get("delegation_id"):  # a delegation with its sub-delegations
        query = query.where(UnitReview.delegation_id.in_(subtree(session, filters["delegation_id"])))
    if filters.get("category"):
        query = query.where(UnitReview.category == filters["category"])
    if filters.get("q"):
        term = filters["q"].strip()
        query = query.where(UnitReview.name.contains(term, autoescape=True) | (UnitReview.uscc == term.upper()))
    # submission dates as a Beijing reviewer means them; stored times are naive UTC
    if filters.get("submitted_from"):
        query = query.where(UnitReview.submitted_at >= beijing_midnight_utc(filters["submitted_from"]))
    if filters.get("submitted_to"):
        query = query.where(UnitReview.submitted_at < beijing_midnight_utc(filters["submitted_to"]
                                                                           + dt.timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 20)
    items = list(session.scalars(query.order_by(UnitReview.submitted_at, UnitReview.unit_id)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}
