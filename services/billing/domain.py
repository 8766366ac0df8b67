"""Billing rules: payable items, orders, payment initiation and confirmation.

Money is integer fen. Every confirmation path locks the order row, so two billing
instances receiving the same callback confirm it once.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import ApiError, Conflict, NotFound
from shared.inbox import HandlerContext
from shared.masking import mask_phone
from shared.outbox import Emit

from .models import (
    Invoice, InvoiceSequence, Order, OrderItem, PayableItem, Payment, PaymentCallback, Refund, StatementLine,
    TransferSubmission,
)

DEFAULT_FEE_FEN = 20000  # 200.00 CNY, the seeds' professional-visitor fee
MAX_PEOPLE_PER_ORDER = 500


def new_order_no(now: dt.datetime) -> str:
    """V + yyyyMMddHHmmss + 9 digits, e.g. V20200512230313594063001."""
    return "V" + now.strftime("%Y%m%d%H%M%S") + "".join(secrets.choice("0123456789") for _ in range(9))


def fee_for(label: str, payer: str, edition_fee_fen: int) -> int:
    return 0 if label in ("vip", "staff") or payer == "free" else edition_fee_fen


# --- payable items --------------------------------------------------------------------
def on_personnel_confirmed(ctx: HandlerContext, fee_fen: int = DEFAULT_FEE_FEN) -> None:
    p = ctx.payload
    if p["payer"] == "free" or ctx.session.get(PayableItem, p["person_id"]) is not None:
        return  # free labels owe nothing
    # 统付: a delegation-paid person is billed to the delegation's centralised payment
    # (review keeps the total within the delegation's limit); the unit owes nothing.
    ctx.session.add(PayableItem(person_id=p["person_id"], unit_id=p["unit_id"], label=p["label"],
                                payer=p["payer"], fee_fen=fee_for(p["label"], p["payer"], fee_fen),
                                delegation_id=p["delegation_id"] if p["payer"] == "delegation" else None,
                                status="awaiting_payment" if p["payer"] == "unit" else "delegation_billed",
                                created_at=utcnow()))


def centralised_statement(session: Session, delegation_id: str) -> dict[str, Any]:
    """What a delegation owes under 统付: its delegation-billed people and their total."""
    rows = list(session.scalars(select(PayableItem).where(PayableItem.payer == "delegation",
                                                          PayableItem.delegation_id == delegation_id,
                                                          PayableItem.status == "delegation_billed")))
    return {"delegation_id": delegation_id, "people": len(rows), "amount_fen": sum(r.fee_fen for r in rows)}


def payables(session: Session, unit_id: str) -> list[PayableItem]:
    return list(session.scalars(select(PayableItem).where(PayableItem.unit_id == unit_id)
                                .order_by(PayableItem.created_at)))


# --- orders ---------------------------------------------------------------------------
def create_order(session: Session, emit: Emit, unit_id: str, person_ids: list[str],
                 ttl: dt.timedelta, now: dt.datetime | None = None) -> Order:
    now = now or utcnow()
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        raise ApiError("no_people", "select at least one person awaiting payment", "person_ids")
    if len(ids) > MAX_PEOPLE_PER_ORDER:
        raise ApiError("too_many_people", f"at most {MAX_PEOPLE_PER_ORDER} people per order", "person_ids")
    items = {i.person_id: i for i in session.scalars(
        select(PayableItem).where(PayableItem.person_id.in_(ids)).with_for_update())}
    for pid in ids:
        item = items.get(pid)
        if item is None or item.unit_id != unit_id:
            raise NotFound(f"payable item for person {pid}", "person_ids")
        if item.status != "awaiting_payment":
            raise Conflict("not_awaiting_payment", f"person {pid} is {item.status}, not awaiting payment",
                           "person_ids")
    order = Order(id=new_id(), order_no=new_order_no(now), unit_id=unit_id,
                  amount_fen=sum(items[p].fee_fen for p in ids), status="unpaid", created_at=now,
                  expires_at=now + ttl)
    session.add(order)
    session.flush()
    for pid in ids:
        session.add(OrderItem(order_id=order.id, person_id=pid, fee_fen=items[pid].fee_fen))
        items[pid].status, items[pid].order_id = "in_order", order.id
    emit("OrderCreated", {"order_id": order.id, "order_no": order.order_no, "unit_id": unit_id,
                          "person_ids": ids, "amount_fen": order.amount_fen,
                          "expires_at": order.expires_at.isoformat() + "Z"})
    return order


def get_order(session: Session, order_no: str, unit_id: str | None = None, lock: bool = False) -> Order:
    query = select(Order).where(Order.order_no == order_no)
    if lock:
        query = query.with_for_update()
    order = session.scalar(query)
    if order is None or (unit_id is not None and order.unit_id != unit_id):
        raise NotFound("order", "order_no")
    return order


def order_person_ids(session: Session, order: Order) -> list[str]:
    return list(session.scalars(select(OrderItem.person_id).where(OrderItem.order_id == order.id)
                                .order_by(OrderItem.person_id)))


def payable_order(order: Order, now: dt.datetime) -> None:
    if order.status == "paid":
        raise Conflict("order_paid", "the order is already paid")
    if order.status != "unpaid":
        raise Conflict("order_closed", f"the order is {order.status}")
    if order.expires_at <= now:
        raise Conflict("order_expired", "the order has expired; create a new one")


def record_payment(session: Session, order: Order, method: str, provider: str, txn_id: str) -> Payment:
    payment = Payment(id=new_id(), order_id=order.id, method=method, provider=provider,
                      provider_txn_id=txn_id, amount_fen=order.amount_fen, status="initiated",
                      created_at=utcnow())
    session.add(payment)
    return payment


# --- provider callbacks ---------------------------------------------------------------
def _log_callback(session: Session, provider: str, params: dict[str, Any], verdict: str, detail: str = "") -> str:
    session.add(PaymentCallback(id=new_id(), provider=provider, provider_txn_id=params.get("txn_id"),
                                notify_id=params.get("notify_id"), verdict=verdict, detail=detail or None,
                                received_at=utcnow()))
    return verdict


def handle_payment_callback(session: Session, emit: Emit, provider: str, params: dict[str, Any],
                            signature_ok: bool) -> str:
    """Apply a provider notification. Returns the verdict: confirmed, duplicate, or why it
    was refused (bad_signature, unknown_payment, amount_mismatch, order_closed, not_paid).
    Only `confirmed` changes anything besides the callback log."""
    if not signature_ok:
        return _log_callback(session, provider, params, "bad_signature")
    payment = session.scalar(select(Payment).where(Payment.provider == provider,
                                                   Payment.provider_txn_id == params.get("txn_id")))
    if payment is None:
        return _log_callback(session, provider, params, "unknown_payment")
    order = session.scalar(select(Order).where(Order.id == payment.order_id).with_for_update())
    session.refresh(payment)  # re-read under the order lock: another instance may have confirmed
    if params.get("trade_status") != "TRADE_SUCCESS":
        return _log_callback(session, provider, params, "not_paid", str(params.get("trade_status")))
    if payment.status == "confirmed":
        return _log_callback(session, provider, params, "duplicate")
    if str(params.get("out_trade_no")) != order.order_no:
        return _log_callback(session, provider, params, "order_mismatch")
    try:
        paid = int(params.get("total_fen", ""))
    except ValueError:
        paid = -1
    if paid != order.amount_fen or paid != payment.amount_fen:
        return _log_callback(session, provider, params, "amount_mismatch", f"paid {paid} for {order.amount_fen}")
    if order.status != "unpaid" or payment.status != "initiated":
        # Money arrived for an order we no longer accept: recorded for finance to refund.
        return _log_callback(session, provider, params, "order_closed", order.status)
    _mark_paid(session, emit, order, payment, payer_title=params.get("payer_name"))
    return _log_callback(session, provider, params, "confirmed")





# --- who is refundable, from other services' events -----------------------------------------
def _item(ctx: HandlerContext) -> PayableItem | None:
    return ctx.session.get(PayableItem, ctx.payload["person_id"], with_for_update=True)


def make_refundable(session: Session, emit: Emit, item: PayableItem, reason: str) -> None:
    """A person who will not attend: a paid fee becomes refundable; an unpaid one is
    dropped (its unpaid order is cancelled so the others can be paid)."""
    if item.status == "paid":
        item.status, item.refundable_reason = "refundable", reason
    elif item.status == "in_order":
        order = session.get(Order, item.order_id, with_for_update=True)
        if order is not None and order.status == "unpaid":
            cancel_order(session, emit, order, f"person {reason}")
        item.status = "cancelled"
    elif item.status == "awaiting_payment":
        item.status = "cancelled"


def on_background_check_failed(ctx: HandlerContext) -> None:
    item = _item(ctx)
    if item is not None:
        make_refundable(ctx.session, ctx.emit, item, "check_failed")


def on_personnel_cancelled(ctx: HandlerContext) -> None:
    item = _item(ctx)
    if item is not None:
        make_refundable(ctx.session, ctx.emit, item, "cancelled")


def on_personnel_upgraded(ctx: HandlerContext) -> None:
    """Upgraded to a free label: whatever was paid comes back."""
    item = _item(ctx)
    if item is not None and ctx.payload["to_label"] in ("vip", "staff"):
        make_refundable(ctx.session, ctx.emit, item, "upgraded")


def on_unit_deleted(ctx: HandlerContext) -> None:
    for item in ctx.session.scalars(select(PayableItem).where(PayableItem.unit_id == ctx.payload["unit_id"])
                                    .order_by(PayableItem.person_id).with_for_update()):
        make_refundable(ctx.session, ctx.emit, item, "unit_deleted")


def on_reuse_locked(ctx: HandlerContext, fee_fen: int = DEFAULT_FEE_FEN) -> None:
    """A reused credential still pays the fee unless its label is free."""
    p = ctx.payload
    if p["payer"] != "unit" or ctx.session.get(PayableItem, p["person_id"]) is not None:
        return
    ctx.session.add(PayableItem(person_id=p["person_id"], unit_id=p["unit_id"], label=p["label"], payer="unit",
                                fee_fen=fee_for(p["label"], "unit", fee_fen), status="awaiting_payment",
                                created_at=utcnow()))


# --- cancelling and expiring orders ----------------------------------------------------
def cancel_order(session: Session, emit: Emit, order: Order, reason: str, status: str = "cancelled") -> Order:
    """An unpaid order can be cancelled (or expires); its people can be selected again."""
    if order.status != "unpaid":
        raise Conflict("order_not_unpaid", f"the order is {order.status}", "order_no")
    if session.scalar(select(TransferSubmission.id).where(TransferSubmission.order_id == order.id,
                                                          TransferSubmission.status == "submitted")):
        raise Conflict("transfer_pending", "a bank transfer for this order awaits finance's decision", "order_no")
    order.status = status
    person_ids = order_person_ids(session, order)
    for item in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(person_ids))
                                .order_by(PayableItem.person_id).with_for_update()):
        if item.order_id == order.id and item.status == "in_order":
            item.status, item.order_id = "awaiting_payment", None
    for payment in session.scalars(select(Payment).where(Payment.order_id == order.id, Payment.status == "initiated")):
        payment.status = "closed"  # a late callback for it is recorded, never confirmed
    emit("OrderCancelled", {"order_id": order.id, "order_no": order.order_no, "unit_id": order.unit_id,
                            "person_ids": person_ids, "reason": reason})
    return order


def expire_orders(session: Session, emit: Emit, now: dt.datetime | None = None, limit: int = 200,
                  skip_locked: bool = False) -> int:
    """Unpaid orders past their time expire (several billing workers share the sweep)."""
    now = now or utcnow()
    query = select(Order).where(Order.status == "unpaid", Order.expires_at <= now).order_by(Order.expires_at) \
        .limit(limit)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for order in session.scalars(query).all():
        try:
            with session.begin_nested():
                cancel_order(session, emit, order, "expired", status="expired")
            expired += 1
        except Conflict:
            continue  # a transfer awaits finance: the order waits for its decision
    return expired


# --- deadlines per payment method ---------------------------------------------------------
def check_payment_deadline(method: str, deadlines: dict[str, dt.datetime], now: dt.datetime | None = None) -> None:
    """Transfers (with voucher) close before QR and B2B payments (edition settings)."""
    kind = "transfer" if method == "transfer" else "online"
    deadline = deadlines.get(kind)
    if deadline is not None and (now or utcnow()) > deadline:
        what = "bank transfers" if kind == "transfer" else "online payments"
        raise ApiError("deadline_passed", f"{what} closed on {deadline.isoformat(timespec='minutes')} UTC", "method",
                       status=409)


# --- bank transfers ------------------------------------------------------------------------
def submit_transfer(session: Session, order: Order, data: dict[str, Any], voucher: bytes,
                    now: dt.datetime | None = None) -> TransferSubmission:
    now = now or utcnow()
    payable_order(order, now)
    if session.scalar(select(TransferSubmission.id).where(TransferSubmission.order_id == order.id,
                                                          TransferSubmission.status == "submitted")):
        raise Conflict("transfer_pending", "a transfer for this order already awaits finance", "order_no")
    check_voucher(voucher)
    transfer = TransferSubmission(
        id=new_id(), order_id=order.id, remitter_type=data["remitter_type"], remitter_name=data["remitter_name"],
        remitter_account=data["remitter_account"], amount_fen=data["amount_fen"],
        phone_masked=mask_phone(data["phone"]) or "", voucher=voucher, status="submitted", submitted_at=now)
    session.add(transfer)
    return transfer


def check_voucher(content: bytes) -> None:
    from PIL import Image, UnidentifiedImageError
    if not content:
        raise ApiError("voucher_required", "attach the remittance voucher", "voucher")
    if len(content) > 5 * 1024 * 1024:
        raise ApiError("voucher_too_large", "the voucher must be at most 5 MB", "voucher")
    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError("not_an_image", "the voucher must be a PNG or JPG image", "voucher") from None
    if image.format not in ("PNG", "JPEG"):
        raise ApiError("not_an_image", "the voucher must be a PNG or JPG image", "voucher")


def decide_transfer(session: Session, emit: Emit, transfer: TransferSubmission, confirm: bool, reason: str | None,
                    decided_by: str) -> TransferSubmission:
    """Finance confirms (the order is paid) or rejects with a reason (TransferRejected)."""
    order = session.get(Order, transfer.order_id, with_for_update=True)
    if transfer.status != "submitted":
        raise Conflict("transfer_decided", f"the transfer is already {transfer.status}", "transfer_id")
    now = utcnow()
    if not confirm:
        if not (reason or "").strip():
            raise ApiError("reason_required", "say why the transfer is rejected", "reason")
        transfer.status, transfer.reason, transfer.decided_by, transfer.decided_at = "rejected", reason, decided_by, now
        emit("TransferRejected", {"order_id": order.id, "order_no": order.order_no, "unit_id": order.unit_id,
                                  "reason": reason})
        return transfer
    if transfer.amount_fen != order.amount_fen:
        raise Conflict("amount_mismatch", f"the transfer is {transfer.amount_fen / 100:.2f} CNY for an order of "
                                          f"{order.amount_fen / 100:.2f} CNY; reject it", "amount_fen")
    if order.status != "unpaid":
        raise Conflict("order_not_unpaid", f"the order is {order.status}; reject the transfer and refund it",
                       "order_no")
    payment = Payment(id=new_id(), order_id=order.id, method="transfer", provider="bank",
                      provider_txn_id=f"TRF-{transfer.id}", amount_fen=transfer.amount_fen, status="initiated",
                      created_at=now)
    session.add(payment)
    session.flush()
    transfer.status, transfer.decided_by, transfer.decided_at = "confirmed", decided_by, now
    _mark_paid(session, emit, order, payment, payer_title=transfer.remitter_name)
    return transfer


def _mark_paid(session: Session, emit: Emit, order: Order, payment: Payment, payer_title: str | None = None) -> None:
    now = utcnow()
    payment.status, payment.confirmed_at = "confirmed", now
    order.status, order.paid_at, order.paid_by = "paid", now, payment.method
    if payment.method in ("b2b", "transfer"):
        order.payer_title = payer_title  # the invoice title follows the paying unit
    person_ids = order_person_ids(session, order)
    for item in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(person_ids))
                                .order_by(PayableItem.person_id).with_for_update()):
        item.status = "paid"
    emit("PaymentConfirmed", {"payment_id": payment.id, "order_id": order.id, "order_no": order.order_no,
                              "unit_id": order.unit_id, "person_ids": person_ids,
                              "amount_fen": order.amount_fen, "method": payment.method})


def normalise_name(name: str) -> str:
    return "".join(name.split()).replace("（", "(").replace("）", ")").lower()


def import_statement(session: Session, emit: Emit, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Match bank-statement lines to submitted transfers by amount and remitter (and
    account when the line has one): one candidate → confirmed; several → left for a
    person; none → unmatched. A line already imported is skipped."""
    counts = {"matched": 0, "ambiguous": 0, "unmatched": 0, "skipped": 0}
    for row in rows:
        if session.scalar(select(StatementLine.id).where(StatementLine.bank_reference == row["bank_reference"])):
            counts["skipped"] += 1
            continue
        candidates = [t for t in session.scalars(select(TransferSubmission).where(
            TransferSubmission.status == "submitted", TransferSubmission.amount_fen == row["amount_fen"]))
            if normalise_name(t.remitter_name) == normalise_name(row["remitter_name"])
            and (not row.get("remitter_account") or t.remitter_account == row["remitter_account"])]
        line = StatementLine(id=new_id(), bank_reference=row["bank_reference"], value_date=row["value_date"],
                             amount_fen=row["amount_fen"], remitter_name=row["remitter_name"],
                             remitter_account=row.get("remitter_account"), candidates=len(candidates),
                             imported_at=utcnow(), status="unmatched")
        session.add(line)
        if len(candidates) == 1:
            try:
                with session.begin_nested():
                    decide_transfer(session, emit, candidates[0], True, None, f"statement:{row['bank_reference']}")
                line.status, line.transfer_id = "matched", candidates[0].id
            except (Conflict, ApiError):
                line.status = "ambiguous"
        elif candidates:
            line.status = "ambiguous"
        counts[line.status] += 1
    return counts


def parse_statement_csv(content: bytes) -> list[dict[str, Any]]:
    """Columns: bank_reference, value_date, amount (yuan, e.g. 200.00), remitter_name,
    remitter_account (optional)."""
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    except UnicodeDecodeError:
        raise ApiError("unreadable_file", "the statement must be UTF-8 CSV", "file") from None
    needed = {"bank_reference", "value_date", "amount", "remitter_name"}
    if not reader.fieldnames or not needed <= {f.strip() for f in reader.fieldnames}:
        raise ApiError("bad_statement", f"the statement needs the columns {', '.join(sorted(needed))}", "file")
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        try:
            amount = Decimal(row["amount"])
        except InvalidOperation:
            raise ApiError("bad_statement", f"line {number}: {row['amount']!r} is not an amount", "file") from None
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise ApiError("bad_statement", f"line {number}: the amount must be positive, in yuan and fen", "file")
        rows.append({"bank_reference": row["bank_reference"], "value_date": row["value_date"],
                     "amount_fen": int(amount * 100), "remitter_name": row["remitter_name"],
                     "remitter_account": row.get("remitter_account") or None})
    return rows


# --- invoices -----------------------------------------------------------------------------
def next_invoice_no(session: Session, prefix: str) -> str:
    seq = session.get(InvoiceSequence, prefix, with_for_update=True)
    if seq is None:
        try:
            with session.begin_nested():
                session.add(InvoiceSequence(prefix=prefix, last_value=0))
        except IntegrityError:
            pass  # another instance created it first
        seq = session.get(InvoiceSequence, prefix, with_for_update=True, populate_existing=True)
    seq.last_value += 1
    return f"{prefix}{seq.last_value:0{20 - len(prefix)}d}"


def issue_invoice(session: Session, emit: Emit, order: Order, data: dict[str, Any], einvoicing: Any,
                  prefix: str) -> Invoice:
    """数电普票 or 数电专票 for a paid order; one valid invoice per order. For B2B and
    transfer payments the title is the paying unit and cannot be changed."""
    if order.status != "paid":
        raise Conflict("order_not_paid", "only a paid order can be invoiced", "order_no")
    if session.scalar(select(Invoice.id).where(Invoice.order_id == order.id, Invoice.status == "issued")):
        raise Conflict("already_invoiced", "this order already has an invoice", "order_no")
    title = data["title"].strip()
    if order.paid_by in ("b2b", "transfer") and order.payer_title and normalise_name(title) != normalise_name(
            order.payer_title):
        raise ApiError("title_locked", f"the invoice title must be the paying unit: {order.payer_title}", "title")
    if data["kind"] == "special" and not data.get("tax_no"):
        raise ApiError("tax_no_required", "a special VAT invoice needs the buyer's tax number", "tax_no")
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


def reverse_invoice(session: Session, emit: Emit, invoice: Invoice, reason: str, red_letter_applied: bool,
                    remarks: str | None, booked: bool) -> Invoice:
    """退票: if no red-letter confirmation form was applied for and the invoice was already
    deducted or booked, the unit must confirm in the tax system within 72 hours."""
    if invoice.status != "issued":
        raise Conflict("already_reversed", "the invoice is already reversed", "invoice_no")
    if not reason.strip():
        raise ApiError("reason_required", "give the reason for the reversal", "reason")
    invoice.status, invoice.reversed_at, invoice.reversal_reason = "reversed", utcnow(), reason
    invoice.red_letter_applied, invoice.reversal_remarks = red_letter_applied, remarks
    emit("InvoiceReversed", {"invoice_id": invoice.id, "order_id": invoice.order_id, "unit_id": invoice.unit_id,
                             "invoice_no": invoice.invoice_no, "reason": reason,
                             "notice_72h": (not red_letter_applied) and booked})
    return invoice


# --- refunds ------------------------------------------------------------------------------
BANK_CODE = re.compile(r"^\d{12}$")  # CNAPS bank code
ACCOUNT = re.compile(r"^\d{8,32}$")


def check_payee(payee: dict[str, Any] | None) -> dict[str, Any]:
    if not payee:
        raise ApiError("payee_required", "give the account the refund goes to", "payee")
    for key in ("name", "account", "bank", "bank_code"):
        if not str(payee.get(key) or "").strip():
            raise ApiError("payee_incomplete", f"the payee's {key.replace('_', ' ')} is missing", f"payee.{key}")
    if not ACCOUNT.match(str(payee["account"])):
        raise ApiError("invalid_account", "an account number is 8 to 32 digits", "payee.account")
    if not BANK_CODE.match(str(payee["bank_code"])):
        raise ApiError("invalid_bank_code", "the bank code (CNAPS) is 12 digits", "payee.bank_code")
    return {k: str(payee[k]).strip() for k in ("name", "account", "bank", "bank_code")}


def refunded_amount(session: Session, order: Order) -> int:
    return sum(session.scalars(select(Refund.amount_fen).where(Refund.order_id == order.id,
                                                               Refund.status.in_(("completed",))))) or 0


def request_refunds(session: Session, unit_id: str, person_ids: list[str], route: str,
                    payee: dict[str, Any] | None) -> list[Refund]:
    """One refund per order for the chosen refundable people (a batch may span orders).
    The people are locked: a second request for the same person finds them refunding."""
    ids = sorted(set(person_ids))
    if not ids:
        raise ApiError("no_people", "choose at least one refundable person", "person_ids")
    items = {i.person_id: i for i in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(ids))
                                                     .order_by(PayableItem.person_id).with_for_update())}
    by_order: dict[str, list[PayableItem]] = {}
    for pid in ids:
        item = items.get(pid)
        if item is None or item.unit_id != unit_id:
            raise NotFound(f"payable item for person {pid}", "person_ids")
        if item.status != "refundable":
            raise Conflict("not_refundable", f"person {pid} is {item.status}, not refundable", "person_ids")
        by_order.setdefault(item.order_id, []).append(item)
    refunds = []
    for order_id, order_items in sorted(by_order.items()):
        order = session.get(Order, order_id, with_for_update=True)
        if session.scalar(select(Invoice.invoice_no).where(Invoice.order_id == order.id, Invoice.status == "issued")):
            raise Conflict("invoice_not_reversed", f"reverse the invoice of order {order.order_no} first", "person_ids")
        if route == "other_account" and order.paid_by != "transfer":
            raise ApiError("original_route_only", "QR and B2B payments are refunded by the original route", "route")
        refund = Refund(id=new_id(), order_id=order.id, unit_id=unit_id, person_ids=[i.person_id for i in order_items],
                        amount_fen=sum(i.fee_fen for i in order_items), route=route,
                        payee=check_payee(payee) if route == "other_account" else None, status="requested",
                        requested_at=utcnow())
        session.add(refund)
        for item in order_items:
            item.status = "refunding"
        refunds.append(refund)
    return refunds


def get_refund(session: Session, refund_id: str, lock: bool = True) -> Refund:
    refund = session.get(Refund, refund_id, with_for_update=lock)
    if refund is None:
        raise NotFound("refund", "refund_id")
    return refund


def _items_of(session: Session, refund: Refund) -> list[PayableItem]:
    return list(session.scalars(select(PayableItem).where(PayableItem.person_id.in_(refund.person_ids))
                                .order_by(PayableItem.person_id).with_for_update()))


def reject_refund(session: Session, refund: Refund, reason: str, by: str) -> Refund:
    if refund.status != "requested":
        raise Conflict("refund_decided", f"the refund is {refund.status}", "refund_id")
    if not reason.strip():
        raise ApiError("reason_required", "say why the refund is rejected", "reason")
    refund.status, refund.failure, refund.decided_by = "rejected", reason, by
    for item in _items_of(session, refund):
        item.status = "refundable"
    return refund


def approve_refund(session: Session, refund: Refund, by: str) -> Refund:
    """Finance approves; the money then goes out through the provider (processing)."""
    if refund.status != "requested":
        raise Conflict("refund_decided", f"the refund is {refund.status}", "refund_id")
    refund.status, refund.decided_by = "approved", by
    return refund


def send_refund(session: Session, refund: Refund, provider: Any, notify_url: str) -> Refund:
    payment = session.scalar(select(Payment).where(Payment.order_id == refund.order_id,
                                                   Payment.status == "confirmed"))
    refund.provider_refund_id = provider.refund(refund_id=refund.id, original_txn_id=payment.provider_txn_id,
                                                method=payment.method, amount_fen=refund.amount_fen,
                                                payee=refund.payee, notify_url=notify_url)
    refund.status = "processing"
    return refund


def handle_refund_callback(session: Session, emit: Emit, params: dict[str, Any], signature_ok: bool) -> str:
    if not signature_ok:
        return "bad_signature"
    refund = session.scalar(select(Refund).where(Refund.provider_refund_id == params.get("refund_txn_id"))
                            .with_for_update())
    if refund is None or refund.id != params.get("out_refund_no"):
        return "unknown_refund"
    if refund.status in ("completed", "failed"):
        return "duplicate"
    if str(params.get("refund_fen")) != str(refund.amount_fen):
        return "amount_mismatch"
    items = _items_of(session, refund)
    if params.get("refund_status") != "REFUND_SUCCESS":
        refund.status, refund.failure = "failed", str(params.get("fail_reason") or "refund failed")[:300]
        for item in items:
            item.status = "refundable"  # may be asked again, e.g. to another account
        return "failed"
    order = session.get(Order, refund.order_id)
    refund.status, refund.completed_at = "completed", utcnow()
    for item in items:
        item.status = "refunded"
    emit("RefundCompleted", {"refund_id": refund.id, "order_id": order.id, "order_no": order.order_no,
                             "unit_id": refund.unit_id, "person_ids": refund.person_ids,
                             "amount_fen": refund.amount_fen})
    return "completed"


# --- reconciliation ----------------------------------------------------------------------
def reconciliation(session: Session) -> list[dict[str, Any]]:
    """Orders, payments, refunds and invoices that disagree with each other."""
    issues = []
    confirmed = {p.order_id: p for p in session.scalars(select(Payment).where(Payment.status == "confirmed"))}
    for order in session.scalars(select(Order)):
        payment = confirmed.get(order.id)
        if order.status == "paid" and payment is None:
            issues.append({"kind": "paid_without_payment", "order_no": order.order_no})
        if payment is not None and order.status != "paid":
            issues.append({"kind": "payment_on_unpaid_order", "order_no": order.order_no, "status": order.status})
        if payment is not None and payment.amount_fen != order.amount_fen:
            issues.append({"kind": "payment_amount_differs", "order_no": order.order_no,
                           "paid_fen": payment.amount_fen, "order_fen": order.amount_fen})
        refunded = refunded_amount(session, order)
        if refunded > (payment.amount_fen if payment else 0):
            issues.append({"kind": "refunded_more_than_paid", "order_no": order.order_no, "refunded_fen": refunded})
        for invoice in session.scalars(select(Invoice).where(Invoice.order_id == order.id,
                                                             Invoice.status == "issued")):
            if order.status != "paid":
                issues.append({"kind": "invoice_on_unpaid_order", "order_no": order.order_no,
                               "invoice_no": invoice.invoice_no})
            elif invoice.amount_fen != order.amount_fen - refunded:
                issues.append({"kind": "invoice_amount_differs", "order_no": order.order_no,
                               "invoice_no": invoice.invoice_no})
    for callback in session.scalars(select(PaymentCallback).where(PaymentCallback.verdict.in_(
            ("order_closed", "amount_mismatch")))):
        issues.append({"kind": f"money_received_{callback.verdict}", "provider_txn_id": callback.provider_txn_id,
                       "detail": callback.detail})
    return issues
