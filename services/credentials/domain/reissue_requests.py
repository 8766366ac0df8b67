"""Lost or damaged badges (补证): the unit asks for a new card, operations reissue it — the
next issue under the same number, so the lost card's QR answers "superseded" at the gate —
or refuse it with a note. Each step is an event the unit is told about."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, NotFound
from shared.outbox import Emit

from ..models import ReissueRequest
from . import production, revocation


def request_reissue(session: Session, emit: Emit, unit_id: str, credential_no: str, reason: str,
                    remarks: str | None = None) -> ReissueRequest:
    """One open request per card, for a card of the unit that has been produced."""
    credential = production.get_credential(session, credential_no)
    if credential.unit_id != unit_id:
        raise NotFound("credential", "credential_no")
    if credential.status == "revoked":
        raise Conflict("credential_revoked", "a revoked credential cannot be reissued", "credential_no")
    if credential.status not in production.VALID:
        raise Conflict("not_issued", "the card has not been produced yet", "credential_no")
    if session.scalar(select(ReissueRequest.id).where(ReissueRequest.credential_no == credential_no,
                                                      ReissueRequest.status == "requested")):
        raise Conflict("reissue_already_requested", "a new card was already asked for; operations are on it",
                       "credential_no")
    row = ReissueRequest(id=new_id(), credential_no=credential_no, person_id=credential.person_id,
                         unit_id=unit_id, reason=reason, remarks=(remarks or None), status="requested",
                         requested_at=utcnow())
    session.add(row)
    emit("ReissueRequested", {"request_id": row.id, "credential_no": credential_no,
                              "person_id": credential.person_id, "unit_id": unit_id, "reason": reason})
    return row


def _open_request(session: Session, request_id: str) -> ReissueRequest:
    row = session.get(ReissueRequest, request_id, with_for_update=True)
    if row is None:
        raise NotFound("reissue request", "request_id")
    if row.status != "requested":
        raise Conflict("reissue_request_decided", f"this request was already {row.status}")
    return row


def reissue(session: Session, emit: Emit, request_id: str, actor: str, secret: bytes, fair: str) -> ReissueRequest:
    """The new card: the next issue is rendered, the old card is void."""
    row = _open_request(session, request_id)
    credential = revocation.reissue(session, row.credential_no, row.reason, secret, fair)
    row.status, row.new_issue, row.decided_by, row.decided_at = "reissued", credential.issue, actor, utcnow()
    emit("CredentialReissued", {"request_id": row.id, "credential_no": row.credential_no,
                                "person_id": row.person_id, "unit_id": row.unit_id, "reason": row.reason,
                                "issue": credential.issue or 1})
    return row


def reject(session: Session, request_id: str, actor: str, note: str) -> ReissueRequest:
    row = _open_request(session, request_id)
    row.status, row.decision_note, row.decided_by, row.decided_at = "rejected", note, actor, utcnow()
    return row


def requests(session: Session, unit_id: str | None = None, status: str | None = None) -> list[ReissueRequest]:
    query = select(ReissueRequest).order_by(ReissueRequest.requested_at.desc()).limit(500)
    if unit_id:
        query = query.where(ReissueRequest.unit_id == unit_id)
    if status:
        query = query.where(ReissueRequest.status == status)
    return list(session.scalars(query))
