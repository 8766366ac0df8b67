"""Sign-up as a whole (注册): the steps in their order, across accounts, verification codes,
invitation codes and returning units."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.db import new_id
from shared.errors import Conflict, DomainError, NotFound

from ..models import PreviousUnit, Unit
from .accounts import check_sign_up, sign_up
from .deadlines import check_registration_open
from .returning import carry_over_into, previous_unit_by_invitation
from .verification import verify_code

if TYPE_CHECKING:
    from ..bootstrap import RegistrationDeps


def register(deps: RegistrationDeps, data: dict[str, Any], previous_unit_id: str | None = None,
             invitation_token: str | None = None) -> Unit:
    """Sign-up as a whole: the deadline, the checks that need no database (before an SMS
    code is spent), the phone's code, a CIFTIS invitation code (single use, claimed in
    review), the account, and last edition's unit info for a returning unit."""
    check_registration_open(deps.deadlines.get("submission"))
    data = dict(data)
    check_sign_up(data)
    verify_code(deps, data["phone"], "signup", data.pop("sms_code"))
    unit_id = new_id()
    host_code = data.pop("host_invitation_code", None)
    if host_code:
        claim = deps.invitation_codes.claim(host_code.strip().upper(), unit_id, data["name"])
        if not claim["ok"]:
            refusal = Conflict if claim.get("conflict") else DomainError
            raise refusal(claim["code"], claim["message"], "host_invitation_code")
        data["delegation_id"] = claim["delegation_id"]
    with deps.uow() as (s, emit):
        unit = sign_up(s, emit, data, deps.edition, unit_id=unit_id)
        if invitation_token:
            invited = previous_unit_by_invitation(s, invitation_token)
            invited.invitation_token = None  # single use: the link has done its work
            previous_unit_id = invited.id
        if previous_unit_id:  # 往届: last edition's unit info comes along
            previous = s.get(PreviousUnit, previous_unit_id)
            if previous is None:
                raise NotFound("previous account", "returning_token")
            carry_over_into(unit, previous)
        return unit
