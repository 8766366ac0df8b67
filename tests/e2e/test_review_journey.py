"""A government body through two-level manual review (sub-delegation, then the
delegation secretariat), with one return for modification."""
from __future__ import annotations

import uuid

from tests.e2e.test_registration_journeys import admin
from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_uscc


def login(stack, username: str, password: str) -> Portal:
    portal = Portal(stack.url)
    portal.token = portal.call("POST", "review/admin/login", 200,
                               json={"username": username, "password": password}).json()["token"]
    return portal


def in_queue(reviewer: Portal, unit_id: str, status: str) -> bool:
    items = reviewer.call("GET", "review/queue", 200, params={"status": status}).json()["items"]
    return any(i["unit_id"] == unit_id for i in items)


def test_government_body_through_two_level_review_with_one_return(stack, dump_logs_on_failure):
    committee = admin(stack)
    suffix = uuid.uuid4().hex[:4].upper()
    sub_id = f"FJ-XM{suffix}"
    committee.call("POST", "review/delegations", 201, json={"id": sub_id, "name": "厦门交易分团", "parent_id": "FJ",
                                                           "target": 120})
    committee.call("PATCH", "review/delegations/FJ", 200, json={"two_level": True})
    committee.call("POST", "review/admins", 201, json={"username": f"xm{suffix}", "password": "Xiamen-passw0rd",
                                                      "role": "sub_delegation_admin", "delegation_id": sub_id})
    committee.call("POST", "review/admins", 201, json={"username": f"fj{suffix}", "password": "Fujian-passw0rd",
                                                      "role": "delegation_secretariat", "delegation_id": "FJ"})
    xiamen, fujian = login(stack, f"xm{suffix}", "Xiamen-passw0rd"), login(stack, f"fj{suffix}", "Fujian-passw0rd")
    wait_for(lambda: any(d["id"] == sub_id for d in Portal(stack.url).call(
        "GET", "registration/delegations", 200).json()), message="registration to learn the sub-delegation")

    unit = Portal(stack.url)
    uscc, email = random_uscc(), f"gov-{suffix.lower()}@xm.gov.cn"
    unit.sign_up(uscc, "厦门市某区商务局", email, random_phone(), category="government", delegation_id=sub_id,
                 recommendation_code="Q2021391")
    unit.login(uscc)
    unit.fill_info()
    person = unit.add_person()
    unit.submit_unit()

    wait_for(lambda: in_queue(xiamen, unit.unit_id, "pending"), message="the unit in Xiamen's queue")
    assert not in_queue(login(stack, "admin", "Admin-passw0rd"), "nope", "pending")
    xiamen.call("POST", f"review/units/{unit.unit_id}/return", 200, json={"comment": "请上传盖章的单位介绍信"})
    wait_for(lambda: unit.progress()["status"] == "returned", message="returned")
    assert unit.progress()["review_comment"] == "请上传盖章的单位介绍信"

    unit.call("PATCH", "registration/units/me/info", 200, json={"registered_address": "厦门市思明区 1 号"})
    unit.submit_unit()
    wait_for(lambda: in_queue(xiamen, unit.unit_id, "pending"), message="resubmitted")
    first = xiamen.call("POST", f"review/units/{unit.unit_id}/approve", 200).json()
    assert first["status"] == "first_approved" and first["submissions"] == 2
    assert unit.progress()["status"] == "submitted"  # not approved until the secretariat confirms
    r = xiamen.call("POST", f"review/units/{unit.unit_id}/approve")
    assert r.status_code == 403
    assert in_queue(fujian, unit.unit_id, "first_approved")
    fujian.call("POST", f"review/units/{unit.unit_id}/approve", 200)
    wait_for(lambda: unit.progress()["status"] == "approved", message="approved")
    assert unit.wait_person_status(person["id"], "awaiting_payment")["payer"] == "unit"
    actions = [a["action"] for a in fujian.call("GET", "review/audit", 200,
                                                params={"target_id": unit.unit_id}).json()["items"]]
    assert sorted(actions) == ["unit.approve", "unit.first_approve", "unit.return"]
    stats = {r["delegation_id"]: r for r in fujian.call("GET", "review/statistics", 200).json()}
    assert stats[sub_id]["approved_units"] == 1 and stats[sub_id]["target"] == 120
    committee.call("PATCH", "review/delegations/FJ", 200, json={"two_level": False})
