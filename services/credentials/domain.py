"""Credential rules: when to ask the police, what to do with the answer, production and
dispatch. Personal data comes from registration over RPC and leaves only on the
police-only BackgroundCheckRequested event."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.inbox import HandlerContext

from .models import BackgroundCheck, Credential, CredentialSequence

POLICE_ANSWER_EXCHANGE = "police.events"


def request_check(ctx: HandlerContext, person_id: str, unit_id: str) -> BackgroundCheck | None:
    """Send the person to the police check once; later triggers for them are no-ops."""
    if ctx.session.scalar(select(BackgroundCheck).where(BackgroundCheck.person_id == person_id)):
        return None
    dossier = ctx.rpc.registration.person_dossier(person_id)
    if dossier is None:
        raise LookupError(f"registration does not know person {person_id} yet")
    check = BackgroundCheck(id=new_id(), person_id=person_id, unit_id=unit_id, status="requested",
                            requests_sent=1, requested_at=utcnow())
    ctx.session.add(check)
    ctx.session.flush()
    ctx.emit("BackgroundCheckRequested", {
        "check_id": check.id, "person_id": person_id, "name": dossier["name"], "gender": dossier["gender"],
        "id_type": dossier["id_type"], "id_number": dossier["id_number"],
        "nationality": dossier["nationality"], "unit_name": dossier["unit_name"],
        "reply_to": POLICE_ANSWER_EXCHANGE})
    return check


def on_payment_confirmed(ctx: HandlerContext) -> None:
    for person_id in ctx.payload["person_ids"]:
        request_check(ctx, person_id, ctx.payload["unit_id"])


def on_personnel_confirmed(ctx: HandlerContext) -> None:
    if ctx.payload["payer"] != "unit":  # free labels and 代付 people need no payment first
        request_check(ctx, ctx.payload["person_id"], ctx.payload["unit_id"])


def _answered_check(ctx: HandlerContext) -> BackgroundCheck | None:
    check = ctx.session.get(BackgroundCheck, ctx.payload["check_id"], with_for_update=True)
    if check is None or check.person_id != ctx.payload["person_id"] or check.status != "requested":
        return None  # unknown, mismatched or duplicate answers are ignored
    return check


def next_credential_no(session: Session, edition: str) -> str:
    seq = session.get(CredentialSequence, edition, with_for_update=True)
    if seq is None:
        seq = CredentialSequence(edition=edition, last_value=0)
        session.add(seq)
    seq.last_value += 1
    year = "".join(c for c in edition if c.isdigit())[-4:] or "0000"
    return f"{year}{seq.last_value:08d}"


def courier_tracking_no() -> str:
    return "SF" + "".join(secrets.choice("0123456789") for _ in range(12))


def on_background_check_passed(ctx: HandlerContext, edition: str = "CIIE-2026") -> None:
    check = _answered_check(ctx)
    if check is None:
        return
    check.status, check.answered_at = "passed", utcnow()
    dossier = ctx.rpc.registration.person_dossier(check.person_id) or {}
    credential = Credential(id=new_id(), credential_no=next_credential_no(ctx.session, edition),
                            person_id=check.person_id, unit_id=check.unit_id, status="produced",
                            pickup_method=dossier.get("pickup_method") or "courier", produced_at=utcnow())
    ctx.session.add(credential)
    ctx.session.flush()
    ctx.emit("CredentialProduced", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                    "person_id": credential.person_id, "unit_id": credential.unit_id,
                                    "reused": False})
    dispatch(ctx, credential)


def dispatch(ctx: HandlerContext, credential: Credential) -> None:
    """Courier to the unit's default address with a tracking number, or on-site pickup."""
    credential.status, credential.dispatched_at = "dispatched", utcnow()
    credential.tracking_no = courier_tracking_no() if credential.pickup_method == "courier" else None
    ctx.emit("CredentialDispatched", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                      "person_id": credential.person_id, "unit_id": credential.unit_id,
                                      "method": credential.pickup_method, "tracking_no": credential.tracking_no})


def on_background_check_failed(ctx: HandlerContext) -> None:
    check = _answered_check(ctx)
    if check is not None:
        check.status, check.answered_at = "failed", utcnow()
