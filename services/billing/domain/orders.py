"""Billing rules: payable items, orders, payment initiation and confirmation.

Money is integer fen. Every confirmation path locks the order row, so two billing
instances receiving the same callback confirm it once.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.changes import notify
from shared.db import new_id, utcnow
from shared.errors import Conflict, DeadlinePassed, DomainError, NotFound
from shared.fair import fair
from shared.idempotency import replay_or_none, run_idempotent
from shared.outbox import Emit
from shared.times import beijing_text

from ..models import IdempotencyKey, Order, OrderItem, PayableItem, Payment, PaymentCallback, TransferSubmission

if TYPE_CHECKING:
    from ..bootstrap import BillingDeps

MAX_PEOPLE_PER_ORDER = 500
ORDER_CHANGES = "billing_order_status"  # the channel that wakes requests waiting on an order


def new_order_no(now: dt.datetime) -> str:
    """V + yyyyMMddHHmmss + 9 digits, e.g. V20200512230313594063001."""
    return "V" + now.strftime("%Y%m%d%H%M%S") + "".join(secrets.choice("0123456789") for _ in range(9))


def fee_for(label: str, payer: str, carried_fee_fen: int | None) -> int:
    """What a confirmed person's payer owes: the fee the event carried; nothing for a free
    label whatever it says."""
    if payer == "free" or label in fair().free_badges():
        return 0
    # The fee is review's edition setting, carried on PersonnelConfirmed and ReuseLocked; only a
    # message published before the events carried it falls back to the profile's fee.
    return fair().fee_for(label) if carried_fee_fen is None else carried_fee_fen


def normalise_name(name: str) -> str:
    """A company name compared loosely (spaces, full-width brackets, case): payers on
    bank statements and invoice titles locked to the paying unit."""
    return "".join(name.split()).replace("（", "(").replace("）", ")").lower()


# --- payable items --------------------------------------------------------------------
def centralised_statement(session: Session, delegation_id: str) -> dict[str, Any]:
    """What a delegation owes under 统付: its delegation-billed people and their total."""
    rows = list(session.scalars(select(PayableItem).where(PayableItem.payer == "delegation",
                                                          PayableItem.delegation_id == delegation_id,
                                                          PayableItem.status == "delegation_billed")))
    return {"delegation_id": delegation_id, "people": len(rows), "amount_fen": sum(r.fee_fen for r in rows)}


def centralised_statements(session: Session) -> list[dict[str, Any]]:
    """统付 per delegation, for finance: every delegation that owes for people it pays for."""
    rows = session.execute(select(PayableItem.delegation_id, func.count(), func.sum(PayableItem.fee_fen))
                           .where(PayableItem.payer == "delegation", PayableItem.status == "delegation_billed",
                                  PayableItem.delegation_id.is_not(None))
                           .group_by(PayableItem.delegation_id).order_by(PayableItem.delegation_id)).tuples()
    return [{"delegation_id": d, "people": int(n), "amount_fen": int(total or 0)} for d, n, total in rows]


def centralised_statement_for(session: Session, caller: Principal, delegation_id: str) -> dict[str, Any]:
    """Finance sees every delegation's statement; a delegation's secretariat only its own."""
    if caller.role == "delegation_secretariat" and caller.delegation_id != delegation_id:
        raise NotFound("delegation", "delegation_id")
    return centralised_statement(session, delegation_id)


def payables(session: Session, unit_id: str) -> list[PayableItem]:
    return list(session.scalars(select(PayableItem).where(PayableItem.unit_id == unit_id)
                                .order_by(PayableItem.created_at)))


# --- orders ---------------------------------------------------------------------------
def create_order(session: Session, emit: Emit, unit_id: str, person_ids: list[str],
                 ttl: dt.timedelta, now: dt.datetime | None = None) -> Order:
    now = now or utcnow()
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        raise DomainError("no_people", "select at least one person awaiting payment", "person_ids")
    if len(ids) > MAX_PEOPLE_PER_ORDER:
        raise DomainError("too_many_people", f"at most {MAX_PEOPLE_PER_ORDER} people per order", "person_ids")
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


def order_status(session: Session, order_no: str, unit_id: str) -> str | None:
    """The order's status as it is committed now (None: not the unit's)."""
    return session.scalar(select(Order.status).where(Order.order_no == order_no, Order.unit_id == unit_id))


def order_by_id(session: Session, order_id: str, lock: bool = False) -> Order:
    """The order a payment, transfer, invoice or refund belongs to (its foreign key
    guarantees it exists)."""
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one()


def order_no_of(session: Session, order_id: str) -> str:
    return session.scalars(select(Order.order_no).where(Order.id == order_id)).one()


def order_person_ids(session: Session, order: Order) -> list[str]:
    return list(session.scalars(select(OrderItem.person_id).where(OrderItem.order_id == order.id)
                                .order_by(OrderItem.person_id)))


def order_view(session: Session, order: Order, person_ids: list[str] | None = None) -> dict[str, Any]:
    """An order as the API shows it, with its people (read unless the caller has them)."""
    return {"order_no": order.order_no, "unit_id": order.unit_id, "amount_fen": order.amount_fen,
            "status": order.status,
            "person_ids": sorted(person_ids) if person_ids is not None else order_person_ids(session, order),
            "created_at": order.created_at, "expires_at": order.expires_at, "paid_at": order.paid_at}


def unit_orders(session: Session, unit_id: str) -> list[dict[str, Any]]:
    orders = session.scalars(select(Order).where(Order.unit_id == unit_id).order_by(Order.created_at))
    return [order_view(session, o) for o in orders]


def payable_order(order: Order, now: dt.datetime) -> None:
    if order.status == "paid":
        raise Conflict("order_paid", "the order is already paid")
    if order.status != "unpaid":
        raise Conflict("order_closed", f"the order is {order.status}")
    if order.expires_at <= now:
        raise Conflict("order_expired", "the order has expired; create a new one")


# --- payments -------------------------------------------------------------------------
def record_payment(session: Session, order: Order, method: str, provider: str, txn_id: str) -> Payment:
    payment = Payment(id=new_id(), order_id=order.id, method=method, provider=provider,
                      provider_txn_id=txn_id, amount_fen=order.amount_fen, status="initiated",
                      created_at=utcnow())
    session.add(payment)
    return payment


def start_payment(deps: BillingDeps, unit_id: str, order_no: str, method: str, key: str) -> tuple[int, Any]:
    """Open a payment of the unit's unpaid order with the provider: what the payer scans (or
    is redirected to). Idempotent on the request's key, in three steps so that no
    transaction is open while the provider is called: check (a stored answer is replayed),
    ask the provider (the request key makes a repeat the same payment there), record."""
    scope, request = f"{unit_id}:pay:{order_no}", {"method": method}
    with deps.uow() as (s, _):
        stored = replay_or_none(s, IdempotencyKey, key, scope, request)
        if stored is not None:
            return stored
        order = get_order(s, order_no, unit_id)
        payable_order(order, utcnow())
        amount = order.amount_fen
    started = deps.payment_provider.create_payment(order_no, amount, method, deps.payment_notify_url,
                                                   request_key=f"{scope}:{key}")
    with deps.uow() as (s, _):
        def record() -> tuple[int, Any]:
            order = get_order(s, order_no, unit_id, lock=True)
            payable_order(order, utcnow())  # it may have been paid or cancelled meanwhile
            payment = record_payment(s, order, method, started.provider, started.txn_id)
            return 201, {"payment_id": payment.id, "order_no": order.order_no, "method": payment.method,
                         "amount_fen": payment.amount_fen, "provider_txn_id": started.txn_id,
                         "pay_content": started.pay_content}
        return run_idempotent(s, IdempotencyKey, key, scope, request, record)


def mark_paid(session: Session, emit: Emit, order: Order, payment: Payment, payer_title: str | None = None) -> None:
    """Confirm `payment` for `order` (locked by the caller): its people are paid."""
    now = utcnow()
    payment.status, payment.confirmed_at = "confirmed", now
    order.status, order.paid_at, order.paid_by = "paid", now, payment.method
    notify(session, ORDER_CHANGES, order.order_no)
    if payment.method in ("b2b", "transfer"):
        order.payer_title = payer_title  # the invoice title follows the paying unit
    person_ids = order_person_ids(session, order)
    for item in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(person_ids))
                                .order_by(PayableItem.person_id).with_for_update()):
        # one who stopped owing the fee while a transfer awaited finance gets it back
        item.status = "refundable" if item.refundable_reason else "paid"
    emit("PaymentConfirmed", {"payment_id": payment.id, "order_id": order.id, "order_no": order.order_no,
                              "unit_id": order.unit_id, "person_ids": person_ids,
                              "amount_fen": order.amount_fen, "method": payment.method})


# --- provider callbacks ---------------------------------------------------------------
PAYMENT_CALLBACK_HANDLED = ("confirmed", "duplicate")  # answered `success`: the provider stops


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
    order = order_by_id(session, payment.order_id, lock=True)
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
    mark_paid(session, emit, order, payment, payer_title=params.get("payer_name"))
    return _log_callback(session, provider, params, "confirmed")


def callback_refused(verdict: str) -> DomainError:
    """What a provider is answered for a notification we did not accept: a bad signature
    is a bad request, anything else a conflict with what we know."""
    message = f"notification not accepted: {verdict.replace('_', ' ')}"
    if verdict == "bad_signature":
        return DomainError(f"callback_{verdict}", message, "sign")
    return Conflict(f"callback_{verdict}", message)


def receive_payment_callback(deps: BillingDeps, provider_name: str, params: dict[str, Any]) -> str:
    """A provider's signed asynchronous notification: logged and applied in its own
    transaction, then refused (after the log commits) unless it was handled."""
    provider = deps.payment_provider
    if provider_name != provider.name:
        raise NotFound(f"payment provider {provider_name}", "provider", code="unknown_provider")
    with deps.uow() as (s, emit):
        verdict = handle_payment_callback(s, emit, provider_name, params, provider.verify(params))
    if verdict not in PAYMENT_CALLBACK_HANDLED:
        raise callback_refused(verdict)
    return verdict


# --- cancelling and expiring orders ----------------------------------------------------
def transfer_pending(session: Session, order: Order) -> bool:
    """A bank transfer for the order awaits finance's decision."""
    return session.scalar(select(TransferSubmission.id).where(TransferSubmission.order_id == order.id,
                                                              TransferSubmission.status == "submitted")) is not None


def cancel_order(session: Session, emit: Emit, order: Order, reason: str, status: str = "cancelled") -> Order:
    """An unpaid order can be cancelled (or expires); its people can be selected again."""
    if order.status != "unpaid":
        raise Conflict("order_not_unpaid", f"the order is {order.status}", "order_no")
    if transfer_pending(session, order):
        raise Conflict("transfer_pending", "a bank transfer for this order awaits finance's decision", "order_no")
    order.status = status
    notify(session, ORDER_CHANGES, order.order_no)
    person_ids = order_person_ids(session, order)
    for item in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(person_ids))
                                .order_by(PayableItem.person_id).with_for_update()):
        if item.order_id == order.id and item.status == "in_order":
            if item.refundable_reason:  # stopped owing the fee while a transfer awaited finance
                item.status = "cancelled"
            else:
                item.status, item.order_id = "awaiting_payment", None
    for payment in session.scalars(select(Payment).where(Payment.order_id == order.id, Payment.status == "initiated")):
        payment.status = "closed"  # a late callback for it is recorded, never confirmed
    emit("OrderCancelled", {"order_id": order.id, "order_no": order.order_no, "unit_id": order.unit_id,
                            "person_ids": person_ids, "reason": reason})
    return order


def cancel_by_unit(session: Session, emit: Emit, unit_id: str, order_no: str) -> Order:
    order = get_order(session, order_no, unit_id, lock=True)
    return cancel_order(session, emit, order, "cancelled by the unit")


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


def expire_due(deps: BillingDeps) -> int:
    """The worker's sweep: expire what is due, in its own transaction."""
    with deps.uow() as (s, emit):
        return expire_orders(s, emit, skip_locked=deps.db.is_postgres)


# --- deadlines per payment method ---------------------------------------------------------
def check_payment_deadline(method: str, deadlines: dict[str, dt.datetime], now: dt.datetime | None = None) -> None:
    """Transfers (with voucher) close before QR and B2B payments (edition settings)."""
    kind = "transfer" if method == "transfer" else "online"
    deadline = deadlines.get(kind)
    if deadline is not None and (now or utcnow()) > deadline:
        what = "bank transfers" if kind == "transfer" else "online payments"
        raise DeadlinePassed("deadline_passed", f"{what} closed on {beijing_text(deadline)}", "method")
