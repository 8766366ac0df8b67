"""Credentials journeys: a failed police check ending in a completed refund, and gate
verification of a dispatched credential."""
from __future__ import annotations

import uuid

from tests.e2e.conftest import BLOCKED_ID
from tests.e2e.test_journey import pay_order
from tests.e2e.test_registration_journeys import admin
from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_uscc


def finance(stack) -> Portal:
    committee = admin(stack)
    username = f"fin{uuid.uuid4().hex[:6]}"
    committee.call("POST", "review/admins", 201, json={"username": username, "password": "Finance-passw0rd",
                                                      "role": "finance"})
    portal = Portal(stack.url)
    portal.token = portal.call("POST", "review/admin/login", 200,
                               json={"username": username, "password": "Finance-passw0rd"}).json()["token"]
    return portal


def test_failed_check_ends_in_a_completed_refund(stack, dump_logs_on_failure):
    unit = Portal(stack.url)
    uscc, name = random_uscc(), f"佛山示例有限公司{uuid.uuid4().hex[:4]}"
    email = f"refund-{uuid.uuid4().hex[:6]}@example.cn"
    unit.set_registry(uscc, name)
    unit.sign_up(uscc, name, email, random_phone())
    unit.login(uscc)
    unit.fill_info()
    person = unit.add_person(id_number=BLOCKED_ID)
    unit.submit_unit()
    unit.wait_person_status(person["id"], "awaiting_payment")
    order = pay_order(unit, [person["id"]])
    failed = unit.wait_person_status(person["id"], "check_failed")
    assert failed["credential_no"] is None
    assert unit.call("GET", "credentials/units/me/summary", 200).json()["failed"] == 1
    assert unit.call("GET", "credentials/units/me/credentials", 200).json() == []  # nothing produced

    refundable = wait_for(lambda: [p for p in unit.call("GET", "billing/payables", 200).json()
                                   if p["status"] == "refundable"], message="refundable in billing")
    assert [p["person_id"] for p in refundable] == [person["id"]]
    key = uuid.uuid4().hex
    [refund] = unit.call("POST", "billing/refunds", 201, json={"person_ids": [person["id"]]},
                         headers={"Idempotency-Key": key}).json()
    again = unit.call("POST", "billing/refunds", 201, json={"person_ids": [person["id"]]},
                      headers={"Idempotency-Key": key}).json()  # a retried request: the same answer
    assert again[0]["id"] == refund["id"] and refund["status"] == "requested" and refund["amount_fen"] == 20000
    desk = finance(stack)
    desk.call("POST", f"billing/finance/refunds/{refund['id']}/approve", 200)
    done = wait_for(lambda: [r for r in unit.call("GET", "billing/refunds", 200).json()
                             if r["id"] == refund["id"] and r["status"] == "completed"], message="refund completed")
    assert done[0]["order_no"] == order["order_no"]
    mails = wait_for(lambda: [m["subject"] for m in stack.mailbox.to(email) if "退款" in m["subject"]],
                     message="the refund email")
    assert mails == ["【进博会专业观众】退款 200.00 元已完成"]
    results = [m["subject"] for m in stack.mailbox.to(email) if "人员审核结果" in m["subject"]]
    assert results == ["【进博会专业观众】人员审核结果：未通过"]
    assert "BLOCKLISTED" not in "".join(m["body"] for m in stack.mailbox.to(email))


def test_dispatched_credential_verifies_at_the_gate(stack):
    unit = Portal(stack.url)
    uscc, name = random_uscc(), f"珠海示例有限公司{uuid.uuid4().hex[:4]}"
    unit.set_registry(uscc, name)
    unit.sign_up(uscc, name, f"{uuid.uuid4().hex[:6]}@example.cn", random_phone())
    unit.login(uscc)
    unit.fill_info()
    person = unit.add_person()
    unit.submit_unit()
    unit.wait_person_status(person["id"], "awaiting_payment")
    pay_order(unit, [person["id"]])
    dispatched = unit.wait_person_status(person["id"], "dispatched")
    png = unit.call("GET", f"credentials/credentials/{dispatched['credential_no']}/card.png", 200)
    assert png.content.startswith(b"\x89PNG")
    pdf = unit.call("GET", f"credentials/credentials/{dispatched['credential_no']}/card.pdf", 200)
    assert pdf.content.startswith(b"%PDF")
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(png.content)).size == (638, 1011)
    # the gate reads the QR reference; a forged one is unknown
    gate = Portal(stack.url)
    r = gate.call("GET", "credentials/gate/verify", 200, params={"reference": "ACCR1:202600000001:forged"})
    assert r.json() == {"result": "unknown"}
