"""CIFTIS invitation codes: a host organisation issues single-use codes; an enterprise
claims one when it signs up (registration asks over RPC)."""
from __future__ import annotations

import secrets
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, or_, select, update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import Conflict, DomainError, NotFound

from ..models import Delegation, InvitationCode
from .fair_rules import profile_of
from .host_organisations import check_may_issue_codes
from .organisations import Actor, audit, in_scope

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand


def issue_invitation_codes(session: Session, actor: Actor, delegation_id: str, count: int) -> list[InvitationCode]:
    """The committee, or the organisation's own admins; a host organisation only once the
    committee has approved it."""
    if not in_scope(session, delegation_id, actor.delegation_id) or session.get(Delegation, delegation_id) is None:
        raise NotFound("host organisation", "delegation_id")
    check_may_issue_codes(session, delegation_id)
    length = int(profile_of().data["invitation_codes"].get("length", 12))  # the seed's codes: 12 characters
    codes = []
    for _ in range(count):
        code = InvitationCode(code="".join(secrets.choice(CODE_ALPHABET) for _ in range(length)),
                              delegation_id=delegation_id, created_at=utcnow())
        session.add(code)
        codes.append(code)
    session.flush()
    audit(session, actor, "invitation_codes.issue", "delegation", delegation_id, delegation_id, None, {"count": count})
    return codes


def list_invitation_codes(session: Session, actor: Actor, delegation_id: str,
                          used: bool | None = None) -> list[InvitationCode]:
    """A host organisation's codes (only used or only unused ones when `used` is given),
    with the enterprise that used each."""
    if not in_scope(session, delegation_id, actor.delegation_id):
        raise NotFound("host organisation", "delegation_id")
    query = select(InvitationCode).where(InvitationCode.delegation_id == delegation_id)
    if used is not None:
        query = query.where(InvitationCode.used_by_unit_id.is_not(None) if used
                            else InvitationCode.used_by_unit_id.is_(None))
    return list(session.scalars(query.order_by(InvitationCode.created_at, InvitationCode.code)))


def claim_invitation_code(session: Session, code: str, unit_id: str, unit_name: str,
                          uscc: str | None = None) -> InvitationCode:
    """Single use, even when two enterprises sign up at the same moment: the guarded
    UPDATE lets exactly one of them through. The enterprise (its USCC) that claimed it may
    claim it again: registration claims last in a sign-up, so a second claim is that
    enterprise's retry after a sign-up whose answer was lost (the code then names the unit
    that was finally created). A code of a host organisation not approved (yet) is refused."""
    issued = session.get(InvitationCode, code)
    if issued is not None:
        check_may_issue_codes(session, issued.delegation_id)
    free: ColumnElement[bool] = InvitationCode.used_by_unit_id.is_(None)
    if uscc:
        free = or_(free, InvitationCode.used_by_uscc == uscc)
    # a DML statement executes to a CursorResult (rowcount); the typing says only Result
    result = cast(CursorResult[Any], session.execute(
        update(InvitationCode).where(InvitationCode.code == code, free)
        .values(used_by_unit_id=unit_id, used_by_name=unit_name, used_by_uscc=uscc, used_at=utcnow())))
    row = session.get(InvitationCode, code, populate_existing=True)
    if row is None:
        raise DomainError("unknown_invitation_code", "no such invitation code", "invitation_code")
    if result.rowcount == 1 or row.used_by_unit_id == unit_id:  # claimed now, or by this unit before
        return row
    raise Conflict("invitation_code_used", "this invitation code has already been used", "invitation_code")


def claim_answer(session: Session, code: str, unit_id: str, unit_name: str, uscc: str | None = None) -> dict[str, Any]:
    """The claim as registration is answered over RPC: {"ok": true, "delegation_id"} or the
    refusal to show (`conflict` tells registration whether to answer it as a Conflict)."""
    try:
        with session.begin_nested():
            row = claim_invitation_code(session, code, unit_id, unit_name, uscc)
            return {"ok": True, "delegation_id": row.delegation_id}
    except DomainError as err:
        return {"ok": False, **err.to_dict(), "conflict": isinstance(err, Conflict)}
