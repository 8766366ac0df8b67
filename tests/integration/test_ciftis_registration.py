"""The registration API under the CIFTIS profile: sign-up per visitor kind and its invitation
policy (the code claimed in review, its host organisation the unit's), the CIFTIS unit
fields, badge types per kind, online-only exhibitors without badges, sub-users (子用户).

The `apps` fixture is the session's, seeded as CIIE; registration reads its rules from the
active profile when a request arrives, so this module switches FAIR to ciftis for its own
tests (the edition and fair days registration booted with stay CIIE's: they are not what
is tested here) and back afterwards."""
from __future__ import annotations

import io
import os

import pytest

from services.review.domain import invitation_codes, organisations
from services.review.models import InvitationCode
from shared import fair as fairs
from shared.topology import handler_queue_name
from tests.integration.conftest import deps_of
from tests.integration.test_services import sms_code, unit_headers
from tests.journey import random_phone, random_resident_id, random_uscc
from tests.unit.test_ciftis_registration_rules import INTRODUCTION, ciftis_photo

DAY = "2026-11-06"  # a day of the edition registration booted with


@pytest.fixture(scope="module", autouse=True)
def ciftis(apps, pump):
    saved = os.environ.get("FAIR")
    os.environ["FAIR"] = "ciftis"
    fairs._cached.cache_clear()
    yield
    if saved is None:
        os.environ.pop("FAIR", None)
    else:
        os.environ["FAIR"] = saved
    fairs._cached.cache_clear()
    for event_type in ("UnitSubmitted", "PersonnelSubmitted", "TokensRevoked"):  # CIFTIS units: not for CIIE's tests
        pump.purge(handler_queue_name("review", event_type))


class ReviewClaims:
    """Stands in for the RPC to review: answers from review's own database, as its worker does."""

    def claim(self, code, unit_id, unit_name, uscc):
        with deps_of("review").uow() as (s, _):
            return invitation_codes.claim_answer(s, code, unit_id, unit_name, uscc)


@pytest.fixture(autouse=True)
def claims(monkeypatch):
    monkeypatch.setattr(deps_of("registration"), "invitation_codes", ReviewClaims())


def new_code(host: str = "FJ") -> str:
    with deps_of("review").uow() as (s, _):
        [issued] = invitation_codes.issue_invitation_codes(
            s, organisations.Actor("a", "organising_committee", None), host, 1)
        return issued.code


def signup_body(apps, **over) -> dict:
    phone = over.pop("phone", None) or random_phone()
    return {"uscc": random_uscc(), "password": "Passw0rd!", "name": "服务贸易示例公司", "category": "enterprise",
            "phone": phone, "email": "ciftis@example.cn", "sms_code": sms_code(apps, phone, "signup"),
            "privacy_consent": True, **over}


def signed_up(apps, kind: str = "exhibitor_onsite") -> tuple[dict, dict]:
    over = {"visitor_kind": kind}
    if kind != "attendee_open":
        over["host_invitation_code"] = new_code()
    r = apps["registration"].post("/units", json=signup_body(apps, **over))
    assert r.status_code == 201, r.json
    headers = unit_headers(r.json["unit_id"])
    return apps["registration"].get("/units/me", headers=headers).json, headers


CIFTIS_INFO = {"contact_name": "王经理", "contact_position": "市场总监", "contact_mobile": "13800138000",
               "contact_email": "wang@example.cn", "industry": "finance", "company_type": "domestic",
               "fortune500": False, "website": "https://example.cn", "introduction": INTRODUCTION,
               "purposes": ["find_partners"], "exhibition_content": "跨境支付服务", "exhibition_needs": "寻找合作伙伴"}


def person(**over) -> dict:
    return {"name": "张三", "gender": "male", "region_type": "mainland", "id_type": "resident_id",
            "id_number": random_resident_id(), "mobile": "13900139000", "entry_dates": [DAY],
            "exhibition_area": "finance", "privacy_consent": True, **over}


def test_ciftis_sign_up_follows_each_kinds_invitation_policy(apps):
    c = apps["registration"]
    body = signup_body(apps, visitor_kind="exhibitor_onsite")
    r = c.post("/units", json=body)
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "invitation_code_required", "host_invitation_code")
    code = new_code("FJ")
    r = c.post("/units", json={**body, "host_invitation_code": code})  # the SMS code was not spent
    assert r.status_code == 201, r.json
    unit = c.get("/units/me", headers=unit_headers(r.json["unit_id"])).json
    assert (unit["visitor_kind"], unit["delegation_id"]) == ("exhibitor_onsite", "FJ")  # the code's host
    with deps_of("review").uow() as (s, _):
        assert s.get(InvitationCode, code).used_by_unit_id == unit["id"]

    r = c.post("/units", json=signup_body(apps, visitor_kind="attendee_open", delegation_id="GD-GZ"))
    assert r.status_code == 201, r.json
    unit = c.get("/units/me", headers=unit_headers(r.json["unit_id"])).json
    assert (unit["visitor_kind"], unit["delegation_id"]) == ("attendee_open", None)  # the committee reviews it


@pytest.mark.parametrize("over,code,field", [
    ({"visitor_kind": "unit"}, "validation_error", "visitor_kind"),  # CIIE's kind
    ({"visitor_kind": "attendee_open", "category": "government"}, "invalid_category", "category"),
    ({"visitor_kind": "attendee_open", "host_invitation_code": "ABCD1234"}, "invitation_code_not_expected",
     "host_invitation_code"),
])
def test_ciftis_sign_up_bad_input(apps, over, code, field):
    r = apps["registration"].post("/units", json=signup_body(apps, **over))
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, code, field), r.json


def test_ciftis_online_exhibitor_submits_its_info_without_badges(apps):
    c = apps["registration"]
    unit, headers = signed_up(apps, "exhibitor_online")
    r = c.patch("/units/me/info", headers=headers, json={"company_type": "state_owned"})
    assert (r.status_code, r.json["field"]) == (400, "company_type")
    r = c.patch("/units/me/info", headers=headers, json={**CIFTIS_INFO, "introduction": "太短的简介"})
    assert r.status_code == 200, r.json
    assert r.json["info"]["company_type"] == "domestic" and r.json["info"]["fortune500"] is False
    r = c.post("/units/me/submit", headers=headers, json={})
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "introduction_too_short", "introduction")
    r = c.patch("/units/me/info", headers=headers, json={"introduction": "字" * 1001})
    assert (r.status_code, r.json["code"]) == (400, "introduction_too_long")
    assert c.patch("/units/me/info", headers=headers, json={"introduction": INTRODUCTION}).status_code == 200

    saved = c.post("/units/me/personnel", headers=headers, json=person())  # they use the online platform
    assert saved.status_code == 201, saved.json
    assert saved.json["requested_label"] is None
    r = c.post("/units/me/personnel", headers=headers, json=person(requested_label="exhibitor"))
    assert (r.status_code, r.json["code"]) == (400, "badge_type_not_allowed")
    r = c.post(f"/units/me/personnel/{saved.json['id']}/submit", headers=headers)
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "online_only_no_badge", "person_ids")
    r = c.post("/units/me/submit", headers=headers, json={"person_ids": [saved.json["id"]]})
    assert (r.status_code, r.json["code"]) == (400, "online_only_no_badge")
    r = c.post("/units/me/submit", headers=headers, json={})
    assert (r.status_code, r.json["status"]) == (200, "submitted"), r.json


def test_ciftis_exhibitor_badges_and_photo_rules(apps):
    c = apps["registration"]
    unit, headers = signed_up(apps, "exhibitor_onsite")
    r = c.post("/units/me/personnel", headers=headers, json=person(requested_label="buyer"))
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "badge_type_not_allowed", "requested_label")
    r = c.post("/units/me/personnel", headers=headers, json=person(exhibition_area="automobile"))  # a CIIE area
    assert (r.status_code, r.json["field"]) == (400, "exhibition_area")
    p = c.post("/units/me/personnel", headers=headers, json=person()).json
    assert p["requested_label"] == "exhibitor"

    def upload(content):
        return c.put(f"/units/me/personnel/{p['id']}/photo", headers=headers,
                     data={"photo": (io.BytesIO(content), "p.jpg")}, content_type="multipart/form-data")
    r = upload(ciftis_photo(480, 640))
    assert (r.status_code, r.json["code"]) == (400, "photo_too_small")
    assert upload(ciftis_photo()).status_code == 200
    assert c.patch("/units/me/info", headers=headers, json=CIFTIS_INFO).status_code == 200
    r = c.post("/units/me/submit", headers=headers, json={"person_ids": [p["id"]]})
    assert (r.status_code, r.json["status"]) == (200, "submitted"), r.json

    _, attendee = signed_up(apps, "attendee_invited")
    r = c.post("/units/me/personnel", headers=attendee, json=person(requested_label="buyer"))
    assert (r.status_code, r.json["requested_label"]) == (201, "buyer")
    assert c.post("/units/me/personnel", headers=attendee, json=person()).json["requested_label"] == "delegate"


def test_ciftis_sub_users_created_and_reset_by_the_unit_contact(apps, sms_inbox):
    c = apps["registration"]
    unit, headers = signed_up(apps)
    phone = random_phone()
    r = c.post("/units/me/members", headers=headers, json={"name": "王经理", "phone": phone})
    assert r.status_code == 201, r.json
    assert r.headers["Cache-Control"] == "no-store"
    member, first = r.json, r.json["initial_password"]
    assert member["status"] == "approved" and len(first) == 8 and phone not in str(member)

    def login(password):
        return c.post("/auth/member-login", json={"unit_code": unit["unit_code"], "phone": phone, "password": password})
    assert login(first).status_code == 200
    r = c.post("/units/me/members", headers=headers, json={"name": "x", "phone": random_phone(), "password": "abc"})
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "weak_password", "password")
    r = c.post("/units/me/members", headers=headers, json={"name": "李", "phone": random_phone(),
                                                             "password": "Chosen1234"})
    assert r.json["initial_password"] == "Chosen1234"

    r = c.post(f"/units/me/members/{member['id']}/reset-password", headers=headers)
    assert r.status_code == 204 and not r.data
    new = sms_inbox.last(phone)  # the new password went to the member's phone only
    assert new != first and login(first).status_code == 401 and login(new).status_code == 200
    listed = c.get("/units/me/members", headers=headers).json
    assert {m["name"] for m in listed} >= {"王经理", "李"} and all("*" in m["phone"] for m in listed)
    assert c.delete(f"/units/me/members/{member['id']}", headers=headers).status_code == 200
    assert login(new).status_code == 403
    r = c.post(f"/units/me/members/{member['id']}/reset-password", headers=headers)
    assert (r.status_code, r.json["code"]) == (409, "member_not_approved")
