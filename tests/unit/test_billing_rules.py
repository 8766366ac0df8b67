import datetime as dt
import re
from types import SimpleNamespace

import pytest

from services.billing import handlers
from services.billing.domain import invoices, orders, reconciliation, refunds, transfers
from services.billing.models import PayableItem
from services.billing.providers import SandboxEInvoicing, sign, verify
from shared.errors import Conflict, DomainError, NotFound
from shared.http import status_of
from tests.journey import photo_jpeg

TTL = dt.timedelta(hours=2)


def items(s, unit="u1", *people, status="awaiting_payment"):
    for pid in people:
        s.add(PayableItem(person_id=pid, unit_id=unit, label="visitor", payer="unit", fee_fen=20000, status=status,
                          created_at=dt.datetime(2026, 10, 1)))
    s.flush()


def paid_order(s, emit, *people, method="alipay"):
    items(s, "u1", *people)
    order = orders.create_order(s, emit, "u1", list(people), TTL)
    payment = orders.record_payment(s, order, method, "sandbox", f"T-{order.id}")
    s.flush()
    orders.mark_paid(s, emit, order, payment, payer_title="Example Co" if method in ("b2b", "transfer") else None)
    s.flush()
    return order


def test_cancel_returns_people_and_closes_payments(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "p1", "p2")
    order = orders.create_order(s, emit, "u1", ["p1", "p2"], TTL)
    payment = orders.record_payment(s, order, "alipay", "sandbox", "T1")
    s.flush()
    orders.cancel_order(s, emit, order, "changed my mind")
    assert order.status == "cancelled" and payment.status == "closed"
    assert {i.status for i in s.query(PayableItem)} == {"awaiting_payment"}
    assert emit.types() == ["OrderCreated", "OrderCancelled"]
    with pytest.raises(Conflict):
        orders.cancel_order(s, emit, order, "again")
    again = orders.create_order(s, emit, "u1", ["p1"], TTL)  # selectable again
    assert again.amount_fen == 20000


def test_unpaid_orders_expire(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "p1")
    order = orders.create_order(s, emit, "u1", ["p1"], TTL, now=dt.datetime(2026, 10, 1, 8))
    assert orders.expire_orders(s, emit, now=dt.datetime(2026, 10, 1, 9)) == 0
    assert orders.expire_orders(s, emit, now=dt.datetime(2026, 10, 1, 10, 1)) == 1
    assert order.status == "expired" and s.get(PayableItem, "p1").status == "awaiting_payment"
    with pytest.raises(Conflict):
        orders.payable_order(order, dt.datetime(2026, 10, 1, 10, 2))


def test_payment_deadlines_per_method():
    deadlines = {"transfer": dt.datetime(2026, 10, 12, 16), "online": dt.datetime(2026, 10, 15, 16)}
    orders.check_payment_deadline("alipay", deadlines, now=dt.datetime(2026, 10, 14))
    with pytest.raises(DomainError) as err:
        orders.check_payment_deadline("transfer", deadlines, now=dt.datetime(2026, 10, 13))
    assert err.value.code == "deadline_passed" and status_of(err.value) == 409
    with pytest.raises(DomainError):
        orders.check_payment_deadline("b2b", deadlines, now=dt.datetime(2026, 10, 16))


def transfer_data(**over):
    return {"remitter_type": "unit", "remitter_name": "Example Co", "remitter_account": "6222020200112233",
            "amount_fen": 20000, "phone": "13800138000", **over}


def test_bank_transfer_confirmed_or_rejected_by_finance(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "p1", "p2")
    order = orders.create_order(s, emit, "u1", ["p1"], TTL)
    with pytest.raises(DomainError) as err:
        transfers.submit_transfer(s, order, transfer_data(), b"not an image")
    assert err.value.field == "voucher"
    transfer = transfers.submit_transfer(s, order, transfer_data(), photo_jpeg())
    s.flush()
    with pytest.raises(Conflict):  # one at a time
        transfers.submit_transfer(s, order, transfer_data(), photo_jpeg())
    with pytest.raises(Conflict):  # waiting for finance: cannot cancel underneath it
        orders.cancel_order(s, emit, order, "x")
    with pytest.raises(DomainError):
        transfers.decide_transfer(s, emit, transfer, False, "", "fin")
    transfers.decide_transfer(s, emit, transfer, False, "voucher unreadable", "fin")
    assert transfer.status == "rejected" and emit.types()[-1] == "TransferRejected" and order.status == "unpaid"
    wrong = transfers.submit_transfer(s, order, transfer_data(amount_fen=10000), photo_jpeg())
    s.flush()
    with pytest.raises(Conflict) as err:
        transfers.decide_transfer(s, emit, wrong, True, None, "fin")
    assert err.value.code == "amount_mismatch"
    transfers.decide_transfer(s, emit, wrong, False, "amount differs", "fin")
    right = transfers.submit_transfer(s, order, transfer_data(), photo_jpeg())
    s.flush()
    transfers.decide_transfer(s, emit, right, True, None, "fin")
    assert order.status == "paid" and order.paid_by == "transfer" and order.payer_title == "Example Co"
    assert emit.types()[-1] == "PaymentConfirmed"


def test_statement_matching(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "a", "b", "c")
    one = orders.create_order(s, emit, "u1", ["a"], TTL)
    two = orders.create_order(s, emit, "u1", ["b"], TTL)
    three = orders.create_order(s, emit, "u1", ["c"], TTL)
    transfers.submit_transfer(s, one, transfer_data(remitter_name="Alpha Co"), photo_jpeg())
    transfers.submit_transfer(s, two, transfer_data(remitter_name="Same Co"), photo_jpeg())
    transfers.submit_transfer(s, three, transfer_data(remitter_name="Same Co"), photo_jpeg())
    s.flush()
    rows = transfers.parse_statement_csv("bank_reference,value_date,amount,remitter_name\n"
                                         "B1,2026-10-10,200.00,ALPHA  Co\nB2,2026-10-10,200.00,Same Co\n"
                                         "B3,2026-10-10,150.00,Nobody\n".encode())
    assert transfers.import_statement(s, emit, rows) == {"matched": 1, "ambiguous": 1, "unmatched": 1, "skipped": 0}
    assert one.status == "paid" and two.status == "unpaid"
    assert transfers.import_statement(s, emit, rows)["skipped"] == 3
    with pytest.raises(DomainError):
        transfers.parse_statement_csv(b"ref,amount\n")
    with pytest.raises(DomainError):
        transfers.parse_statement_csv(b"bank_reference,value_date,amount,remitter_name\nB9,2026-10-10,1.234,X\n")


def test_invoices(session_for, emit):
    s = session_for("billing")
    einvoicing = SandboxEInvoicing(failing_titles={"Refused Co"})
    items(s, "u1", "p0")
    unpaid = orders.create_order(s, emit, "u1", ["p0"], TTL)
    with pytest.raises(Conflict):
        invoices.issue_invoice(s, emit, unpaid, {"kind": "ordinary", "title": "X"}, einvoicing, "2644")
    order = paid_order(s, emit, "p1", method="b2b")
    with pytest.raises(DomainError) as err:  # title locked to the paying unit for B2B
        invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Someone Else"}, einvoicing, "2644")
    assert err.value.code == "title_locked"
    with pytest.raises(DomainError) as err:
        invoices.issue_invoice(s, emit, order, {"kind": "special", "title": "Example Co"}, einvoicing, "2644")
    assert err.value.field == "tax_no"
    invoice = invoices.issue_invoice(s, emit, order, {"kind": "special", "title": "Example Co",
                                                      "tax_no": "91350100M000100Y43"}, einvoicing, "2644")
    s.flush()
    assert invoice.invoice_no == "26440000000000000001" and len(invoice.invoice_no) == 20
    assert invoice.pdf.startswith(b"%PDF")
    with pytest.raises(Conflict):
        invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, einvoicing, "2644")
    invoices.reverse_invoice(s, emit, invoice, "wrong kind", red_letter_applied=False, remarks=None, booked=True)
    assert emit.events[-1][1]["notice_72h"] is True
    with pytest.raises(Conflict):
        invoices.reverse_invoice(s, emit, invoice, "again", True, None, False)
    s.flush()
    second = invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, einvoicing, "2644")
    assert second.invoice_no == "26440000000000000002"


def test_refunds_through_their_states(session_for, emit):
    s = session_for("billing")
    paid_order(s, emit, "p1", "p2")
    with pytest.raises(Conflict):  # nobody is refundable yet
        refunds.request_refunds(s, "u1", ["p1"], "original", None)
    refunds.make_refundable(s, emit, s.get(PayableItem, "p1"), "check_failed")
    with pytest.raises(DomainError):  # QR payments go back the original route
        refunds.request_refunds(s, "u1", ["p1"], "other_account", {"name": "x"})
    with pytest.raises(NotFound):
        refunds.request_refunds(s, "u2", ["p1"], "original", None)
    [refund] = refunds.request_refunds(s, "u1", ["p1"], "original", None)
    assert refund.amount_fen == 20000 and s.get(PayableItem, "p1").status == "refunding"
    with pytest.raises(Conflict):  # the same person twice
        refunds.request_refunds(s, "u1", ["p1"], "original", None)
    refunds.approve_refund(s, refund, "fin")
    refund.provider_refund_id, refund.status = "RFD1", "processing"
    params = {"refund_txn_id": "RFD1", "out_refund_no": refund.id, "refund_fen": "20000",
              "refund_status": "REFUND_SUCCESS"}
    assert refunds.handle_refund_callback(s, emit, params, signature_ok=False) == "bad_signature"
    assert refunds.handle_refund_callback(s, emit, {**params, "refund_fen": "1"}, True) == "amount_mismatch"
    assert refunds.handle_refund_callback(s, emit, params, True) == "completed"
    assert refunds.handle_refund_callback(s, emit, params, True) == "duplicate"
    assert s.get(PayableItem, "p1").status == "refunded" and emit.types()[-1] == "RefundCompleted"
    assert emit.types().count("RefundCompleted") == 1


def test_invoiced_order_must_be_reversed_before_refund(session_for, emit):
    s = session_for("billing")
    order = paid_order(s, emit, "p1", method="transfer")
    invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, SandboxEInvoicing(), "2644")
    refunds.make_refundable(s, emit, s.get(PayableItem, "p1"), "cancelled")
    with pytest.raises(Conflict) as err:
        refunds.request_refunds(s, "u1", ["p1"], "original", None)
    assert err.value.code == "invoice_not_reversed"
    s.rollback()


@pytest.mark.parametrize("payee,field", [
    (None, "payee"), ({"name": "Li", "account": "62", "bank": "ICBC", "bank_code": "102100099996"}, "payee.account"),
    ({"name": "Li", "account": "6222020200112233", "bank": "ICBC", "bank_code": "10"}, "payee.bank_code"),
    ({"name": "", "account": "6222020200112233", "bank": "ICBC", "bank_code": "102100099996"}, "payee.name"),
])
def test_payee_details_are_validated(payee, field):
    with pytest.raises(DomainError) as err:
        refunds.check_payee(payee)
    assert err.value.field == field


def test_failed_refund_returns_people_to_refundable(session_for, emit):
    s = session_for("billing")
    paid_order(s, emit, "p1", method="transfer")
    refunds.make_refundable(s, emit, s.get(PayableItem, "p1"), "cancelled")
    [refund] = refunds.request_refunds(s, "u1", ["p1"], "other_account", {
        "name": "Li Lei", "account": "6222020200112233", "bank": "ICBC", "bank_code": "102100099996"})
    refund.provider_refund_id, refund.status = "RFD2", "processing"
    assert refunds.handle_refund_callback(s, emit, {"refund_txn_id": "RFD2", "out_refund_no": refund.id,
                                                    "refund_fen": "20000", "refund_status": "REFUND_FAIL"}, True) == "failed"
    assert refund.status == "failed" and s.get(PayableItem, "p1").status == "refundable"


def test_cancelled_people_leave_unpaid_orders(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "p1", "p2")
    order = orders.create_order(s, emit, "u1", ["p1", "p2"], TTL)
    refunds.make_refundable(s, emit, s.get(PayableItem, "p1"), "cancelled")
    assert order.status == "cancelled" and s.get(PayableItem, "p1").status == "cancelled"
    assert s.get(PayableItem, "p2").status == "awaiting_payment"


def test_reconciliation_finds_disagreements(session_for, emit):
    s = session_for("billing")
    order = paid_order(s, emit, "p1")
    assert reconciliation.find_issues(s) == []
    order.amount_fen = 30000  # an order that says something else than its payment
    kinds = {i["kind"] for i in reconciliation.find_issues(s)}
    assert "payment_amount_differs" in kinds


def test_delegation_paid_people_are_billed_to_the_delegation(session_for, emit):
    from shared.events import make_event, parse_event
    from shared.inbox import HandlerContext
    s = session_for("billing")
    deps = SimpleNamespace()  # the handler reads nothing of BillingDeps: the fee comes on the event
    for pid, payer in (("d1", "delegation"), ("d2", "delegation"), ("u1p", "unit"), ("v1", "free")):
        env = make_event("PersonnelConfirmed", {"person_id": pid, "unit_id": "u1", "delegation_id": "GD",
                                                "label": "vip" if payer == "free" else "visitor", "payer": payer,
                                                "fee_fen": 0 if payer == "free" else 20000},
                         producer="review")
        handlers.on_personnel_confirmed(HandlerContext(s, parse_event(env), emit, deps))
    s.flush()
    assert orders.centralised_statement(s, "GD") == {"delegation_id": "GD", "people": 2, "amount_fen": 40000}
    assert [p.person_id for p in orders.payables(s, "u1") if p.status == "awaiting_payment"] == ["u1p"]
    with pytest.raises(Conflict):  # the unit cannot pay for a delegation-paid person
        orders.create_order(s, emit, "u1", ["d1"], TTL)


def test_order_number_format():
    no = orders.new_order_no(dt.datetime(2020, 5, 12, 23, 3, 13))
    assert re.fullmatch(r"V20200512230313\d{9}", no)


def test_fees():
    assert orders.fee_for("visitor", "unit", 20000) == 20000
    assert orders.fee_for("vip", "unit", 20000) == 0 and orders.fee_for("staff", "unit", 20000) == 0


def test_order_creation_rules(session_for, emit):
    s = session_for("billing")
    s.add(PayableItem(person_id="p1", unit_id="u1", label="visitor", payer="unit", fee_fen=20000,
                      status="awaiting_payment", created_at=dt.datetime(2026, 10, 1)))
    s.add(PayableItem(person_id="p2", unit_id="u2", label="visitor", payer="unit", fee_fen=20000,
                      status="awaiting_payment", created_at=dt.datetime(2026, 10, 1)))
    ttl = dt.timedelta(hours=2)
    with pytest.raises(DomainError):
        orders.create_order(s, emit, "u1", [], ttl)
    with pytest.raises(DomainError):  # another unit's person
        orders.create_order(s, emit, "u1", ["p2"], ttl)
    order = orders.create_order(s, emit, "u1", ["p1", "p1"], ttl)
    assert order.amount_fen == 20000 and emit.types() == ["OrderCreated"]
    with pytest.raises(Conflict):  # already in an order
        orders.create_order(s, emit, "u1", ["p1"], ttl)


def _order_with_payment(s, emit):
    s.add(PayableItem(person_id="p1", unit_id="u1", label="visitor", payer="unit", fee_fen=20000,
                      status="awaiting_payment", created_at=dt.datetime(2026, 10, 1)))
    order = orders.create_order(s, emit, "u1", ["p1"], dt.timedelta(hours=2))
    orders.record_payment(s, order, "alipay", "sandbox", "TXN1")
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
    handle = lambda params, ok=None: orders.handle_payment_callback(
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
    assert orders.handle_payment_callback(s, emit, "sandbox", _params(order), True) == "order_closed"
    assert emit.types() == ["OrderCreated"]


def test_payment_deadlines_given_with_an_offset_are_converted(monkeypatch):
    from services.billing.bootstrap import payment_deadlines
    from shared.config import load_settings
    monkeypatch.setenv("TRANSFER_DEADLINE", "2026-10-12T17:00+08:00")
    monkeypatch.setenv("ONLINE_PAYMENT_DEADLINE", "2026-10-15T16:00")  # no offset: UTC
    found = payment_deadlines(load_settings("billing"))
    assert found == {"transfer": dt.datetime(2026, 10, 12, 9), "online": dt.datetime(2026, 10, 15, 16)}
    orders.check_payment_deadline("transfer", found, now=dt.datetime(2026, 10, 12, 8, 59))
    with pytest.raises(DomainError) as err:  # a naive UTC clock compares with naive UTC deadlines
        orders.check_payment_deadline("transfer", found, now=dt.datetime(2026, 10, 12, 9, 1))
    assert err.value.message == "bank transfers closed on 2026-10-12 17:00 (Beijing time)"


def test_payables_bill_the_fee_review_carried(session_for, emit):
    """One source of the fee: review's setting, on the event; a message from before the
    events carried it is billed the fee of that time."""
    from shared.events import make_event, parse_event
    from shared.inbox import HandlerContext
    s = session_for("billing")
    confirmed = {"unit_id": "u1", "delegation_id": "GD", "label": "visitor", "payer": "unit"}
    for pid, fee in (("new", 35000), ("old", None)):
        env = make_event("PersonnelConfirmed", {"person_id": pid, **confirmed, "fee_fen": fee}, producer="review")
        if fee is None:
            del env["payload"]["fee_fen"]  # as published before the field existed
        handlers.on_personnel_confirmed(HandlerContext(s, parse_event(env), emit, SimpleNamespace()))
    env = make_event("ReuseLocked", {"person_id": "reused", "unit_id": "u1", "label": "visitor", "payer": "unit",
                                     "previous_credential_no": "202500000001", "fee_fen": 35000}, producer="review")
    handlers.on_reuse_locked(HandlerContext(s, parse_event(env), emit, SimpleNamespace()))
    s.flush()
    assert {p.person_id: p.fee_fen for p in orders.payables(s, "u1")} == {"new": 35000, "old": 20000, "reused": 35000}
    assert orders.create_order(s, emit, "u1", ["new", "reused"], TTL).amount_fen == 70000


def upgrade(s, emit, person_id):
    from shared.events import make_event, parse_event
    from shared.inbox import HandlerContext
    env = make_event("PersonnelUpgraded", {"person_id": person_id, "unit_id": "u1", "from_label": "visitor",
                                           "to_label": "staff"}, producer="review")
    handlers.on_personnel_upgraded(HandlerContext(s, parse_event(env), emit, SimpleNamespace()))
    s.flush()


def test_an_upgrade_drops_an_unpaid_fee_and_refunds_a_paid_one(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "waiting", "ordered", "other")
    order = orders.create_order(s, emit, "u1", ["ordered", "other"], TTL)
    paid_order(s, emit, "paid")
    upgrade(s, emit, "waiting")
    upgrade(s, emit, "ordered")
    upgrade(s, emit, "paid")
    statuses = {i.person_id: i.status for i in s.query(PayableItem)}
    assert statuses == {"waiting": "cancelled", "ordered": "cancelled", "other": "awaiting_payment",
                        "paid": "refundable"}
    assert order.status == "cancelled" and emit.types().count("OrderCancelled") == 1  # once, for "ordered"
    assert orders.create_order(s, emit, "u1", ["other"], TTL).amount_fen == 20000  # the others pay on


def test_an_upgrade_takes_a_person_off_the_delegations_bill(session_for, emit):
    s = session_for("billing")
    s.add(PayableItem(person_id="d1", unit_id="u1", label="visitor", payer="delegation", fee_fen=20000,
                      delegation_id="GD", status="delegation_billed", created_at=dt.datetime(2026, 10, 1)))
    s.flush()
    assert orders.centralised_statement(s, "GD")["amount_fen"] == 20000
    upgrade(s, emit, "d1")
    assert orders.centralised_statement(s, "GD") == {"delegation_id": "GD", "people": 0, "amount_fen": 0}


def test_an_upgrade_while_a_transfer_awaits_finance_waits_for_the_decision(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "p1", "p2")
    order = orders.create_order(s, emit, "u1", ["p1", "p2"], TTL)
    transfer = transfers.submit_transfer(s, order, transfer_data(amount_fen=40000), photo_jpeg())
    s.flush()
    upgrade(s, emit, "p1")  # the order cannot be cancelled under the transfer: nothing fails
    assert order.status == "unpaid" and s.get(PayableItem, "p1").status == "in_order"
    transfers.decide_transfer(s, emit, transfer, True, None, "fin")
    assert s.get(PayableItem, "p1").status == "refundable" and s.get(PayableItem, "p2").status == "paid"
    [refund] = refunds.request_refunds(s, "u1", ["p1"], "original", None)
    assert refund.amount_fen == 20000
    # had the transfer been rejected and the order then cancelled, the upgraded person would be dropped
    items(s, "u1", "p3", "p4")
    second = orders.create_order(s, emit, "u1", ["p3", "p4"], TTL)
    rejected = transfers.submit_transfer(s, second, transfer_data(amount_fen=40000), photo_jpeg())
    s.flush()
    upgrade(s, emit, "p3")
    transfers.decide_transfer(s, emit, rejected, False, "voucher unreadable", "fin")
    orders.cancel_order(s, emit, second, "changed")
    assert s.get(PayableItem, "p3").status == "cancelled" and s.get(PayableItem, "p4").status == "awaiting_payment"


def test_no_invoice_while_a_refund_is_under_way(session_for, emit):
    """Reverse, ask for a refund, invoice again: the invoice waits for the refund, then
    covers only what stayed paid."""
    s = session_for("billing")
    einvoicing = SandboxEInvoicing()
    order = paid_order(s, emit, "p1", "p2", method="transfer")
    first = invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, einvoicing, "2644")
    s.flush()
    invoices.reverse_invoice(s, emit, first, "person cancelled", True, None, False)
    s.flush()
    refunds.make_refundable(s, emit, s.get(PayableItem, "p1"), "cancelled")
    [refund] = refunds.request_refunds(s, "u1", ["p1"], "original", None)
    s.flush()
    for status in ("requested", "approved", "processing"):
        refund.status = status
        with pytest.raises(Conflict) as err:
            invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, einvoicing, "2644")
        assert (err.value.code, status_of(err.value)) == ("refund_under_way", 409)
    refund.provider_refund_id = "RFD9"
    assert refunds.handle_refund_callback(s, emit, {"refund_txn_id": "RFD9", "out_refund_no": refund.id,
                                                    "refund_fen": "20000", "refund_status": "REFUND_SUCCESS"},
                                          True) == "completed"
    second = invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, einvoicing, "2644")
    s.flush()  # the reversed invoice and the new one live side by side: one issued per order
    assert second.amount_fen == 20000 and first.status == "reversed"
    assert reconciliation.find_issues(s) == []


def test_finance_asks_for_the_refunds_of_a_deleted_unit(session_for, emit):
    """A deleted unit has no account left, yet its paid fees are refundable: finance asks."""
    from shared.events import make_event, parse_event
    from shared.inbox import HandlerContext
    s = session_for("billing")
    order = paid_order(s, emit, "p1", "p2")
    env = make_event("UnitDeleted", {"unit_id": "u1"}, producer="review")
    handlers.on_unit_deleted(HandlerContext(s, parse_event(env), emit, SimpleNamespace()))
    s.flush()
    assert [i.person_id for i in refunds.refundable_items(s, "u1", "refundable")] == ["p1", "p2"]
    with pytest.raises(NotFound):
        refunds.request_by_finance(s, ["p1", "nobody"], "original", None, "fin-1")
    requested = refunds.request_by_finance(s, ["p2", "p1"], "original", None, "fin-1")
    assert [(r["order_no"], r["person_ids"], r["amount_fen"], r["requested_by"]) for r in requested] == [
        (order.order_no, ["p1", "p2"], 40000, "fin-1")]
    assert {i.status for i in s.query(PayableItem).filter_by(unit_id="u1")} == {"refunding"}
    refund = refunds.get_refund(s, requested[0]["id"])
    refunds.approve_refund(s, refund, "fin-2")
    assert refund.status == "approved" and refund.unit_id == "u1"


class FlakyPlatform(SandboxEInvoicing):
    """The sandbox platform, which can be away, and which notes whether it was called while
    the caller held a transaction open."""

    def __init__(self, in_transaction, **kwargs):
        super().__init__(**kwargs)
        self.away, self.calls, self.in_transaction = False, [], in_transaction

    def issue(self, invoice_no, kind, title, tax_no, amount_fen, order_no):
        self.calls.append((invoice_no, self.in_transaction()))
        if self.away:
            raise TimeoutError("the e-invoicing platform did not answer")
        return super().issue(invoice_no, kind, title, tax_no, amount_fen, order_no)


def billing_deps(s, emit, platform_of):
    """Deps whose units of work share the test's session and say when one is open."""
    from contextlib import contextmanager
    state = {"open": False}

    @contextmanager
    def uow():
        state["open"] = True
        try:
            yield s, emit
            s.flush()
        finally:
            state["open"] = False
    deps = SimpleNamespace(uow=uow, invoice_prefix="2644")
    deps.einvoicing = platform_of(lambda: state["open"])
    return deps


def test_an_invoice_is_filed_with_no_transaction_open_and_refiled_when_the_platform_was_away(session_for, emit):
    s = session_for("billing")
    deps = billing_deps(s, emit, lambda in_tx: FlakyPlatform(in_tx))
    order = paid_order(s, emit, "p1")
    deps.einvoicing.away = True
    view = invoices.issue_for_unit(deps, "u1", order.order_no, {"kind": "ordinary", "title": "Example Co"})
    assert view["status"] == "issuing" and view["invoice_no"] == "26440000000000000001"
    assert "InvoiceIssued" not in emit.types()
    with pytest.raises(Conflict):  # one valid invoice per order: the one being issued counts
        invoices.issue_for_unit(deps, "u1", order.order_no, {"kind": "ordinary", "title": "Example Co"})
    assert invoices.file_pending(deps, older_than=dt.timedelta(0)) == 0  # still away: left for the next sweep
    deps.einvoicing.away = False
    assert invoices.file_pending(deps, older_than=dt.timedelta(0)) == 1
    assert invoices.file_pending(deps, older_than=dt.timedelta(0)) == 0
    [invoice] = invoices.unit_invoices(s, "u1")
    assert invoice["status"] == "issued" and invoice["invoice_no"] == "26440000000000000001"
    assert emit.types().count("InvoiceIssued") == 1
    # the same number every time (the platform's idempotency key), never inside a transaction
    assert {no for no, _ in deps.einvoicing.calls} == {"26440000000000000001"}
    assert not any(open_ for _, open_ in deps.einvoicing.calls)


def test_a_refused_invoice_keeps_its_number_on_record_and_the_order_can_be_invoiced_again(session_for, emit):
    s = session_for("billing")
    deps = billing_deps(s, emit, lambda in_tx: FlakyPlatform(in_tx, failing_titles={"Refused Co"}))
    order = paid_order(s, emit, "p1")
    with pytest.raises(DomainError) as refused:
        invoices.issue_for_unit(deps, "u1", order.order_no, {"kind": "ordinary", "title": "Refused Co"})
    assert refused.value.code == "einvoice_refused"
    first = invoices.unit_invoices(s, "u1")
    assert [(i["invoice_no"], i["status"]) for i in first] == [("26440000000000000001", "refused")]
    view = invoices.issue_for_unit(deps, "u1", order.order_no, {"kind": "ordinary", "title": "Example Co"})
    assert (view["invoice_no"], view["status"]) == ("26440000000000000002", "issued")  # no gap, no reuse
    assert emit.types().count("InvoiceIssued") == 1
