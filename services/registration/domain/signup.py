"""Sign-up as a whole (注册): the steps in their order, across accounts, verification codes,
invitation codes and returning units."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from shared.errors import Conflict, DomainError, NotFound
from shared.fair import FairProfile, fair

from ..models import PreviousUnit, Unit
from .accounts import check_invitation_policy, check_sign_up, sign_up
from .deadlines import check_registration_open
from .returning import carry_over_into, previous_unit_by_invitation
from .verification import use_code, verify_code

if TYPE_CHECKING:
    from ..bootstrap import RegistrationDeps


def _previous_unit(session: Session, uscc: str, previous_unit_id: str | None,
                   invitation_token: str | None) -> PreviousUnit | None:
    """The previous edition's unit whose info comes along (往届), by a verified returning
    account or a one-click invitation link, if it is this USCC's."""
    if invitation_token:
        previous_unit_id = previous_unit_by_invitation(session, invitation_token).id
    if not previous_unit_id:
        return None
    previous = session.get(PreviousUnit, previous_unit_id)
    if previous is None:
        raise NotFound("previous account", "returning_token")
    if previous.uscc != uscc:
        raise DomainError("uscc_mismatch", "the previous account belongs to another USCC", "uscc")
    return previous


def claim_host_code(deps: RegistrationDeps, code: str, unit: Unit) -> str:
    """A CIFTIS invitation code, claimed in review for this unit: its host organisation.
    Claiming it again for the same USCC is the same claim (a retry after a timeout)."""
    claim = deps.invitation_codes.claim(code, unit.id, unit.name, unit.uscc)
    if not claim["ok"]:
        refusal = Conflict if claim.get("conflict") else DomainError
        raise refusal(claim["code"], claim["message"], "host_invitation_code")
    return claim["delegation_id"]


def register(deps: RegistrationDeps, data: dict[str, Any], previous_unit_id: str | None = None,
             invitation_token: str | None = None, profile: FairProfile | None = None) -> Unit:
    """Sign-up as a whole. Nothing is spent unless the sign-up succeeds: the deadline and
    the checks that need no database come first; the phone's code is checked in its own
    transaction (a wrong one counts; a right one stays unused, and nothing about the USCC
    is answered to someone without it); then one transaction uses the code up, checks the
    USCC, delegation, referral code and returning account, creates the account, carries
    last edition's unit info over and — last, once nothing of registration's own can refuse
    — claims a CIFTIS invitation code in review. A refusal rolls it all back, the code
    unused and the invitation code unclaimed; a claim whose answer was lost is made again
    by the retry, for the same USCC."""
    profile = profile or fair()
    check_registration_open(deps.deadlines.get("submission"))
    data = check_sign_up(data, profile)
    sms_code = data.pop("sms_code")
    host_code = (data.pop("host_invitation_code", None) or "").strip().upper() or None
    check_invitation_policy(data["visitor_kind"], host_code, profile)
    verify_code(deps, data["phone"], "signup", sms_code, consume=False)
    with deps.uow() as (s, emit):
        use_code(s, deps.cipher, data["phone"], "signup", sms_code)
        previous = _previous_unit(s, data["uscc"], previous_unit_id, invitation_token)
        if host_code is None:
            unit = sign_up(s, emit, data, deps.edition, profile=profile)
        else:
            code = host_code
            unit = sign_up(s, emit, data, deps.edition, delegation_from_claim=lambda u: claim_host_code(deps, code, u),
                           profile=profile)
        if invitation_token and previous is not None:
            previous.invitation_token = None  # single use: the link has done its work
        if previous is not None:  # 往届: last edition's unit info comes along
            carry_over_into(unit, previous)
        return unit
