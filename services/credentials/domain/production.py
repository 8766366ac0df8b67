"""A credential's way to its holder: numbering, queueing a passed person's card, production
in batches (a PDF per card and a batch sheet), distribution by courier or on-site pickup,
hand-over, and the card downloads."""
from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, NotFound
from shared.fair import fair
from shared.logsafe import describe
from shared.masking import mask_id_number, mask_phone
from shared.outbox import Emit

from .. import cards
from ..models import Credential, CredentialSequence, Holder, ProductionBatch

if TYPE_CHECKING:
    from ..bootstrap import CredentialsDeps, Rpc

log = logging.getLogger(__name__)

# Statuses of a credential that was issued and not revoked.
VALID = ("produced", "dispatched", "ready_for_pickup", "delivered", "collected", "reused")

# The unit's default address (from registration over RPC), or None while it has none.
AddressOf = Callable[[str], dict[str, Any] | None]


# --- queueing -------------------------------------------------------------------------------
def next_credential_no(session: Session, edition: str) -> str:
    seq = session.get(CredentialSequence, edition, with_for_update=True)
    if seq is None:
        seq = CredentialSequence(edition=edition, last_value=0)
        session.add(seq)
    seq.last_value += 1
    return f"{edition_prefix(edition)}{seq.last_value:08d}"


def edition_prefix(edition: str) -> str:
    """Credential numbers begin with their edition's year (CIIE-2026 → 2026)."""
    return "".join(c for c in edition if c in "0123456789")[-4:] or "0000"


def queue_credential(session: Session, emit: Emit, rpc: Rpc, person_id: str, edition: str) -> Credential:
    """A passed person's card face is gathered now (from registration over RPC) and the
    card waits for the next production batch. A reused credential keeps its number and
    skips production."""
    holder = session.get(Holder, person_id)
    dossier = rpc.registration.person_dossier(person_id) or {}
    photo_b64 = rpc.registration.person_photo(person_id)
    label = holder.label if holder else fair().badge_ids()[0]
    reuse_no = holder.reuse_credential_no if holder else None
    credential = Credential(
        id=new_id(), credential_no=reuse_no or next_credential_no(session, edition), person_id=person_id,
        unit_id=dossier.get("unit_id") or (holder.unit_id if holder else ""),
        delegation_id=holder.delegation_id if holder else dossier.get("delegation_id"), label=label,
        status="reused" if reuse_no else "queued", reused=bool(reuse_no), issue=1,
        pickup_method=dossier.get("pickup_method") or "courier", entry_dates=dossier.get("entry_dates") or [],
        card={"name": dossier.get("name", ""), "unit_name": dossier.get("unit_name", ""),
              # masked only: the desks tell the holder apart by it, the card face never prints it
              "id_number_masked": mask_id_number(dossier.get("id_number")),
              "delegation": dossier.get("delegation_id"), "label": label,
              "entry_dates": dossier.get("entry_dates") or [], "exhibition_area": dossier.get("exhibition_area")},
        photo=base64.b64decode(photo_b64) if photo_b64 else None, queued_at=utcnow())
    credential.gate_photo = cards.gate_photo(credential.photo)
    session.add(credential)
    session.flush()
    if reuse_no:
        emit("CredentialProduced", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                    "person_id": person_id, "unit_id": credential.unit_id, "reused": True})
    return credential


# --- production in batches, distribution --------------------------------------------------
def card_face(credential: Credential, fair: str) -> dict[str, Any]:
    """What is printed on the card (the photo and the QR reference aside)."""
    return {**credential.card, "credential_no": credential.credential_no, "fair": fair}


def reference_of(credential: Credential, secret: bytes) -> str:
    """The QR payload of the credential's current issue, bound to its holder."""
    return cards.qr_reference(credential.credential_no, credential.person_id, credential.issue or 1, secret)


def render_card_pdf(credential: Credential, secret: bytes, fair: str) -> None:
    """The card's PDF for its current issue (at production, and again at a reissue)."""
    credential.card_pdf = cards.cards_pdf([(card_face(credential, fair), credential.photo,
                                            reference_of(credential, secret))],
                                          f"credential {credential.credential_no}")


PRODUCING_LEASE = dt.timedelta(minutes=10)  # cards a sweep took and never finished are taken again


@dataclass
class Printed:
    """A batch rendered outside any transaction: each card's PDF and the batch sheet."""
    batch_id: str
    cards: dict[str, bytes]  # credential id -> its PDF
    sheet: bytes
    addresses: dict[str, dict[str, Any] | None]  # unit id -> its default address (courier cards)


def claim_queued(session: Session, limit: int, now: dt.datetime, skip_locked: bool = False) -> ProductionBatch | None:
    """Queued cards (and a batch's cards whose sweep died) are taken into a new batch."""
    lapsed = (Credential.status == "producing") & (Credential.produced_at <= now - PRODUCING_LEASE)
    query = (select(Credential).where((Credential.status == "queued") | lapsed)
             .order_by(Credential.queued_at).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    taken = list(session.scalars(query))
    if not taken:
        return None
    batch = ProductionBatch(id=new_id(), size=len(taken), sheet_pdf=b"", produced_at=now)
    session.add(batch)
    session.flush()  # before the cards point at it
    for credential in taken:
        credential.status, credential.produced_at, credential.batch_id = "producing", now, batch.id
    return batch


def batch_cards(session: Session, batch_id: str) -> list[Credential]:
    return list(session.scalars(select(Credential).where(Credential.batch_id == batch_id,
                                                         Credential.status == "producing")
                                .order_by(Credential.queued_at)))


def render_batch(batch_id: str, taken: list[Credential], secret: bytes, fair: str,
                 address_of: AddressOf) -> Printed:
    """The slow part, with no transaction open: PDFs, and the courier addresses (an RPC)."""
    faces = [(card_face(c, fair), c.photo, reference_of(c, secret)) for c in taken]
    pngs = [cards.card_png(*face) for face in faces]  # once each, for its own PDF and the sheet
    cards_of = {c.id: cards.cards_pdf([face], f"credential {c.credential_no}", [png])
                for c, face, png in zip(taken, faces, pngs)}
    sheet = cards.cards_pdf(faces, f"production batch {batch_id} ({len(faces)} cards, {utcnow():%Y-%m-%d %H:%M} UTC)",
                            pngs)
    units = sorted({c.unit_id for c in taken if c.pickup_method == "courier"})
    return Printed(batch_id, cards_of, sheet, {u: address_of(u) for u in units})


def complete_batch(session: Session, emit: Emit, printed: Printed) -> list[Credential]:
    """The rendered cards become produced and go out (courier or on-site pickup); a card the
    batch no longer holds (revoked meanwhile, or taken by another sweep) is left alone."""
    batch = session.get(ProductionBatch, printed.batch_id, with_for_update=True)
    done = []
    for credential in session.scalars(select(Credential).where(Credential.batch_id == printed.batch_id,
                                                               Credential.status == "producing").with_for_update()):
        if credential.id not in printed.cards:
            continue
        credential.card_pdf, credential.status = printed.cards[credential.id], "produced"
        emit("CredentialProduced", {"credential_id": credential.id, "credential_no": credential.credential_no,
                                    "person_id": credential.person_id, "unit_id": credential.unit_id, "reused": False})
        dispatch(session, emit, credential, printed.addresses.get)
        done.append(credential)
    if batch is not None:
        batch.sheet_pdf, batch.size = printed.sheet, len(done)
    return done


def produce_batch(session: Session, emit: Emit, secret: bytes, fair: str, address_of: AddressOf, limit: int = 100,
                  skip_locked: bool = False) -> ProductionBatch | None:
    """Render the queued cards (PDF per card and a batch sheet), then send each out:
    courier to the unit's default address with a tracking number, or on-site pickup.
    All in the caller's transaction; the worker's sweep (`produce`) takes the same steps
    in transactions of their own."""
    batch = claim_queued(session, limit, utcnow(), skip_locked)
    if batch is None:
        return None
    complete_batch(session, emit, render_batch(batch.id, batch_cards(session, batch.id), secret, fair, address_of))
    return batch


def produce(deps: CredentialsDeps, address_of: AddressOf, limit: int = 100) -> str | None:
    """One production batch, the worker's sweep (several workers share the queue on
    PostgreSQL through SKIP LOCKED), in three steps so that no transaction is open while
    cards are rendered or registration is asked for addresses: take the cards, render,
    record. Returns the batch id."""
    with deps.uow() as (s, _):
        batch = claim_queued(s, limit, utcnow(), deps.db.is_postgres)
        if batch is None:
            return None
        taken = batch_cards(s, batch.id)
    try:
        printed = render_batch(batch.id, taken, deps.qr_secret, deps.fair_name, address_of)
    except Exception as exc:
        # registration or the broker away (the courier addresses), or a card that will not
        # render: the cards go back to the queue now rather than after the lease, and the
        # next sweep tries again
        with deps.uow() as (s, _):
            released = release_batch(s, batch.id)
        log.warning("production batch %s not rendered, %d cards queued again: %s", batch.id, released,
                    describe(exc))
        return None
    with deps.uow() as (s, emit):
        complete_batch(s, emit, printed)
    return printed.batch_id


def release_batch(session: Session, batch_id: str) -> int:
    """A batch that could not be rendered gives its cards back to the queue, in their order."""
    released = 0
    for credential in session.scalars(select(Credential).where(Credential.batch_id == batch_id,
                                                               Credential.status == "producing").with_for_update()):
        credential.status, credential.batch_id, credential.produced_at = "queued", None, None
        released += 1
    batch = session.get(ProductionBatch, batch_id)
    if batch is not None:
        session.delete(batch)
    return released


def courier_tracking_no() -> str:
    return "SF" + "".join(secrets.choice("0123456789") for _ in range(12))


def dispatch(session: Session, emit: Emit, credential: Credential, address_of: AddressOf) -> None:
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


def dispatch_waiting_of_unit(session: Session, emit: Emit, unit_id: str, address_of: AddressOf) -> int:
    """Courier credentials that waited for an address go out once the unit has one."""
    waiting = list(session.scalars(select(Credential).where(Credential.unit_id == unit_id,
                                                            Credential.status == "produced",
                                                            Credential.pickup_method == "courier")))
    for credential in waiting:
        dispatch(session, emit, credential, address_of)
    return sum(1 for c in waiting if c.status == "dispatched")


def dispatch_all_waiting(session: Session, emit: Emit, address_of: AddressOf) -> int:
    units = set(session.scalars(select(Credential.unit_id).where(Credential.status == "produced",
                                                                 Credential.pickup_method == "courier")))
    return sum(dispatch_waiting_of_unit(session, emit, unit_id, address_of) for unit_id in sorted(units))


def dispatch_waiting(deps: CredentialsDeps, address_of: AddressOf) -> int:
    """The worker's sweep over courier credentials still waiting for an address."""
    with deps.uow() as (s, emit):
        return dispatch_all_waiting(s, emit, address_of)


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


# --- what units and operations see ------------------------------------------------------------
def unit_credentials(session: Session, unit_id: str) -> list[Credential]:
    return list(session.scalars(select(Credential).where(Credential.unit_id == unit_id)
                                .order_by(Credential.queued_at)))


def visible_credential(session: Session, credential_no: str, unit_id: str | None) -> Credential:
    """The credential, if the caller may see it: with `unit_id`, only that unit's own
    (another unit's card is as good as missing); without, any."""
    credential = session.scalar(select(Credential).where(Credential.credential_no == credential_no))
    if credential is None or (unit_id is not None and credential.unit_id != unit_id):
        raise NotFound("credential", "credential_no")
    return credential


def downloadable_credential(session: Session, credential_no: str, unit_id: str | None) -> Credential:
    """A card the caller may download: never a revoked one (its card is void, and a print of
    it must not circulate); an earlier issue is never served, only the current one."""
    credential = visible_credential(session, credential_no, unit_id)
    if credential.status == "revoked":
        raise Conflict("credential_revoked", "this credential was revoked: its card can no longer be downloaded",
                       "credential_no")
    return credential


def card_document(session: Session, credential_no: str, unit_id: str | None) -> bytes:
    """The produced card's PDF (of its current issue)."""
    credential = downloadable_credential(session, credential_no, unit_id)
    if credential.card_pdf is None:
        raise NotFound("produced card", "credential_no")
    return credential.card_pdf


def card_image(session: Session, credential_no: str, unit_id: str | None, fair: str, secret: bytes) -> bytes:
    """The card of the current issue as PNG, rendered now."""
    credential = downloadable_credential(session, credential_no, unit_id)
    return cards.card_png(card_face(credential, fair), credential.photo, reference_of(credential, secret))


def recent_batches(session: Session, limit: int = 100) -> list[ProductionBatch]:
    return list(session.scalars(select(ProductionBatch).order_by(ProductionBatch.produced_at.desc()).limit(limit)))


def batch_sheet(session: Session, batch_id: str) -> bytes:
    batch = session.get(ProductionBatch, batch_id)
    if batch is None:
        raise NotFound("batch", "batch_id")
    return batch.sheet_pdf


DISTRIBUTION = ("produced", "dispatched", "ready_for_pickup", "delivered", "collected")


def distribution(session: Session, status: str | None, query: str | None, limit: int = 500) -> list[dict[str, Any]]:
    """Operations' dispatch list: produced cards, newest dispatch first, by status, badge number
    or tracking number — with the tracking number, no photos."""
    from .pickup import desk_view
    statement = select(Credential).where(Credential.status.in_((status,) if status else DISTRIBUTION))
    if query:
        statement = statement.where((Credential.credential_no == query) | (Credential.tracking_no == query))
    rows = session.scalars(statement.order_by(Credential.dispatched_at.desc(), Credential.credential_no).limit(limit))
    return [{**desk_view(c), "tracking_no": c.tracking_no, "ship_to": c.ship_to, "dispatched_at": c.dispatched_at}
            for c in rows]
