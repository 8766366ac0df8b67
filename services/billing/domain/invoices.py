"""Invoices (数电发票): gapless numbers, issuing through the e-invoicing platform, and
reversal (退票)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, NotFound, ProviderRefused
from shared.logsafe import describe
from shared.outbox import Emit

from ..models import Invoice, InvoiceSequence, Order
from .orders import get_order, normalise_name, order_no_of
from .refunds import refund_under_way, refunded_amount

if TYPE_CHECKING:
    from ..bootstrap import BillingDeps, EInvoicing

log = logging.getLogger(__name__)


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


# An invoice is filed in three steps so that no transaction is open while the e-invoicing
# platform is called: its number is taken and the invoice recorded as `issuing`; it is filed
# (the invoice number is the platform's idempotency key); the answer is recorded. A crash or
# a platform that does not answer leaves it `issuing`, and the worker's sweep files it again.
ISSUING, REFUSED = "issuing", "refused"
VALID = ("issued", ISSUING)  # an order has at most one of these
REFILE_AFTER = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Filing:
    """What the e-invoicing platform is given for one invoice."""
    invoice_id: str
    invoice_no: str
    kind: str
    title: str
    tax_no: str | None
    amount_fen: int
    order_no: str


def reserve_invoice(session: Session, order: Order, data: dict[str, Any], prefix: str) -> Filing:
    """数电普票 or 数电专票 for a paid order, first step: the checks, the next number, the
    invoice recorded as being issued. One valid invoice per order (a reversed or refused one
    may be followed by a new one), for what was paid less what was refunded — never while a
    refund is under way. For B2B and transfer payments the title is the paying unit and
    cannot be changed. The caller holds the order's row lock."""
    if order.status != "paid":
        raise Conflict("order_not_paid", "only a paid order can be invoiced", "order_no")
    if session.scalar(select(Invoice.id).where(Invoice.order_id == order.id, Invoice.status.in_(VALID))):
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
    invoice = Invoice(id=new_id(), order_id=order.id, unit_id=order.unit_id, invoice_no=next_invoice_no(session, prefix),
                      kind=data["kind"], title=title, tax_no=data.get("tax_no"), amount_fen=amount, status=ISSUING,
                      pdf=b"", issued_at=utcnow())
    session.add(invoice)
    return filing_of(invoice, order.order_no)


def filing_of(invoice: Invoice, order_no: str) -> Filing:
    return Filing(invoice.id, invoice.invoice_no, invoice.kind, invoice.title, invoice.tax_no, invoice.amount_fen,
                  order_no)


def file_invoice(filing: Filing, einvoicing: EInvoicing) -> bytes | ProviderRefused:
    """Second step, with no transaction open: the platform's PDF, or its refusal. Anything
    else (the platform away) is raised, and the invoice stays `issuing` for the sweep."""
    try:
        return einvoicing.issue(invoice_no=filing.invoice_no, kind=filing.kind, title=filing.title,
                                tax_no=filing.tax_no, amount_fen=filing.amount_fen, order_no=filing.order_no)
    except ProviderRefused as refusal:
        return refusal


def record_filing(session: Session, emit: Emit, filing: Filing, answer: bytes | ProviderRefused) -> Invoice:
    """Third step: issued with its PDF (InvoiceIssued), or refused with the platform's reason
    (its number stays on record, so the numbers have no gap). An answer the sweep recorded
    first is left as it is."""
    invoice = session.get(Invoice, filing.invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound("invoice", "invoice_no")
    if invoice.status != ISSUING:
        return invoice
    if isinstance(answer, ProviderRefused):
        invoice.status, invoice.reversed_at, invoice.reversal_reason = REFUSED, utcnow(), answer.message
        return invoice
    invoice.status, invoice.pdf, invoice.issued_at = "issued", answer, utcnow()
    emit("InvoiceIssued", {"invoice_id": invoice.id, "order_id": invoice.order_id, "unit_id": invoice.unit_id,
                           "invoice_no": invoice.invoice_no, "kind": invoice.kind, "amount_fen": invoice.amount_fen})
    return invoice


def issue_invoice(session: Session, emit: Emit, order: Order, data: dict[str, Any], einvoicing: EInvoicing,
                  prefix: str) -> Invoice:
    """The three steps in the caller's transaction (tests and scripts); the API and the sweep
    take them in transactions of their own. A refusal is recorded and raised."""
    filing = reserve_invoice(session, order, data, prefix)
    session.flush()
    answer = file_invoice(filing, einvoicing)
    invoice = record_filing(session, emit, filing, answer)
    if isinstance(answer, ProviderRefused):
        raise answer
    return invoice


def issue_for_unit(deps: BillingDeps, unit_id: str, order_no: str, data: dict[str, Any]) -> dict[str, Any]:
    """The unit's invoice for its own order, as the API shows it: `issuing` when the platform
    did not answer (the sweep files it), the platform's refusal raised once recorded."""
    with deps.uow() as (s, _):
        filing = reserve_invoice(s, get_order(s, order_no, unit_id, lock=True), data, deps.invoice_prefix)
    try:
        answer = file_invoice(filing, deps.einvoicing)
    except Exception as exc:
        log.warning("invoice %s not filed yet, the sweep files it again: %s", filing.invoice_no, describe(exc))
        with deps.uow() as (s, _):
            pending = s.get(Invoice, filing.invoice_id)
            assert pending is not None  # recorded in the first step, never deleted
            return invoice_view(pending, filing.order_no)
    with deps.uow() as (s, emit):
        invoice = record_filing(s, emit, filing, answer)
        view = invoice_view(invoice, filing.order_no)
    if isinstance(answer, ProviderRefused):
        raise answer
    return view


def file_pending(deps: BillingDeps, older_than: dt.timedelta = REFILE_AFTER, limit: int = 50) -> int:
    """The sweep: invoices left `issuing` (a crash, the platform away) are filed again, each on
    its own — one that fails again waits for the next sweep and the rest go on. Returns how
    many were recorded."""
    with deps.uow() as (s, _):
        pending = [(invoice, order_no) for invoice, order_no in s.execute(
            select(Invoice, Order.order_no).join(Order, Order.id == Invoice.order_id)
            .where(Invoice.status == ISSUING, Invoice.issued_at <= utcnow() - older_than)
            .order_by(Invoice.issued_at).limit(limit))]
        filings = [filing_of(invoice, order_no) for invoice, order_no in pending]
    recorded = 0
    for filing in filings:
        try:
            answer = file_invoice(filing, deps.einvoicing)
            with deps.uow() as (s, emit):
                record_filing(s, emit, filing, answer)
            recorded += 1
        except Exception as exc:
            log.warning("invoice %s still not filed: %s", filing.invoice_no, describe(exc))
    return recorded


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
    if not invoice.pdf:  # being filed, or refused: the platform made none
        raise Conflict("invoice_not_issued", "this invoice has no PDF: it is being issued or was refused",
                       "invoice_no")
    return invoice.pdf
