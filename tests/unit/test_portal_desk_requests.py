"""The units' requests the desks decide, against a scripted API: the finance queue of
invoice reversal requests (the invoice's title and amount beside each), a refusal needs a
note shown next to its field in the reader's language, the API's refusal stays on the page;
the operations queue of reissue requests shows the holder masked and survives a card it
cannot look up."""
from __future__ import annotations

import pytest
from flask import Flask

from services.portal.app import create_app
from services.portal.bootstrap import build
from tests.unit.test_portal import FakeApi, csrf_of, error_of, settings
from tests.unit.test_portal_admin import admin_log_in

REQUEST = {"id": "rq1", "invoice_no": "26440000000000000001", "order_no": "V1", "unit_id": "u" * 32,
           "reason": "发票抬头有误", "red_letter_applied": False, "booked": True, "remarks": None,
           "status": "requested", "notice_72h": True, "confirm_by": "2026-11-26T08:00:00",
           "decision_note": None, "requested_at": "2026-11-23T08:00:00", "decided_at": None}
REISSUE = {"id": "rs1", "credential_no": "202600000002", "person_id": "p1", "unit_id": "u" * 32, "reason": "lost",
           "remarks": "出租车上遗失", "status": "requested", "decision_note": None, "new_issue": None,
           "requested_at": "2026-11-23T08:00:00", "decided_at": None}


@pytest.fixture
def fake() -> FakeApi:
    api = FakeApi()
    api.on("GET", "/api/billing/finance/invoice-reversal-requests", 200, [REQUEST])
    api.on("GET", "/api/billing/finance/invoices", 200, [
        {"invoice_no": REQUEST["invoice_no"], "order_no": "V1", "title": "深圳示例科技有限公司", "tax_no": None,
         "kind": "ordinary", "amount_fen": 20000, "status": "issued", "unit_id": "u" * 32}])
    api.on("GET", "/api/credentials/operations/reissue-requests", 200, [REISSUE])
    return api


@pytest.fixture
def client(fake):
    app: Flask = create_app(build(settings(), api_wsgi=fake))
    app.config["TESTING"] = True
    return app.test_client()


def test_the_finance_queue_shows_the_invoice_and_the_72_hour_notice(client, fake):
    admin_log_in(client, fake, "finance", None)
    html = client.get("/admin/finance/reversal-requests?status=nonsense").get_data(as_text=True)
    assert fake.last("/api/billing/finance/invoice-reversal-requests")["args"] == {"status": "requested"}
    assert "深圳示例科技有限公司" in html and "¥200.00" in html and 'data-test="notice-72h"' in html
    assert 'data-test="approve-reversal"' in html and "退票申请" in html


def test_a_refusal_needs_a_note_in_the_reader_s_language_and_sends_it(client, fake):
    admin_log_in(client, fake, "finance", None)
    token = csrf_of(client.get("/admin/finance/reversal-requests").get_data(as_text=True))
    r = client.post("/admin/finance/reversal-requests/rq1/reject", data={"csrf_token": token, "note": "  "})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "note-rq1") == "请写明拒绝退票的理由：单位会看到。"
    client.get("/lang/en?next=/admin")
    r = client.post("/admin/finance/reversal-requests/rq1/reject", data={"csrf_token": token, "note": ""})
    assert error_of(r.get_data(as_text=True), "note-rq1") == "Say why the reversal is refused: the unit reads it."
    fake.on("POST", "/api/billing/finance/invoice-reversal-requests/rq1/reject", 200,
            {**REQUEST, "status": "rejected", "decision_note": "抬头无误"})
    r = client.post("/admin/finance/reversal-requests/rq1/reject", data={"csrf_token": token, "note": "抬头无误"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/finance/reversal-requests")
    assert fake.last("/api/billing/finance/invoice-reversal-requests/rq1/reject")["json"] == {"note": "抬头无误"}


def test_an_approval_the_api_refuses_stays_on_the_page_and_bad_ids_are_404(client, fake):
    admin_log_in(client, fake, "finance", None)
    token = csrf_of(client.get("/admin/finance/reversal-requests").get_data(as_text=True))
    fake.on("POST", "/api/billing/finance/invoice-reversal-requests/rq1/approve", 409,
            {"code": "reversal_request_decided", "message": "this request was already approved", "field": None})
    r = client.post("/admin/finance/reversal-requests/rq1/approve", data={"csrf_token": token})
    assert r.status_code == 400 and 'data-test="error-summary"' in r.get_data(as_text=True)
    assert client.post("/admin/finance/reversal-requests/a%2Fb/approve", data={"csrf_token": token}).status_code == 404


def test_the_reissue_queue_shows_the_holder_masked_even_when_a_card_cannot_be_looked_up(client, fake):
    admin_log_in(client, fake, "operations", None)
    html = client.get("/admin/operations/reissue-requests").get_data(as_text=True)
    assert "202600000002" in html and "遗失" in html and "无照片" in html  # no card found: shown without holder
    fake.on("GET", "/api/credentials/operations/pickup/202600000002", 200, {
        "credential_no": "202600000002", "person_id": "p1", "unit_id": "u" * 32, "name": "张三",
        "unit_name": "深圳示例科技有限公司", "id_number_masked": "440***********7457", "label": "visitor",
        "status": "dispatched", "pickup_method": "courier", "entry_dates": [], "handed_over_at": None,
        "collected_by": None, "proxy_credential_no": None, "handed_over_by": None, "photo": None,
        "unit_waiting": []})
    html = client.get("/admin/operations/reissue-requests").get_data(as_text=True)
    assert "张三" in html and "440***********7457" in html and "深圳示例科技有限公司" in html
    token = csrf_of(html)
    fake.on("POST", "/api/credentials/operations/reissue-requests/rs1/reject", 200,
            {**REISSUE, "status": "rejected", "decision_note": "请先挂失"})
    r = client.post("/admin/operations/reissue-requests/rs1/reject", data={"csrf_token": token, "note": "请先挂失"})
    assert r.status_code == 302
    assert fake.last("/api/credentials/operations/reissue-requests/rs1/reject")["json"] == {"note": "请先挂失"}
