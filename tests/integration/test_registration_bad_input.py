"""Every bad input to the registration API gets a JSON 4xx naming the offending field."""
from __future__ import annotations

import io

import pytest

from tests.integration.test_services import signed_up_unit
from tests.journey import random_phone, random_resident_id, random_uscc


@pytest.fixture(scope="module")
def unit(apps):
    unit_id, headers, uscc = signed_up_unit(apps)
    return headers


def good_signup(**over):
    return {"uscc": random_uscc(), "password": "Passw0rd!", "name": "Bad Input Co", "category": "enterprise",
            "phone": random_phone(), "email": "x@example.cn", "delegation_id": "GD-GZ", "sms_code": "123456",
            "privacy_consent": True, **over}


SIGNUP_CASES = [
    ({"privacy_consent": False}, 400, "privacy_consent_required", "privacy_consent"),
    ({"identifier_type": "passport", "identifier": "E12345678", "region": "overseas", "visitor_kind": "unit"},
     400, "invalid_identifier_type", "identifier_type"),
    ({"uscc": "91350100M000100Y44"}, 400, "invalid_uscc", "uscc"),
    ({"uscc": "123"}, 400, "validation_error", "uscc"),
    ({"category": "spaceship"}, 400, "invalid_category", "category"),
    ({"region": "overseas", "category": "public_institution"}, 400, "invalid_category", "category"),
    ({"password": "short"}, 400, "weak_password", "password"),
    ({"phone": "abc"}, 400, "validation_error", "phone"),
    ({"email": "not-an-email"}, 400, "validation_error", "email"),
    ({"sms_code": "12"}, 400, "validation_error", "sms_code"),
    ({"sms_code": "123456"}, 400, "sms_code_expired", "sms_code"),
    ({"visitor_kind": "alien"}, 400, "validation_error", "visitor_kind"),
    ({"language": "fr"}, 400, "validation_error", "language"),
]


@pytest.mark.parametrize("over,status,code,field", SIGNUP_CASES)
def test_sign_up_bad_input(apps, over, status, code, field):
    r = apps["registration"].post("/units", json=good_signup(**over))
    assert (r.status_code, r.json["code"], r.json["field"]) == (status, code, field), r.json


def good_person(**over):
    return {"name": "张三", "region_type": "mainland", "id_type": "resident_id", "id_number": random_resident_id(),
            "entry_dates": ["2026-11-06"], **over}


PERSON_CASES = [
    ({"id_number": "110105194912310021"}, 400, "invalid_id_number", "id_number"),
    ({"id_type": "passport", "id_number": "E1234567"}, 400, "invalid_id_type", "id_type"),
    ({"region_type": "hk_macao", "id_type": "hk_macao_permit", "id_number": "X1234"}, 400, "invalid_id_number", "id_number"),
    ({"region_type": "mars"}, 400, "validation_error", "region_type"),
    ({"entry_dates": []}, 400, "entry_dates_required", "entry_dates"),
    ({"entry_dates": ["2026-12-01"]}, 400, "entry_date_outside_fair", "entry_dates"),
    ({"entry_dates": ["yesterday"]}, 400, "validation_error", "entry_dates.0"),
    ({"requested_label": "king"}, 400, "validation_error", "requested_label"),
    ({"exhibition_area": "moon"}, 400, "validation_error", "exhibition_area"),
    ({"pickup_method": "drone"}, 400, "validation_error", "pickup_method"),
    ({"email": "nope"}, 400, "validation_error", "email"),
    ({"name": ""}, 400, "validation_error", "name"),
]


@pytest.mark.parametrize("over,status,code,field", PERSON_CASES)
def test_add_person_bad_input(apps, unit, over, status, code, field):
    r = apps["registration"].post("/units/me/personnel", headers=unit, json=good_person(**over))
    assert (r.status_code, r.json["code"], r.json["field"]) == (status, code, field), r.json


def test_other_bad_inputs(apps, unit):
    c = apps["registration"]
    cases = [
        (c.patch("/units/me/info", headers=unit, json={"purposes": ["sightseeing"]}), 400, "purposes.0"),
        (c.patch("/units/me/info", headers=unit, json={"procurement_intentions": [{"area": "moon", "categories": []}]}),
         400, "procurement_intentions.0.area"),
        (c.patch("/units/me/info", headers=unit, json={"registered_capital_10k_cny": "-5"}), 400,
         "registered_capital_10k_cny"),
        (c.post("/units/me/addresses", headers=unit, json={"recipient": "Li"}), 400, "phone"),
        (c.post("/units/me/addresses", headers=unit, json={"recipient": "Li", "phone": "13800138000", "province": "广东",
                                                            "city": "广州", "detail": "x", "postcode": "12"}), 400, "postcode"),
        (c.put("/units/me/document", headers=unit, content_type="multipart/form-data",
               data={"document": (io.BytesIO(b"%PDF-1.4"), "l.pdf")}), 400, "document"),
        (c.get("/units/me/personnel", headers=unit, query_string={"page": 0}), 400, "page"),
        (c.get("/units/me/personnel/nope", headers=unit), 404, "person_id"),
        (c.post("/units/me/members/approve", headers=unit, json={"member_ids": []}), 400, "member_ids"),
        (c.post("/members/join", json={"unit_code": "X1", "name": "a", "phone": "13800138000", "sms_code": "1",
                                       "password": "Passw0rd!"}), 400, "unit_code"),
        (c.post("/auth/login", json={"uscc": random_uscc()}), 400, "password"),
        (c.post("/sms-codes", json={"phone": "13800138000", "purpose": "fun"}), 400, "purpose"),
        (c.post("/returning/verify", json={"method": "telepathy", "uscc": random_uscc()}), 400, "method"),
    ]
    for response, status, field in cases:
        assert response.status_code == status and response.json["field"] == field, response.json
        assert set(response.json) == {"code", "message", "field"}


def test_control_characters_in_names_are_refused_next_to_the_field(apps):
    c = apps["registration"]
    r = c.post("/units", json={"uscc": "91350100M000100Y43", "password": "Passw0rd!", "name": "Evil\r\nBcc: x@evil.cn",
                               "category": "enterprise", "phone": "13800138000", "sms_code": "123456",
                               "email": "a@example.cn", "delegation_id": "GD-GZ"})
    assert (r.status_code, r.json["code"], r.json["field"]) == (400, "validation_error", "name"), r.json
    assert "control characters" in r.json["message"]


def test_full_width_digits_are_not_digits(apps):
    r = apps["registration"].post("/sms-codes", json={"phone": "１３８００１３８０００", "purpose": "signup"})
    assert (r.status_code, r.json["field"]) == (400, "phone")


def test_huge_numbers_are_refused_not_crashed_on(apps):
    from shared.auth import issue_token
    unit = {"Authorization": "Bearer " + issue_token("u-big", "unit_contact", "registration", unit_id="u-big")}
    r = apps["registration"].get("/units/me/personnel", headers=unit, query_string={"page": "284784460357815872"})
    assert (r.status_code, r.json["field"]) == (400, "page")
    committee = {"Authorization": "Bearer " + issue_token("a", "organising_committee", "review")}
    r = apps["review"].patch("/delegations/GD-GZ", headers=committee, json={"target": 2320777526167158128640})
    assert (r.status_code, r.json["field"]) == (400, "target")


def test_a_payment_callback_with_a_non_ascii_sign_is_refused(apps):
    r = apps["billing"].post("/callbacks/sandbox", data={"txn_id": "T1", "out_trade_no": "V1", "total_fen": "1",
                                                         "trade_status": "TRADE_SUCCESS", "sign": "签名"})
    assert (r.status_code, r.json["field"]) == (400, "sign")
