"""Returning units over the registration API against PostgreSQL: previous-edition import,
the three verifications, carry-over, reuse and one-click invitations."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from shared.auth import issue_token
from tests.integration.test_services import age_sms_codes, sms_code
from tests.journey import random_phone, random_resident_id, random_uscc

def admin() -> dict:
    return {"Authorization": "Bearer " + issue_token("ops-1", "organising_committee", "review")}


def import_unit(apps, uscc: str, phone: str, email: str) -> None:
    r = apps["registration"].post("/admin/previous-editions/import", headers=admin(), json={
        "edition": "CIIE-2025", "units": [{
            "uscc": uscc, "name": f"Returning Co {uscc[-4:]}", "category": "enterprise", "delegation_id": "GD-GZ",
            "password": "Old-passw0rd", "contact_phone": phone, "contact_email": email,
            "info": {"name_en": "Returning Co", "registered_address": "Guangzhou", "industry": "retail"},
            "personnel": [{"id_number": random_resident_id(), "name": "赵六", "region_type": "mainland",
                           "id_type": "resident_id", "label": "visitor", "credential_no": "202500000042",
                           "check_passed": True, "card_face": {
                               "name": "赵六", "unit_name": f"Returning Co {uscc[-4:]}", "delegation_id": "GD-GZ",
                               "label": "visitor", "entry_days": [2]}}]}]})
    assert r.status_code == 200 and r.json == {"units": 1, "personnel": 1, "skipped": 0}, r.json


def test_import_needs_an_admin(apps):
    unit = {"Authorization": "Bearer " + issue_token("u", "unit_contact", "registration", unit_id="u")}
    r = apps["registration"].post("/admin/previous-editions/import", headers=unit, json={"edition": "CIIE-2025",
                                                                                        "units": []})
    assert r.status_code == 403


def test_returning_unit_verifies_signs_up_and_reuses_a_credential(apps, sms_inbox, email_outbox):
    c = apps["registration"]
    uscc, phone, email = random_uscc(), random_phone(), f"{uuid.uuid4().hex[:6]}@example.cn"
    import_unit(apps, uscc, phone, email)

    r = c.post("/returning/verify", json={"method": "password", "uscc": uscc, "password": "nope"})
    assert r.status_code == 401
    # by phone code
    code = sms_code(apps, phone, "returning")
    r = c.post("/returning/verify", json={"method": "sms", "uscc": uscc, "phone": phone, "sms_code": code})
    assert r.status_code == 200 and r.json["previous"]["info"]["name_en"] == "Returning Co"
    assert "*" in r.json["previous"]["contact_phone"]
    # by email code
    assert c.post("/returning/email-codes", json={"uscc": uscc}).status_code == 202
    mail = email_outbox.sent[-1]
    assert mail["to"] == email and mail["template"] == "email_code"
    r = c.post("/returning/verify", json={"method": "email", "uscc": uscc, "email_code": mail["variables"]["code"]})
    assert r.status_code == 200
    # by password, then sign up with the token
    token = c.post("/returning/verify", json={"method": "password", "uscc": uscc,
                                              "password": "Old-passw0rd"}).json["returning_token"]
    age_sms_codes(minutes=2)
    r = c.post("/units", json={"uscc": uscc, "password": "Passw0rd!", "name": f"Returning Co {uscc[-4:]}",
                               "category": "enterprise", "phone": phone, "email": email, "delegation_id": "GD-GZ",
                               "sms_code": sms_code(apps, phone, "signup"), "returning_token": token,
                               "privacy_consent": True})
    assert r.status_code == 201, r.json
    headers = {"Authorization": "Bearer " + c.post("/auth/login", json={"uscc": uscc, "password": "Passw0rd!"}).json["token"]}
    assert c.get("/units/me", headers=headers).json["info"]["registered_address"] == "Guangzhou"
    [old] = c.get("/units/me/previous-personnel", headers=headers).json
    assert old["reusable"] and "*" in old["id_number"]
    r = c.post(f"/units/me/previous-personnel/{old['id']}/reuse", headers=headers, json={"entry_dates": ["2026-11-07"]})
    assert (r.status_code, r.json["code"]) == (400, "reuse_not_allowed")  # day 3 is not on the card
    r = c.post(f"/units/me/previous-personnel/{old['id']}/reuse", headers=headers, json={"entry_dates": ["2026-11-06"]})
    assert r.status_code == 201 and r.json["status"] == "pending_lock" and r.json["reuse_credential_no"] == "202500000042"
    r = c.get("/units/me/personnel", headers=headers, query_string={"reuse": "true"})
    assert r.json["total"] == 1


def test_one_click_invitation_prefills_sign_up(apps, email_outbox):
    c = apps["registration"]
    uscc, phone, email = random_uscc(), random_phone(), f"{uuid.uuid4().hex[:6]}@example.cn"
    import_unit(apps, uscc, phone, email)
    r = c.post("/admin/previous-editions/invitations", headers=admin(), json={"edition": "CIIE-2025"})
    assert r.status_code == 200 and r.json["invited"] >= 1
    mail = next(m for m in email_outbox.sent if m["to"] == email)
    link = urlsplit(mail["variables"]["link"])  # the portal's sign-up page reads `invitation`
    assert (link.scheme, link.netloc, link.path) == ("http", "127.0.0.1:9", "/register")
    [token] = parse_qs(link.query)["invitation"]
    preview = c.get(f"/invitations/{token}").json
    assert preview["uscc"] == uscc and "*" in preview["contact_email"]
    assert c.get("/invitations/not-a-token").status_code == 404
    r = c.post("/units", json={"uscc": uscc, "password": "Passw0rd!", "name": preview["name"], "category": "enterprise",
                               "phone": phone, "email": email, "delegation_id": "GD-GZ",
                               "sms_code": sms_code(apps, phone, "signup"), "invitation_token": token,
                               "privacy_consent": True})
    assert r.status_code == 201, r.json


def test_carry_over_and_reuse_close_at_the_registration_deadline(apps, monkeypatch):
    import datetime as dt

    from tests.integration.conftest import deps_of
    c = apps["registration"]
    uscc, phone, email = random_uscc(), random_phone(), f"{uuid.uuid4().hex[:6]}@example.cn"
    import_unit(apps, uscc, phone, email)
    token = c.post("/returning/verify", json={"method": "password", "uscc": uscc,
                                              "password": "Old-passw0rd"}).json["returning_token"]
    r = c.post("/units", json={"uscc": uscc, "password": "Passw0rd!", "name": f"Returning Co {uscc[-4:]}",
                               "category": "enterprise", "phone": phone, "email": email, "delegation_id": "GD-GZ",
                               "sms_code": sms_code(apps, phone, "signup"), "returning_token": token,
                               "privacy_consent": True})
    assert r.status_code == 201, r.json
    headers = {"Authorization": "Bearer " + c.post("/auth/login", json={"uscc": uscc, "password": "Passw0rd!"}).json["token"]}
    [old] = c.get("/units/me/previous-personnel", headers=headers).json
    monkeypatch.setitem(deps_of("registration").deadlines, "submission", dt.datetime(2020, 1, 1))
    for action, body in (("carry-over", {"entry_dates": ["2026-11-06"]}), ("reuse", {"entry_dates": ["2026-11-06"]})):
        r = c.post(f"/units/me/previous-personnel/{old['id']}/{action}", headers=headers, json=body)
        assert (r.status_code, r.json["code"]) == (409, "deadline_passed"), (action, r.json)
        assert "Beijing time" in r.json["message"]
    assert c.get("/units/me/personnel", headers=headers).json["total"] == 0  # nothing was added
