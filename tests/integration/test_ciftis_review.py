"""The CIFTIS review path (承办机构账号使用指南) over HTTP against real PostgreSQL and
RabbitMQ: a host organisation registers its information and licence, the organising
committee returns it with a comment and then approves it, its admin issues invitation codes,
an enterprise signs up with one, the host organisation approves the enterprise and its
people first and the committee confirms them.

The in-process services run the default fair (CIIE); review is given the CIFTIS profile
here (its rules read the profile per call through `services.review.domain.fair_rules`),
registration keeps CIIE's forms."""
from __future__ import annotations

import io
import json
import uuid

import pytest
from sqlalchemy import select

from services.review.domain import fair_rules
from services.review.models import OutboxMessage
from shared.auth import issue_token
from shared.fair import load_profile
from tests.integration.conftest import deps_of
from tests.integration.test_review import ReviewClaims
from tests.integration.test_services import sms_code, unit_headers
from tests.journey import photo_jpeg, random_phone, random_resident_id, random_uscc
from tests.unit.test_ciftis_review_rules import HOST_INFO, licence_image

CIFTIS = load_profile("ciftis")


@pytest.fixture
def ciftis_review(monkeypatch):
    monkeypatch.setattr(fair_rules, "fair", lambda: CIFTIS)
    monkeypatch.setattr(deps_of("registration"), "invitation_codes", ReviewClaims())


def committee() -> dict:
    return {"Authorization": "Bearer " + issue_token(f"admin-oc-{uuid.uuid4().hex[:6]}", "organising_committee",
                                                     "review")}


def host_admin(c, host_id: str) -> dict:
    """The committee creates the host organisation's admin; the admin signs in."""
    username = f"host-{uuid.uuid4().hex[:8]}"
    r = c.post("/admins", headers=committee(), json={"username": username, "password": "Host-passw0rd",
                                                     "role": "host_organisation_admin", "delegation_id": host_id})
    assert r.status_code == 201, r.json
    r = c.post("/admin/login", json={"username": username, "password": "Host-passw0rd"})
    assert r.status_code == 200 and r.json["role"] == "host_organisation_admin", r.json
    return {"Authorization": "Bearer " + r.json["token"]}


def signed_up_with_code(apps, pump, code: str, people: int = 2) -> tuple[str, dict, list[str]]:
    """An enterprise signs up with the invitation code, fills in its unit, adds people and
    submits; review hears of it."""
    c = apps["registration"]
    uscc, phone = random_uscc(), random_phone()
    r = c.post("/units", json={"uscc": uscc, "password": "Passw0rd!", "name": f"服贸测试{uscc[-4:]}",
                               "category": "enterprise", "phone": phone, "email": f"{uscc.lower()}@example.cn",
                               "language": "zh", "host_invitation_code": code,
                               "sms_code": sms_code(apps, phone, "signup"), "privacy_consent": True})
    assert r.status_code == 201, r.json
    unit_id = r.json["unit_id"]
    headers = unit_headers(unit_id)
    assert c.patch("/units/me/info", headers=headers, json={
        "name_en": "CIFTIS Test", "registered_address": "Beijing", "industry": "retail", "contact_name": "Li",
        "contact_mobile": "13800138000", "purposes": ["procure"], "registered_capital_10k_cny": "500",
        "nature": "private", "turnover_last_year_10k_usd": "120", "import_modes": ["general_trade"],
        "import_last_year_10k_usd": "30", "import_three_years_10k_usd": "80",
        "procurement_intentions": [{"area": "food_agriculture", "categories": ["dairy"]}]}).status_code == 200
    assert c.post("/units/me/addresses", headers=headers, json={
        "recipient": "李四", "phone": "13900139000", "province": "北京", "city": "北京", "detail": "天辰东路7号",
        "is_default": True}).status_code in (200, 201)
    person_ids = []
    for i in range(people):
        person = c.post("/units/me/personnel", headers=headers, json={
            "name": f"服贸{i}", "gender": "male", "region_type": "mainland", "id_type": "resident_id",
            "id_number": random_resident_id(), "mobile": "13900139000", "entry_dates": ["2026-11-06"],
            "exhibition_area": "consumer_goods", "privacy_consent": True}).json
        assert c.put(f"/units/me/personnel/{person['id']}/photo", headers=headers,
                     content_type="multipart/form-data",
                     data={"photo": (io.BytesIO(photo_jpeg()), "me.jpg")}).status_code == 200
        person_ids.append(person["id"])
    assert c.put("/units/me/document", headers=headers, content_type="multipart/form-data",
                 data={"document": (io.BytesIO(photo_jpeg(800, 600, "PNG")), "licence.png")}).status_code == 200
    r = c.post("/units/me/submit", headers=headers, json={"person_ids": person_ids})
    assert r.status_code == 200, r.json
    for event in ("UnitSubmitted", "PersonnelSubmitted"):
        pump.drain("review", event)
    return unit_id, headers, person_ids


def review_events(event_type: str, person_id: str) -> list[dict]:
    with deps_of("review").uow() as (s, _):
        bodies = s.scalars(select(OutboxMessage.body).where(OutboxMessage.event_type == event_type))
        payloads = [json.loads(b)["payload"] for b in bodies]
    return [p for p in payloads if p.get("person_id") == person_id]


def test_ciftis_host_organisation_to_confirmed_people(apps, pump, ciftis_review):
    c = apps["review"]
    host_id = f"CF-T{uuid.uuid4().hex[:6].upper()}"
    oc = committee()
    r = c.post("/delegations", headers=oc, json={"id": host_id, "name": "测试专题承办机构"})
    assert r.status_code == 201 and r.json["two_level"], r.json
    host = host_admin(c, host_id)

    # 承办机构初次登录系统，需先提交承办机构基本信息
    mine = c.get("/host-organisation", headers=host).json
    assert (mine["id"], mine["status"], mine["has_licence"], mine["codes_allowed"]) == \
        (host_id, "awaiting_info", False, False)
    r = c.post(f"/delegations/{host_id}/invitation-codes", headers=host, json={"count": 3})
    assert (r.status_code, r.json["code"]) == (409, "host_organisation_not_approved")
    r = c.post(f"/delegations/{host_id}/invitation-codes", headers=oc, json={"count": 3})
    assert (r.status_code, r.json["code"]) == (409, "host_organisation_not_approved")

    r = c.put("/host-organisation", headers=host, json={k: v for k, v in HOST_INFO.items() if k != "website"})
    assert r.status_code == 200 and r.json["info"]["uscc"] == "n/a", r.json
    r = c.post("/host-organisation/submit", headers=host)
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "host_info_incomplete", "website")
    assert c.put("/host-organisation", headers=host, json={"website": HOST_INFO["website"]}).status_code == 200
    r = c.post("/host-organisation/submit", headers=host)
    assert (r.status_code, r.json["code"]) == (400, "licence_required")
    r = c.put("/host-organisation/licence", headers=host, content_type="multipart/form-data",
              data={"licence": (io.BytesIO(licence_image(301 * 1024)), "licence.jpg")})
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "licence_too_large", "licence")
    r = c.put("/host-organisation/licence", headers=host, content_type="multipart/form-data",
              data={"licence": (io.BytesIO(b"GIF89a not really"), "licence.gif")})
    assert r.status_code == 400 and r.json["code"] in ("licence_wrong_type", "not_an_image")
    r = c.put("/host-organisation/licence", headers=host, content_type="multipart/form-data",
              data={"licence": (io.BytesIO(licence_image(40_000)), "licence.jpg")})
    assert r.status_code == 200 and r.json["has_licence"]
    r = c.get("/host-organisation/licence", headers=host)
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data[:2] == b"\xff\xd8"
    r = c.post("/host-organisation/submit", headers=host)
    assert r.status_code == 200 and r.json["status"] == "pending"
    r = c.put("/host-organisation", headers=host, json={"name": "改名"})
    assert (r.status_code, r.json["code"]) == (409, "host_organisation_locked")

    # the organising committee returns it with a comment, then approves the corrected one
    assert c.get("/host-organisations", headers=host).status_code == 403
    listed = c.get("/host-organisations", headers=oc, query_string={"status": "pending"}).json
    assert host_id in [i["id"] for i in listed["items"]] and listed["total"] >= 1
    seen = c.get(f"/host-organisations/{host_id}", headers=oc).json
    assert seen["info"]["name"] == HOST_INFO["name"] and seen["has_licence"]
    assert c.get(f"/host-organisations/{host_id}/licence", headers=oc).status_code == 200
    assert c.post(f"/host-organisations/{host_id}/return", headers=oc, json={}).status_code == 400
    r = c.post(f"/host-organisations/{host_id}/return", headers=oc, json={"comment": "营业执照不清晰，请重新上传"})
    assert r.status_code == 200 and r.json["status"] == "returned"
    mine = c.get("/host-organisation", headers=host).json
    assert (mine["status"], mine["comment"]) == ("returned", "营业执照不清晰，请重新上传")
    assert c.put("/host-organisation/licence", headers=host, content_type="multipart/form-data",
                 data={"licence": (io.BytesIO(licence_image(60_000, "PNG")), "licence.png")}).status_code == 200
    assert c.post("/host-organisation/submit", headers=host).json["status"] == "pending"
    r = c.post(f"/host-organisations/{host_id}/approve", headers=oc)
    assert r.status_code == 200 and r.json["status"] == "approved" and r.json["codes_allowed"]
    actions = [a["action"] for a in c.get("/audit", headers=oc, query_string={"target_id": host_id}).json["items"]]
    assert {"host_organisation.return", "host_organisation.approve", "host_organisation.submit"} <= set(actions)

    # its admin issues invitation codes; an enterprise signs up with one
    r = c.post(f"/delegations/{host_id}/invitation-codes", headers=host, json={"count": 2})
    assert r.status_code == 201, r.json
    code = r.json[0]["code"]
    assert c.post("/delegations/CF-ELSEWHERE/invitation-codes", headers=host, json={"count": 1}).status_code == 404
    pump.drain("registration", "DelegationChanged")
    unit_id, unit, (kept, dropped) = signed_up_with_code(apps, pump, code)
    used = c.get(f"/delegations/{host_id}/invitation-codes", headers=host, query_string={"used": "true"}).json
    assert [u["code"] for u in used] == [code]

    # the host organisation approves first (审核中), the committee confirms
    assert unit_id in [u["unit_id"] for u in c.get("/queue", headers=host).json["items"]]
    r = c.post(f"/units/{unit_id}/approve", headers=host)
    assert r.status_code == 200 and r.json["status"] == "first_approved", r.json
    assert c.post(f"/units/{unit_id}/approve", headers=host).status_code == 403
    r = c.post(f"/units/{unit_id}/approve", headers=oc)
    assert r.status_code == 200 and r.json["status"] == "approved", r.json
    waiting = c.get("/personnel", headers=host, query_string={"unit_id": unit_id}).json["items"]
    assert sorted(p["person_id"] for p in waiting) == sorted([kept, dropped])
    assert review_events("PersonnelConfirmed", kept) == []  # people wait for their own review

    r = c.post("/personnel/approve", headers=host, json={"person_ids": [kept]})
    assert r.status_code == 200 and r.json[0]["status"] == "first_approved", r.json
    r = c.post("/personnel/reject", headers=host, json={"person_ids": [dropped], "reason": "非本机构邀请人员"})
    assert r.status_code == 200 and r.json[0]["status"] == "rejected", r.json
    first = c.get("/personnel", headers=oc, query_string={"status": "first_approved", "unit_id": unit_id}).json
    assert [p["person_id"] for p in first["items"]] == [kept]
    r = c.post("/personnel/confirm", headers=oc, json={"person_ids": [kept], "delegation_pays": False})
    assert (r.status_code, r.json["code"]) == (409, "personnel_review")
    r = c.post("/personnel/approve", headers=oc, json={"person_ids": [kept]})
    assert r.status_code == 200 and (r.json[0]["status"], r.json[0]["payer"]) == ("confirmed", "free"), r.json
    [confirmed] = review_events("PersonnelConfirmed", kept)
    assert (confirmed["payer"], confirmed["fee_fen"], confirmed["delegation_id"]) == ("free", 0, host_id)
    assert confirmed["label"] == r.json[0]["requested_label"]

    # the unit sees both outcomes
    for event in ("UnitApproved", "PersonnelConfirmed", "PersonnelRejected"):
        pump.drain("registration", event)
    reg = apps["registration"]
    people = {p["id"]: p for p in reg.get("/units/me/personnel", headers=unit).json["items"]}
    assert (people[kept]["payer"], people[kept]["status"]) == ("free", "awaiting_check")
    assert (people[dropped]["status"], people[dropped]["review_comment"]) == ("rejected", "非本机构邀请人员")


def test_ciftis_codes_of_an_unapproved_host_organisation_cannot_be_claimed(apps, pump, ciftis_review):
    from services.review.domain import invitation_codes, organisations
    from services.review.models import HostOrganisation
    c = apps["review"]
    host_id = f"CF-U{uuid.uuid4().hex[:6].upper()}"
    assert c.post("/delegations", headers=committee(), json={"id": host_id, "name": "未审核承办机构"}).status_code == 201
    with deps_of("review").uow() as (s, _):  # codes issued while approved, then the organisation under review again
        s.get(HostOrganisation, host_id).status = "approved"
        s.flush()
        [code] = invitation_codes.issue_invitation_codes(s, organisations.Actor("a", "organising_committee", None),
                                                         host_id, 1)
        s.get(HostOrganisation, host_id).status = "pending"
        code_text = code.code
    pump.drain("registration", "DelegationChanged")
    phone = random_phone()
    r = apps["registration"].post("/units", json={
        "uscc": random_uscc(), "password": "Passw0rd!", "name": "未受邀企业", "category": "enterprise",
        "phone": phone, "email": "x@example.cn", "language": "zh", "host_invitation_code": code_text,
        "sms_code": sms_code(apps, phone, "signup"), "privacy_consent": True})
    assert (r.status_code, r.json["code"], r.json["field"]) == (409, "host_organisation_not_approved",
                                                                "host_invitation_code")


@pytest.fixture
def whole_ciftis(monkeypatch, pump):
    """Every service in this process reads the CIFTIS profile (registration's forms too)."""
    from shared import fair as fairs
    monkeypatch.setenv("FAIR", "ciftis")
    fairs._cached.cache_clear()
    monkeypatch.setattr(deps_of("registration"), "invitation_codes", ReviewClaims())
    yield
    monkeypatch.delenv("FAIR")
    fairs._cached.cache_clear()


def approved_host(c) -> tuple[str, dict]:
    """A host organisation created by the committee, registered by its admin and approved."""
    host_id = f"CF-W{uuid.uuid4().hex[:6].upper()}"
    assert c.post("/delegations", headers=committee(), json={"id": host_id, "name": "整体测试承办机构"}).status_code == 201
    host = host_admin(c, host_id)
    assert c.put("/host-organisation", headers=host, json={**HOST_INFO, "name": "整体测试承办机构"}).status_code == 200
    assert c.put("/host-organisation/licence", headers=host, content_type="multipart/form-data",
                 data={"licence": (io.BytesIO(licence_image(30_000)), "licence.jpg")}).status_code == 200
    assert c.post("/host-organisation/submit", headers=host).status_code == 200
    assert c.post(f"/host-organisations/{host_id}/approve", headers=committee()).json["status"] == "approved"
    return host_id, host


def test_ciftis_whole_fair_exhibitor_and_people_on_two_levels(apps, pump, whole_ciftis):
    from tests.integration.test_ciftis_registration import CIFTIS_INFO, person
    from tests.unit.test_ciftis_registration_rules import ciftis_photo
    c, reg = apps["review"], apps["registration"]
    host_id, host = approved_host(c)
    code = c.post(f"/delegations/{host_id}/invitation-codes", headers=host, json={"count": 1}).json[0]["code"]
    pump.drain("registration", "DelegationChanged")
    phone = random_phone()
    r = reg.post("/units", json={"uscc": random_uscc(), "password": "Passw0rd!", "name": "服务贸易展商",
                                 "category": "enterprise", "phone": phone, "email": "ciftis@example.cn",
                                 "visitor_kind": "exhibitor_onsite", "host_invitation_code": code,
                                 "sms_code": sms_code(apps, phone, "signup"), "privacy_consent": True})
    assert r.status_code == 201, r.json
    unit_id, unit = r.json["unit_id"], unit_headers(r.json["unit_id"])
    assert reg.patch("/units/me/info", headers=unit, json=CIFTIS_INFO).status_code == 200
    p = reg.post("/units/me/personnel", headers=unit, json=person()).json
    assert p["requested_label"] == "exhibitor"
    assert reg.put(f"/units/me/personnel/{p['id']}/photo", headers=unit, content_type="multipart/form-data",
                   data={"photo": (io.BytesIO(ciftis_photo()), "p.jpg")}).status_code == 200
    r = reg.post("/units/me/submit", headers=unit, json={"person_ids": [p["id"]]})
    assert r.status_code == 200, r.json
    for event in ("UnitSubmitted", "PersonnelSubmitted"):
        pump.drain("review", event)

    assert c.post(f"/units/{unit_id}/approve", headers=host).json["status"] == "first_approved"
    assert c.post(f"/units/{unit_id}/approve", headers=committee()).json["status"] == "approved"
    assert c.post("/personnel/approve", headers=host, json={"person_ids": [p["id"]]}).json[0]["status"] \
        == "first_approved"
    confirmed = c.post("/personnel/approve", headers=committee(), json={"person_ids": [p["id"]]}).json[0]
    assert (confirmed["status"], confirmed["label"], confirmed["payer"]) == ("confirmed", "exhibitor", "free")
    [event] = review_events("PersonnelConfirmed", p["id"])
    assert (event["label"], event["payer"], event["fee_fen"]) == ("exhibitor", "free", 0)
    for event_type in ("UnitApproved", "PersonnelConfirmed"):
        pump.drain("registration", event_type)
    seen = reg.get("/units/me/personnel", headers=unit).json["items"][0]
    assert (seen["label"], seen["payer"], seen["status"]) == ("exhibitor", "free", "awaiting_check")
