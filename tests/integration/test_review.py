"""Review against real PostgreSQL and RabbitMQ: authorisation boundaries over HTTP and
the races that must have one winner."""
from __future__ import annotations

import io
import threading
import uuid

import pytest

from services.review.domain import invitation_codes, organisations, personnel
from services.review.models import ReviewPerson, UnitReview
from shared.auth import issue_token
from shared.errors import DomainError
from tests.integration.conftest import deps_of
from tests.journey import random_uscc


def token(role: str, delegation_id: str | None) -> dict:
    return {"Authorization": "Bearer " + issue_token(f"admin-{role}-{delegation_id}", role, "review",
                                                     delegation_id=delegation_id)}


def submitted_unit(delegation_id: str, category: str = "government", uscc: str | None = None) -> UnitReview:
    with deps_of("review").uow() as (s, _):
        review = UnitReview(unit_id=uuid.uuid4().hex, edition="CIIE-2026", uscc=uscc or random_uscc(), name="Unit",
                            category=category, region="mainland", delegation_id=delegation_id, status="pending",
                            automatic=False, submissions=1)
        s.add(review)
        return review


def test_admin_of_one_sub_delegation_cannot_see_or_act_on_another(apps):
    c = apps["review"]
    unit = submitted_unit("GD-FS")
    gz, fs, gd = token("sub_delegation_admin", "GD-GZ"), token("sub_delegation_admin", "GD-FS"), token(
        "delegation_secretariat", "GD")
    assert c.get(f"/units/{unit.unit_id}", headers=gz).status_code == 404
    assert unit.unit_id not in [i["unit_id"] for i in c.get("/queue", headers=gz).json["items"]]
    for path, body in ((f"/units/{unit.unit_id}/approve", None), (f"/units/{unit.unit_id}/return", {"comment": "x"}),
                       (f"/units/{unit.unit_id}/reassign", {"delegation_id": "GD-GZ"}),
                       (f"/units/{unit.unit_id}/delete", {"confirm": True})):
        assert c.post(path, headers=gz, json=body or {}).status_code == 404, path
    assert c.get("/statistics", headers=gz, query_string={"delegation_id": "GD-FS"}).status_code == 404
    assert unit.unit_id in [i["unit_id"] for i in c.get("/queue", headers=fs).json["items"]]
    assert unit.unit_id in [i["unit_id"] for i in c.get("/queue", headers=gd).json["items"]]
    assert c.get("/queue", headers=token("finance", None)).status_code == 403
    assert c.get("/queue").status_code == 401
    r = c.post(f"/units/{unit.unit_id}/approve", headers=fs)
    assert r.status_code == 200 and r.json["status"] == "approved"
    audit = c.get("/audit", headers=fs, query_string={"target_id": unit.unit_id}).json["items"]
    assert [a["action"] for a in audit] == ["unit.approve"] and audit[0]["before"]["status"] == "pending"
    assert c.get("/audit", headers=gz, query_string={"target_id": unit.unit_id}).json["items"] == []


def test_parallel_label_grants_never_exceed_the_quota(apps):
    rt = deps_of("review")
    uscc = random_uscc()
    unit = submitted_unit("GD-GZ", uscc=uscc)
    secretariat = organisations.Actor("a", "delegation_secretariat", "GD")
    quota, people = 3, 12
    with rt.uow() as (s, emit):
        personnel.set_quota(s, emit, secretariat, "CIIE-2026", uscc, vip=quota, staff=0)
        s.get(UnitReview, unit.unit_id).status = "approved"
        for i in range(people):
            s.add(ReviewPerson(person_id=f"{unit.unit_id}-{i}", unit_id=unit.unit_id, requested_label="vip",
                               status="awaiting_confirmation", fee_fen=0))
    barrier, outcomes = threading.Barrier(people), []

    def grant(i: int):
        barrier.wait()
        try:
            with rt.uow() as (s, emit):
                personnel.grant_label(s, emit, [f"{unit.unit_id}-{i}"], "vip", secretariat)
            outcomes.append("granted")
        except DomainError as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=grant, args=(i,)) for i in range(people)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert outcomes.count("granted") == quota and outcomes.count("quota_exhausted") == people - quota
    with rt.uow() as (s, _):
        assert personnel.quota_for(s, "CIIE-2026", uscc, lock=False).vip_used == quota


def test_two_enterprises_racing_for_one_invitation_code(apps):
    rt = deps_of("review")
    with rt.uow() as (s, _):
        [code] = invitation_codes.issue_invitation_codes(s, organisations.Actor("a", "organising_committee", None), "FJ", 1)
    barrier, outcomes = threading.Barrier(2), []

    def claim(name: str):
        barrier.wait()
        try:
            with rt.uow() as (s, _):
                invitation_codes.claim_invitation_code(s, code.code, uuid.uuid4().hex, name)
            outcomes.append(name)
        except DomainError as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("Alpha Co", "Beta Co")]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(outcomes, key=len)[0] in ("Alpha Co", "Beta Co") and "invitation_code_used" in outcomes
    listed = apps["review"].get("/delegations/FJ/invitation-codes", headers=token("organising_committee", None),
                                query_string={"used": "true"}).json
    winner = next(o for o in outcomes if o != "invitation_code_used")
    assert any(c["code"] == code.code and c["used_by_name"] == winner for c in listed)


def test_quota_import_and_weekly_report(apps):
    c = apps["review"]
    gd = token("delegation_secretariat", "GD")
    a, b = random_uscc(), random_uscc()
    csv_file = f"uscc,vip,staff\n{a},2,5\n{b},0,1\n".encode()
    r = c.post("/quotas/import", headers=gd, content_type="multipart/form-data",
               data={"file": (io.BytesIO(csv_file), "quotas.csv")})
    assert r.status_code == 200 and r.json == {"imported": 2}
    assert c.get(f"/quotas/{a}", headers=gd).json["staff"] == 5
    bad = c.post("/quotas/import", headers=gd, content_type="multipart/form-data",
                 data={"file": (io.BytesIO(b"name,count\n"), "q.csv")})
    assert (bad.status_code, bad.json["field"]) == (400, "file")
    unit_admin = token("sub_delegation_admin", "GD-GZ")
    assert c.post("/quotas/import", headers=unit_admin, content_type="multipart/form-data",
                  data={"file": (io.BytesIO(csv_file), "q.csv")}).status_code == 403
    report = c.get("/reports/weekly.csv", headers=gd)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "GD-GZ" in report.get_data(as_text=True) and "FJ," not in report.get_data(as_text=True)


@pytest.mark.parametrize("path,body,field", [
    ("/units/x/reject", {"reason": "no", "confirm": False}, "confirm"),
    ("/units/x/delete", {"confirm": False}, "confirm"),
    ("/units/x/return", {"comment": ""}, "comment"),
    ("/personnel/label", {"person_ids": ["p"], "label": "king"}, "label"),
    ("/personnel/confirm", {"person_ids": []}, "person_ids"),
])
def test_bad_review_input(apps, path, body, field):
    r = apps["review"].post(path, headers=token("organising_committee", None), json=body)
    assert r.status_code == 400 and r.json["field"] == field, r.json


def test_a_secretariat_reaches_only_its_own_units_quotas_and_moves_units_only_within_its_tree(apps):
    c = apps["review"]
    fujian_uscc, guangdong_uscc = random_uscc(), random_uscc()
    fujian_unit = submitted_unit("FJ", uscc=fujian_uscc)
    submitted_unit("GD-GZ", uscc=guangdong_uscc)
    gd, fj = token("delegation_secretariat", "GD"), token("delegation_secretariat", "FJ")
    assert c.put(f"/quotas/{fujian_uscc}", headers=fj, json={"vip": 2, "staff": 1}).status_code == 200
    assert c.get(f"/quotas/{fujian_uscc}", headers=gd).status_code == 404
    r = c.put(f"/quotas/{fujian_uscc}", headers=gd, json={"vip": 50, "staff": 50})
    assert (r.status_code, r.json["field"]) == (404, "uscc")
    assert c.get(f"/quotas/{fujian_uscc}", headers=fj).json["vip"] == 2  # untouched
    assert c.put(f"/quotas/{guangdong_uscc}", headers=gd, json={"vip": 1, "staff": 0}).status_code == 200
    unknown = random_uscc()  # a unit not registered yet: the first delegation to set it holds it
    assert c.put(f"/quotas/{unknown}", headers=gd, json={"vip": 1, "staff": 0}).status_code == 200
    assert c.get(f"/quotas/{unknown}", headers=fj).status_code == 404
    gd_unit = submitted_unit("GD-GZ")
    r = c.post(f"/units/{gd_unit.unit_id}/reassign", headers=gd, json={"delegation_id": "FJ"})
    assert r.status_code == 403
    assert c.post(f"/units/{gd_unit.unit_id}/reassign", headers=gd, json={"delegation_id": "GD-FS"}).status_code == 200
    committee = token("organising_committee", None)
    r = c.post(f"/units/{fujian_unit.unit_id}/reassign", headers=committee, json={"delegation_id": "GD-GZ"})
    assert r.status_code == 200


def test_recommendation_codes_and_budgets_are_for_admins_only(apps):
    c = apps["review"]
    public = c.get("/delegations").json
    assert public and all(set(d) == {"id", "name", "parent_id", "industry"} for d in public)
    admin = c.get("/delegations", headers=token("delegation_secretariat", "GD")).json
    assert next(d for d in admin if d["id"] == "GD")["recommendation_code"] == "Q2021089"
    assert "centralised_limit_fen" in admin[0]
    assert c.get("/delegations", headers={"Authorization": "Bearer forged"}).json == public


class ReviewClaims:
    """Stands in for the RPC from registration to review, answering from review's own
    database as review's worker does; it can lose the answer to one claim after review
    has made it (a timeout)."""

    def __init__(self):
        self.lose_next_answer, self.asked = False, 0

    def claim(self, code, unit_id, unit_name, uscc):
        from shared.errors import Unavailable
        self.asked += 1
        with deps_of("review").uow() as (s, _):
            answer = invitation_codes.claim_answer(s, code, unit_id, unit_name, uscc)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise Unavailable("invitation_codes_unavailable", "no answer", "host_invitation_code")
        return answer


def test_a_failed_sign_up_spends_neither_the_invitation_code_nor_the_sms_code(apps, monkeypatch):
    from tests.integration.test_services import signed_up_unit, sms_code
    from tests.journey import random_phone
    claims = ReviewClaims()
    monkeypatch.setattr(deps_of("registration"), "invitation_codes", claims)
    with deps_of("review").uow() as (s, _):
        [issued] = invitation_codes.issue_invitation_codes(s, organisations.Actor("a", "organising_committee", None),
                                                           "FJ", 1)
        code = issued.code
    c = apps["registration"]
    _, _, taken_uscc = signed_up_unit(apps)
    phone = random_phone()
    sms = sms_code(apps, phone, "signup")
    body = {"password": "Passw0rd!", "name": "Host Invited Co", "category": "enterprise", "phone": phone,
            "email": "invited@example.cn", "sms_code": sms, "host_invitation_code": code.lower(),
            "privacy_consent": True}

    def unused() -> bool:
        with deps_of("review").uow() as (s, _):
            return s.get(type(issued), code).used_by_unit_id is None

    r = c.post("/units", json={**body, "uscc": taken_uscc})
    assert (r.status_code, r.json["code"]) == (409, "uscc_taken")
    r = c.post("/units", json={**body, "uscc": random_uscc(), "referral_code": "RNOSUCH1"})
    assert (r.status_code, r.json["code"]) == (400, "unknown_referral_code")
    assert unused() and claims.asked == 0  # refused before review was asked

    uscc = random_uscc()
    claims.lose_next_answer = True  # review claims the code, its answer never arrives
    r = c.post("/units", json={**body, "uscc": uscc})
    assert (r.status_code, r.json["code"], r.json["field"]) == (503, "invitation_codes_unavailable",
                                                                "host_invitation_code")
    r = c.post("/units", json={**body, "uscc": uscc})  # the retry: the same SMS code, the same invitation code
    assert r.status_code == 201, r.json
    with deps_of("review").uow() as (s, _):
        assert s.get(type(issued), code).used_by_unit_id == r.json["unit_id"]
    unit = c.get("/units/me", headers={"Authorization": "Bearer " + c.post(
        "/auth/login", json={"uscc": uscc, "password": "Passw0rd!"}).json["token"]}).json
    assert unit["delegation_id"] == "FJ"
    other_phone = random_phone()
    r = c.post("/units", json={**body, "uscc": random_uscc(), "phone": other_phone,
                               "sms_code": sms_code(apps, other_phone, "signup")})
    assert (r.status_code, r.json["code"]) == (409, "invitation_code_used")
    r = c.post("/units", json={**body, "uscc": random_uscc()})  # the first phone's code was used by the sign-up
    assert (r.status_code, r.json["code"]) == (400, "sms_code_expired")
