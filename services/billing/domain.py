"""Billing rules: payable items, orders, payment initiation and confirmation.

Money is integer fen. Every confirmation path locks the order row, so two billing
instances receiving the same callback confirm it once.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import ApiError, Conflict, NotFound
from shared.inbox import HandlerContext
from shared.outbox import Emit

from .models import Order, OrderItem, PayableItem, Payment, PaymentCallback

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
    if p["payer"] != "unit" or ctx.session.get(PayableItem, p["person_id"]) is not None:
        return  # free labels and delegation-paid people owe the unit nothing
    ctx.session.add(PayableItem(person_id=p["person_id"], unit_id=p["unit_id"], label=p["label"],
                                payer=p["payer"], fee_fen=fee_for(p["label"], p["payer"], fee_fen),
                                status="awaiting_payment", created_at=utcnow()))


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
    if order.status != "unpaid":
        # Money arrived for an order we no longer accept: recorded for finance to refund.
        return _log_callback(session, provider, params, "order_closed", order.status)
    now = utcnow()
    payment.status, payment.confirmed_at = "confirmed", now
    order.status, order.paid_at = "paid", now
    person_ids = order_person_ids(session, order)
    for item in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(person_ids))):
        item.status = "paid"
    emit("PaymentConfirmed", {"payment_id": payment.id, "order_id": order.id, "order_no": order.order_no,
                              "unit_id": order.unit_id, "person_ids": person_ids,
                              "amount_fen": order.amount_fen, "method": payment.method})
    return _log_callback(session, provider, params, "confirmed")



