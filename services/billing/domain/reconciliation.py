"""Reconciliation: orders, payments, refunds and invoices that disagree with each other,
and money received for orders we no longer accept."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow

from ..models import Invoice, Order, Payment, PaymentCallback
from .refunds import refunded_amount


def find_issues(session: Session) -> list[dict[str, Any]]:
    """Orders, payments, refunds and invoices that disagree with each other."""
    issues: list[dict[str, Any]] = []
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


def report(session: Session) -> dict[str, Any]:
    """The issues found now, with when they were checked."""
    return {"issues": find_issues(session), "checked_at": utcnow()}
