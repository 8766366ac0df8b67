"""Personal data erased (PIPL): card files, photos and printed names of an edition once its
retention period has ended, and of a unit its delegation deleted. Credential numbers,
statuses and the gate's scan log (ids only) stay for the fair's records."""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Credential, ProductionBatch
from .production import edition_prefix

log = logging.getLogger(__name__)
ERASED_FACE = {"erased": True}


def _erase(session: Session, credentials: list[Credential]) -> int:
    for credential in credentials:
        credential.photo, credential.gate_photo, credential.card_pdf = None, None, None
        credential.card, credential.ship_to = dict(ERASED_FACE), None
    batch_ids = {c.batch_id for c in credentials if c.batch_id}
    if batch_ids:  # a production sheet prints every card of its batch
        session.execute(update(ProductionBatch).where(ProductionBatch.id.in_(batch_ids)).values(sheet_pdf=b""))
    return len(credentials)


def erase_unit(session: Session, unit_id: str) -> int:
    return _erase(session, list(session.scalars(select(Credential).where(Credential.unit_id == unit_id)
                                                .with_for_update())))


def erase_edition(session: Session, edition: str) -> int:
    """Credential numbers begin with their edition's year."""
    erased = _erase(session, list(session.scalars(
        select(Credential).where(Credential.credential_no.startswith(edition_prefix(edition), autoescape=True))
        .with_for_update())))
    log.info("personal data of %s erased: %d credentials", edition, erased)
    return erased
