"""Colleagues (unit members): they join with the unit code and wait for the unit's approval,
or the unit contact creates their account directly (CIFTIS 子用户), approved at once, with a
password given or generated; a generated reset reaches the colleague by SMS only."""
from __future__ import annotations

import re
import secrets
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


MEMBER_PASSWORD_LENGTH = (8, 20)  # 密码长度为 8-20 位，必须包含字母和数字
GENERATED_PASSWORD_LENGTH = 8  # 系统自动生成8位密码
_LETTERS, _DIGITS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"  # none to mistake for another


def generate_password(length: int = GENERATED_PASSWORD_LENGTH) -> str:
    """A random password with letters and digits, none of them look-alikes (0/O, 1/l/I)."""
    while True:
        password = "".join(secrets.choice(_LETTERS + _DIGITS) for _ in range(length))
        if re.search(r"[A-Za-z]", password) and re.search(r"[0-9]", password):
            return password


def check_member_password(password: str) -> None:
    low, high = MEMBER_PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise DomainError("weak_password", f"password must be {low} to {high} characters", "password")
    check_password_policy(password)


def create_member(session: Session, cipher: FieldCipher, unit: Unit, data: dict[str, Any]) -> tuple[Member, str]:
    """子用户: the unit contact creates a colleague's account, approved at once. Answers the
    member and its password (the one given, or a generated one), to be shown once. A
    colleague removed or declined before comes back with the new name and password."""
    if unit.status in ("rejected", "deleted"):
        raise Conflict("unit_rejected", f"a {unit.status} unit takes no members")
    password = data.get("password") or generate_password()
    check_member_password(password)
    phone_hash = cipher.lookup_hash(data["phone"])
    member = session.scalar(select(Member).where(Member.unit_id == unit.id, Member.phone_hash == phone_hash)
                            .with_for_update())
    now = utcnow()
    if member is not None:
        if member.status == "approved":
            raise Conflict("already_joined", "this phone is already a colleague's", "phone")
        if member.status == "pending":
            raise Conflict("member_pending", "this phone has asked to join: approve the request", "phone")
        member.name, member.password_hash, member.status, member.decided_at = (
            data["name"], hash_password(password), "approved", now)
        member.token_version = (member.token_version or 0) + 1
        return member, password
    member = Member(id=new_id(), unit_id=unit.id, name=data["name"], phone_enc=cipher.encrypt(data["phone"]),
                    phone_hash=phone_hash, phone_masked=mask_phone(data["phone"]) or "",
                    password_hash=hash_password(password), status="approved", created_at=now, decided_at=now,
                    token_version=0)
    session.add(member)
    session.flush()
    return member, password


def reset_member_password(session: Session, emit: Emit, cipher: FieldCipher, unit: Unit,
                          member_id: str) -> tuple[Member, str, str]:
    """重置密码: a new generated password for an approved colleague; the sessions opened with
    the old one end. Answers the member, the new password and the phone it goes to by SMS
    (the caller's; never to the unit contact, never logged)."""
    member = session.get(Member, member_id, with_for_update=True)
    if member is None or member.unit_id != unit.id:
        raise NotFound("colleague", "member_id")
    if member.status != "approved":
        raise Conflict("member_not_approved", f"{member.name}'s account is {member.status}", "member_id")
    password = generate_password()
    member.password_hash = hash_password(password)
    member.token_version = (member.token_version or 0) + 1
    end_sessions(session, emit, member.id, member.token_version, "password_reset")
    return member, password, cipher.decrypt(member.phone_enc)
