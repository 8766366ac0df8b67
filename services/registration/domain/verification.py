"""SMS (and email) verification codes: issued with rate limits, checked with a bounded number of
tries, stored only as keyed hashes."""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.crypto import FieldCipher
from shared.db import new_id, utcnow
from shared.errors import DomainError, TooManyRequests, Unavailable

from ..models import SmsCode

if TYPE_CHECKING:
    from ..bootstrap import RegistrationDeps


SMS_PURPOSES = ("signup", "login", "reset_password", "returning", "join", "change_phone")


SMS_CODE_TTL = dt.timedelta(minutes=5)


SMS_RESEND_AFTER = dt.timedelta(seconds=60)


SMS_MAX_PER_PHONE_PER_DAY = 10


SMS_MAX_PER_CLIENT_PER_HOUR = 30


SMS_MAX_TRIES = 5


def _code_hash(cipher: FieldCipher, code_id: str, code: str) -> str:
    return cipher.lookup_hash(f"sms:{code_id}:{code}")


def issue_sms_code(session: Session, cipher: FieldCipher, phone: str, purpose: str, client_ip: str | None,
                   now: dt.datetime | None = None,
                   per_client_per_hour: int = SMS_MAX_PER_CLIENT_PER_HOUR) -> tuple[SmsCode, str]:
    """A new 6-digit code, unless the phone or the client asks too often."""
    now = now or utcnow()
    phone_hash = cipher.lookup_hash(phone)
    recent = list(session.scalars(select(SmsCode.created_at).where(
        SmsCode.phone_hash == phone_hash, SmsCode.created_at > now - dt.timedelta(days=1))))
    if any(created > now - SMS_RESEND_AFTER for created in recent):
        raise TooManyRequests("sms_too_soon", "wait a minute before asking for another code", "phone",
                              retry_after=int(SMS_RESEND_AFTER.total_seconds()))
    if len(recent) >= SMS_MAX_PER_PHONE_PER_DAY:
        raise TooManyRequests("sms_daily_limit", "too many codes for this phone today", "phone")
    if client_ip:
        per_client = session.scalar(select(func.count()).select_from(SmsCode).where(
            SmsCode.client_ip == client_ip, SmsCode.created_at > now - dt.timedelta(hours=1))) or 0
        if per_client >= per_client_per_hour:
            raise TooManyRequests("sms_client_limit", "too many codes requested from this address", None,
                                  retry_after=3600)
    code = "".join(secrets.choice("0123456789") for _ in range(6))
    row = SmsCode(id=new_id(), phone_hash=phone_hash, purpose=purpose, client_ip=client_ip, attempts=0,
                  expires_at=now + SMS_CODE_TTL, created_at=now)
    row.code_hash = _code_hash(cipher, row.id, code)
    session.add(row)
    return row, code


def check_sms_code(session: Session, cipher: FieldCipher, phone: str, purpose: str, code: str | None,
                   now: dt.datetime | None = None, consume: bool = True) -> DomainError | None:
    """None when `code` is the phone's current code for `purpose` (it is then used up,
    unless `consume` is false: the caller uses it up later, in the transaction of what it
    was asked for); otherwise the error to answer. Wrong tries are counted (the caller
    commits before it answers the error) and void the code after SMS_MAX_TRIES."""
    now = now or utcnow()
    row = session.scalar(select(SmsCode).where(
        SmsCode.phone_hash == cipher.lookup_hash(phone), SmsCode.purpose == purpose, SmsCode.used_at.is_(None))
        .order_by(SmsCode.created_at.desc()).limit(1).with_for_update())
    if row is None or row.expires_at <= now or row.attempts >= SMS_MAX_TRIES:
        return DomainError("sms_code_expired", "the code has expired or was used; ask for a new one", "sms_code")
    if not code or not hmac.compare_digest(row.code_hash, _code_hash(cipher, row.id, code)):
        row.attempts += 1
        if row.attempts >= SMS_MAX_TRIES:
            return DomainError("sms_code_voided", "too many wrong codes; ask for a new one", "sms_code")
        return DomainError("sms_code_wrong", "the code is not right", "sms_code")
    if consume:
        row.used_at = now
    return None


def send_code(deps: RegistrationDeps, target: str, purpose: str, client_ip: str | None,
              deliver: Callable[[str], object], unavailable: Unavailable, per_client_per_hour: int | None = None) -> None:
    """Issue a code for `target` (a phone, or an email address) and hand it to `deliver`; a
    code that could not be delivered is voided at once, so nobody holds a code nobody got."""
    limit = deps.sms_per_client_per_hour if per_client_per_hour is None else per_client_per_hour
    with deps.uow() as (s, _):
        row, code = issue_sms_code(s, deps.cipher, target, purpose, client_ip, per_client_per_hour=limit)
        row_id = row.id
    try:
        deliver(code)
    except Exception as exc:
        with deps.uow() as (s, _):
            voided = s.get(SmsCode, row_id)
            if voided is not None:
                voided.used_at = utcnow()
        raise unavailable from exc


def verify_code(deps: RegistrationDeps, target: str, purpose: str, code: str | None, consume: bool = True) -> None:
    """Check a code in its own transaction, so that wrong tries count even though the
    request then fails. With `consume` false a right code stays unused (`use_code` uses it
    up with the effect it was asked for, so that a request failing afterwards spends it not)."""
    with deps.uow() as (s, _):
        error = check_sms_code(s, deps.cipher, target, purpose, code, consume=consume)
    if error is not None:
        raise error


def use_code(session: Session, cipher: FieldCipher, target: str, purpose: str, code: str | None) -> None:
    """Use up a code checked before (`verify_code(..., consume=False)`) in the caller's
    transaction: with its effect, or not at all. The code's row is locked: of two requests
    with one code, one gets it."""
    error = check_sms_code(session, cipher, target, purpose, code)
    if error is not None:
        raise error
