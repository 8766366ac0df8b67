"""Colleagues (unit members) join with the unit code and wait for the unit's approval."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.crypto import FieldCipher
from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from shared.masking import mask_phone
from shared.outbox import Emit
from shared.passwords import hash_password, password_matches

from ..models import Member, Unit
from .accounts import check_password_policy, end_sessions


def join_unit(session: Session, cipher: FieldCipher, edition: str, data: dict[str, Any]) -> Member:
    """A colleague joins with the unit code (注册码) and waits for the unit's approval."""
    unit = session.scalar(select(Unit).where(Unit.unit_code == data["unit_code"], Unit.edition == edition))
    if unit is None:
        raise DomainError("unknown_unit_code", "no unit has this unit code", "unit_code")
    if unit.status == "rejected":
        raise Conflict("unit_rejected", "this unit was not approved and takes no members", "unit_code")
    check_password_policy(data["password"])
    phone_hash = cipher.lookup_hash(data["phone"])
    if session.scalar(select(Member.id).where(Member.unit_id == unit.id, Member.phone_hash == phone_hash)):
        raise Conflict("already_joined", "this phone has already asked to join the unit", "phone")
    member = Member(id=new_id(), unit_id=unit.id, name=data["name"], phone_enc=cipher.encrypt(data["phone"]),
                    phone_hash=phone_hash, phone_masked=mask_phone(data["phone"]) or "",
                    password_hash=hash_password(data["password"]), status="pending", created_at=utcnow())
    session.add(member)
    session.flush()
    return member


def authenticate_member(session: Session, cipher: FieldCipher, edition: str, unit_code: str, phone: str,
                        password: str) -> Member:
    unit = session.scalar(select(Unit).where(Unit.unit_code == unit_code, Unit.edition == edition))
    member = unit and session.scalar(select(Member).where(Member.unit_id == unit.id,
                                                          Member.phone_hash == cipher.lookup_hash(phone)))
    if not password_matches(member.password_hash if member else None, password) or not member:
        raise Unauthorized("wrong unit code, phone or password")
    if member.status == "pending":
        raise Forbidden("the unit has not approved your request yet", code="member_pending")
    if member.status == "removed":
        raise Forbidden("the unit has removed you from its colleagues", code="member_removed")
    if member.status != "approved":
        raise Forbidden("the unit declined your request", code="member_rejected")
    return member


def decide_members(session: Session, unit: Unit, member_ids: list[str], approve: bool) -> list[Member]:
    """Approve or reject join requests, one or a batch: all or nothing."""
    if not member_ids:
        raise DomainError("no_members", "choose at least one request", "member_ids")
    members = list(session.scalars(select(Member).where(Member.id.in_(member_ids), Member.unit_id == unit.id)
                                   .with_for_update()))
    found = {m.id for m in members}
    missing = [m for m in member_ids if m not in found]
    if missing:
        raise NotFound(f"join request {missing[0]}", "member_ids")
    for m in members:
        if m.status != "pending":
            raise Conflict("member_decided", f"{m.name}'s request is already {m.status}", "member_ids")
    now = utcnow()
    for m in members:
        m.status, m.decided_at = ("approved" if approve else "rejected"), now
    return members


def members(session: Session, unit_id: str, status: str | None = None) -> list[Member]:
    query = select(Member).where(Member.unit_id == unit_id)
    if status:
        query = query.where(Member.status == status)
    return list(session.scalars(query.order_by(Member.created_at)))


def remove_member(session: Session, emit: Emit, unit: Unit, member_id: str) -> Member:
    """A colleague leaves the unit: their records stay with it, their sessions end."""
    member = session.get(Member, member_id, with_for_update=True)
    if member is None or member.unit_id != unit.id:
        raise NotFound("colleague", "member_id")
    if member.status != "approved":
        raise Conflict("member_not_approved", f"{member.name}'s request is {member.status}", "member_id")
    member.status, member.decided_at = "removed", utcnow()
    member.token_version = (member.token_version or 0) + 1
    end_sessions(session, emit, member.id, member.token_version, "member_removed")
    return member
