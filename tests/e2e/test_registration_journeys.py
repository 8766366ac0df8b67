"""Registration journeys beyond the foundation: manual review with a return for
modification, and a colleague who joins by unit code."""
from __future__ import annotations

import uuid

from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_uscc


def admin(stack) -> Portal:
    portal = Portal(stack.url)
    data = portal.call("POST", "review/admin/login", 200,
                       json={"username": "admin", "password": "Admin-passw0rd"}).json()
    portal.token = data["token"]
    return portal


def test_returned_unit_edits_and_resubmits(stack, dump_logs_on_failure):
    unit = Portal(stack.url)
    uscc, email, phone = random_uscc(), f"gov-{uuid.uuid4().hex[:6]}@example.gov.cn", random_phone()
    unit.sign_up(uscc, "广州市某区商务局", email, phone, category="government")  # no auto review for bodies
    unit.login(uscc)
    unit.fill_info()
    person = unit.add_person()
    unit.submit_unit()
    reviewer = admin(stack)
    wait_for(lambda: any(i["unit_id"] == unit.unit_id for i in reviewer.call("GET", "review/queue", 200).json()["items"]),
             message="the unit in the review queue")
    reviewer.call("POST", f"review/units/{unit.unit_id}/return", 200, json={"comment": "请补充英文名称"})
    progress = wait_for(lambda: (p := unit.progress())["status"] == "returned" and p, message="returned")
    assert progress["review_comment"] == "请补充英文名称"
    mails = wait_for(lambda: stack.mailbox.to(email), message="the return email")
    assert "退回修改" in mails[0]["subject"] and "请补充英文名称" in mails[0]["body"]

    unit.call("PATCH", "registration/units/me/info", 200, json={"name_en": "Commerce Bureau"})
    unit.submit_unit()
    assert unit.progress()["status"] == "submitted"
    wait_for(lambda: any(i["unit_id"] == unit.unit_id for i in reviewer.call("GET", "review/queue", 200).json()["items"]),
             message="the resubmitted unit in the queue")
    reviewer.call("POST", f"review/units/{unit.unit_id}/approve", 200)
    wait_for(lambda: unit.progress()["status"] == "approved", message="approved")
    assert unit.wait_person_status(person["id"], "awaiting_payment")["payer"] == "unit"


def test_colleague_joins_by_unit_code_and_is_approved(stack, dump_logs_on_failure):
    unit = Portal(stack.url)
    uscc, phone = random_uscc(), random_phone()
    name = f"深圳示例科技有限公司{uuid.uuid4().hex[:4]}"
    created = unit.sign_up(uscc, name, f"{uuid.uuid4().hex[:6]}@example.cn", phone)
    unit.login(uscc)

    colleague = Portal(stack.url)
    colleague_phone = random_phone()
    code = colleague.sms_code(colleague_phone, "join")
    joined = colleague.call("POST", "registration/members/join", 201, json={
        "unit_code": created["unit_code"], "name": "王五", "phone": colleague_phone, "sms_code": code,
        "password": "Passw0rd!"}).json()
    assert joined["status"] == "pending" and "*" in joined["phone"]
    login = {"unit_code": created["unit_code"], "phone": colleague_phone, "password": "Passw0rd!"}
    r = colleague.call("POST", "registration/auth/member-login", json=login)
    assert r.status_code == 403 and r.json()["code"] == "member_pending"

    pending = unit.call("GET", "registration/units/me/members", 200, params={"status": "pending"}).json()
    assert [m["id"] for m in pending] == [joined["id"]]
    unit.call("POST", "registration/units/me/members/approve", 200, json={"member_ids": [joined["id"]]})

    colleague.token = colleague.call("POST", "registration/auth/member-login", 200, json=login).json()["token"]
    own = colleague.add_person(submit=False, name="王五")
    assert colleague.call("GET", "registration/units/me/personnel", 200).json()["total"] == 1
    r = colleague.call("POST", "registration/units/me/submit", json={})
    assert r.status_code == 403  # the unit contact submits
    unit.fill_info()
    contacts_own = unit.add_person(submit=False, name="张三")
    assert unit.call("GET", "registration/units/me/personnel", 200).json()["total"] == 2
    r = colleague.call("GET", f"registration/units/me/personnel/{contacts_own['id']}")
    assert r.status_code == 404  # members see only their own records
    unit.submit_unit([own["id"], contacts_own["id"]])
    assert unit.person(own["id"])["status"] in ("submitted", "awaiting_confirmation", "awaiting_payment")
