"""The back office's endpoints over HTTP against real PostgreSQL: the voucher for finance
only, statement lines matched by hand, four eyes on refunds, finance's invoice list,
统付 statements and XLSX exports; the pick-up desk with collection on another's behalf,
the dispatch list; a badge of another edition at the gate."""
from __future__ import annotations

import base64
import io
import uuid
from types import SimpleNamespace

from openpyxl import load_workbook

from services.billing.models import PayableItem
from services.credentials import cards
from services.credentials.domain import production
from shared.db import utcnow
from tests.integration.conftest import deps_of
from tests.integration.test_gate import bearer
from tests.integration.test_services import billing_order, unit_headers
from tests.journey import photo_jpeg


def submitted_transfer(apps, remitter: str = "Transfer Co") -> tuple[dict, dict]:
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order = billing_order(apps, unit_id, headers)
    form = {"remitter_type": "unit", "remitter_name": remitter, "remitter_account": "6222020200112233",
            "amount_fen": str(order["amount_fen"]), "phone": "13800138000"}
    r = apps["billing"].post(f"/orders/{order['order_no']}/transfer",
                             headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                             content_type="multipart/form-data",
                             data={**form, "voucher": (io.BytesIO(photo_jpeg(fmt="PNG")), "v.png")})
    assert r.status_code == 201, r.json
    return order, r.json


def test_the_voucher_is_served_to_finance_only(apps):
    c = apps["billing"]
    order, transfer = submitted_transfer(apps)
    finance = bearer("finance")
    voucher = c.get(f"/finance/transfers/{transfer['id']}/voucher", headers=finance)
    assert voucher.status_code == 200 and voucher.mimetype == "image/png" and voucher.data.startswith(b"\x89PNG")
    assert "no-store" in voucher.headers["Cache-Control"]
    for role in ("organising_committee", "operations", "delegation_secretariat", "gate_staff"):
        assert c.get(f"/finance/transfers/{transfer['id']}/voucher", headers=bearer(role)).status_code == 403, role
    unit = unit_headers(order["unit_id"])
    assert c.get(f"/finance/transfers/{transfer['id']}/voucher", headers=unit).status_code == 403
    assert c.get("/finance/transfers/nope/voucher", headers=finance).status_code == 404
    detail = c.get(f"/finance/transfers/{transfer['id']}", headers=finance).json
    assert detail["order_amount_fen"] == order["amount_fen"] and detail["remitter_account"] == "****2233"


def test_an_ambiguous_statement_line_is_matched_by_hand(apps):
    c = apps["billing"]
    name = f"Twin Co {uuid.uuid4().hex[:6]}"
    (first_order, first), (_, second) = submitted_transfer(apps, name), submitted_transfer(apps, name)
    finance = bearer("finance", "fin-a")
    reference = uuid.uuid4().hex[:12]
    statement = f"bank_reference,value_date,amount,remitter_name\n{reference},2026-10-10,200.00,{name}\n".encode()
    r = c.post("/finance/statements", headers=finance, content_type="multipart/form-data",
               data={"file": (io.BytesIO(statement), "s.csv")})
    assert r.json["ambiguous"] == 1
    lines = c.get("/finance/statements/lines?status=ambiguous", headers=finance).json
    [line] = [x for x in lines if x["bank_reference"] == reference]
    assert {first["id"], second["id"]} <= {t["id"] for t in line["candidate_transfers"]}
    assert c.get("/finance/statements/lines?status=nonsense", headers=finance).status_code == 400
    assert c.post(f"/finance/statements/lines/{line['id']}/match", headers=bearer("gate_staff"),
                  json={"transfer_id": first["id"]}).status_code == 403
    assert c.post(f"/finance/statements/lines/{line['id']}/match", headers=finance, json={}).status_code == 400
    r = c.post(f"/finance/statements/lines/{line['id']}/match", headers=finance, json={"transfer_id": first["id"]})
    assert r.status_code == 200 and r.json["status"] == "matched" and r.json["transfer_id"] == first["id"]
    assert c.get(f"/orders/{first_order['order_no']}", headers=unit_headers(first_order["unit_id"])).json[
        "status"] == "paid"
    again = c.post(f"/finance/statements/lines/{line['id']}/match", headers=finance, json={"transfer_id": second["id"]})
    assert (again.status_code, again.json["code"]) == (409, "line_matched")


def refundable_person() -> str:
    from services.billing.domain import orders
    import datetime as dt
    rt = deps_of("billing")
    unit_id, person_id = uuid.uuid4().hex, uuid.uuid4().hex
    with rt.uow() as (s, emit):
        s.add(PayableItem(person_id=person_id, unit_id=unit_id, label="visitor", payer="unit", fee_fen=20000,
                          status="awaiting_payment", created_at=utcnow()))
        s.flush()
        order = orders.create_order(s, emit, unit_id, [person_id], dt.timedelta(hours=1))
        payment = orders.record_payment(s, order, "alipay", "sandbox", f"T-{order.id}")
        s.flush()
        orders.mark_paid(s, emit, order, payment)
        s.get(PayableItem, person_id).status = "refundable"
    return person_id


def test_a_refund_is_approved_by_a_second_person(apps):
    c = apps["billing"]
    person_id = refundable_person()
    asker, second = bearer("finance", "fin-asker"), bearer("finance", "fin-second")
    r = c.post("/finance/refunds", headers={**asker, "Idempotency-Key": uuid.uuid4().hex},
               json={"person_ids": [person_id]})
    assert r.status_code == 201
    [refund] = r.json
    refused = c.post(f"/finance/refunds/{refund['id']}/approve", headers=asker)
    assert (refused.status_code, refused.json["code"], refused.json["field"]) == (403, "four_eyes", "refund_id")
    approved = c.post(f"/finance/refunds/{refund['id']}/approve", headers=second)
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    assert approved.json["requested_by"] == "fin-asker" and approved.json["decided_by"] == "fin-second"


def test_invoice_list_statements_and_exports(apps):
    c = apps["billing"]
    finance = bearer("finance")
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order, transfer = submitted_transfer(apps, "Export Co")
    assert c.post(f"/finance/transfers/{transfer['id']}/confirm", headers=finance).status_code == 200
    unit = unit_headers(order["unit_id"])
    invoice = c.post(f"/orders/{order['order_no']}/invoice", headers=unit, json={"kind": "ordinary", "title": "Export Co"})
    assert invoice.status_code == 201
    listed = c.get(f"/finance/invoices?q={invoice.json['invoice_no']}", headers=finance).json
    assert [i["invoice_no"] for i in listed] == [invoice.json["invoice_no"]] and listed[0]["unit_id"] == order["unit_id"]
    assert c.get("/finance/invoices?status=lost", headers=finance).status_code == 400
    assert c.get("/finance/invoices", headers=headers).status_code == 403
    assert isinstance(c.get("/finance/centralised", headers=finance).json, list)
    for kind in ("orders", "payments", "refunds", "invoices"):
        r = c.get(f"/finance/exports/{kind}.xlsx", headers=finance)
        assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet"), kind
        sheet = load_workbook(io.BytesIO(r.data))[kind]
        assert sheet.max_row >= 2
    book = load_workbook(io.BytesIO(c.get("/finance/exports/orders.xlsx", headers=finance).data))
    assert order["order_no"] in [row[0] for row in book["orders"].iter_rows(values_only=True)]
    assert c.get("/finance/exports/people.xlsx", headers=finance).status_code == 404
    assert c.get("/finance/exports/orders.xlsx", headers=bearer("operations")).status_code == 403


# --- credentials: the pick-up desk ------------------------------------------------------------------
def onsite_card(unit_id: str, name: str):
    deps = deps_of("credentials")
    dossier = {"unit_id": unit_id, "unit_name": "佛山示例有限公司", "name": name, "entry_dates": ["2026-11-06"],
               "pickup_method": "onsite"}
    photo = base64.b64encode(photo_jpeg()).decode()
    rpc = SimpleNamespace(registration=SimpleNamespace(person_dossier=lambda pid: dossier,
                                                       person_photo=lambda pid: photo))
    with deps.uow() as (s, emit):
        credential = production.queue_credential(s, emit, rpc, uuid.uuid4().hex, deps.settings.edition)
        production.produce_batch(s, emit, deps.qr_secret, deps.fair_name, lambda unit: None)
        return credential.credential_no


def test_the_pickup_desk_hands_over_to_a_colleague(apps):
    c = apps["credentials"]
    ops = bearer("operations", "desk-1")
    unit_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:4]
    holder, colleague = onsite_card(unit_id, f"张{tag}"), onsite_card(unit_id, f"王{tag}")
    stranger = onsite_card(uuid.uuid4().hex, f"赵{tag}")
    found = c.get(f"/operations/pickup?q=张{tag}", headers=ops).json
    assert [f["credential_no"] for f in found] == [holder] and found[0]["photo"] is None
    assert [f["credential_no"] for f in c.get(f"/operations/pickup?q={holder}", headers=ops).json] == [holder]
    assert c.get("/operations/pickup", headers=ops).status_code == 400
    assert c.get(f"/operations/pickup?q={'x' * 61}", headers=ops).status_code == 400
    detail = c.get(f"/operations/pickup/{holder}", headers=ops)
    assert detail.json["photo"].startswith("data:image/jpeg") and detail.headers["Cache-Control"] == "no-store"
    assert [w["credential_no"] for w in detail.json["unit_waiting"]] == [colleague]
    for role in ("finance", "gate_staff", "delegation_secretariat"):
        assert c.get(f"/operations/pickup?q={holder}", headers=bearer(role)).status_code == 403, role
    r = c.post(f"/operations/pickup/{holder}/hand-over", headers=ops,
               json={"collector": "proxy", "proxy_credential_no": stranger})
    assert (r.status_code, r.json["code"]) == (409, "proxy_other_unit")
    r = c.post(f"/operations/pickup/{holder}/hand-over", headers=ops, json={"collector": "proxy"})
    assert (r.status_code, r.json["field"]) == (400, "proxy_credential_no")
    r = c.post(f"/operations/pickup/{holder}/hand-over", headers=ops,
               json={"collector": "proxy", "proxy_credential_no": "12"})
    assert (r.status_code, r.json["field"]) == (400, "proxy_credential_no")
    r = c.post(f"/operations/pickup/{holder}/hand-over", headers=ops,
               json={"collector": "proxy", "proxy_credential_no": colleague})
    assert r.status_code == 200 and (r.json["status"], r.json["collected_by"], r.json["proxy_credential_no"],
                                     r.json["handed_over_by"]) == ("collected", "proxy", colleague, "desk-1")
    again = c.post(f"/operations/pickup/{holder}/hand-over", headers=ops, json={"collector": "holder"})
    assert (again.status_code, again.json["code"]) == (409, "already_collected")
    rows = c.get(f"/operations/dispatch?status=collected&q={holder}", headers=ops).json
    assert [(x["credential_no"], x["collected_by"]) for x in rows] == [(holder, "proxy")]
    assert c.get("/operations/dispatch?status=lost", headers=ops).status_code == 400


def test_a_badge_of_another_edition_at_the_gate(apps):
    deps = deps_of("credentials")
    payload = cards.qr_reference("201900000042", "someone", 1, deps.qr_secret)
    r = apps["credentials"].post("/gate/scans", headers=bearer("gate_staff"),
                                 json={"payload": payload, "gate": "N1", "direction": "in"})
    assert r.status_code == 201 and (r.json["verdict"], r.json["admit"]) == ("wrong_edition", False)
