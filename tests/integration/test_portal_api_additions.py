"""The few read endpoints the portal needed: the qualification document as uploaded, the
person's own fields for the edit form, and a unit's bank-transfer submissions."""
from __future__ import annotations

import io
import uuid

from tests.integration.test_services import billing_order, signed_up_unit, unit_headers
from tests.journey import photo_jpeg, random_resident_id


def test_the_uploaded_document_can_be_read_back(apps):
    c = apps["registration"]
    _, headers, _ = signed_up_unit(apps)
    r = c.get("/units/me/document", headers=headers)
    assert (r.status_code, r.json["code"]) == (404, "not_found")
    assert c.get("/units/me/document/image", headers=headers).status_code == 404
    png = photo_jpeg(800, 600, "PNG")
    assert c.put("/units/me/document", headers=headers, content_type="multipart/form-data",
                 data={"document": (io.BytesIO(png), "licence.png")}).status_code == 200
    r = c.get("/units/me/document", headers=headers)
    assert r.status_code == 200 and r.json["kind"] == "business_licence" and r.json["size"] == len(png)
    image = c.get("/units/me/document/image", headers=headers)
    assert image.status_code == 200 and image.data == png and image.mimetype == "image/png"
    assert image.headers["Cache-Control"] == "private, no-store"
    assert c.get("/units/me/document").status_code == 401


def test_a_person_shows_gender_nationality_position_and_a_masked_email(apps):
    c = apps["registration"]
    _, headers, _ = signed_up_unit(apps)
    person = c.post("/units/me/personnel", headers=headers, json={
        "name": "王五", "gender": "female", "region_type": "hk_macao", "id_type": "hk_macao_permit",
        "id_number": "H12345678", "nationality": "中国", "position": "采购经理", "email": "wangwu@example.cn",
        "entry_dates": ["2026-11-06"]}).json
    shown = c.get(f"/units/me/personnel/{person['id']}", headers=headers).json
    assert (shown["gender"], shown["nationality"], shown["position"]) == ("female", "中国", "采购经理")
    assert shown["email"] == "w***@example.cn" and "*" in shown["id_number"]
    bare = c.post("/units/me/personnel", headers=headers, json={
        "name": "赵六", "region_type": "mainland", "id_type": "resident_id", "id_number": random_resident_id(),
        "entry_dates": ["2026-11-06"]}).json
    assert bare["email"] is None and bare["gender"] is None


def test_a_unit_sees_its_own_transfers_for_an_order(apps):
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order = billing_order(apps, unit_id, headers)
    c = apps["billing"]
    assert c.get(f"/orders/{order['order_no']}/transfers", headers=headers).json == []
    form = {"remitter_type": "unit", "remitter_name": "Transfer Co", "remitter_account": "6222020200112233",
            "amount_fen": str(order["amount_fen"]), "phone": "13800138000"}
    assert c.post(f"/orders/{order['order_no']}/transfer", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                  content_type="multipart/form-data",
                  data={**form, "voucher": (io.BytesIO(photo_jpeg()), "v.jpg")}).status_code == 201
    [transfer] = c.get(f"/orders/{order['order_no']}/transfers", headers=headers).json
    assert transfer["status"] == "submitted" and transfer["remitter_account"] == "****2233"
    assert transfer["order_no"] == order["order_no"]
    other = c.get(f"/orders/{order['order_no']}/transfers", headers=unit_headers("someone-else"))
    assert other.status_code == 404
