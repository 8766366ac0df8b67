"""Police background checks: who needs one and when, the request (personal data leaves
only on the police-only BackgroundCheckRequested event), re-sending checks the police
leave unanswered, and recording the answers."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.fair import fair
from shared.outbox import Emit

from ..models import BackgroundCheck, Holder

if TYPE_CHECKING:
    from ..bootstrap import CredentialsDeps, Rpc

POLICE_ANSWER_EXCHANGE = "police.events"


# --- who needs a check ----------------------------------------------------------------------
def record_holder(session: Session, person: dict[str, Any], reuse_no: str | None = None) -> Holder:
    """What review confirmed of a person: label, payer, delegation, and a reuse request if any.
    An upgrade heard first (the events come on different queues) is not undone by the older
    confirmation."""
    holder = session.get(Holder, person["person_id"], with_for_update=True)
    if holder is None:
        holder = Holder(person_id=person["person_id"], unit_id=person["unit_id"], cancelled=False)
        session.add(holder)
    holder.delegation_id = person.get("delegation_id", holder.delegation_id)
    rank = fair().badge_rank  # an upgrade only goes up
    if holder.label is None or rank(holder.label) <= rank(person["label"]):
        holder.label, holder.payer = person["label"], person["payer"]
    if reuse_no:
        holder.reuse_credential_no = reuse_no
    session.flush()
    return holder


def holder_cancelled(session: Session, person_id: str) -> bool:
    holder = session.get(Holder, person_id)
    return holder is not None and holder.cancelled


def send_check_request(emit: Emit, rpc: Rpc, check: BackgroundCheck) -> None:
    dossier = rpc.registration.person_dossier(check.person_id)
    if dossier is None:
        raise LookupError(f"registration does not know person {check.person_id} yet")
    emit("BackgroundCheckRequested", {
        "check_id": check.id, "person_id": check.person_id, "name": dossier["name"], "gender": dossier["gender"],
        "id_type": dossier["id_type"], "id_number": dossier["id_number"], "nationality": dossier["nationality"],
        "unit_name": dossier["unit_name"], "reply_to": POLICE_ANSWER_EXCHANGE})


def request_check(session: Session, emit: Emit, rpc: Rpc, person_id: str, unit_id: str) -> BackgroundCheck | None:
    """Send the person to the police check once; later triggers for them are no-ops."""
    if session.scalar(select(BackgroundCheck).where(BackgroundCheck.person_id == person_id)):
        return None
    if holder_cancelled(session, person_id):
        return None
    now = utcnow()
    check = BackgroundCheck(id=new_id(), person_id=person_id, unit_id=unit_id, status="requested",
                            requests_sent=1, requested_at=now, last_sent_at=now)
    session.add(check)
    session.flush()
    send_check_request(emit, rpc, check)
    return check


def resend_overdue_checks(session: Session, emit: Emit, rpc: Rpc, timeout: dt.timedelta, max_sends: int,
                          now: dt.datetime | None = None) -> dict[str, int]:
    """A check without an answer in time is sent again; after `max_sends` it is flagged
    `overdue` for operations."""
    now = now or utcnow()
    counts = {"resent": 0, "overdue": 0}
    for check in session.scalars(select(BackgroundCheck).where(
            BackgroundCheck.status == "requested", BackgroundCheck.last_sent_at <= now - timeout).limit(200)):
        if check.requests_sent >= max_sends:
            check.status = "overdue"
            counts["overdue"] += 1
            continue
        check.requests_sent += 1
        check.last_sent_at = now
        send_check_request(emit, rpc, check)
        counts["resent"] += 1
    return counts


def resend_overdue(deps: CredentialsDeps, rpc: Rpc) -> dict[str, int]:
    """The worker's sweep over unanswered checks, with the configured timeout and sends."""
    with deps.uow() as (s, emit):
        return resend_overdue_checks(s, emit, rpc, deps.check_timeout, deps.check_max_sends)


def overdue_checks(session: Session) -> list[BackgroundCheck]:
    """Checks the police never answered, after every re-send (oldest first)."""
    return list(session.scalars(select(BackgroundCheck).where(BackgroundCheck.status == "overdue")
                                .order_by(BackgroundCheck.requested_at)))


# --- answers ----------------------------------------------------------------------------------
def record_answer(session: Session, check_id: str, person_id: str, result: str) -> BackgroundCheck | None:
    """Record the police's answer (`passed` or `failed`) on the check it names; None when
    the answer is ignored: unknown, mismatched or duplicate."""
    check = session.get(BackgroundCheck, check_id, with_for_update=True)
    if check is None or check.person_id != person_id or check.status not in ("requested", "overdue"):
        return None
    check.status, check.answered_at = result, utcnow()
    return check
