"""The unit's request to reverse an invoice (退票申请): the reason, whether a red-letter
confirmation form (红字确认单) was applied for, whether the invoice was already deducted or
booked, remarks. If no form was applied for and the invoice was deducted or booked, the
unit must confirm the reversal in the tax system within 72 hours of asking: it is told so
when it asks. Finance approves the request (the invoice is reversed) or rejects it."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, NotFound
from shared.outbox import Emit

from ..models import Invoice, InvoiceReversalRequest
from .invoices import reverse_invoice
from .orders import order_no_of

TAX_CONFIRMATION_WINDOW = dt.timedelta(hours=72)


def needs_tax_confirmation(red_letter_applied: bool, booked: bool) -> bool:
    """如果您未申请红字确认单，并且已抵扣或已入账，请申请退票操作后72小时内前往税务系统确认."""
    return (not red_letter_applied) and booked


def request_reversal(session: Session, emit: Emit, unit_id: str, invoice_no: str, data: dict[str, Any],
                     now: dt.datetime | None = None) -> InvoiceReversalRequest:
    invoice = session.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no).with_for_update())
    if invoice is None or invoice.unit_id != unit_id:
        raise NotFound("invoice", "invoice_no")
    if invoice.status != "issued":
        raise Conflict("already_reversed", "the invoice is already reversed", "invoice_no")
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise DomainError("reason_required", "give the reason for the reversal", "reason")
    if session.scalar(select(InvoiceReversalRequest.id).where(InvoiceReversalRequest.invoice_id == invoice.id,
                                                              InvoiceReversalRequest.status == "requested")):
        raise Conflict("reversal_already_requested", "a reversal of this invoice was already asked for", "invoice_no")
    now = now or utcnow()
    red_letter, booked = bool(data.get("red_letter_applied")), bool(data.get("booked"))
    notice = needs_tax_confirmation(red_letter, booked)
    row = InvoiceReversalRequest(
        id=new_id(), invoice_id=invoice.id, unit_id=unit_id, reason=reason, red_letter_applied=red_letter,
        booked=booked, remarks=(data.get("remarks") or None), status="requested", requested_at=now,
        confirm_by=now + TAX_CONFIRMATION_WINDOW if notice else None)
    session.add(row)
    emit("InvoiceReversalRequested", {
        "request_id": row.id, "invoice_id": invoice.id, "unit_id": unit_id, "invoice_no": invoice.invoice_no,
        "reason": reason, "red_letter_applied": red_letter, "notice_72h": notice,
        "confirm_by": row.confirm_by.replace(tzinfo=dt.timezone.utc).isoformat() if row.confirm_by else None})
    return row


def _open(session: Session, request_id: str) -> InvoiceReversalRequest:
    row = session.get(InvoiceReversalRequest, request_id, with_for_update=True)
    if row is None:
        raise NotFound("invoice reversal request", "request_id")
    if row.status != "requested":
        raise Conflict("reversal_request_decided", f"this request was already {row.status}")
    return row


def approve(session: Session, emit: Emit, request_id: str, finance_id: str) -> InvoiceReversalRequest:
    """Finance reverses the invoice as the unit asked (InvoiceReversed tells the unit)."""
    row = _open(session, request_id)
    invoice = session.get(Invoice, row.invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound("invoice", "invoice_no")
    reverse_invoice(session, emit, invoice, row.reason, row.red_letter_applied, row.remarks, row.booked)
    row.status, row.decided_by, row.decided_at = "approved", finance_id, utcnow()
    return row


def reject(session: Session, emit: Emit, request_id: str, finance_id: str, note: str) -> InvoiceReversalRequest:
    row = _open(session, request_id)
    if not note.strip():
        raise DomainError("note_required", "say why the reversal is refused", "note")
    row.status, row.decision_note, row.decided_by, row.decided_at = "rejected", note.strip(), finance_id, utcnow()
    invoice = session.get(Invoice, row.invoice_id)
    emit("InvoiceReversalRejected", {"request_id": row.id, "invoice_id": row.invoice_id, "unit_id": row.unit_id,
                                     "invoice_no": invoice.invoice_no if invoice else "", "note": row.decision_note})
    return row


def view(session: Session, row: InvoiceReversalRequest) -> dict[str, Any]:
    invoice = session.get(Invoice, row.invoice_id)
    return {"id": row.id, "invoice_no": invoice.invoice_no if invoice else None,
            "order_no": order_no_of(session, invoice.order_id) if invoice else None, "unit_id": row.unit_id,
            "reason": row.reason, "red_letter_applied": row.red_letter_applied, "booked": row.booked,
            "remarks": row.remarks, "status": row.status, "notice_72h": row.confirm_by is not None,
            "confirm_by": row.confirm_by, "decision_note": row.decision_note, "requested_at": row.requested_at,
            "decided_at": row.decided_at}


def requests_of(session: Session, unit_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    query = select(InvoiceReversalRequest).order_by(InvoiceReversalRequest.requested_at.desc()).limit(500)
    if unit_id:
        query = query.where(InvoiceReversalRequest.unit_id == unit_id)
    if status:
        query = query.where(InvoiceReversalRequest.status == status)
    return [view(session, row) for row in session.scalars(query)]
