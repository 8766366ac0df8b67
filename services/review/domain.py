"""Review rules: organisations and scope, automatic and two-level manual review,
confirmation of personnel (who pays), quotas and labels, centralised payment, reuse
locking, invitation codes, deadlines, statistics and the audit log."""
from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from dataclasses import dataclass
from typing import Any, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import ApiError, Conflict, Forbidden, NotFound, Unauthorized
from shared.inbox import HandlerContext
from shared.outbox import Emit
from shared.validators import is_valid_uscc

from .models import (
    Admin, AuditEntry, Delegation, EditionSettings, InvitationCode, Quota, RegistryRecord, ReviewPerson,
    UnitReview,
)

AUTO_REVIEW_CATEGORIES = ("enterprise", "public_institution")
REVIEWER_ROLES = ("sub_delegation_admin", "delegation_secretariat", "organising_committee")
SECRETARIAT_ROLES = ("delegation_secretariat", "organising_committee")
LABEL_RANK = {"visitor": 0, "staff": 1, "vip": 2}
DEFAULT_FEE_FEN = 20000
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Actor:
    """The admin doing something: id, role and the part of the tree they may act on."""
    id: str
    role: str
    delegation_id: str | None

    @property
    def is_secretariat(self) -> bool:
        return self.role in SECRETARIAT_ROLES


# --- seed data ----------------------------------------------------------------------------
# 进口博览会广东交易团招商工作任务分解表 (seeds: ciie3-guangdong-delegation-notice): 26 members, 3,500.
GUANGDONG_MEMBERS = [
    ("GD-P-IIT", "省工业和信息化厅", 30), ("GD-P-STD", "省科技厅", 30), ("GD-P-AGR", "省农业农村厅", 30),
    ("GD-P-SASAC", "省国资委", 100), ("GD-P-CCPIT", "省贸促会", 100), ("GD-P-FIC", "省工商联", 60),
    ("GD-GZ", "广州市", 400), ("GD-ZH", "珠海市", 360), ("GD-ST", "汕头市", 160), ("GD-FS", "佛山市", 360),
    ("GD-SG", "韶关市", 80), ("GD-HY", "河源市", 80), ("GD-MZ", "梅州市", 80), ("GD-HZ", "惠州市", 200),
    ("GD-SW", "汕尾市", 80), ("GD-DG", "东莞市", 360), ("GD-ZS", "中山市", 200), ("GD-JM", "江门市", 150),
    ("GD-YJ", "阳江市", 80), ("GD-ZJ", "湛江市", 80), ("GD-MM", "茂名市", 80), ("GD-ZQ", "肇庆市", 80),
    ("GD-QY", "清远市", 80), ("GD-CZ", "潮州市", 80), ("GD-JY", "揭阳市", 80), ("GD-YF", "云浮市", 80),
]
DEFAULT_DELEGATIONS = (
    [{"id": "GD", "name": "广东交易团", "parent_id": None, "recommendation_code": "Q2021089", "target": 3500}]
    + [{"id": i, "name": f"{n}分团" if n.endswith("市") else f"{n}交易分团", "parent_id": "GD",
        "recommendation_code": None, "target": t} for i, n, t in GUANGDONG_MEMBERS]
    + [{"id": "FJ", "name": "福建交易团", "parent_id": None, "recommendation_code": "Q2021391", "target": 0}]
)


def announce_delegation(emit: Emit, d: Delegation) -> None:
    emit("DelegationChanged", {"delegation_id": d.id, "name": d.name, "parent_id": d.parent_id,
                               "recommendation_code": d.recommendation_code, "industry": bool(d.industry),
                               "active": bool(d.active)})


def seed_defaults(session: Session, emit: Emit, admin_password: str | None = None,
                  edition: str = "CIIE-2026") -> None:
    """Idempotent: the Guangdong delegation with its 26 members and targets, the Fujian
    delegation with its recommendation code (announced to registration), the edition's
    settings and, if a password is given, an organising-committee admin `admin`."""
    for d in DEFAULT_DELEGATIONS:
        if session.get(Delegation, d["id"]) is None:
            delegation = Delegation(**d, centralised_payment=False, centralised_limit_fen=0,
                                    centralised_spent_fen=0, two_level=False, industry=False, active=True)
            session.add(delegation)
            session.flush()
            announce_delegation(emit, delegation)
    if session.get(EditionSettings, edition) is None:
        session.add(EditionSettings(edition=edition, fee_fen=DEFAULT_FEE_FEN))
    if admin_password and session.scalar(select(Admin).where(Admin.username == "admin")) is None:
        session.add(Admin(id=new_id(), username="admin", password_hash=_hasher.hash(admin_password),
                          role="organising_committee", delegation_id=None, active=True))


# --- admins and scope ----------------------------------------------------------------------
def authenticate_admin(session: Session, username: str, password: str) -> Admin:
    admin = session.scalar(select(Admin).where(Admin.username == username))
    if admin is None or not admin.active:
        _hasher.hash(password)
        raise Unauthorized("wrong username or password")
    try:
        _hasher.verify(admin.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("wrong username or password") from None
    return admin


def subtree(session: Session, root_id: str) -> set[str]:
    ids, frontier = {root_id}, [root_id]
    while frontier:
        children = list(session.scalars(select(Delegation.id).where(Delegation.parent_id.in_(frontier))))
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


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


def create_admin(session: Session, actor: Actor, data: dict[str, Any]) -> Admin:
    """The organising committee creates any admin; a delegation secretariat creates
    admins inside its own delegation."""
    role, delegation_id = data["role"], data.get("delegation_id")
    if actor.role != "organising_committee":
        if actor.role != "delegation_secretariat" or role not in ("sub_delegation_admin", "delegation_secretariat") \
                or delegation_id is None or not in_scope(session, delegation_id, actor.delegation_id):
            raise Forbidden("you may only create admins of your own delegation")
    if role in ("sub_delegation_admin", "delegation_secretariat") and delegation_id is None:
        raise ApiError("delegation_required", "this role works for a delegation", "delegation_id")
    if delegation_id is not None and session.get(Delegation, delegation_id) is None:
        raise ApiError("unknown_delegation", "no such delegation", "delegation_id")
    if session.scalar(select(Admin.id).where(Admin.username == data["username"])):
        raise Conflict("username_taken", "this username is taken", "username")
    admin = Admin(id=new_id(), username=data["username"], password_hash=_hasher.hash(data["password"]), role=role,
                  delegation_id=delegation_id, active=True)
    session.add(admin)
    session.flush()
    audit(session, actor, "admin.create", "admin", admin.id, delegation_id, None,
          {"username": admin.username, "role": role, "delegation_id": delegation_id})
    return admin


def audit(session: Session, actor: Actor, action: str, target_type: str, target_id: str,
          delegation_id: str | None, before: dict | None, after: dict | None) -> None:
    session.add(AuditEntry(id=new_id(), admin_id=actor.id, role=actor.role, action=action, target_type=target_type,
                           target_id=target_id, delegation_id=delegation_id, before=before, after=after,
                           at=utcnow()))


def audit_page(session: Session, actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    query = select(AuditEntry)
    if actor.delegation_id is not None:
        query = query.where(AuditEntry.delegation_id.in_(subtree(session, actor.delegation_id)))
    for key in ("target_id", "action", "admin_id"):
        if filters.get(key):
            query = query.where(getattr(AuditEntry, key) == filters[key])
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 50)
    items = list(session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# --- settings and deadlines -------------------------------------------------------------
def settings_for(session: Session, edition: str) -> EditionSettings:
    settings = session.get(EditionSettings, edition)
    if settings is None:
        settings = EditionSettings(edition=edition, fee_fen=DEFAULT_FEE_FEN)
        session.add(settings)
        session.flush()
    return settings


def check_deadline(deadline: dt.datetime | None, what: str, now: dt.datetime | None = None) -> None:
    if deadline is not None and (now or utcnow()) > deadline:
        raise ApiError("deadline_passed", f"{what} closed on {deadline.isoformat(timespec='minutes')} UTC", None,
                       status=409)


# --- registry and automatic review ------------------------------------------------------
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


def top_delegation(session: Session, delegation_id: str | None) -> Delegation | None:
    current = session.get(Delegation, delegation_id) if delegation_id else None
    while current is not None and current.parent_id:
        current = session.get(Delegation, current.parent_id)
    return current


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
            now: dt.datetime | None = None) -> UnitReview:
    """Automatic (actor None) or manual approval. Where the delegation reviews on two
    levels, a sub-delegation's approval waits for the secretariat's confirmation (复审确认)."""
    before = snapshot(review)
    if actor is not None:
        check_deadline(settings_for(session, review.edition or "").review_deadline, "review", now)
    if review.status == "first_approved":
        if actor is None or not actor.is_secretariat:
            raise Forbidden("the delegation secretariat confirms a first-level approval")
    elif review.status != "pending":
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    top = top_delegation(session, review.delegation_id)
    if actor is not None and review.status == "pending" and not actor.is_secretariat and top and top.two_level:
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
    _confirm_ready_people(session, emit, review)
    return review


def return_for_modification(session: Session, emit: Emit, review: UnitReview, comment: str, actor: Actor) -> None:
    if review.status not in ("pending", "first_approved"):
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    if not comment.strip():
        raise ApiError("comment_required", "say what the unit must change", "comment")
    check_deadline(settings_for(session, review.edition or "").review_deadline, "review")
    before = snapshot(review)
    review.status, review.comment, review.decided_at, review.decided_by = "returned", comment, utcnow(), actor.id
    emit("UnitReturned", {"unit_id": review.unit_id, "comment": comment})
    audit(session, actor, "unit.return", "unit", review.unit_id, review.delegation_id, before, snapshot(review))


def reject(session: Session, emit: Emit, review: UnitReview, reason: str, actor: Actor) -> None:
    if review.status not in ("pending", "first_approved"):
        raise Conflict("not_pending", f"the unit is {review.status}, not pending review")
    if not reason.strip():
        raise ApiError("reason_required", "give the reason for rejection", "reason")
    check_deadline(settings_for(session, review.edition or "").review_deadline, "review")
    before = snapshot(review)
    review.status, review.comment, review.decided_at, review.decided_by = "rejected", reason, utcnow(), actor.id
    emit("UnitRejected", {"unit_id": review.unit_id, "reason": reason})
    audit(session, actor, "unit.reject", "unit", review.unit_id, review.delegation_id, before, snapshot(review))


def reassign(session: Session, emit: Emit, review: UnitReview, to_delegation_id: str, actor: Actor) -> None:
    target = session.get(Delegation, to_delegation_id)
    if target is None or not target.active:
        raise ApiError("unknown_delegation", "no such delegation", "delegation_id")
    if not actor.is_secretariat and not in_scope(session, to_delegation_id, actor.delegation_id):
        raise Forbidden("you may reassign only within your delegation")
    if to_delegation_id == review.delegation_id:
        raise Conflict("same_delegation", "the unit is already there", "delegation_id")
    before = snapshot(review)
    emit("UnitReassigned", {"unit_id": review.unit_id, "from_delegation_id": review.delegation_id,
                            "to_delegation_id": to_delegation_id})
    review.delegation_id = to_delegation_id
    audit(session, actor, "unit.reassign", "unit", review.unit_id, to_delegation_id, before, snapshot(review))


EDITABLE_CATEGORIES = ("enterprise", "government", "public_institution", "social_organisation", "other")


def edit_unit(session: Session, emit: Emit, review: UnitReview, changes: dict[str, Any], actor: Actor) -> None:
    """A delegation corrects the name or category of a unit attached directly to it."""
    if actor.role == "sub_delegation_admin" and review.delegation_id != actor.delegation_id:
        raise Forbidden("a sub-delegation edits only units attached directly to it")
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise ApiError("nothing_to_change", "give a name or a category", "name")
    if "category" in changes and changes["category"] not in EDITABLE_CATEGORIES:
        raise ApiError("invalid_category", f"category must be one of {', '.join(EDITABLE_CATEGORIES)}", "category")
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


def queue_page(session: Session, actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    query = select(UnitReview).where(UnitReview.status.not_in(("not_submitted", "deleted")))
    if actor.delegation_id is not None:
        query = query.where(UnitReview.delegation_id.in_(subtree(session, actor.delegation_id)))
    if filters.get("status") and filters["status"] != "all":
        query = query.where(UnitReview.status == filters["status"])
    if filters.get("delegation_id"):
        query = query.where(UnitReview.delegation_id == filters["delegation_id"])
    if filters.get("category"):
        query = query.where(UnitReview.category == filters["category"])
    if filters.get("q"):
        term = filters["q"].strip()
        query = query.where(UnitReview.name.contains(term, autoescape=True) | (UnitReview.uscc == term.upper()))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 20)
    items = list(session.scalars(query.order_by(UnitReview.submitted_at, UnitReview.unit_id)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# --- personnel: confirmation, labels, quotas, centralised payment ---------------------------
def confirmation_for(requested_label: str, delegation: Delegation | None) -> tuple[str, str] | None:
    """(label, payer) to confirm at once, or None when the delegation must decide.

    A professional visitor whose delegation has no centralised payment pays for
    themself: there is nothing to choose. VIP/staff labels and 统付 delegations wait for
    an admin's confirmation (确认代付/取消代付)."""
    if requested_label == "visitor" and (delegation is None or not delegation.centralised_payment):
        return "visitor", "unit"
    return None


def _confirm(emit: Emit, review: UnitReview, person: ReviewPerson, label: str, payer: str) -> None:
    person.label, person.payer, person.status, person.confirmed_at = label, payer, "confirmed", utcnow()
    emit("PersonnelConfirmed", {"person_id": person.person_id, "unit_id": person.unit_id,
                                "delegation_id": review.delegation_id, "label": label, "payer": payer})


def _confirm_ready_people(session: Session, emit: Emit, review: UnitReview) -> None:
    delegation = top_delegation(session, review.delegation_id)
    people = session.scalars(select(ReviewPerson).where(ReviewPerson.unit_id == review.unit_id,
                                                        ReviewPerson.status == "submitted")
                             .order_by(ReviewPerson.person_id).with_for_update())
    for person in people:
        person.status = "awaiting_confirmation"
        decision = confirmation_for(person.requested_label, delegation)
        if decision:
            _confirm(emit, review, person, *decision)


def people_in_scope(session: Session, person_ids: list[str], actor: Actor,
                    statuses: Iterable[str]) -> list[tuple[ReviewPerson, UnitReview]]:
    """All the people, locked, each in the actor's scope and in one of `statuses`; a
    batch is all or nothing."""
    if not person_ids:
        raise ApiError("no_people", "choose at least one person", "person_ids")
    rows = []
    for person_id in sorted(set(person_ids)):
        person = session.get(ReviewPerson, person_id, with_for_update=True)
        review = session.get(UnitReview, person.unit_id) if person else None
        if person is None or review is None or not in_scope(session, review.delegation_id, actor.delegation_id):
            raise NotFound(f"person {person_id}", "person_ids")
        if person.status not in statuses:
            raise Conflict("wrong_state", f"person {person_id} is {person.status}", "person_ids")
        rows.append((person, review))
    return rows


def confirm_payer(session: Session, emit: Emit, person_ids: list[str], delegation_pays: bool, actor: Actor,
                  now: dt.datetime | None = None) -> list[ReviewPerson]:
    """确认代付 / 取消代付, one or a batch, final once chosen. The delegation's centralised
    payment never goes over its limit."""
    rows = people_in_scope(session, person_ids, actor, ("awaiting_confirmation",))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").labelling_deadline, "labelling", now)
        if person.requested_label != "visitor":
            raise Conflict("label_decision_needed", "grant or decline the requested label first", "person_ids")
        if delegation_pays:
            top = top_delegation(session, review.delegation_id)
            if top is None or not top.centralised_payment:
                raise Conflict("no_centralised_payment", "the delegation does not pay centrally", "person_ids")
            fee = settings_for(session, review.edition or "").fee_fen
            spend(session, top, fee)
            person.fee_fen = fee
        _confirm(emit, review, person, "visitor", "delegation" if delegation_pays else "unit")
        audit(session, actor, "person.confirm_delegation_pays" if delegation_pays else "person.cancel_delegation_pays",
              "person", person.person_id, review.delegation_id, {"status": "awaiting_confirmation"},
              {"label": "visitor", "payer": person.payer})
    return [p for p, _ in rows]


def spend(session: Session, delegation: Delegation, fee_fen: int) -> None:
    """Atomic: the row lock serialises every instance that spends from this delegation."""
    locked = session.get(Delegation, delegation.id, with_for_update=True, populate_existing=True)
    if locked.centralised_spent_fen + fee_fen > locked.centralised_limit_fen:
        left = locked.centralised_limit_fen - locked.centralised_spent_fen
        raise Conflict("centralised_limit_reached",
                       f"the centralised payment limit would be exceeded ({left / 100:.2f} CNY left)", "person_ids")
    locked.centralised_spent_fen += fee_fen


def quota_for(session: Session, edition: str, uscc: str, lock: bool = True) -> Quota | None:
    query = select(Quota).where(Quota.edition == edition, Quota.uscc == uscc)
    return session.scalar(query.with_for_update() if lock else query)


def use_quota(session: Session, review: UnitReview, label: str) -> None:
    """A VIP or staff label is granted only within the unit's quota, atomically: the
    guarded UPDATE succeeds for exactly as many grants as there is quota."""
    column, limit = (Quota.vip_used, Quota.vip) if label == "vip" else (Quota.staff_used, Quota.staff)
    result = session.execute(update(Quota).where(Quota.edition == review.edition, Quota.uscc == review.uscc,
                                                 column < limit).values({column: column + 1}))
    if result.rowcount != 1:
        raise Conflict("quota_exhausted", f"the unit has no {label} quota left", "label")


def free_quota(session: Session, review: UnitReview, label: str) -> None:
    column = Quota.vip_used if label == "vip" else Quota.staff_used
    session.execute(update(Quota).where(Quota.edition == review.edition, Quota.uscc == review.uscc, column > 0)
                    .values({column: column - 1}))


def release(session: Session, review: UnitReview, person: ReviewPerson) -> None:
    """Give back what a person held: quota for a free label, centralised-payment budget."""
    if person.status in ("confirmed", "locked") and person.label in ("vip", "staff"):
        free_quota(session, review, person.label)
    if person.status in ("confirmed", "locked") and person.payer == "delegation" and person.fee_fen:
        top = top_delegation(session, review.delegation_id)
        if top is not None:
            locked = session.get(Delegation, top.id, with_for_update=True, populate_existing=True)
            locked.centralised_spent_fen = max(0, locked.centralised_spent_fen - person.fee_fen)


def grant_label(session: Session, emit: Emit, person_ids: list[str], label: str, actor: Actor,
                now: dt.datetime | None = None) -> list[ReviewPerson]:
    """Label people awaiting confirmation as VIP or staff (free, within quota) — or as
    professional visitors, who then go the payer way."""
    rows = people_in_scope(session, person_ids, actor, ("awaiting_confirmation",))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").labelling_deadline, "labelling", now)
        if label == "visitor":
            person.requested_label = "visitor"
            decision = confirmation_for("visitor", top_delegation(session, review.delegation_id))
            if decision:
                _confirm(emit, review, person, *decision)
        else:
            use_quota(session, review, label)
            _confirm(emit, review, person, label, "free")
        audit(session, actor, "person.label", "person", person.person_id, review.delegation_id,
              {"requested_label": person.requested_label}, {"label": label})
    return [p for p, _ in rows]


def upgrade(session: Session, emit: Emit, person_id: str, to_label: str, actor: Actor,
            now: dt.datetime | None = None) -> ReviewPerson:
    """visitor → staff or VIP, staff → VIP; never for a reused VIP. Within quota."""
    [(person, review)] = people_in_scope(session, [person_id], actor, ("confirmed", "locked"))
    check_deadline(settings_for(session, review.edition or "").labelling_deadline, "labelling", now)
    if person.reused_label == "vip":
        raise Conflict("reused_vip", "a reused VIP credential cannot be changed", "label")
    if LABEL_RANK[to_label] <= LABEL_RANK[person.label or "visitor"]:
        raise ApiError("not_an_upgrade", f"{person.label} cannot become {to_label}", "label")
    use_quota(session, review, to_label)
    if person.label in ("vip", "staff"):
        free_quota(session, review, person.label)
    before = {"label": person.label, "payer": person.payer}
    emit("PersonnelUpgraded", {"person_id": person.person_id, "unit_id": person.unit_id,
                               "from_label": person.label, "to_label": to_label})
    person.label, person.payer = to_label, "free"
    audit(session, actor, "person.upgrade", "person", person.person_id, review.delegation_id, before,
          {"label": to_label, "payer": "free"})
    return person


def set_quota(session: Session, emit: Emit, actor: Actor, edition: str, uscc: str, vip: int, staff: int,
              unit_id: str | None = None) -> Quota:
    if not is_valid_uscc(uscc):
        raise ApiError("invalid_uscc", f"{uscc}: USCC check character does not match", "uscc")
    if vip < 0 or staff < 0:
        raise ApiError("invalid_quota", "quotas cannot be negative", "vip" if vip < 0 else "staff")
    quota = quota_for(session, edition, uscc)
    if quota is None:
        quota = Quota(id=new_id(), edition=edition, uscc=uscc, vip=0, staff=0, vip_used=0, staff_used=0,
                      set_by_delegation_id=actor.delegation_id)
        session.add(quota)
        session.flush()
    if vip < quota.vip_used or staff < quota.staff_used:
        raise Conflict("quota_below_use", f"{quota.vip_used} VIP and {quota.staff_used} staff labels are in use",
                       "vip" if vip < quota.vip_used else "staff")
    before = {"vip": quota.vip, "staff": quota.staff}
    quota.vip, quota.staff = vip, staff
    review = session.scalar(select(UnitReview).where(UnitReview.uscc == uscc, UnitReview.edition == edition))
    emit("QuotaChanged", {"uscc": uscc, "unit_id": unit_id or (review.unit_id if review else None), "vip": vip,
                          "staff": staff})
    audit(session, actor, "quota.set", "quota", uscc, actor.delegation_id, before, {"vip": vip, "staff": staff})
    return quota


def parse_quota_file(filename: str, content: bytes) -> list[dict[str, Any]]:
    """The quota template: columns uscc, vip, staff (CSV or XLSX), one row per unit."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True).active
        except Exception:
            raise ApiError("unreadable_file", "the file is not a readable XLSX workbook", "file") from None
        rows = [[("" if c is None else str(c)).strip() for c in row] for row in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError("unreadable_file", "the CSV file must be UTF-8", "file") from None
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    rows = [r for r in rows if any(r)]
    if not rows or [h.lower() for h in rows[0][:3]] != ["uscc", "vip", "staff"]:
        raise ApiError("bad_template", "the first row must be: uscc, vip, staff", "file")
    parsed = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            parsed.append({"uscc": row[0].upper(), "vip": int(float(row[1] or 0)), "staff": int(float(row[2] or 0))})
        except (ValueError, IndexError):
            raise ApiError("bad_row", f"row {number}: vip and staff must be whole numbers", "file") from None
        if not is_valid_uscc(parsed[-1]["uscc"]):
            raise ApiError("bad_row", f"row {number}: {row[0]} is not a valid USCC", "file")
    return parsed


def set_centralised_payment(session: Session, actor: Actor, delegation_id: str, enabled: bool,
                            limit_fen: int) -> Delegation:
    delegation = session.get(Delegation, delegation_id, with_for_update=True)
    if delegation is None or not in_scope(session, delegation_id, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    if delegation.parent_id is not None:
        raise ApiError("not_a_delegation", "centralised payment is set on the delegation itself", "delegation_id")
    if not actor.is_secretariat:
        raise Forbidden("the delegation secretariat sets centralised payment")
    if limit_fen < delegation.centralised_spent_fen:
        raise Conflict("limit_below_spent", f"{delegation.centralised_spent_fen / 100:.2f} CNY is already committed",
                       "limit_fen")
    before = {"enabled": delegation.centralised_payment, "limit_fen": delegation.centralised_limit_fen}
    delegation.centralised_payment, delegation.centralised_limit_fen = enabled, limit_fen
    audit(session, actor, "delegation.centralised_payment", "delegation", delegation.id, delegation.id, before,
          {"enabled": enabled, "limit_fen": limit_fen})
    return delegation


def lock_reuse(session: Session, emit: Emit, person_ids: list[str], actor: Actor,
               now: dt.datetime | None = None) -> list[ReviewPerson]:
    """锁定提交: the delegation locks reuse requests; a free label needs matching quota."""
    rows = people_in_scope(session, person_ids, actor, ("pending_lock",))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").locking_deadline, "locking", now)
        if review.status != "approved":
            raise Conflict("unit_not_approved", "the unit must be approved first", "person_ids")
        label = person.reused_label or "visitor"
        if label in ("vip", "staff"):
            use_quota(session, review, label)
        payer = "free" if label in ("vip", "staff") else "unit"
        person.label, person.payer, person.status, person.confirmed_at = label, payer, "locked", utcnow()
        emit("ReuseLocked", {"person_id": person.person_id, "unit_id": person.unit_id, "label": label,
                             "payer": payer, "previous_credential_no": person.previous_credential_no})
        audit(session, actor, "person.lock_reuse", "person", person.person_id, review.delegation_id,
              {"status": "pending_lock"}, {"status": "locked", "label": label})
    return [p for p, _ in rows]


# --- CIFTIS invitation codes ------------------------------------------------------------
def issue_invitation_codes(session: Session, actor: Actor, delegation_id: str, count: int) -> list[InvitationCode]:
    if not in_scope(session, delegation_id, actor.delegation_id) or session.get(Delegation, delegation_id) is None:
        raise NotFound("host organisation", "delegation_id")
    codes = []
    for _ in range(count):
        code = InvitationCode(code="".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(10)),
                              delegation_id=delegation_id, created_at=utcnow())
        session.add(code)
        codes.append(code)
    session.flush()
    audit(session, actor, "invitation_codes.issue", "delegation", delegation_id, delegation_id, None, {"count": count})
    return codes


def claim_invitation_code(session: Session, code: str, unit_id: str, unit_name: str) -> InvitationCode:
    """Single use, even when two enterprises sign up at the same moment: the guarded
    UPDATE lets exactly one of them through."""
    result = session.execute(update(InvitationCode).where(InvitationCode.code == code,
                                                          InvitationCode.used_by_unit_id.is_(None))
                             .values(used_by_unit_id=unit_id, used_by_name=unit_name, used_at=utcnow()))
    row = session.get(InvitationCode, code, populate_existing=True)
    if result.rowcount == 1:
        return row
    if row is None:
        raise ApiError("unknown_invitation_code", "no such invitation code", "invitation_code")
    if row.used_by_unit_id == unit_id:
        return row
    raise Conflict("invitation_code_used", "this invitation code has already been used", "invitation_code")


# --- statistics -------------------------------------------------------------------------
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
    rollup = {d.id: d.rollup_delegation_id for d in session.scalars(select(Delegation).where(Delegation.industry))}
    units: dict[str, dict[str, int]] = {}
    for delegation_id, status, count in session.execute(
            select(UnitReview.delegation_id, UnitReview.status, func.count()).where(
                UnitReview.status.not_in(("not_submitted", "deleted"))).group_by(UnitReview.delegation_id,
                                                                                 UnitReview.status)):
        key = rollup.get(delegation_id) or delegation_id
        units.setdefault(key, {})[status] = units.get(key, {}).get(status, 0) + count
    people: dict[str, dict[str, int]] = {}
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


# --- event handlers -------------------------------------------------------------------
def locked_unit(session: Session, unit_id: str) -> UnitReview:
    """The unit's review row, created if needed, locked for this transaction. The unit's
    events arrive on different queues and are handled concurrently; the lock makes each
    handler see what the other committed (otherwise a person submitted at the same
    moment as the unit would be confirmed by neither)."""
    if session.get(UnitReview, unit_id) is None:
        try:
            with session.begin_nested():
                session.add(UnitReview(unit_id=unit_id, status="not_submitted", automatic=False, submissions=0))
        except IntegrityError:
            pass  # another handler created it first
    return session.scalar(select(UnitReview).where(UnitReview.unit_id == unit_id)
                          .with_for_update().execution_options(populate_existing=True))


def on_unit_submitted(ctx: HandlerContext) -> None:
    p: dict[str, Any] = ctx.payload
    review = locked_unit(ctx.session, p["unit_id"])
    if review.status in ("deleted", "rejected"):
        return
    review.edition, review.uscc, review.name = p["edition"], p["uscc"], p["name"]
    review.category, review.region = p["category"], p["region"]
    if review.status == "not_submitted":
        review.delegation_id = p["delegation_id"]  # later moves are review's own (reassign)
    review.status, review.comment, review.submitted_at, review.automatic = "pending", None, utcnow(), False
    review.submissions = (review.submissions or 0) + 1
    ctx.session.flush()
    if may_auto_approve(review, registry_matches(ctx.session, review.uscc, review.name)):
        approve(ctx.session, ctx.emit, review, actor=None)


def on_personnel_submitted(ctx: HandlerContext) -> None:
    p = ctx.payload
    review = locked_unit(ctx.session, p["unit_id"])
    if ctx.session.get(ReviewPerson, p["person_id"]) is not None or review.status == "deleted":
        return
    ctx.session.add(ReviewPerson(person_id=p["person_id"], unit_id=p["unit_id"],
                                 requested_label=p["requested_label"], status="submitted", fee_fen=0))
    ctx.session.flush()
    if review.status == "approved":  # added after approval
        _confirm_ready_people(ctx.session, ctx.emit, review)


def on_reuse_requested(ctx: HandlerContext) -> None:
    p = ctx.payload
    locked_unit(ctx.session, p["unit_id"])
    if ctx.session.get(ReviewPerson, p["person_id"]) is not None:
        return
    ctx.session.add(ReviewPerson(person_id=p["person_id"], unit_id=p["unit_id"], requested_label=p["label"],
                                 status="pending_lock", fee_fen=0, previous_credential_no=p["previous_credential_no"],
                                 reused_label=p["label"]))


def on_personnel_cancelled(ctx: HandlerContext) -> None:
    review = locked_unit(ctx.session, ctx.payload["unit_id"])
    person = ctx.session.get(ReviewPerson, ctx.payload["person_id"], with_for_update=True)
    if person is not None and person.status not in ("cancelled", "deleted"):
        release(ctx.session, review, person)
        person.status = "cancelled"


HANDLERS = {"UnitSubmitted": on_unit_submitted, "PersonnelSubmitted": on_personnel_submitted,
            "ReuseRequested": on_reuse_requested, "PersonnelCancelled": on_personnel_cancelled}
