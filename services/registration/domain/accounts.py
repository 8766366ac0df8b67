"""Unit accounts: sign-up (delegation, recommendation and referral codes), password login with
lockout, phone login, password reset."""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, NotFound, Unauthorized
from shared.fair import FairProfile, fair
from shared.outbox import Emit
from shared.passwords import hash_password, password_matches
from shared.revocation import record_revocation

from ..models import CIPHER, DelegationView, TokenRevocation, Unit
from .identifiers import login_keys, resolve_identity
from .referrals import REGISTRATION_POINTS, award_points


PRIVACY_POLICY_VERSION = "2026-1"


def check_privacy_consent(given: object, field: str = "privacy_consent") -> None:
    """本人已阅读并同意隐私条款: nothing is registered without it."""
    if given is not True:
        raise DomainError("privacy_consent_required", "read and accept the privacy policy", field)


def change_contact_phone(unit: Unit, phone: str) -> Unit:
    """The contact's new mobile, once its SMS code is checked (the caller's): it is then the
    phone for SMS logins and password resets."""
    if unit.status == "deleted":
        raise Conflict("unit_deleted", "this unit was deleted")
    if phone == unit.contact_phone:
        raise DomainError("same_phone", "this is already the unit's phone", "phone")
    unit.contact_phone, unit.phone_verified = phone, True
    return unit


def change_contact_email(unit: Unit, email: str) -> Unit:
    if unit.status == "deleted":
        raise Conflict("unit_deleted", "this unit was deleted")
    if email.lower() == (unit.contact_email or "").lower():
        raise DomainError("same_email", "this is already the unit's email", "email")
    unit.contact_email = email
    return unit


def check_password_policy(password: str) -> None:
    if len(password) < 8 or len(password) > 64:
        raise DomainError("weak_password", "password must be 8 to 64 characters", "password")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        raise DomainError("weak_password", "password must contain letters and digits", "password")


def _new_unit_code(session: Session) -> str:
    while True:
        code = "T" + "".join(secrets.choice("0123456789") for _ in range(8))
        if session.scalar(select(Unit.id).where(Unit.unit_code == code)) is None:
            return code


def check_sign_up(data: dict[str, Any], profile: FairProfile | None = None) -> dict[str, Any]:
    """The checks that need no database, answered before an SMS code is spent: the visitor
    kind and the unit's category are the profile's. Answers the sign-up with its account
    key in `uscc` (see identifiers.resolve_identity)."""
    profile = profile or fair()
    kind = data.get("visitor_kind") or profile.default_visitor_kind()
    if kind not in profile.visitor_kinds:
        raise DomainError("invalid_visitor_kind", f"visitor_kind must be one of {', '.join(profile.visitor_kinds)}",
                          "visitor_kind")
    if not profile.is_individual(kind):
        allowed = profile.categories(data.get("region") or "mainland")
        if data.get("category") not in allowed:
            raise DomainError("invalid_category", f"category must be one of {', '.join(allowed)}", "category")
    data = resolve_identity({**data, "visitor_kind": kind}, CIPHER.cipher.lookup_hash, profile)
    check_password_policy(data["password"])
    check_privacy_consent(data.get("privacy_consent", True))
    return data


def check_invitation_policy(visitor_kind: str, host_invitation_code: str | None,
                            profile: FairProfile | None = None) -> None:
    """The visitor kind's invitation policy (CIFTIS): "required" — the host organisation's
    invitation code (邀请码) comes with the sign-up, and its host organisation is the unit's;
    "none" — no code (非受邀: the organising committee reviews the unit); "optional" (CIIE)
    — a code may come."""
    policy = (profile or fair()).invitation_policy(visitor_kind)
    if policy == "required" and not host_invitation_code:
        raise DomainError("invitation_code_required", "enter the invitation code your host organisation sent you",
                          "host_invitation_code")
    if policy == "none" and host_invitation_code:
        raise DomainError("invitation_code_not_expected",
                          "this kind of registration comes without an invitation code; "
                          "choose the invited kind to use one", "host_invitation_code")


def delegation_by_code(session: Session, recommendation_code: str | None) -> DelegationView | None:
    """The active delegation a recommendation code names (None without a code)."""
    if not recommendation_code:
        return None
    by_code = session.scalar(select(DelegationView).where(
        DelegationView.recommendation_code == recommendation_code, DelegationView.active.is_(True)))
    if by_code is None:
        raise DomainError("unknown_recommendation_code", "no delegation has this recommendation code",
                          "recommendation_code")
    return by_code


def choose_delegation(session: Session, region: str, delegation_id: str | None,
                      recommendation_code: str | None) -> str | None:
    """Every domestic unit joins exactly one (sub-)delegation from the list review
    publishes. Industry delegations admit units only through their recommendation code."""
    by_code = delegation_by_code(session, recommendation_code)
    if delegation_id is None:
        if region == "mainland":
            raise DomainError("delegation_required", "choose your (sub-)delegation", "delegation_id")
        return by_code.id if by_code else None
    chosen = session.get(DelegationView, delegation_id)
    if chosen is None or not chosen.active:
        raise DomainError("unknown_delegation", "choose a delegation from the list", "delegation_id")
    if chosen.industry and (by_code is None or by_code.id != chosen.id):
        raise DomainError("recommendation_code_required", "an industry delegation is joined with its recommendation code",
                       "recommendation_code")
    return chosen.id


def _new_referral_code(session: Session) -> str:
    while True:
        code = "R" + "".join(secrets.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(7))
        if session.scalar(select(Unit.id).where(Unit.referral_code == code)) is None:
            return code


def check_new_unit(session: Session, data: dict[str, Any], edition: str,
                   delegation_from_claim: bool = False,
                   profile: FairProfile | None = None) -> tuple[str | None, Unit | None]:
    """Registration's own checks of a sign-up, answered before anything is spent (an SMS
    code, a CIFTIS invitation code): the USCC is free in the edition, the (sub-)delegation
    and recommendation code are known — unless an invitation code will decide the
    delegation — and the referral code is. Returns the delegation and the referring unit."""
    if session.scalar(select(Unit.id).where(Unit.edition == edition, Unit.uscc == data["uscc"])):
        raise Conflict("uscc_taken", "this USCC is already registered for this edition", "uscc")
    profile = profile or fair()
    kind = data.get("visitor_kind") or profile.default_visitor_kind()
    check_invitation_policy(kind, "claimed" if delegation_from_claim else None, profile)
    if delegation_from_claim:
        delegation_by_code(session, data.get("recommendation_code"))
        delegation_id = None
    elif profile.invitation_policy(kind) == "none":
        delegation_id = None  # no host organisation: the organising committee reviews it
    else:
        delegation_id = choose_delegation(session, data["region"], data.get("delegation_id"),
                                          data.get("recommendation_code"))
    referrer = None
    if data.get("referral_code"):
        referrer = session.scalar(select(Unit).where(Unit.referral_code == data["referral_code"],
                                                     Unit.edition == edition))
        if referrer is None:
            raise DomainError("unknown_referral_code", "this referral link is not valid", "referral_code")
    return delegation_id, referrer


def sign_up(session: Session, emit: Emit, data: dict[str, Any], edition: str, unit_id: str | None = None,
            delegation_from_claim: Callable[[Unit], str] | None = None,
            profile: FairProfile | None = None) -> Unit:
    """The unit's account. With `delegation_from_claim` (a CIFTIS invitation code, claimed in
    review), the claim is made last: once the unit's row holds the edition's USCC and
    nothing of registration's own can refuse any more; it answers the delegation (the
    code's host organisation)."""
    profile = profile or fair()
    data = check_sign_up(data, profile)
    uscc = data["uscc"]
    delegation_id, referrer = check_new_unit(session, data, edition, delegation_from_claim is not None, profile)
    unit = Unit(
        id=unit_id or new_id(), edition=edition, uscc=uscc, unit_code=_new_unit_code(session), phone_verified=True,
        password_hash=hash_password(data["password"]), name=data["name"],
        visitor_kind=data["visitor_kind"], region=data["region"], category=data["category"],
        delegation_id=delegation_id, recommendation_code=data.get("recommendation_code"),
        referral_code=_new_referral_code(session), referred_by_unit_id=referrer.id if referrer else None,
        contact_phone=data["phone"], contact_email=data["email"], language=data.get("language", "zh"),
        identifier_type=data["identifier_type"], identifier_masked=data["identifier_masked"],
        privacy_consent_at=utcnow(), privacy_policy_version=PRIVACY_POLICY_VERSION,
        info={}, status="draft", token_version=0, created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(unit)
            session.flush()  # a concurrent sign-up with the same USCC waits here, then fails
    except IntegrityError:
        raise Conflict("uscc_taken", "this USCC is already registered for this edition", "uscc") from None
    if delegation_from_claim is not None:
        unit.delegation_id = choose_delegation(session, data["region"], delegation_from_claim(unit),
                                               data.get("recommendation_code"))
    emit("UnitRegistered", {"unit_id": unit.id, "edition": edition, "delegation_id": unit.delegation_id,
                            "visitor_kind": unit.visitor_kind, "region": unit.region,
                            "category": unit.category, "referrer_unit_id": unit.referred_by_unit_id})
    award_points(session, unit.id, None, REGISTRATION_POINTS, "registration", unit.id)
    return unit


def authenticate(session: Session, uscc: str, password: str, edition: str) -> Unit:
    """The unit whose login (USCC, registration number, an individual's document number)
    and password these are (throttling is the caller's: guarded_login)."""
    unit = unit_by_login(session, edition, uscc)
    if not password_matches(unit.password_hash if unit else None, password) or unit is None:
        raise Unauthorized("wrong USCC or password")
    if unit.status == "deleted":
        raise Unauthorized("this unit was deleted by its delegation")
    return unit


def unit_by_login(session: Session, edition: str, given: str, lock: bool = False) -> Unit | None:
    keys = login_keys(CIPHER.cipher.lookup_hash, given)
    if not keys:
        return None
    query = select(Unit).where(Unit.edition == edition, Unit.uscc.in_(keys))
    return session.scalars(query.with_for_update() if lock else query).first()


def get_unit(session: Session, unit_id: str, lock: bool = False) -> Unit:
    unit = session.get(Unit, unit_id, with_for_update=lock)
    if unit is None:
        raise NotFound("unit")
    return unit


def units_by_phone(session: Session, edition: str, phone: str) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.edition == edition,
                                                   Unit.contact_phone_hash == CIPHER.cipher.lookup_hash(phone))))


def end_sessions(session: Session, emit: Emit, subject_id: str, min_version: int, reason: str) -> None:
    """Every token of `subject_id` (an account, or a whole unit) below `min_version` stops
    working: here at once, in the other services when they hear of it."""
    record_revocation(session, TokenRevocation, subject_id, min_version)
    emit("TokensRevoked", {"subject_id": subject_id, "min_version": min_version, "reason": reason})


def reset_password(unit: Unit, phone: str, new_password: str) -> None:
    if unit.contact_phone != phone:
        raise DomainError("phone_mismatch", "this phone is not the unit's verified phone", "phone")
    check_password_policy(new_password)
    unit.password_hash = hash_password(new_password)
    unit.token_version = (unit.token_version or 0) + 1


def unit_for_phone_login(session: Session, edition: str, phone: str, uscc: str | None) -> Unit:
    """The unit whose verified phone this is; with several, the USCC decides."""
    units = units_by_phone(session, edition, phone)
    if uscc:
        keys = login_keys(CIPHER.cipher.lookup_hash, uscc)
        units = [u for u in units if u.uscc in keys]
    if not units:
        raise Unauthorized("no unit uses this phone")
    if len(units) > 1:
        raise Conflict("several_units", "several units use this phone; give the USCC too", "uscc")
    return units[0]


def reset_password_of(session: Session, emit: Emit, edition: str, uscc: str, phone: str,
                      new_password: str) -> Unit:
    """A new password ends every session opened with the old one."""
    unit = unit_by_login(session, edition, uscc, lock=True)
    if unit is None:
        raise NotFound("unit", "uscc")
    reset_password(unit, phone, new_password)
    end_sessions(session, emit, unit.id, unit.token_version, "password_reset")
    return unit

