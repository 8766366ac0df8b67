"""Credential rules: when to ask the police, what to do with the answer, production in
batches, distribution, gate verification, revocation and reissue, reuse. Personal data
comes from registration over RPC and leaves only on the police-only
BackgroundCheckRequested event."""
from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, NotFound
from shared.inbox import HandlerContext
from shared.masking import mask_phone
from shared.outbox import Emit

from . import cards
from .models import BackgroundCheck, Credential, CredentialSequence, DelegationView, Holder, ProductionBatch

POLICE_ANSWER_EXCHANGE = "police.events"
VALID = ("produced", "dispatched", "ready_for_pickup", "delivered", "collected", "reused")


# --- who needs a check ----------------------------------------------------------------------
def _holder(session: Session, p: dict[str, Any], reuse_no: str | None = None) -> Holder:
    holder = session.get(Holder, p["person_id"], with_for_update=True)
    if holder is None:
        holder = Holder(person_id=p["person_id"], unit_id=p["unit_id"], cancelled=False)
        session.add(holder)
    holder.delegation_id = p.get("delegation_id", holder.delegation_id)
    holder.label, holder.payer = p["label"], p["payer"]
    if reuse_no:
        holder.reuse_credential_no = reuse_no
    session.flush()
    return holder


def check_request(ctx: HandlerContext, check: BackgroundCheck) -> None:
    dossier = ctx.rpc.registration.person_dossier(check.person_id)
    if dossier is None:
        raise LookupError(f"registration does not know person {check.person_id} yet")
    ctx.emit("BackgroundCheckRequested", {
        "check_id": check.id, "person_id": check.person_id, "name": dossier["name"], "gender": dossier["gender"],
        "id_type": dossier["id_type"], "id_number": dossier["id_number"], "nationality": dossier["nationality"],
        "unit_name": dossier["unit_name"], "reply_to": POLICE_ANSWER_EXCHANGE})


def request_check(ctx: HandlerContext, person_id: str, unit_id: str) -> BackgroundCheck | None:
    """Send the person to the police check once; later triggers for them are no-ops."""
    if ctx.session.scalar(select(BackgroundCheck).where(BackgroundCheck.person_id == person_id)):
        return None
    holder = ctx.session.get(Holder, person_id)
    if holder is not None and holder.cancelled:
        return None
    now = utcnow()
    check = BackgroundCheck(id=new_id(), person_id=person_id, unit_id=unit_id, status="requested",
                            requests_sent=1, requested_at=now, last_sent_at=now)
    ctx.session.add(check)
    ctx.session.flush()
    check_request(ctx, check)
    return check


def on_payment_confirmed(ctx: HandlerContext) -> None:
    for person_id in ctx.payload["person_ids"]:
        request_check(ctx, person_id, ctx.payload["unit_id"])


def on_personnel_confirmed(ctx: HandlerContext) -> None:
    _holder(ctx.session, ctx.payload)
    if ctx.payload["payer"] != "unit":  # free labels and 代付 people need no payment first
        request_check(ctx, ctx.payload["person_id"], ctx.payload["unit_id"])


def on_reuse_locked(ctx: HandlerContext) -> None:
    _holder(ctx.session, ctx.payload, reuse_no=ctx.payload["previous_credential_no"])
    if ctx.payload["payer"] != "unit":
        request_check(ctx, ctx.payload["person_id"], ctx.payload["unit_id"])


def resend_overdue_checks(ctx: HandlerContext, timeout: dt.timedelta, max_sends: int,
                          now: dt.datetime | None = None) -> dict[str, int]:
    """A check without an answer in time is sent again; after `max_sends` it is flagged
    `overdue` for operations."""
    now = now or utcnow()
    counts = {"resent": 0, "overdue": 0}
    for check in ctx.session.scalars(select(BackgroundCheck).where(
            BackgroundCheck.status == "requested", BackgroundCheck.last_sent_at <= now - timeout).limit(200)):
        if check.requests_sent >= max_sends:
            check.status = "overdue"
            counts["overdue"] += 1
            continue
        check.requests_sent += 1
        check.last_sent_at = now
        check_request(ctx, check)
        counts["resent"] += 1
    return counts


# --- answers ----------------------------------------------------------------------------------
def _answered_check(ctx: HandlerContext) -> BackgroundCheck | None:
    check = ctx.session.get(BackgroundCheck, ctx.payload["check_id"], with_for_update=True)
    if check is None or check.person_id != ctx.payload["person_id"] or check.status not in ("requested", "overdue"):
        return None  # unknown, mismatched or duplicate answers are ignored
    return check


def on_background_check_passed(ctx: HandlerContext, edition: str = "CIIE-2026") -> None:
    check = _answered_check(ctx)
    if check is None:
        return
    check.status, check.answered_at = "passed", utcnow()
    holder = ctx.session.get(Holder, check.person_id)
    if holder is not None and holder.cancelled:
        return
    queue_credential(ctx, check.person_id, edition)


def on_background_check_failed(ctx: HandlerContext) -> None:
    check = _answered_check(ctx)
    if check is not None:
        check.status, check.answered_at = "failed", utcnow()  # billing makes the fee refundable


def next_credential_no(session: Session, edition: str) -> str:
    seq = session.get(CredentialSequence, edition, with_for_update=True)
    if seq is None:
        seq = CredentialSequence(edition=edition, last_value=0)
        session.add(seq)
    seq.last_value += 1
    year = "".join(c for c in edition if c.isdigit())[-4:] or "0000"
    return f"{year}{seq.last_value:08d}"


def queue_credential(ctx: HandlerContext, person_id: str, edition: str) -> Credential:
    """A passed person's card face is gathered now (from registration over RPC) and the
    card waits for the next production batch. A reused credential keeps its number and
    skips production."""
    holder = ctx.session.get(Holder, person_id)
    dossier = ctx.rpc.registration.person_dossier(person_id) or {}
    photo_b64 = ctx.rpc.registration.person_photo(person_id)
    label = holder.label if holder else "visitor"
    reuse_no = holder.reuse_credential_no if holder else None
    credential = Credential(
        id=new_id(), credential_no=reuse_no or next_credential_no(ctx.session, edition), person_id=person_id,
        unit_id=dossier.get("unit_id") or (holder.unit_id if holder else ""),
        delegation_id=holder.delegation_id if holder else dossier.get("delegation_id"), label=label,
        status="reused" if reuse_no else "queued", reused=bool(reuse_no),
        pickup_method=dossier.get("pickup_method") or "courier", entry_dates=dossier.get("entry_dates") or [],
        card={"name": dossier.get("name", ""), "unit_name": dossier.get("unit_name", ""),
              "delegation": dossier.get("delegation_id"), "label": label,
              "entry_dates": dossier.get("entry_dates") or [], "exhibition_area": dossier.get("exhibition_area")},
        photo=base64.b64decode(photo_b64) if photo_b64 else None, queued_at=utcnow())
    ctx.session.add(credential)
    ctx.session.flush()
    if reuse_no:
        ctx.emit("CredentialProduced", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                        "person_id": person_id, "unit_id": credential.unit_id, "reused": True})
    return credential


# --- production in batches, distribution --------------------------------------------------
def produce_batch(session: Session, emit: Emit, secret: bytes, fair: str, address_of: Any, limit: int = 100,
                  skip_locked: bool = False) -> ProductionBatch | None:
    """Render the queued cards (PDF per card and a batch sheet), then send each out:
    courier to the unit's default address with a tracking number, or on-site pickup."""
    query = select(Credential).where(Credential.status == "queued").order_by(Credential.queued_at).limit(limit)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    queued = list(session.scalars(query))
    if not queued:
        return None
    now = utcnow()
    batch = ProductionBatch(id=new_id(), size=len(queued), sheet_pdf=b"", produced_at=now)
    session.add(batch)
    session.flush()  # before the cards point at it
    faces = []
    for credential in queued:
        face = {**credential.card, "credential_no": credential.credential_no, "fair": fair}
        reference = cards.qr_reference(credential.credential_no, secret)
        credential.card_pdf = cards.cards_pdf([(face, credential.photo, reference)], f"credential {credential.credential_no}")
        credential.status, credential.produced_at, credential.batch_id = "produced", now, batch.id
        faces.append((face, credential.photo, reference))
        emit("CredentialProduced", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                    "person_id": credential.person_id, "unit_id": credential.unit_id, "reused": False})
        dispatch(session, emit, credential, address_of)
    batch.sheet_pdf = cards.cards_pdf(faces, f"production batch {batch.id} ({len(faces)} cards, {now:%Y-%m-%d %H:%M} UTC)")
    return batch


def courier_tracking_no() -> str:
    return "SF" + "".join(secrets.choice("0123456789") for _ in range(12))


def dispatch(session: Session, emit: Emit, credential: Credential, address_of: Any) -> None:
    now = utcnow()
    if credential.pickup_method == "courier":
        address = address_of(credential.unit_id)
        if not address:
            return  # no default address yet: stays produced until the unit adds one
        credential.tracking_no = courier_tracking_no()
        credential.ship_to = f"{address.get('city', '')} {mask_phone(address.get('phone')) or ''}".strip()
        credential.status = "dispatched"
    else:
        credential.status = "ready_for_pickup"
    credential.dispatched_at = now
    emit("CredentialDispatched", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                  "person_id": credential.person_id, "unit_id": credential.unit_id,
                                  "method": credential.pickup_method, "tracking_no": credential.tracking_no})


def dispatch_waiting(session: Session, emit: Emit, unit_id: str, address_of: Any) -> int:
    """Courier credentials that waited for an address go out once the unit has one."""
    waiting = list(session.scalars(select(Credential).where(Credential.unit_id == unit_id,
                                                            Credential.status == "produced",
                                                            Credential.pickup_method == "courier")))
    for credential in waiting:
        dispatch(session, emit, credential, address_of)
    return sum(1 for c in waiting if c.status == "dispatched")


def hand_over(session: Session, credential_no: str) -> Credential:
    """Courier delivered, or collected at the on-site desk."""
    credential = get_credential(session, credential_no)
    if credential.status == "dispatched":
        credential.status = "delivered"
    elif credential.status == "ready_for_pickup":
        credential.status = "collected"
    else:
        raise Conflict("not_in_distribution", f"the credential is {credential.status}", "credential_no")
    credential.handed_over_at = utcnow()
    return credential


def get_credential(session: Session, credential_no: str) -> Credential:
    credential = session.scalar(select(Credential).where(Credential.credential_no == credential_no)
                                .with_for_update())
    if credential is None:
        raise NotFound("credential", "credential_no")
    return credential


# --- gate verification --------------------------------------------------------------------
def verify_at_gate(session: Session, reference: str, secret: bytes, today: dt.date) -> dict[str, Any]:
    """valid / revoked / not_valid_today / unknown — and the label, nothing personal."""
    number = cards.read_reference(reference, secret)
    if number is None:
        return {"result": "unknown"}
    credential = session.scalar(select(Credential).where(Credential.credential_no == number))
    if credential is None:
        return {"result": "unknown"}
    if credential.status == "revoked":
        return {"result": "revoked", "credential_no": number}
    if credential.status not in VALID:
        return {"result": "not_issued", "credential_no": number}
    if credential.entry_dates and today.isoformat() not in credential.entry_dates:
        return {"result": "not_valid_today", "credential_no": number, "label": credential.label,
                "entry_dates": credential.entry_dates}
    return {"result": "valid", "credential_no": number, "label": credential.label}


# --- revocation and reissue ---------------------------------------------------------------
def revoke(emit: Emit, credential: Credential, reason: str) -> None:
    credential.status, credential.revoked_reason, credential.revoked_at = "revoked", reason, utcnow()
    emit("CredentialRevoked", {"credential_id": credential.id, "credential_no": credential.credential_no,
                               "person_id": credential.person_id, "unit_id": credential.unit_id, "reason": reason})


def _current(session: Session, person_id: str) -> Credential | None:
    return session.scalar(select(Credential).where(Credential.person_id == person_id,
                                                   Credential.status != "revoked").with_for_update())


def on_personnel_upgraded(ctx: HandlerContext, edition: str = "CIIE-2026") -> None:
    """An upgrade revokes the old credential and issues a new one with the new label."""
    holder = ctx.session.get(Holder, ctx.payload["person_id"], with_for_update=True)
    if holder is not None:
        holder.label = ctx.payload["to_label"]
        holder.reuse_credential_no = None  # a new card: a new number
    current = _current(ctx.session, ctx.payload["person_id"])
    if current is None or current.label == ctx.payload["to_label"]:
        return
    revoke(ctx.emit, current, f"upgraded to {ctx.payload['to_label']}")
    queue_credential(ctx, ctx.payload["person_id"], edition)


def on_personnel_cancelled(ctx: HandlerContext) -> None:
    holder = ctx.session.get(Holder, ctx.payload["person_id"], with_for_update=True)
    if holder is None:
        holder = Holder(person_id=ctx.payload["person_id"], unit_id=ctx.payload["unit_id"], label="visitor",
                        payer="unit", cancelled=True)
        ctx.session.add(holder)
    holder.cancelled = True
    current = _current(ctx.session, ctx.payload["person_id"])
    if current is not None:
        revoke(ctx.emit, current, "cancelled")


def on_unit_deleted(ctx: HandlerContext) -> None:
    for credential in ctx.session.scalars(select(Credential).where(Credential.unit_id == ctx.payload["unit_id"],
                                                                   Credential.status != "revoked")):
        revoke(ctx.emit, credential, "unit deleted")
    for holder in ctx.session.scalars(select(Holder).where(Holder.unit_id == ctx.payload["unit_id"])):
        holder.cancelled = True


def dispatch_all_waiting(session: Session, emit: Emit, address_of: Any) -> int:
    units = set(session.scalars(select(Credential.unit_id).where(Credential.status == "produced",
                                                                 Credential.pickup_method == "courier")))
    return sum(dispatch_waiting(session, emit, unit_id, address_of) for unit_id in sorted(units))


# --- views -----------------------------------------------------------------------------------
def on_delegation_changed(ctx: HandlerContext) -> None:
    view = ctx.session.get(DelegationView, ctx.payload["delegation_id"])
    if view is None:
        view = DelegationView(id=ctx.payload["delegation_id"])
        ctx.session.add(view)
    view.parent_id = ctx.payload["parent_id"]


def subtree(session: Session, root: str) -> set[str]:
    ids, frontier = {root}, [root]
    while frontier:
        children = [c for c in session.scalars(select(DelegationView.id).where(DelegationView.parent_id.in_(frontier)))
                    if c not in ids]
        ids.update(children)
        frontier = children
    return ids

def counts(session: Session, unit_ids: list[str] | None = None, delegation_ids: set[str] | None = None) -> dict:
    checks = select(BackgroundCheck.status, func.count()).group_by(BackgroundCheck.status)
    creds = select(Credential.status, func.count()).group_by(Credential.status)
    if unit_ids is not None:
        checks = checks.where(BackgroundCheck.unit_id.in_(unit_ids))
        creds = creds.where(Credential.unit_id.in_(unit_ids))
    if delegation_ids is not None:
        checks = checks.where(BackgroundCheck.person_id.in_(
            select(Holder.person_id).where(Holder.delegation_id.in_(delegation_ids))))
        creds = creds.where(Credential.delegation_id.in_(delegation_ids))
    c = dict(session.execute(checks).all())
    k = dict(session.execute(creds).all())
    return {"requested": sum(c.values()), "awaiting_answer": c.get("requested", 0), "passed": c.get("passed", 0),
            "failed": c.get("failed", 0), "overdue": c.get("overdue", 0),
            "in_production": k.get("queued", 0), "produced": sum(k.get(s, 0) for s in VALID),
            "dispatched": sum(k.get(s, 0) for s in ("dispatched", "ready_for_pickup", "delivered", "collected")),
            "handed_over": k.get("delivered", 0) + k.get("collected", 0), "reused": k.get("reused", 0),
            "revoked": k.get("revoked", 0)}
