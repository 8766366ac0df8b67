"""Billing races against real PostgreSQL: one refund per person however many ask at
once, and invoice numbers that never repeat or skip when many are issued together."""
from __future__ import annotations

import io
import threading
import uuid

from sqlalchemy import select

import datetime as dt

from services.billing.domain import invoices, orders, refunds
from services.billing.models import Invoice, Order, PayableItem
from shared.auth import issue_token
from shared.db import utcnow
from shared.errors import DomainError
from tests.integration.conftest import deps_of, service_app
from tests.integration.test_services import billing_order, unit_headers
from tests.journey import photo_jpeg


def paid_orders(count: int) -> list[tuple[str, str]]:
    """(unit_id, order_id) of `count` paid orders, straight through the domain."""
    rt = deps_of("billing")
    made = []
    for _ in range(count):
        unit_id, person_id = uuid.uuid4().hex, uuid.uuid4().hex
        with rt.uow() as (s, emit):
            s.add(PayableItem(person_id=person_id, unit_id=unit_id, label="visitor", payer="unit", fee_fen=20000,
                              status="awaiting_payment", created_at=utcnow()))
            s.flush()
            order = orders.create_order(s, emit, unit_id, [person_id], dt.timedelta(hours=1))
            payment = orders.record_payment(s, order, "alipay", "sandbox", f"T-{order.id}")
            s.flush()
            orders.mark_paid(s, emit, order, payment)
            made.append((unit_id, order.id, person_id))
    return made


def race(n: int, work) -> list:
    barrier, outcomes = threading.Barrier(n), []

    def run(i):
        barrier.wait()
        try:
            outcomes.append(work(i))
        except DomainError as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    return outcomes


def test_concurrent_refund_requests_for_one_person_refund_once(apps):
    [(unit_id, order_id, person_id)] = paid_orders(1)
    rt = deps_of("billing")
    with rt.uow() as (s, emit):
        refunds.make_refundable(s, emit, s.get(PayableItem, person_id), "check_failed")
    headers = unit_headers(unit_id)
    second_instance = service_app("billing").create_app(start_relay=False).test_client()
    clients = [apps["billing"], second_instance] * 3

    def ask(i):  # different idempotency keys: six independent requests
        r = clients[i].post("/refunds", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                            json={"person_ids": [person_id]})
        return r.status_code

    outcomes = race(6, ask)
    assert sorted(outcomes) == [201, 409, 409, 409, 409, 409]
    listed = apps["billing"].get("/refunds", headers=headers).json
    assert len(listed) == 1 and listed[0]["amount_fen"] == 20000


def test_concurrent_invoices_never_repeat_or_skip_a_number(apps):
    made = paid_orders(12)
    rt = deps_of("billing")

    def issue(i):
        unit_id, order_id, _ = made[i]
        with rt.uow() as (s, emit):
            order = s.get(Order, order_id, with_for_update=True)
            return invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"},
                                          rt.einvoicing, "9944").invoice_no

    numbers = race(len(made), issue)
    assert len(set(numbers)) == len(made)
    with rt.uow() as (s, _):
        all_numbers = sorted(s.scalars(select(Invoice.invoice_no).where(Invoice.invoice_no.startswith("9944"))))
    values = [int(n[4:]) for n in all_numbers]
    assert values == list(range(1, len(values) + 1))  # no gap, no repeat


def test_transfer_flow_over_http(apps):
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order = billing_order(apps, unit_id, headers)
    c = apps["billing"]
    form = {"remitter_type": "unit", "remitter_name": "Transfer Co", "remitter_account": "6222020200112233",
            "amount_fen": str(order["amount_fen"]), "phone": "13800138000"}
    r = c.post(f"/orders/{order['order_no']}/transfer", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
               content_type="multipart/form-data", data={**form, "voucher": (io.BytesIO(photo_jpeg()), "v.jpg")})
    assert r.status_code == 201 and r.json["phone"] == "138****8000" and r.json["remitter_account"] == "****2233"
    bad = c.post(f"/orders/{order['order_no']}/transfer", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                 content_type="multipart/form-data", data={**form, "remitter_account": "12"})
    assert (bad.status_code, bad.json["field"]) == (400, "remitter_account")
    finance = {"Authorization": "Bearer " + issue_token("fin", "finance", "review")}
    assert c.get("/finance/transfers", headers=headers).status_code == 403
    [pending] = [t for t in c.get("/finance/transfers", headers=finance).json if t["order_no"] == order["order_no"]]
    r = c.post(f"/finance/transfers/{pending['id']}/confirm", headers=finance)
    assert r.status_code == 200 and r.json["status"] == "confirmed"
    assert c.get(f"/orders/{order['order_no']}", headers=headers).json["status"] == "paid"
    r = c.post(f"/orders/{order['order_no']}/invoice", headers=headers, json={"kind": "ordinary", "title": "Other"})
    assert (r.status_code, r.json["code"]) == (400, "title_locked")
    r = c.post(f"/orders/{order['order_no']}/invoice", headers=headers, json={"kind": "ordinary", "title": "Transfer Co"})
    assert r.status_code == 201
    pdf = c.get(f"/invoices/{r.json['invoice_no']}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert c.get(f"/invoices/{r.json['invoice_no']}/pdf", headers=unit_headers("other")).status_code == 404
    assert c.get("/finance/reconciliation", headers=finance).status_code == 200


def finance_headers(officer: str = "fin-7") -> dict:
    return {"Authorization": "Bearer " + issue_token(officer, "finance", "review")}


def test_reinvoicing_waits_for_a_refund_under_way(apps):
    [(unit_id, order_id, person_id)] = paid_orders(1)
    c, headers, FINANCE = apps["billing"], unit_headers(unit_id), finance_headers()
    with deps_of("billing").uow() as (s, _):
        order_no = s.get(Order, order_id).order_no
    r = c.post(f"/orders/{order_no}/invoice", headers=headers, json={"kind": "ordinary", "title": "Example Co"})
    assert r.status_code == 201
    r = c.post(f"/finance/invoices/{r.json['invoice_no']}/reverse", headers={**FINANCE},
               json={"reason": "person cancelled", "red_letter_applied": True})
    assert r.status_code == 200 and r.json["status"] == "reversed"
    with deps_of("billing").uow() as (s, emit):
        refunds.make_refundable(s, emit, s.get(PayableItem, person_id), "cancelled")
    r = c.post("/refunds", headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, json={"person_ids": [person_id]})
    assert r.status_code == 201
    r = c.post(f"/orders/{order_no}/invoice", headers=headers, json={"kind": "ordinary", "title": "Example Co"})
    assert (r.status_code, r.json["code"]) == (409, "refund_under_way")
    c.post(f"/finance/refunds/{c.get('/refunds', headers=headers).json[0]['id']}/reject", headers=FINANCE,
           json={"reason": "the person attends after all"})
    r = c.post(f"/orders/{order_no}/invoice", headers=headers, json={"kind": "ordinary", "title": "Example Co"})
    assert r.status_code == 201 and r.json["amount_fen"] == 20000  # a second invoice after the reversed one


def test_finance_asks_for_the_refunds_of_a_deleted_unit_over_http(apps):
    from shared.events import make_event
    from tests.integration.conftest import handlers_of
    [(unit_id, order_id, person_id)] = paid_orders(1)
    consumer = deps_of("billing").consumer(handlers_of("billing"))
    event = make_event("UnitDeleted", {"unit_id": unit_id}, producer="review")
    assert consumer.process("q", event, 1, published_by=deps_of("billing").broker.user) == "applied"
    c, FINANCE = apps["billing"], finance_headers()
    listed = c.get("/finance/payables", headers=FINANCE, query_string={"unit_id": unit_id}).json
    assert [(p["person_id"], p["unit_id"], p["status"]) for p in listed] == [(person_id, unit_id, "refundable")]
    assert c.get("/finance/payables", headers=unit_headers(unit_id)).status_code == 403
    body = {"person_ids": [person_id]}
    r = c.post("/finance/refunds", headers=unit_headers(unit_id), json=body)
    assert r.status_code == 403  # a unit asks at /refunds, for its own people
    key = uuid.uuid4().hex
    r = c.post("/finance/refunds", headers={**FINANCE, "Idempotency-Key": key}, json=body)
    assert r.status_code == 201, r.json
    [refund] = r.json
    assert (refund["amount_fen"], refund["requested_by"], refund["status"]) == (20000, "fin-7", "requested")
    again = c.post("/finance/refunds", headers={**FINANCE, "Idempotency-Key": key}, json=body)
    assert again.status_code == 201 and again.json[0]["id"] == refund["id"]
    assert c.post(f"/finance/refunds/{refund['id']}/approve", headers=FINANCE).status_code == 403  # four eyes
    r = c.post(f"/finance/refunds/{refund['id']}/approve", headers=finance_headers("fin-8"))
    assert r.status_code == 200 and r.json["status"] == "approved"
