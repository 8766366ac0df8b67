"""Revocation and reissue: an upgrade revokes the old credential and queues a new one
with the new label; a cancelled person or a deleted unit loses its credentials; a lost or
damaged card is reissued under the same number with the next issue, which voids the
old card's QR."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import Conflict
from shared.fair import fair
from shared.outbox import Emit

from .. import cards
from ..models import Credential, Holder
from . import checks, production

if TYPE_CHECKING:
    from ..bootstrap import Rpc


def revoke(emit: Emit, credential: Credential, reason: str) -> None:
    credential.status, credential.revoked_reason, credential.revoked_at = "revoked", reason, utcnow()
    emit("CredentialRevoked", {"credential_id": credential.id, "credential_no": credential.credential_no,
                               "person_id": credential.person_id, "unit_id": credential.unit_id, "reason": reason})


def current_credential(session: Session, person_id: str) -> Credential | None:
    return session.scalar(select(Credential).where(Credential.person_id == person_id,
                                                   Credential.status != "revoked").with_for_update())


def upgrade(session: Session, emit: Emit, rpc: Rpc, person_id: str, unit_id: str, to_label: str,
            edition: str) -> None:
    """An upgrade makes the person free (staff or VIP). One who was never checked — still
    awaiting payment, which will now never come — goes to the police check; a card waiting
    for production is made with the new label; a produced card is revoked and a new one
    issued with the new label."""
    holder = session.get(Holder, person_id, with_for_update=True)
    if holder is None:  # heard before the confirmation
        holder = Holder(person_id=person_id, unit_id=unit_id, cancelled=False)
        session.add(holder)
    holder.label, holder.payer = to_label, "free"
    holder.reuse_credential_no = None  # a new card: a new number
    session.flush()
    if holder.cancelled:
        return
    checks.request_check(session, emit, rpc, person_id, unit_id)  # a no-op once a check exists
    current = current_credential(session, person_id)
    if current is None or current.label == to_label:
        return
    if current.status == "queued":  # nothing printed yet: the card is made with the new label
        current.label, current.card = to_label, {**current.card, "label": to_label}
        return
    revoke(emit, current, f"upgraded to {to_label}")
    production.queue_credential(session, emit, rpc, person_id, edition)


def cancel_person(session: Session, emit: Emit, person_id: str, unit_id: str) -> None:
    """A cancelled person's credential is revoked, and no answer or event issues one again."""
    holder = session.get(Holder, person_id, with_for_update=True)
    if holder is None:
        holder = Holder(person_id=person_id, unit_id=unit_id, label=fair().badge_ids()[0], payer="unit",
                        cancelled=True)
        session.add(holder)
    holder.cancelled = True
    current = current_credential(session, person_id)
    if current is not None:
        revoke(emit, current, "cancelled")


def delete_unit(session: Session, emit: Emit, unit_id: str) -> None:
    """A deleted unit's credentials are revoked and its people cancelled."""
    for credential in session.scalars(select(Credential).where(Credential.unit_id == unit_id,
                                                               Credential.status != "revoked")):
        revoke(emit, credential, "unit deleted")
    for holder in session.scalars(select(Holder).where(Holder.unit_id == unit_id)):
        holder.cancelled = True


REISSUE_REASONS = ("lost", "damaged")


def reissue(session: Session, credential_no: str, reason: str, secret: bytes, fair: str) -> Credential:
    """A new card for the same holder and number (lost or damaged, 补证): the issue goes up,
    the card is rendered again for it, and the old card's QR now answers "superseded"."""
    credential = production.get_credential(session, credential_no)  # row-locked: one reissue at a time
    if credential.status == "revoked":
        raise Conflict("credential_revoked", "a revoked credential cannot be reissued", "credential_no")
    if credential.status not in production.VALID:
        raise Conflict("not_issued", "the card has not been produced yet", "credential_no")
    if (credential.issue or 1) >= cards.MAX_ISSUE:
        raise Conflict("too_many_reissues", "this card was reissued too often; issue a new credential", "credential_no")
    credential.issue = (credential.issue or 1) + 1
    credential.reissue_reason, credential.reissued_at = reason, utcnow()
    production.render_card_pdf(credential, secret, fair)
    return credential
