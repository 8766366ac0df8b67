"""Finance's spreadsheets (XLSX): orders, payments, refunds and invoices, one row each,
money in yuan as numbers (so that sums work in the sheet) and times in Beijing time."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.errors import NotFound

from ..models import Invoice, Order, OrderItem, Payment, Refund

KINDS = ("orders", "payments", "refunds", "invoices")
MAX_ROWS = 200_000  # a whole edition's orders fit; a sheet holds 1,048,576
BEIJING = dt.timezone(dt.timedelta(hours=8))
# Headings in both languages: finance desks in Shanghai read Chinese, auditors may not.
HEADINGS: dict[str, list[str]] = {
    "orders": ["订单号 Order no", "单位 Unit id", "金额(元) Amount (CNY)", "状态 Status", "支付方式 Paid by",
               "付款单位 Payer", "创建时间 Created", "支付时间 Paid at", "人数 People"],
    "payments": ["订单号 Order no", "支付方式 Method", "渠道 Provider", "交易号 Transaction", "金额(元) Amount (CNY)",
                 "状态 Status", "创建时间 Created", "确认时间 Confirmed"],
    "refunds": ["退款号 Refund id", "订单号 Order no", "单位 Unit id", "金额(元) Amount (CNY)", "方式 Route",
                "状态 Status", "人数 People", "申请人 Requested by", "审批人 Decided by", "申请时间 Requested",
                "完成时间 Completed", "说明 Note"],
    "invoices": ["发票号 Invoice no", "订单号 Order no", "单位 Unit id", "类型 Kind", "抬头 Title", "税号 Tax no",
                 "金额(元) Amount (CNY)", "状态 Status", "开具时间 Issued", "红冲时间 Reversed", "红冲原因 Reason"],
}


def yuan(fen: int | None) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def beijing(moment: dt.datetime | None) -> dt.datetime | None:
    """Stored naive UTC → naive Beijing time (a sheet cell holds no zone)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(BEIJING).replace(tzinfo=None)


def _orders(session: Session) -> Iterable[list[Any]]:
    counts = {order_id: n for order_id, n in session.execute(
        select(OrderItem.order_id, func.count()).group_by(OrderItem.order_id)).all()}
    for o in session.scalars(select(Order).order_by(Order.created_at).limit(MAX_ROWS)):
        yield [o.order_no, o.unit_id, yuan(o.amount_fen), o.status, o.paid_by, o.payer_title, beijing(o.created_at),
               beijing(o.paid_at), counts.get(o.id, 0)]


def _payments(session: Session) -> Iterable[list[Any]]:
    rows = session.execute(select(Payment, Order.order_no).join(Order, Order.id == Payment.order_id)
                           .order_by(Payment.created_at).limit(MAX_ROWS)).tuples()
    for p, order_no in rows:
        yield [order_no, p.method, p.provider, p.provider_txn_id, yuan(p.amount_fen), p.status, beijing(p.created_at),
               beijing(p.confirmed_at)]


def _refunds(session: Session) -> Iterable[list[Any]]:
    rows = session.execute(select(Refund, Order.order_no).join(Order, Order.id == Refund.order_id)
                           .order_by(Refund.requested_at).limit(MAX_ROWS)).tuples()
    for r, order_no in rows:
        yield [r.id, order_no, r.unit_id, yuan(r.amount_fen), r.route, r.status, len(r.person_ids or []),
               r.requested_by, r.decided_by, beijing(r.requested_at), beijing(r.completed_at), r.failure]


def _invoices(session: Session) -> Iterable[list[Any]]:
    rows = session.execute(select(Invoice, Order.order_no).join(Order, Order.id == Invoice.order_id)
                           .order_by(Invoice.issued_at).limit(MAX_ROWS)).tuples()
    for i, order_no in rows:
        yield [i.invoice_no, order_no, i.unit_id, i.kind, i.title, i.tax_no, yuan(i.amount_fen), i.status,
               beijing(i.issued_at), beijing(i.reversed_at), i.reversal_reason]


ROWS: dict[str, Callable[[Session], Iterable[list[Any]]]] = {
    "orders": _orders, "payments": _payments, "refunds": _refunds, "invoices": _invoices}


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (=, +, -, @ first) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def export_xlsx(session: Session, kind: str) -> bytes:
    """One sheet named after `kind`, a bold heading row, frozen, with its filter."""
    if kind not in ROWS:
        raise NotFound("export", "kind")
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = kind
    sheet.append(HEADINGS[kind])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in ROWS[kind](session):
        sheet.append([safe_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column, heading in zip(sheet.columns, HEADINGS[kind]):
        sheet.column_dimensions[column[0].column_letter].width = max(12, min(40, len(heading) + 4))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
