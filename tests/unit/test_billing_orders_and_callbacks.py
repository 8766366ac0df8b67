import datetime as dt
import re
from types import SimpleNamespace

import pytest

from services.billing import domain as billing
from services.billing.models import Order, PayableItem, Payment
from services.billing.providers import sign, verify
from shared.errors import ApiError, Conflict
from shared.events import parse_event, make_event
from shared.inbox import HandlerContext


def test_order_number_format():
    no = billing.new_order_no(dt.datetime(2020, 5, 12, 23, 3, 13))
    assert re.fullmatch(r"V20200512230313\d{9}", no)


def test_fees():
    assert billing.fee_for("visitor", "unit", 20000) == 20000
    assert billing.fee_for("vip", "unit", 20000) == 0 and billing.fee_for("staff", "unit", 20000) == 0


def test_order_creation_rules(session_for, emit):
    s = session_for("billing")
    s.add(PayableItem(person_id="p1", unit_id="u1", label="visitor", payer="unit", fee_fen=20000,
                      status="awaiting_payment", created_at=dt.datetime(2026, 10, 1)))
    s.add(PayableItem(person_id="p2", unit_id="u2", label="visitor", payer="unit", fee_fen=20000,
                      status="awaiting_payment", created_at=dt.datetime(2026, 10, 1)))
    ttl = dt.timedelta(hours=2)
    with pytest.raises(ApiError):
        billing.create_order(s, emit, "u1", [], ttl)
    with pytest.raises(ApiError):  # another unit's person
        billing.create_order(s, emit, "u1", ["p2"], ttl)
    order = billing.create_order(s, emit, "u1", ["p1", "p1"], ttl)
    assert order.amount_fen == 20000 and emit.types() == ["OrderCreated"]
    with pytest.raises(Conflict):  # already in an order
        billing.create_order(s, emit, "u1", ["p1"], ttl)


def _order_with_payment(s, emit):
    s.add(PayableItem(person_id="p1", unit_id="u1", label="visitor", payer="unit", fee_fen=20000,
                      status="awaiting_payment", created_at=dt.datetime(2026, 10, 1)))
    order = billing.create_order(s, emit, "u1", ["p1"], dt.timedelta(hours=2))
    billing.record_payment(s, order, "alipay", "sandbox", "TXN1")
    s.flush()
    return order


def _params(order, **over):
    p = {"txn_id": "TXN1", "out_trade_no": order.order_no, "total_fen": str(order.amount_fen),
         "trade_status": "TRADE_SUCCESS", "notify_id": "n1", **over}
    p["sign"] = sign(p, "secret")
    return p


def test_callback_verdicts(session_for, emit):
    s = session_for("billing")
    order = _order_with_payment(s, emit)
    handle = lambda params, ok=None: billing.handle_payment_callback(
        s, emit, "sandbox", params, verify(params, "secret") if ok is None else ok)
    tampered = {**_params(order), "total_fen": "1"}
    assert handle(tampered) == "bad_signature"
    assert handle(_params(order, txn_id="NOPE")) == "unknown_payment"
    assert handle(_params(order, total_fen="100")) == "amount_mismatch"
    assert handle(_params(order, trade_status="WAIT_BUYER_PAY")) == "not_paid"
    assert order.status == "unpaid" and emit.types() == ["OrderCreated"]
    assert handle(_params(order)) == "confirmed"
    assert handle(_params(order)) == "duplicate"
    assert emit.types() == ["OrderCreated", "PaymentConfirmed"]
    assert order.status == "paid" and s.get(PayableItem, "p1").status == "paid"


def test_callback_for_cancelled_order_confirms_nothing(session_for, emit):
    s = session_for("billing")
    order = _order_with_payment(s, emit)
    order.status = "cancelled"
    assert billing.handle_payment_callback(s, emit, "sandbox", _params(order), True) == "order_closed"
    assert emit.types() == ["OrderCreated"]
