"""Invoices (数电发票): gapless numbers, issuing through the e-invoicing platform, and
reversal (退票)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, NotFound
from shared.outbox import Emit

from ..models import Invoice, InvoiceSequence, Order
from .orders import get_order, normalise_name, order_no_of
from .refunds import refund_under_way, refunded_amount

if TYPE_CHECKING:
    from ..bootstrap import EInvoicing


def next_invoice_no(session: Session, prefix: str) -> str:
    seq = session.get(InvoiceSequence, prefix, with_for_update=True)
    if seq is None:
        try:
            with session.begin_nested():
                session.add(InvoiceSequence(prefix=prefix, last_value=0))
        except IntegrityError:
            pass  # another instance created it first
        seq = session.scalars(select(InvoiceSequence).where(InvoiceSequence.prefix == prefix).with_for_update()
                              .execution_options(populate_existing=True)).one()
    seq.last_value += 1
    return f"{prefix}{seq.last_value:0{20 - len(prefix)}d}"


def issue_invoice(session: Session, emit: Emit, order: Order, data: dict[str, Any], einvoicing: EInvoicing,
                  prefix: str) -> Invoice:
    """数电普票 or 数电专票 for a paid order; one valid invoice per order (a reversed one may
    be followed by a new one), for what was paid less what was refunded — never while a
    refund is under way. For B2B and transfer payments the title is the paying unit and
    cannot be changed."""
    if order.status != "paid":
        raise Conflict("order_not_paid", "only a paid order can be invoiced", "order_no")
    if session.scalar(select(Invoice.id).where(Invoice.order_id == order.id, Invoice.status == "issued")):
        raise Conflict("already_invoiced", "this order already has an invoice", "order_no")
    title = data["title"].strip()
    if order.paid_by in ("b2b", "transfer") and order.payer_title and normalise_name(title) != normalise_name(
            order.payer_title):
        raise DomainError("title_locked", f"the invoice title must be the paying unit: {order.payer_title}", "title")
    if data["kind"] == "special" and not data.get("tax_no"):
        raise DomainError("tax_no_required", "a special VAT invoice needs the buyer's tax number", "tax_no")
    if refund_under_way(session, order):
        raise Conflict("refund_under_way", "a refund of this order is under way: invoice the order once it is "
                       "completed or rejected", "order_no")
    amount = order.amount_fen - refunded_amount(session, order)
    if amount <= 0:
        raise Conflict("nothing_to_invoice", "everything on this order was refunded", "order_no")
    invoice_no = next_invoice_no(session, prefix)
    pdf = einvoicing.issue(invoice_no=invoice_no, kind=data["kind"], title=title, tax_no=data.get("tax_no"),
                           amount_fen=amount, order_no=order.order_no)
    invoice = Invoice(id=new_id(), order_id=order.id, unit_id=order.unit_id, invoice_no=invoice_no, kind=data["kind"],
                      title=title, tax_no=data.get("tax_no"), amount_fen=amount, status="issued", pdf=pdf,
                      issued_at=utcnow())
    session.add(invoice)
    emit("InvoiceIssued", {"invoice_id": invoice.id, "order_id": order.id, "unit_id": order.unit_id,
                           "invoice_no": invoice_no, "kind": invoice.kind, "amount_fen": amount})
    return invoice


def issue_for_unit(session: Session, emit: Emit, unit_id: str, order_no: str, data: dict[str, Any],
                   einvoicing: EInvoicing, prefix: str) -> dict[str, Any]:
    """The unit's invoice for its own order, as the API shows it."""
    order = get_order(session, order_no, unit_id, lock=True)
    return invoice_view(issue_invoice(session, emit, order, data, einvoicing, prefix), order.order_no)


def reverse_invoice(session: Session, emit: Emit, invoice: Invoice, reason: str, red_letter_applied: bool,
                    remarks: str | None, booked: bool) -> Invoice:
    """退票: if no red-letter confirmation form was applied for and the invoice was already
    deducted or booked, the unit must confirm in the tax system within 72 hours."""
    if invoice.status != "issued":
        raise Conflict("already_reversed", "the invoice is already reversed", "invoice_no")
    if not reason.strip():
        raise DomainError("reason_required", "give the reason for the reversal", "reason")
    invoice.status, invoice.reversed_at, invoice.reversal_reason = "reversed", utcnow(), reason
    invoice.red_letter_applied, invoice.reversal_remarks = red_letter_applied, remarks
    emit("InvoiceReversed", {"invoice_id": invoice.id, "order_id": invoice.order_id, "unit_id": invoice.unit_id,
                             "invoice_no": invoice.invoice_no, "reason": reason,
                             "notice_72h": (not red_letter_applied) and booked})
    return invoice


def reverse_by_number(session: Session, emit: Emit, invoice_no: str, reason: str, red_letter_applied: bool,
                      remarks: str | None, booked: bool) -> dict[str, Any]:
    """Finance reverses an invoice by its number, as the API shows it."""
    invoice = session.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no).with_for_update())
    if invoice is None:
        raise NotFound("invoice", "invoice_no")
    reverse_invoice(session, emit, invoice, reason, red_letter_applied, remarks, booked)
    return invoice_view(invoice, order_no_of(session, invoice.order_id))


def invoice_view(invoice: Invoice, order_no: str) -> dict[str, Any]:
    """An invoice as the API shows it (without its PDF)."""
    return {"invoice_no": invoice.invoice_no, "order_no": order_no, "kind": invoice.kind, "title": invoice.title,
            "tax_no": invoice.tax_no, "amount_fen": invoice.amount_fen, "status": invoice.status,
            "issued_at": invoice.issued_at, "reversed_at": invoice.reversed_at,
            "reversal_reason": invoice.reversal_reason}


def unit_invoices(session: Session, unit_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(Invoice, Order.order_no).join(Order, Order.id == Invoice.order_id)
                           .where(Invoice.unit_id == unit_id).order_by(Invoice.issued_at))
    return [invoice_view(invoice, order_no) for invoice, order_no in rows.tuples()]


def all_invoices(session: Session, status: str | None, query: str | None, limit: int = 500) -> list[dict[str, Any]]:
    """Finance's list, newest first: every unit's invoices, optionally in one status or
    whose number, order number or title contains `query`."""
    statement = (select(Invoice, Order.order_no).join(Order, Order.id == Invoice.order_id)
                 .order_by(Invoice.issued_at.desc()))
    if status:
        statement = statement.where(Invoice.status == status)
    if query:
        like = f"%{query}%"
        statement = statement.where(Invoice.invoice_no.like(like) | Order.order_no.like(like) | Invoice.title.like(like))
    rows = session.execute(statement.limit(limit)).tuples()
    return [{**invoice_view(invoice, order_no), "unit_id": invoice.unit_id,
             "red_letter_applied": invoice.red_letter_applied, "reversal_remarks": invoice.reversal_remarks}
            for invoice, order_no in rows]


def invoice_pdf(session: Session, invoice_no: str, unit_id: str | None) -> bytes:
    """The invoice's PDF; a unit (`unit_id` given) only gets its own, finance any."""
    invoice = session.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no))
    if invoice is None or (unit_id is not None and invoice.unit_id != unit_id):
        raise NotFound("invoice", "invoice_no")
    return invoice.pdf
