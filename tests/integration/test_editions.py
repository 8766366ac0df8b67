"""Editions in one deployment (issue 18), over the services' APIs against PostgreSQL: a unit that
registered here in the previous edition (CIIE-2025) returns in CIIE-2026 without any JSON
import — verified, its info and people carried over, a card reused — and the previous
edition's login reads its records and changes nothing, in every service."""
from __future__ import annotations

import uuid

from services.registration.domain import accounts, colleagues, personnel
from shared.fair import fair
from tests.integration.conftest import deps_of
from tests.integration.test_services import age_sms_codes, sms_code
from tests.journey import random_phone, random_resident_id, random_uscc

PREVIOUS = "CIIE-2025"


def registered_last_edition(uscc: str, phone: str, email: str, member_phone: str | None = None) -> dict:
    """A unit of CIIE-2025 with one person whose card was delivered (credential 2025…), made with
    the domain functions and that edition, as the deployment did last year."""
    deps = deps_of("registration")
    days = fair().edition(PREVIOUS).days
    with deps.uow() as (s, emit):
        unit = accounts.sign_up(s, emit, {
            "uscc": uscc, "password": "Old-passw0rd", "name": f"Last Year Co {uscc[-4:]}", "visitor_kind": "unit",
            "region": "mainland", "category": "enterprise", "phone": phone, "email": email,
            "delegation_id": "GD-GZ", "privacy_consent": True}, PREVIOUS)
        unit.info = {"name_en": "Last Year Co", "registered_address": "Guangzhou", "industry": "retail"}
        person, unchecked = (personnel.add_person(s, unit, {
            "name": name, "gender": "female", "region_type": "mainland", "id_type": "resident_id",
            "id_number": random_resident_id(), "nationality": "CN", "mobile": None, "email": None, "position": None,
            "entry_dates": [days[1]], "exhibition_area": None, "pickup_method": "courier",
            "requested_label": "visitor", "privacy_consent": True}, days, deps.cipher) for name in ("钱七", "周九"))
        person.label, person.status, person.credential_no = "visitor", "delivered", f"2025{uuid.uuid4().int % 10**8:08d}"
        unchecked.status = "check_failed"  # no card: carried over (重新申办), never reused
        if member_phone:
            member = colleagues.join_unit(s, deps.cipher, PREVIOUS, {
                "unit_code": unit.unit_code, "name": "孙八", "phone": member_phone, "password": "Member-passw0rd"})
            colleagues.decide_members(s, unit, [member.id], True)
        return {"unit_id": unit.id, "unit_code": unit.unit_code, "person_id": person.id, "unchecked_id": unchecked.id,
                "credential_no": person.credential_no, "name": unit.name}


def test_last_editions_unit_returns_without_an_import_and_reuses_its_card(apps, email_outbox):
    c = apps["registration"]
    uscc, phone, email = random_uscc(), random_phone(), f"{uuid.uuid4().hex[:6]}@example.cn"
    old = registered_last_edition(uscc, phone, email)

    r = c.post("/returning/verify", json={"method": "password", "uscc": uscc, "password": "wrong-passw0rd"})
    assert r.status_code == 401
    r = c.post("/returning/verify", json={"method": "sms", "uscc": uscc, "phone": phone,
                                          "sms_code": sms_code(apps, phone, "returning")})
    assert r.status_code == 200 and r.json["previous"]["info"]["registered_address"] == "Guangzhou", r.json
    assert c.post("/returning/email-codes", json={"uscc": uscc}).status_code == 202
    mail = email_outbox.sent[-1]
    assert mail["to"] == email
    r = c.post("/returning/verify", json={"method": "email", "uscc": uscc, "email_code": mail["variables"]["code"]})
    assert r.status_code == 200
    r = c.post("/returning/verify", json={"method": "password", "uscc": uscc, "password": "Old-passw0rd"})
    assert r.status_code == 200 and r.json["previous"]["name"] == old["name"]
    token = r.json["returning_token"]

    age_sms_codes(minutes=2)
    r = c.post("/units", json={"uscc": uscc, "password": "Passw0rd!", "name": old["name"], "category": "enterprise",
                               "phone": phone, "email": email, "delegation_id": "GD-GZ",
                               "sms_code": sms_code(apps, phone, "signup"), "returning_token": token,
                               "privacy_consent": True})
    assert r.status_code == 201, r.json
    login = c.post("/auth/login", json={"uscc": uscc, "password": "Passw0rd!"}).json
    assert (login["edition"], login["read_only"]) == ("CIIE-2026", False)
    headers = {"Authorization": "Bearer " + login["token"]}
    assert c.get("/units/me", headers=headers).json["info"]["registered_address"] == "Guangzhou"
    previous = {p["id"]: p for p in c.get("/units/me/previous-personnel", headers=headers).json}
    assert set(previous) == {old["person_id"], old["unchecked_id"]}
    prev, unchecked = previous[old["person_id"]], previous[old["unchecked_id"]]
    assert (prev["edition"], prev["credential_no"], prev["reusable"]) == (PREVIOUS, old["credential_no"], True), prev
    assert not unchecked["reusable"] and "check" in unchecked["reuse_refusal"]
    r = c.post(f"/units/me/previous-personnel/{prev['id']}/reuse", headers=headers,
               json={"entry_dates": ["2026-11-07"]})
    assert (r.status_code, r.json["code"]) == (400, "reuse_not_allowed")  # another day than the card's
    r = c.post(f"/units/me/previous-personnel/{prev['id']}/reuse", headers=headers,
               json={"entry_dates": ["2026-11-06"]})
    assert r.status_code == 201 and r.json["reuse_credential_no"] == old["credential_no"], r.json
    r = c.post(f"/units/me/previous-personnel/{unchecked['id']}/reuse", headers=headers,
               json={"entry_dates": ["2026-11-06"]})
    assert (r.status_code, r.json["code"]) == (400, "reuse_not_allowed")
    r = c.post(f"/units/me/previous-personnel/{unchecked['id']}/carry-over", headers=headers,
               json={"entry_dates": ["2026-11-06"]})
    assert r.status_code == 201 and r.json["name"] == "周九" and r.json["status"] == "saved", r.json


def test_one_click_invitations_reach_last_editions_own_units(apps, email_outbox):
    from shared.auth import issue_token
    uscc, phone, email = random_uscc(), random_phone(), f"{uuid.uuid4().hex[:6]}@example.cn"
    registered_last_edition(uscc, phone, email)
    admin = {"Authorization": "Bearer " + issue_token("ops-1", "organising_committee", "review")}
    r = apps["registration"].post("/admin/previous-editions/invitations", headers=admin, json={"edition": PREVIOUS})
    assert r.status_code == 200 and r.json["invited"] >= 1, r.json
    assert any(m["to"] == email and m["template"] == "registration_invitation" for m in email_outbox.sent)


def test_a_previous_editions_login_reads_and_changes_nothing(apps):
    c = apps["registration"]
    uscc, phone, email, member_phone = random_uscc(), random_phone(), f"{uuid.uuid4().hex[:6]}@example.cn", random_phone()
    old = registered_last_edition(uscc, phone, email, member_phone)

    # the active edition has no such unit; a later edition is not one to open
    assert c.post("/auth/login", json={"uscc": uscc, "password": "Old-passw0rd"}).status_code == 401
    r = c.post("/auth/login", json={"uscc": uscc, "password": "Old-passw0rd", "edition": "CIIE-2027"})
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "unknown_edition", "edition")
    r = c.post("/auth/login", json={"uscc": uscc, "password": "Old-passw0rd", "edition": PREVIOUS})
    assert r.status_code == 200 and (r.json["edition"], r.json["read_only"]) == (PREVIOUS, True), r.json
    headers = {"Authorization": "Bearer " + r.json["token"]}

    # it reads its own records of that edition
    assert c.get("/units/me", headers=headers).json["id"] == old["unit_id"]
    people = c.get("/units/me/personnel", headers=headers).json
    assert {p["id"] for p in people["items"]} == {old["person_id"], old["unchecked_id"]}
    assert c.get("/units/me/progress", headers=headers).status_code == 200
    assert apps["billing"].get("/invoices", headers=headers).status_code == 200
    assert apps["billing"].get("/orders", headers=headers).status_code == 200
    assert apps["credentials"].get("/units/me/credentials", headers=headers).status_code == 200

    # and changes nothing, whatever the service
    closed = [
        c.post("/units/me/submit", headers=headers, json={"person_ids": [old["person_id"]]}),
        c.put("/units/me/info", headers=headers, json={"name_en": "Changed"}),
        c.patch("/units/me/info", headers=headers, json={"name_en": "Changed"}),
        c.delete(f"/units/me/personnel/{old['person_id']}", headers=headers),
        c.post("/units/me/personnel", headers=headers, json={}),
        apps["billing"].post("/orders", headers=headers, json={"person_ids": [old["person_id"]]}),
        apps["billing"].post("/orders/NO-SUCH/payments", headers=headers, json={}),
        apps["credentials"].post(f"/units/me/credentials/{old['credential_no']}/reissue-requests", headers=headers,
                                 json={"reason": "lost"}),
    ]
    for r in closed:
        assert (r.status_code, r.json["code"]) == (409, "edition_closed"), r.json
        assert r.json["message"] == "this edition is closed: its records can be read, not changed"
    assert c.get("/units/me", headers=headers).json["info"].get("name_en") == "Last Year Co"  # unchanged

    # by SMS code too
    r = c.post("/auth/login/sms", json={"phone": phone, "sms_code": sms_code(apps, phone, "login"), "edition": PREVIOUS})
    assert r.status_code == 200 and (r.json["unit_id"], r.json["read_only"]) == (old["unit_id"], True), r.json

    # a colleague (unit member) of that edition too
    r = c.post("/auth/member-login", json={"unit_code": old["unit_code"], "phone": member_phone,
                                           "password": "Member-passw0rd", "edition": PREVIOUS})
    assert r.status_code == 200 and r.json["read_only"] is True, r.json
    member = {"Authorization": "Bearer " + r.json["token"]}
    assert c.get("/units/me/quota", headers=member).status_code == 200
    r = c.post("/units/me/personnel", headers=member, json={})
    assert (r.status_code, r.json["code"]) == (409, "edition_closed")
    r = c.post("/auth/member-login", json={"unit_code": old["unit_code"], "phone": member_phone,
                                           "password": "Member-passw0rd"})
    assert r.status_code == 401  # not a unit of the active edition
