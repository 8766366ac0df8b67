"""Bank transfers (银行转账): the unit's submission with its voucher, finance's decision,
and bank statements imported and matched to the submissions."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.images import check_image
from shared.errors import Conflict, DomainError, NotFound
from shared.masking import mask_phone
from shared.outbox import Emit

from ..models import Order, Payment, StatementLine, TransferSubmission
from .orders import get_order, mark_paid, normalise_name, order_by_id, order_no_of, payable_order

VOUCHER_MAX_PIXELS = 40_000_000
MAX_VOUCHER_BYTES = 5 * 1024 * 1024


def submit_transfer(session: Session, order: Order, data: dict[str, Any], voucher: bytes,
                    now: dt.datetime | None = None) -> TransferSubmission:
    now = now or utcnow()
    payable_order(order, now)
    if session.scalar(select(TransferSubmission.id).where(TransferSubmission.order_id == order.id,
                                                          TransferSubmission.status == "submitted")):
        raise Conflict("transfer_pending", "a transfer for this order already awaits finance", "order_no")
    voucher = check_voucher(voucher)
    transfer = TransferSubmission(
        id=new_id(), order_id=order.id, remitter_type=data["remitter_type"], remitter_name=data["remitter_name"],
        remitter_account=data["remitter_account"], amount_fen=data["amount_fen"],
        phone_masked=mask_phone(data["phone"]) or "", voucher=voucher, status="submitted", submitted_at=now)
    session.add(transfer)
    return transfer


def submit_for_unit(session: Session, unit_id: str, order_no: str, data: dict[str, Any],
                    voucher: bytes) -> dict[str, Any]:
    """The unit's transfer for its own order, as the API shows it."""
    order = get_order(session, order_no, unit_id, lock=True)
    transfer = submit_transfer(session, order, data, voucher)
    session.flush()
    return transfer_view(transfer, order.order_no)


def check_voucher(content: bytes) -> bytes:
    """The remittance voucher as it will be kept: a PNG or JPG without its metadata."""
    if not content:
        raise DomainError("voucher_required", "attach the remittance voucher", "voucher")
    if len(content) > MAX_VOUCHER_BYTES:
        raise DomainError("voucher_too_large", "the voucher must be at most 5 MB", "voucher")
    not_an_image = DomainError("not_an_image", "the voucher must be a PNG or JPG image", "voucher")
    try:
        return check_image(content, "voucher", ("PNG", "JPEG"), VOUCHER_MAX_PIXELS, not_an_image).content
    except DomainError as refused:
        if refused.code == "not_an_image":
            raise not_an_image from None
        raise


def transfer_view(transfer: TransferSubmission, order_no: str) -> dict[str, Any]:
    """A transfer as the API shows it (the schema masks the account)."""
    return {"id": transfer.id, "order_no": order_no, "remitter_type": transfer.remitter_type,
            "remitter_name": transfer.remitter_name, "remitter_account": transfer.remitter_account,
            "amount_fen": transfer.amount_fen, "phone_masked": transfer.phone_masked, "status": transfer.status,
            "reason": transfer.reason, "submitted_at": transfer.submitted_at, "decided_at": transfer.decided_at}


def transfers_in_status(session: Session, status: str) -> list[dict[str, Any]]:
    """Finance's queue (or history): the transfers in `status`, oldest first."""
    rows = session.execute(select(TransferSubmission, Order.order_no)
                           .join(Order, Order.id == TransferSubmission.order_id)
                           .where(TransferSubmission.status == status)
                           .order_by(TransferSubmission.submitted_at))
    return [transfer_view(transfer, order_no) for transfer, order_no in rows.tuples()]


def decide_transfer(session: Session, emit: Emit, transfer: TransferSubmission, confirm: bool, reason: str | None,
                    decided_by: str) -> TransferSubmission:
    """Finance confirms (the order is paid) or rejects with a reason (TransferRejected)."""
    order = order_by_id(session, transfer.order_id, lock=True)
    if transfer.status != "submitted":
        raise Conflict("transfer_decided", f"the transfer is already {transfer.status}", "transfer_id")
    now = utcnow()
    if not confirm:
        if not (reason or "").strip():
            raise DomainError("reason_required", "say why the transfer is rejected", "reason")
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
    mark_paid(session, emit, order, payment, payer_title=transfer.remitter_name)
    return transfer


def decide(session: Session, emit: Emit, transfer_id: str, confirm: bool, reason: str | None,
           decided_by: str) -> dict[str, Any]:
    """Finance's decision on one transfer, as the API shows it."""
    transfer = session.get(TransferSubmission, transfer_id, with_for_update=True)
    if transfer is None:
        raise NotFound("transfer", "transfer_id")
    decide_transfer(session, emit, transfer, confirm, reason, decided_by)
    return transfer_view(transfer, order_no_of(session, transfer.order_id))


# --- bank statements -------------------------------------------------------------------------
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
            except DomainError:  # e.g. the order was paid meanwhile: a person decides
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
        raise DomainError("unreadable_file", "the statement must be UTF-8 CSV", "file") from None
    needed = {"bank_reference", "value_date", "amount", "remitter_name"}
    if not reader.fieldnames or not needed <= {f.strip() for f in reader.fieldnames}:
        raise DomainError("bad_statement", f"the statement needs the columns {', '.join(sorted(needed))}", "file")
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        try:
            amount = Decimal(row["amount"])
        except InvalidOperation:
            raise DomainError("bad_statement", f"line {number}: {row['amount']!r} is not an amount", "file") from None
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise DomainError("bad_statement", f"line {number}: the amount must be positive, in yuan and fen", "file")
        rows.append({"bank_reference": row["bank_reference"], "value_date": row["value_date"],
                     "amount_fen": int(amount * 100), "remitter_name": row["remitter_name"],
                     "remitter_account": row.get("remitter_account") or None})
    return rows


def transfers_of_order(session: Session, unit_id: str, order_no: str) -> list[dict[str, Any]]:
    """The unit's own transfer submissions for one of its orders, oldest first."""
    order = get_order(session, order_no, unit_id)
    rows = session.scalars(select(TransferSubmission).where(TransferSubmission.order_id == order.id)
                           .order_by(TransferSubmission.submitted_at))
    return [transfer_view(t, order.order_no) for t in rows]


# --- finance's desk: the voucher, and the statement lines a person matches ---------------------
def voucher_of(session: Session, transfer_id: str) -> tuple[bytes, str]:
    """The remittance voucher as submitted (already stripped of its metadata) and its type."""
    transfer = session.get(TransferSubmission, transfer_id)
    if transfer is None:
        raise NotFound("transfer", "transfer_id")
    mimetype = "image/png" if transfer.voucher.startswith(b"\x89PNG") else "image/jpeg"
    return transfer.voucher, mimetype


def transfer_detail(session: Session, transfer_id: str) -> dict[str, Any]:
    """One transfer with its order's amount, for finance to compare before deciding."""
    transfer = session.get(TransferSubmission, transfer_id)
    if transfer is None:
        raise NotFound("transfer", "transfer_id")
    order = order_by_id(session, transfer.order_id)
    return {**transfer_view(transfer, order.order_no), "order_amount_fen": order.amount_fen,
            "order_status": order.status, "unit_id": order.unit_id, "decided_by": transfer.decided_by}


def statement_candidates(session: Session, line: StatementLine) -> list[TransferSubmission]:
    """The submitted transfers a statement line could be: the same amount, any remitter —
    a person tells the right one apart (a misspelt name, an individual paying for a unit)."""
    return list(session.scalars(select(TransferSubmission).where(
        TransferSubmission.status == "submitted", TransferSubmission.amount_fen == line.amount_fen)
        .order_by(TransferSubmission.submitted_at).limit(50)))


def line_view(session: Session, line: StatementLine, with_candidates: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": line.id, "bank_reference": line.bank_reference, "value_date": line.value_date,
        "amount_fen": line.amount_fen, "remitter_name": line.remitter_name,
        "remitter_account": line.remitter_account, "status": line.status, "transfer_id": line.transfer_id,
        "candidates": line.candidates, "imported_at": line.imported_at, "candidate_transfers": []}
    if with_candidates and line.status != "matched":
        view["candidate_transfers"] = [transfer_view(t, order_no_of(session, t.order_id))
                                       for t in statement_candidates(session, line)]
    return view


def statement_lines(session: Session, status: str | None, limit: int = 500) -> list[dict[str, Any]]:
    """Imported lines, newest first; the ones left for a person with the transfers they could be."""
    query = select(StatementLine).order_by(StatementLine.imported_at.desc(), StatementLine.bank_reference)
    if status:
        query = query.where(StatementLine.status == status)
    return [line_view(session, line, with_candidates=True) for line in session.scalars(query.limit(limit))]


def match_by_hand(session: Session, emit: Emit, line_id: str, transfer_id: str, by: str) -> dict[str, Any]:
    """A person matches a line the import could not (several candidates, or none by name):
    the transfer must still await finance and be for the line's amount; it is confirmed as
    if finance had pressed confirm, and the line records which transfer it paid. A line
    pays one transfer only."""
    line = session.get(StatementLine, line_id, with_for_update=True)
    if line is None:
        raise NotFound("statement line", "line_id")
    if line.status == "matched":
        raise Conflict("line_matched", "this statement line is already matched", "line_id")
    transfer = session.get(TransferSubmission, transfer_id, with_for_update=True)
    if transfer is None:
        raise NotFound("transfer", "transfer_id")
    if transfer.amount_fen != line.amount_fen:
        raise Conflict("amount_mismatch", f"the line is {line.amount_fen / 100:.2f} CNY and the transfer "
                                          f"{transfer.amount_fen / 100:.2f} CNY", "transfer_id")
    decide_transfer(session, emit, transfer, True, None, f"{by[:40]} (statement {line.bank_reference})"[:64])
    line.status, line.transfer_id = "matched", transfer.id
    return line_view(session, line)
