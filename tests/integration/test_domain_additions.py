"""The APIs of #14's missing items on real PostgreSQL and RabbitMQ: the unit's invoice
reversal request decided by finance (and its event for notifications), and the bulk
personnel import (a multipart XLSX, a result per line)."""
from __future__ import annotations

import io

from openpyxl import Workbook

from services.billing.models import Order
from services.registration.domain.bulk_import import COLUMNS, EXAMPLE
from shared.topology import handler_queue_name
from tests.integration.conftest import deps_of
from tests.integration.test_billing import finance_headers, paid_orders
from tests.integration.test_services import signed_up_unit, unit_headers
from tests.journey import random_resident_id


def test_a_unit_asks_for_an_invoice_reversal_and_finance_decides(apps, pump):
    pump.purge(handler_queue_name("notifications", "InvoiceReversalRequested"))
    [(unit_id, order_id, _)] = paid_orders(1)
    c, headers, finance = apps["billing"], unit_headers(unit_id), finance_headers()
    with deps_of("billing").uow() as (s, _):
        order_no = s.get(Order, order_id).order_no
    invoice_no = c.post(f"/orders/{order_no}/invoice", headers=headers,
                        json={"kind": "ordinary", "title": "Example Co"}).json["invoice_no"]
    r = c.post(f"/invoices/{invoice_no}/reversal-requests", headers=headers, json={"reason": "抬头有误"})
    assert (r.status_code, r.json["field"]) == (400, "red_letter_applied")
    r = c.post(f"/invoices/{invoice_no}/reversal-requests", headers=unit_headers("someone-else"),
               json={"reason": "x", "red_letter_applied": False, "booked": True})
    assert r.status_code == 404
    r = c.post(f"/invoices/{invoice_no}/reversal-requests", headers=headers,
               json={"reason": "抬头有误", "red_letter_applied": False, "booked": True, "remarks": "已入账"})
    assert r.status_code == 201 and r.json["notice_72h"] and r.json["confirm_by"] and r.json["status"] == "requested"
    request_id = r.json["id"]
    event = pump.get_raw(handler_queue_name("notifications", "InvoiceReversalRequested"))
    assert event.payload["payload"]["invoice_no"] == invoice_no and event.payload["payload"]["notice_72h"] is True
    assert c.post(f"/finance/invoice-reversal-requests/{request_id}/approve", headers=headers).status_code == 403
    waiting = c.get("/finance/invoice-reversal-requests", headers=finance, query_string={"status": "requested"}).json
    assert request_id in [w["id"] for w in waiting]
    r = c.post(f"/finance/invoice-reversal-requests/{request_id}/approve", headers=finance)
    assert r.status_code == 200 and r.json["status"] == "approved"
    [invoice] = [i for i in c.get("/invoices", headers=headers).json if i["invoice_no"] == invoice_no]
    assert invoice["status"] == "reversed" and invoice["reversal_reason"] == "抬头有误"
    r = c.post(f"/finance/invoice-reversal-requests/{request_id}/reject", headers=finance, json={"note": "late"})
    assert (r.status_code, r.json["code"]) == (409, "reversal_request_decided")


def workbook(*lines) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([h for _, h in COLUMNS])
    for over in lines:
        values = dict(zip([k for k, _ in COLUMNS], EXAMPLE), id_number=random_resident_id())
        values.update(over)
        sheet.append([values[k] for k, _ in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_bulk_import_answers_line_by_line(apps):
    _, headers, _ = signed_up_unit(apps)
    c = apps["registration"]
    template = c.get("/units/me/personnel/template.xlsx", headers=headers)
    assert template.status_code == 200 and template.data[:2] == b"PK"
    r = c.post("/units/me/personnel/import", headers=headers, content_type="multipart/form-data",
               data={"file": (io.BytesIO(workbook({"name": "甲"}, {"name": "乙", "mobile": "12"}, {"name": "丙"})),
                              "people.xlsx")})
    assert r.status_code == 200, r.json
    assert (r.json["saved"], r.json["failed"]) == (2, 1)
    [bad] = [row for row in r.json["rows"] if not row["ok"]]
    assert (bad["row"], bad["field"]) == (3, "mobile")
    assert c.get("/units/me/personnel", headers=headers).json["total"] == 2
    r = c.post("/units/me/personnel/import", headers=headers, content_type="multipart/form-data",
               data={"file": (io.BytesIO(b"plain text"), "people.xlsx")})
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "unreadable_file", "file")
    r = c.post("/units/me/personnel/import", headers=headers)
    assert (r.status_code, r.json["field"]) == (400, "file")
