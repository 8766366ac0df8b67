"""Credentials journeys: a failed police check ending in a completed refund, and a
dispatched credential at the gate (gate staff, verdict with the holder's photo, the scan
log, a reissue voiding the old card)."""
from __future__ import annotations

import base64
import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import qrcode
from PIL import Image

from services.credentials import cards
from shared.crypto import load_key
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
    assert results == ["【进博会专业观众】张三 人员审核结果：未通过"]  # which person
    assert "BLOCKLISTED" not in "".join(m["body"] for m in stack.mailbox.to(email))


def gate_staff(stack) -> Portal:
    """A gate-staff account, created by the organising committee and logged in."""
    username = f"gate{uuid.uuid4().hex[:6]}"
    admin(stack).call("POST", "review/admins", 201, json={"username": username, "password": "Gate-passw0rd",
                                                         "role": "gate_staff"})
    portal = Portal(stack.url)
    portal.token = portal.call("POST", "review/admin/login", 200,
                               json={"username": username, "password": "Gate-passw0rd"}).json()["token"]
    return portal


def test_dispatched_credential_verifies_at_the_gate(stack, dump_logs_on_failure):
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
    number = dispatched["credential_no"]
    png = unit.call("GET", f"credentials/credentials/{number}/card.png", 200)
    assert png.content.startswith(b"\x89PNG")
    pdf = unit.call("GET", f"credentials/credentials/{number}/card.pdf", 200)
    assert pdf.content.startswith(b"%PDF")
    card = Image.open(io.BytesIO(png.content)).convert("RGB")
    assert card.size == (638, 1011)
    [credential] = unit.call("GET", "credentials/units/me/credentials", 200).json()
    assert credential["credential_no"] == number and credential["issue"] == 1
    # the QR printed on the card is the payload bound to this number, this holder and issue 1
    key = load_key(None, stack.workdir / "keys" / "credentials-qr.key")
    payload = cards.qr_reference(number, person["id"], 1, key)
    qr = qrcode.make(payload, box_size=4, border=2).convert("RGB").resize((200, 200))
    assert card.crop((408, 781, 608, 981)).tobytes() == qr.tobytes()

    # only gate staff scan; one POST per scan answers the verdict with the holder to compare
    scan = {"payload": payload, "gate": "N1"}
    Portal(stack.url).call("POST", "credentials/gate/scans", 401, json=scan)
    unit.call("POST", "credentials/gate/scans", 403, json=scan)
    staff = gate_staff(stack)
    forged = staff.call("POST", "credentials/gate/scans", 201,
                        json={"payload": payload[:-4] + "AAAA", "gate": "N1"}).json()
    assert forged["verdict"] == "unknown" and forged["holder"] is None
    answer = staff.call("POST", "credentials/gate/scans", 201, json=scan).json()
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert answer["verdict"] == ("valid" if today in ["2026-11-06"] else "not_this_day")
    assert answer["credential_no"] == number and answer["entry_dates"] == ["2026-11-06"]
    assert answer["holder"]["name"] == "张三" and answer["holder"]["unit_name"] == name
    photo = answer["holder"]["photo"].removeprefix("data:image/jpeg;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(photo))).format == "JPEG"

    # the organising committee sees both scans, who made them and where; never the photo
    log = admin(stack).call("GET", "credentials/gate/scans", 200, params={"gate": "N1", "per_page": 500}).json()
    mine = [i for i in log["items"] if i["credential_no"] == number or i["id"] == forged["scan_id"]]
    assert [i["verdict"] for i in mine] == [answer["verdict"], "unknown"]
    assert len({i["staff_id"] for i in mine}) == 1 and mine[0]["staff_id"]
    logs = "".join(p.read_text(errors="replace") for p in (stack.workdir / "logs").glob("*.log"))
    assert logs and photo[200:260] not in logs  # the photo is shown to gate staff, never logged

    # a lost card: operations reissue it, and the old card is refused as superseded
    committee = admin(stack)
    reissued = committee.call("POST", f"credentials/operations/credentials/{number}/reissue", 200,
                              json={"reason": "lost"}).json()
    assert reissued["issue"] == 2
    old = staff.call("POST", "credentials/gate/scans", 201, json={**scan, "direction": "out"}).json()
    assert old["verdict"] == "superseded" and not old["admit"]
