"""Refunds: who becomes refundable (from other services' events), the unit's request,
finance's approval, sending through the provider and its callback."""
from __future__ import annotations

import datetime as dt
import logging

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.logsafe import describe
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.outbox import Emit

from ..models import Invoice, Order, PayableItem, Payment, Refund
from .orders import callback_refused, cancel_order, order_by_id, order_no_of, transfer_pending

if TYPE_CHECKING:
    from ..bootstrap import BillingDeps

BANK_CODE = re.compile(r"^[0-9]{12}$")  # CNAPS bank code
ACCOUNT = re.compile(r"^[0-9]{8,32}$")
REFUND_CALLBACK_HANDLED = ("completed", "failed", "duplicate")  # answered `success`: the provider stops

log = logging.getLogger(__name__)


# --- who is refundable --------------------------------------------------------------------
def make_refundable(session: Session, emit: Emit, item: PayableItem, reason: str) -> None:
    """A person who no longer owes the fee (will not attend, or upgraded to a free label): a
    paid fee becomes refundable; an unpaid one is dropped (its unpaid order is cancelled so
    the others can be paid); a delegation no longer owes it under 统付. While a bank
    transfer for the order awaits finance, the order cannot be cancelled: the item waits
    with its reason, and the decision settles it (refundable if the transfer is confirmed,
    dropped if the order ends unpaid)."""
    if item.status == "paid":
        item.status, item.refundable_reason = "refundable", reason
    elif item.status == "in_order":
        order = session.get(Order, item.order_id, with_for_update=True) if item.order_id else None
        if order is not None and order.status == "unpaid":
            if transfer_pending(session, order):
                item.refundable_reason = reason
                return
            cancel_order(session, emit, order, f"person {reason}")
        item.status = "cancelled"
    elif item.status in ("awaiting_payment", "delegation_billed"):
        item.status, item.refundable_reason = "cancelled", reason


# --- requests and decisions -----------------------------------------------------------------
def check_payee(payee: dict[str, Any] | None) -> dict[str, Any]:
    if not payee:
        raise DomainError("payee_required", "give the account the refund goes to", "payee")
    for key in ("name", "account", "bank", "bank_code"):
        if not str(payee.get(key) or "").strip():
            raise DomainError("payee_incomplete", f"the payee's {key.replace('_', ' ')} is missing", f"payee.{key}")
    if not ACCOUNT.match(str(payee["account"])):
        raise DomainError("invalid_account", "an account number is 8 to 32 digits", "payee.account")
    if not BANK_CODE.match(str(payee["bank_code"])):
        raise DomainError("invalid_bank_code", "the bank code (CNAPS) is 12 digits", "payee.bank_code")
    return {k: str(payee[k]).strip() for k in ("name", "account", "bank", "bank_code")}


REFUND_UNDER_WAY = ("requested", "approved", "processing")


def refunded_amount(session: Session, order: Order) -> int:
    return sum(session.scalars(select(Refund.amount_fen).where(Refund.order_id == order.id,
                                                               Refund.status.in_(("completed",))))) or 0


def refund_under_way(session: Session, order: Order) -> bool:
    """A refund of the order is asked for, approved or on its way: how much of the order
    stays paid is not known until it completes (or is rejected, or fails)."""
    return session.scalar(select(Refund.id).where(Refund.order_id == order.id,
                                                  Refund.status.in_(REFUND_UNDER_WAY))) is not None


def request_refunds(session: Session, unit_id: str, person_ids: list[str], route: str,
                    payee: dict[str, Any] | None, requested_by: str | None = None) -> list[Refund]:
    """One refund per order for the chosen refundable people (a batch may span orders).
    The people are locked: a second request for the same person finds them refunding."""
    ids = sorted(set(person_ids))
    if not ids:
        raise DomainError("no_people", "choose at least one refundable person", "person_ids")
    items = {i.person_id: i for i in session.scalars(select(PayableItem).where(PayableItem.person_id.in_(ids))
                                                     .order_by(PayableItem.person_id).with_for_update())}
    by_order: dict[str, list[PayableItem]] = {}
    for pid in ids:
        item = items.get(pid)
        if item is None or item.unit_id != unit_id:
            raise NotFound(f"payable item for person {pid}", "person_ids")
        if item.status != "refundable" or item.order_id is None:  # refundable people were paid in an order
            raise Conflict("not_refundable", f"person {pid} is {item.status}, not refundable", "person_ids")
        by_order.setdefault(item.order_id, []).append(item)
    refunds = []
    for order_id, order_items in sorted(by_order.items()):
        order = order_by_id(session, order_id, lock=True)
        if session.scalar(select(Invoice.invoice_no).where(Invoice.order_id == order.id,
                                                           Invoice.status.in_(("issued", "issuing")))):
            raise Conflict("invoice_not_reversed", f"reverse the invoice of order {order.order_no} first", "person_ids")
        if route == "other_account" and order.paid_by != "transfer":
            raise DomainError("original_route_only", "QR and B2B payments are refunded by the original route",
                              "route")
        refund = Refund(id=new_id(), order_id=order.id, unit_id=unit_id, person_ids=[i.person_id for i in order_items],
                        amount_fen=sum(i.fee_fen for i in order_items), route=route,
                        payee=check_payee(payee) if route == "other_account" else None, status="requested",
                        requested_at=utcnow(), requested_by=requested_by)
        session.add(refund)
        for item in order_items:
            item.status = "refunding"
        refunds.append(refund)
    return refunds


def request_for_unit(session: Session, unit_id: str, person_ids: list[str], route: str,
                     payee: dict[str, Any] | None, requested_by: str | None = None) -> list[dict[str, Any]]:
    """The unit's refund request, as the API shows it."""
    refunds = request_refunds(session, unit_id, person_ids, route, payee, requested_by)
    session.flush()
    return [refund_view(session, r) for r in refunds]


def request_by_finance(session: Session, person_ids: list[str], route: str, payee: dict[str, Any] | None,
                       requested_by: str) -> list[dict[str, Any]]:
    """Finance asks for the refunds a unit cannot ask for any more — a unit its delegation
    deleted has no account left, yet its paid fees are refundable: one refund per order,
    whichever units the people belong to, as the API shows them."""
    ids = sorted(set(person_ids))
    if not ids:
        raise DomainError("no_people", "choose at least one refundable person", "person_ids")
    units = dict(session.execute(select(PayableItem.person_id, PayableItem.unit_id)
                                 .where(PayableItem.person_id.in_(ids))).tuples().all())
    missing = [pid for pid in ids if pid not in units]
    if missing:
        raise NotFound(f"payable item for person {missing[0]}", "person_ids")
    refunds: list[Refund] = []
    for unit_id in sorted(set(units.values())):
        refunds += request_refunds(session, unit_id, [p for p in ids if units[p] == unit_id], route, payee,
                                   requested_by)
    session.flush()
    return [refund_view(session, r) for r in refunds]


def refundable_items(session: Session, unit_id: str | None, status: str) -> list[PayableItem]:
    """Payable items in a status (refundable by default) for finance, one unit's or all,
    oldest first: what finance may ask refunds for."""
    query = select(PayableItem).where(PayableItem.status == status)
    if unit_id is not None:
        query = query.where(PayableItem.unit_id == unit_id)
    return list(session.scalars(query.order_by(PayableItem.created_at, PayableItem.person_id).limit(1000)))


def get_refund(session: Session, refund_id: str, lock: bool = True) -> Refund:
    refund = session.get(Refund, refund_id, with_for_update=lock)
    if refund is None:
        raise NotFound("refund", "refund_id")
    return refund


def masked_payee(payee: dict[str, Any] | None) -> dict[str, str] | None:
    """The account a refund goes to, as lists show it: the account number's last 4 digits."""
    if not payee:
        return None
    return {"name": str(payee.get("name", "")), "account": "****" + str(payee.get("account", ""))[-4:],
            "bank": str(payee.get("bank", "")), "bank_code": str(payee.get("bank_code", ""))}


def refund_view(session: Session, refund: Refund, order_no: str | None = None) -> dict[str, Any]:
    """A refund as the API shows it."""
    return {"id": refund.id, "order_no": order_no or order_no_of(session, refund.order_id),
            "person_ids": refund.person_ids, "amount_fen": refund.amount_fen, "route": refund.route,
            "status": refund.status, "failure": refund.failure, "requested_at": refund.requested_at,
            "requested_by": refund.requested_by, "decided_by": refund.decided_by, "unit_id": refund.unit_id,
            "payee": masked_payee(refund.payee),
            "completed_at": refund.completed_at}


def list_refunds(session: Session, unit_id: str | None, status: str | None) -> list[dict[str, Any]]:
    """Refunds oldest first: a unit's own (`unit_id` given) or all for finance, optionally
    in one status."""
    query = (select(Refund, Order.order_no).join(Order, Order.id == Refund.order_id)
             .order_by(Refund.requested_at))
    if unit_id is not None:
        query = query.where(Refund.unit_id == unit_id)
    if status:
        query = query.where(Refund.status == status)
    return [refund_view(session, refund, order_no) for refund, order_no in session.execute(query).tuples()]


def _items_of(session: Session, refund: Refund) -> list[PayableItem]:
    return list(session.scalars(select(PayableItem).where(PayableItem.person_id.in_(refund.person_ids))
                                .order_by(PayableItem.person_id).with_for_update()))


def reject_refund(session: Session, refund: Refund, reason: str, by: str) -> Refund:
    if refund.status != "requested":
        raise Conflict("refund_decided", f"the refund is {refund.status}", "refund_id")
    if not reason.strip():
        raise DomainError("reason_required", "say why the refund is rejected", "reason")
    refund.status, refund.failure, refund.decided_by = "rejected", reason, by
    for item in _items_of(session, refund):
        item.status = "refundable"
    return refund


def approve_refund(session: Session, refund: Refund, by: str) -> Refund:
    """Finance approves; the money then goes out through the provider (processing). Four
    eyes: whoever asked for a refund (finance asks for those of a deleted unit) cannot be
    the one who approves it — money leaves only when a second person agrees. Rejecting
    one's own request moves no money and stays allowed (a withdrawn mistake)."""
    if refund.status != "requested":
        raise Conflict("refund_decided", f"the refund is {refund.status}", "refund_id")
    if refund.requested_by is not None and refund.requested_by == by:
        raise Forbidden("you asked for this refund: another finance officer must approve it",
                        "four_eyes", "refund_id")
    refund.status, refund.decided_by = "approved", by
    return refund


# --- sending and the provider's callback -----------------------------------------------------
SENDING_LEASE = dt.timedelta(minutes=5)


def claim_approved(session: Session, limit: int, now: dt.datetime, skip_locked: bool) -> list[dict[str, Any]]:
    """Approved refunds (and ones a sweep took and never came back from) are taken to be
    sent: what the provider needs, with the refund id as its idempotency key."""
    lapsed = (Refund.status == "sending") & (Refund.sending_since <= now - SENDING_LEASE)
    query = select(Refund).where((Refund.status == "approved") | lapsed).order_by(Refund.requested_at).limit(limit)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for refund in session.scalars(query).all():
        # only paid people become refundable, so the order has exactly one confirmed payment
        payment = session.scalars(select(Payment).where(Payment.order_id == refund.order_id,
                                                        Payment.status == "confirmed")).one()
        refund.status, refund.sending_since = "sending", now
        claimed.append({"refund_id": refund.id, "original_txn_id": payment.provider_txn_id,
                        "method": payment.method, "amount_fen": refund.amount_fen, "payee": refund.payee})
    return claimed


def record_sent(session: Session, refund_id: str, provider_refund_id: str) -> None:
    refund = session.get(Refund, refund_id, with_for_update=True)
    if refund is not None and refund.status == "sending":
        refund.status, refund.provider_refund_id = "processing", provider_refund_id


def send_approved(deps: BillingDeps, limit: int = 50, now: dt.datetime | None = None) -> int:
    """Approved refunds go out through the provider (a sweep shared by billing workers), in
    three steps so that no transaction is open while the provider is called: claim, send
    (the refund id makes a repeated send the same refund at the provider), record. A refund
    the provider will not take stays claimed, with the reason logged, and is tried again
    after the lease; the others go on."""
    now = now or utcnow()
    with deps.uow() as (s, _):
        claimed = claim_approved(s, limit, now, deps.db.is_postgres)
    sent = 0
    for refund in claimed:
        try:
            provider_refund_id = deps.refund_provider.refund(notify_url=deps.refund_notify_url, **refund)
        except Exception as exc:
            log.warning("refund %s not sent: %s", refund["refund_id"], describe(exc))
            continue
        with deps.uow() as (s, _):
            record_sent(s, refund["refund_id"], provider_refund_id)
        sent += 1
    return sent


def handle_refund_callback(session: Session, emit: Emit, params: dict[str, Any], signature_ok: bool) -> str:
    if not signature_ok:
        return "bad_signature"
    # by our own refund number: the answer may come before the sweep has recorded the provider's
    refund = session.get(Refund, str(params.get("out_refund_no")), with_for_update=True)
    if refund is None or refund.provider_refund_id not in (None, params.get("refund_txn_id")) \
            or refund.status not in ("sending", "processing", "completed", "failed"):
        return "unknown_refund"
    if refund.status in ("completed", "failed"):
        return "duplicate"
    refund.provider_refund_id = str(params.get("refund_txn_id"))
    if str(params.get("refund_fen")) != str(refund.amount_fen):
        return "amount_mismatch"
    items = _items_of(session, refund)
    if params.get("refund_status") != "REFUND_SUCCESS":
        refund.status, refund.failure = "failed", str(params.get("fail_reason") or "refund failed")[:300]
        for item in items:
            item.status = "refundable"  # may be asked again, e.g. to another account
        return "failed"
    order = order_by_id(session, refund.order_id)
    refund.status, refund.completed_at = "completed", utcnow()
    for item in items:
        item.status = "refunded"
    emit("RefundCompleted", {"refund_id": refund.id, "order_id": order.id, "order_no": order.order_no,
                             "unit_id": refund.unit_id, "person_ids": refund.person_ids,
                             "amount_fen": refund.amount_fen})
    return "completed"


def receive_callback(deps: BillingDeps, params: dict[str, Any]) -> str:
    """The provider's signed refund notification, applied in its own transaction and
    refused (after that commits) unless it was handled."""
    with deps.uow() as (s, emit):
        verdict = handle_refund_callback(s, emit, params, deps.payment_provider.verify(params))
    if verdict not in REFUND_CALLBACK_HANDLED:
        raise callback_refused(verdict)
    return verdict
