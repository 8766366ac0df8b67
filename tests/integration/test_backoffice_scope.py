"""The back office's scoped reads against real PostgreSQL and RabbitMQ: review checks the
admin's part of the delegation tree on its own projection, then asks registration for the
unit's file, document, photos and people. An admin of one delegation sees nothing of
another: not in lists, not in files, not in photos, not in personnel or searches.

Registration's RPC answers are called in this process (conftest's RegistrationAnswers: the
worker's methods do nothing else), so the test needs no running worker."""
from __future__ import annotations

import io
import uuid

import pytest

from shared.auth import issue_token
from shared.topology import handler_queue_name
from tests.integration.conftest import deps_of
from tests.integration.test_services import sms_code, unit_headers
from tests.journey import photo_jpeg, random_phone, random_resident_id, random_uscc


def admin(role: str, delegation_id: str | None) -> dict:
    return {"Authorization": "Bearer " + issue_token(f"admin-{uuid.uuid4().hex[:6]}", role, "review",
                                                     delegation_id=delegation_id)}


def submitted_unit(apps, pump, delegation_id: str, person_name: str) -> dict:
    """A unit signed up, filled in, with a document and a person with a photo, submitted and
    delivered to review."""
    c = apps["registration"]
    uscc, phone = random_uscc(), random_phone()
    r = c.post("/units", json={"uscc": uscc, "password": "Passw0rd!", "name": f"范围测试{uscc[-4:]}",
                               "category": "enterprise", "phone": phone, "email": f"{uscc.lower()}@example.cn",
                               "delegation_id": delegation_id, "language": "zh",
                               "sms_code": sms_code(apps, phone, "signup"), "privacy_consent": True})
    assert r.status_code == 201, r.json
    unit_id = r.json["unit_id"]
    headers = unit_headers(unit_id)
    assert c.patch("/units/me/info", headers=headers, json={
        "name_en": "Scope", "registered_address": "Somewhere", "industry": "retail", "contact_name": "Li",
        "contact_mobile": "13800138000", "purposes": ["procure"], "registered_capital_10k_cny": "500",
        "nature": "private", "turnover_last_year_10k_usd": "120", "import_modes": ["general_trade"],
        "import_last_year_10k_usd": "30", "import_three_years_10k_usd": "80",
        "procurement_intentions": [{"area": "food_agriculture", "categories": ["dairy"]}]}).status_code == 200
    assert c.post("/units/me/addresses", headers=headers, json={
        "recipient": "李四", "phone": "13900139000", "province": "广东", "city": "广州", "detail": "天河路1号",
        "is_default": True}).status_code in (200, 201)
    id_number = random_resident_id()
    person = c.post("/units/me/personnel", headers=headers, json={
        "name": person_name, "gender": "male", "region_type": "mainland", "id_type": "resident_id",
        "id_number": id_number, "mobile": "13900139000", "entry_dates": ["2026-11-06"],
        "exhibition_area": "consumer_goods", "privacy_consent": True}).json
    assert c.put(f"/units/me/personnel/{person['id']}/photo", headers=headers, content_type="multipart/form-data",
                 data={"photo": (io.BytesIO(photo_jpeg()), "me.jpg")}).status_code == 200
    assert c.put("/units/me/document", headers=headers, content_type="multipart/form-data",
                 data={"document": (io.BytesIO(photo_jpeg(800, 600, "PNG")), "licence.png")}).status_code == 200
    r = c.post("/units/me/submit", headers=headers, json={"person_ids": [person["id"]]})
    assert r.status_code == 200, r.json
    for event in ("UnitSubmitted", "PersonnelSubmitted"):
        pump.drain("review", event)
    return {"unit_id": unit_id, "person_id": person["id"], "uscc": uscc, "id_number": id_number,
            "masked": person["id_number"]}


@pytest.fixture(scope="module")
def two_delegations(apps, pump):
    for event in ("UnitSubmitted", "PersonnelSubmitted"):
        pump.purge(handler_queue_name("review", event))
    return {"GD-GZ": submitted_unit(apps, pump, "GD-GZ", "广州人甲"), "FJ": submitted_unit(apps, pump, "FJ", "福建人乙")}


def test_a_delegation_reads_the_full_file_of_its_own_unit(apps, two_delegations):
    c, gz = apps["review"], two_delegations["GD-GZ"]
    r = c.get(f"/units/{gz['unit_id']}/file", headers=admin("delegation_secretariat", "GD"))
    assert r.status_code == 200, r.json
    file = r.json
    assert file["review"]["status"] == "pending" and file["unit"]["uscc"] == gz["uscc"]
    assert file["unit"]["info"]["name_en"] == "Scope" and file["document"]["content_type"] == "image/png"
    assert file["addresses"][0]["phone"] == "139****9000"  # masked
    [person] = file["personnel"]
    assert person["name"] == "广州人甲" and person["id_number"] == gz["masked"] and gz["id_number"] not in str(file)
    assert person["review_status"] == "submitted" and person["has_photo"]
    assert [h["action"] for h in file["history"]] == ["unit.submit"]
    document = c.get(f"/units/{gz['unit_id']}/document", headers=admin("sub_delegation_admin", "GD-GZ"))
    assert document.status_code == 200 and document.mimetype == "image/png" and document.data[:4] == b"\x89PNG"
    photo = c.get(f"/units/{gz['unit_id']}/personnel/{gz['person_id']}/photo", headers=admin("organising_committee",
                                                                                              None))
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.headers["Cache-Control"] == \
        "private, no-store"


@pytest.mark.parametrize("role,delegation,other", [
    ("delegation_secretariat", "GD", "FJ"), ("delegation_secretariat", "FJ", "GD-GZ"),
    ("sub_delegation_admin", "GD-FS", "GD-GZ")])
def test_an_admin_of_one_delegation_sees_nothing_of_another(apps, two_delegations, role, delegation, other):
    c, theirs, headers = apps["review"], two_delegations[other], admin(role, delegation)
    unit_id, person_id = theirs["unit_id"], theirs["person_id"]
    # lists
    for status in ("pending", "all"):
        queue = c.get("/queue", headers=headers, query_string={"status": status, "per_page": 200}).json
        assert unit_id not in [u["unit_id"] for u in queue["items"]]
    assert c.get("/queue", headers=headers, query_string={"q": theirs["uscc"], "status": "all"}).json["total"] == 0
    people = c.get("/personnel", headers=headers, query_string={"status": "all", "details": "true",
                                                                "per_page": 500}).json["items"]
    assert person_id not in [p["person_id"] for p in people]
    assert c.get("/personnel", headers=headers, query_string={"unit_id": unit_id, "status": "all"}).json["total"] == 0
    # the file, its document and photos
    assert c.get(f"/units/{unit_id}/file", headers=headers).status_code == 404
    assert c.get(f"/units/{unit_id}/document", headers=headers).status_code == 404
    assert c.get(f"/units/{unit_id}/personnel/{person_id}/photo", headers=headers).status_code == 404
    # searching a person by name, whole ID number, masked ID number or its last four characters
    for term in ("人乙" if other == "FJ" else "人甲", theirs["id_number"], theirs["masked"], theirs["id_number"][-4:]):
        found = c.get("/personnel/search", headers=headers, query_string={"q": term})
        assert found.status_code == 200 and person_id not in [p["person_id"] for p in found.json], term
    # a sub-delegation asked for by id outside the scope
    assert c.get("/personnel/search", headers=headers, query_string={"q": "人", "delegation_id": other}).status_code \
        == 404


def test_search_finds_ones_own_people_by_name_and_masked_id(apps, two_delegations):
    c, fj = apps["review"], two_delegations["FJ"]
    headers = admin("delegation_secretariat", "FJ")
    for term in ("福建人乙", fj["masked"], fj["id_number"], fj["id_number"][-4:]):
        found = c.get("/personnel/search", headers=headers, query_string={"q": term}).json
        assert [p["person_id"] for p in found] == [fj["person_id"]], term
        assert found[0]["id_number"] == fj["masked"] and found[0]["review_status"] == "submitted"
    page = c.get("/personnel", headers=headers, query_string={"status": "all", "details": "true"}).json
    mine = [p for p in page["items"] if p["person_id"] == fj["person_id"]]
    assert mine and mine[0]["name"] == "福建人乙" and mine[0]["id_number"] == fj["masked"]


def test_a_photo_is_given_only_with_its_own_unit(apps, two_delegations):
    """A photo asked through a unit in scope with a person of another unit is refused by
    registration: the scope on the unit cannot be borrowed for another unit's person."""
    c, gz, fj = apps["review"], two_delegations["GD-GZ"], two_delegations["FJ"]
    r = c.get(f"/units/{gz['unit_id']}/personnel/{fj['person_id']}/photo", headers=admin("delegation_secretariat",
                                                                                          "GD"))
    assert r.status_code == 404


def test_a_batch_decides_what_it_may_and_says_why_not_for_the_rest(apps, two_delegations):
    c, gz, fj = apps["review"], two_delegations["GD-GZ"], two_delegations["FJ"]
    r = c.post("/units/batch", headers=admin("sub_delegation_admin", "GD-GZ"),
               json={"action": "return", "unit_ids": [gz["unit_id"], fj["unit_id"]], "comment": "请补充营业执照"})
    assert r.status_code == 200
    outcome = {o["unit_id"]: o for o in r.json}
    assert outcome[gz["unit_id"]]["ok"] and outcome[gz["unit_id"]]["status"] == "returned"
    assert not outcome[fj["unit_id"]]["ok"] and outcome[fj["unit_id"]]["code"] == "not_found"
    file = c.get(f"/units/{gz['unit_id']}/file", headers=admin("delegation_secretariat", "GD")).json
    assert file["history"][-1]["action"] == "unit.return" and file["history"][-1]["comment"] == "请补充营业执照"
    assert c.post("/units/batch", headers=admin("sub_delegation_admin", "GD-GZ"),
                  json={"action": "approve", "unit_ids": []}).status_code == 400


def test_a_unit_deleted_from_the_back_office_goes_with_its_people_and_photos(apps, pump, two_delegations):
    """Registration deletes the photo before its person (PostgreSQL checks the foreign key)."""
    from services.registration.models import Person, PersonPhoto
    c, gz = apps["review"], two_delegations["GD-GZ"]
    assert c.post(f"/units/{gz['unit_id']}/delete", headers=admin("delegation_secretariat", "GD"),
                  json={"confirm": True}).status_code == 200
    outcomes = pump.drain("registration", "UnitDeleted")
    assert outcomes and all(o in ("applied", "duplicate") or "applied" in str(o) for o in outcomes), outcomes
    with deps_of("registration").uow() as (s, _):
        assert s.get(Person, gz["person_id"]) is None and s.get(PersonPhoto, gz["person_id"]) is None
    assert c.get(f"/units/{gz['unit_id']}/file", headers=admin("delegation_secretariat", "GD")).status_code == 404
