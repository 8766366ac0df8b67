"""Logins and sessions against real PostgreSQL and RabbitMQ: throttled password checks
answer 429 with Retry-After, and a session ends everywhere when its password is reset,
its admin deactivated, its colleague removed or its unit deleted."""
from __future__ import annotations

import uuid

from shared.auth import issue_token
from tests.infra import wait_for
from tests.integration.conftest import deps_of
from tests.integration.test_services import age_sms_codes, signed_up_unit
from tests.journey import random_phone



def committee() -> dict:
    return {"Authorization": "Bearer " + issue_token("committee-sessions", "organising_committee", "review")}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def ended_in(apps, pump, service: str, event: str, path: str, headers: dict) -> bool:
    """The service has heard of the revocation and refuses the token."""
    pump.drain(service, event)
    return apps[service].get(path, headers=headers).status_code == 401


def test_failed_unit_logins_are_throttled_from_that_address_only(apps):
    c = apps["registration"]
    _, _, uscc = signed_up_unit(apps)
    attacker, owner = {"X-Forwarded-For": "203.0.113.99"}, {"X-Forwarded-For": "192.0.2.44"}
    for _ in range(5):
        assert c.post("/auth/login", headers=attacker, json={"uscc": uscc, "password": "Wrong-pass1"}).status_code == 401
    r = c.post("/auth/login", headers=attacker, json={"uscc": uscc, "password": "Passw0rd!"})
    assert (r.status_code, r.json["code"]) == (429, "login_throttled")
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert c.post("/auth/login", headers=owner, json={"uscc": uscc, "password": "Passw0rd!"}).status_code == 200


def test_failed_admin_logins_are_throttled(apps):
    c = apps["review"]
    client = {"X-Forwarded-For": "203.0.113.98"}
    for _ in range(5):
        assert c.post("/admin/login", headers=client, json={"username": "admin", "password": "nope"}).status_code == 401
    r = c.post("/admin/login", headers=client, json={"username": "admin", "password": "Admin-passw0rd"})
    assert r.status_code == 429 and r.headers["Retry-After"]


def test_a_password_reset_ends_the_old_session_in_every_service(apps, pump, sms_inbox):
    c = apps["registration"]
    phone = random_phone()
    _, _, uscc = signed_up_unit(apps, phone=phone)
    old = bearer(c.post("/auth/login", json={"uscc": uscc, "password": "Passw0rd!"}).json["token"])
    assert c.get("/units/me", headers=old).status_code == 200
    assert apps["billing"].get("/payables", headers=old).status_code == 200
    age_sms_codes(minutes=2)
    c.post("/sms-codes", json={"phone": phone, "purpose": "reset_password"}, headers={"X-Forwarded-For": "192.0.2.3"})
    assert c.post("/auth/password-reset", json={"uscc": uscc, "phone": phone, "sms_code": sms_inbox.last(phone),
                                                "new_password": "N3w-password"}).status_code == 204
    r = c.get("/units/me", headers=old)
    assert (r.status_code, r.json["code"]) == (401, "unauthorized")  # at once where it was reset
    wait_for(lambda: ended_in(apps, pump, "billing", "TokensRevoked", "/payables", old), message="billing to hear")
    wait_for(lambda: ended_in(apps, pump, "notifications", "TokensRevoked", "/units/me/preferences", old),
             message="notifications to hear")
    new = bearer(c.post("/auth/login", json={"uscc": uscc, "password": "N3w-password"}).json["token"])
    assert c.get("/units/me", headers=new).status_code == 200
    assert apps["billing"].get("/payables", headers=new).status_code == 200


def test_a_deactivated_admin_is_out_everywhere_at_once(apps, pump):
    r = apps["review"]
    username = "ops-" + uuid.uuid4().hex[:8]
    admin = r.post("/admins", headers=committee(), json={"username": username, "password": "Ops-passw0rd!",
                                                       "role": "operations"}).json
    token = bearer(r.post("/admin/login", json={"username": username, "password": "Ops-passw0rd!"}).json["token"])
    assert apps["notifications"].get("/messages", headers=token).status_code == 200
    assert r.patch(f"/admins/{admin['id']}", headers=committee(), json={"active": False}).json["active"] is False
    assert r.get("/settings", headers=token).status_code in (401, 403)
    wait_for(lambda: ended_in(apps, pump, "notifications", "AdminTokensRevoked", "/messages", token),
             message="notifications to hear")
    assert r.post("/admin/login", json={"username": username, "password": "Ops-passw0rd!"}).status_code == 401


def test_an_admin_changes_their_password_and_keeps_only_the_new_session(apps):
    r = apps["review"]
    username = "fin-" + uuid.uuid4().hex[:8]
    r.post("/admins", headers=committee(), json={"username": username, "password": "Fin-passw0rd!", "role": "finance"})
    old = bearer(r.post("/admin/login", json={"username": username, "password": "Fin-passw0rd!"}).json["token"])
    wrong = r.post("/admin/password", headers=old, json={"current_password": "nope", "new_password": "New-passw0rd!"})
    assert wrong.status_code == 401
    changed = r.post("/admin/password", headers=old, json={"current_password": "Fin-passw0rd!",
                                                            "new_password": "New-passw0rd!"})
    assert changed.status_code == 200
    assert r.post("/admin/password", headers=old, json={"current_password": "New-passw0rd!",
                                                        "new_password": "Other-passw0rd!"}).status_code == 401
    assert r.post("/admin/password", headers=bearer(changed.json["token"]), json={
        "current_password": "New-passw0rd!", "new_password": "Other-passw0rd!"}).status_code == 200


def test_a_removed_colleague_and_a_deleted_unit_lose_their_sessions(apps, pump, sms_inbox):
    from services.registration.models import Member
    c = apps["registration"]
    unit_id, unit, _ = signed_up_unit(apps)
    code = c.get("/units/me", headers=unit).json["unit_code"]
    phone = random_phone()
    c.post("/sms-codes", json={"phone": phone, "purpose": "join"}, headers={"X-Forwarded-For": "192.0.2.5"})
    joined = c.post("/members/join", json={"unit_code": code, "name": "王五", "phone": phone,
                                           "sms_code": sms_inbox.last(phone), "password": "Colleague-1"}).json
    c.post("/units/me/members/approve", headers=unit, json={"member_ids": [joined["id"]]})
    member = bearer(c.post("/auth/member-login", json={"unit_code": code, "phone": phone,
                                                       "password": "Colleague-1"}).json["token"])
    assert c.get("/units/me/personnel", headers=member).status_code == 200
    assert c.delete(f"/units/me/members/{joined['id']}", headers=unit).json["status"] == "removed"
    assert c.get("/units/me/personnel", headers=member).status_code == 401
    r = c.post("/auth/member-login", json={"unit_code": code, "phone": phone, "password": "Colleague-1"})
    assert (r.status_code, r.json["code"]) == (403, "member_removed")
    with deps_of("registration").uow() as (s, _):
        assert s.get(Member, joined["id"]).token_version == 1
    unit_token = bearer(issue_token(unit_id, "unit_contact", "registration", unit_id=unit_id))
    from shared.events import make_event
    deps_of("review").broker.publish("review.events", "UnitDeleted",
                                     make_event("UnitDeleted", {"unit_id": unit_id}, producer="review"))
    wait_for(lambda: pump.drain("registration", "UnitDeleted") or
             c.get("/units/me", headers=unit_token).status_code == 401, message="the deletion to end the session")
