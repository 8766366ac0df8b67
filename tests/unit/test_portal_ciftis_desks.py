"""The CIFTIS back-office desks with the fake API: the host organisation admin's page in each
status (info, licence, submit, codes once approved), the committee's list and detail of host
organisations (approve, return with a comment), the admin form offering the host
organisation admin role under CIFTIS only, the two-level personnel actions — and the CIIE
desks as they were."""
from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

import shared.fair
from services.portal.admin_menu import menu_for
from services.portal.app import create_app
from services.portal.bootstrap import build
from tests.unit.test_portal import TOKEN, FakeApi, csrf_of, error_of, form_post, settings

HOST = "CF-FINANCE"


@pytest.fixture
def ciftis(monkeypatch):
    monkeypatch.setenv("FAIR", "ciftis")
    shared.fair._cached.cache_clear()
    yield
    monkeypatch.delenv("FAIR")
    shared.fair._cached.cache_clear()


@pytest.fixture
def fake() -> FakeApi:
    api = FakeApi()
    api.on("GET", "/api/registration/delegations", 200, [
        {"id": "CF-CULTURE", "name": "文化服务专题承办机构", "parent_id": None, "industry": False},
        {"id": HOST, "name": "金融服务专题承办机构", "parent_id": None, "industry": False}])
    api.on("GET", "/api/review/delegations", 200, [
        {"id": "CF-CULTURE", "name": "文化服务专题承办机构", "parent_id": None},
        {"id": HOST, "name": "金融服务专题承办机构", "parent_id": None}])
    return api


@pytest.fixture
def client(fake):
    portal_app: Flask = create_app(build(settings(), api_wsgi=fake))
    portal_app.config["TESTING"] = True
    return portal_app.test_client()


def admin_log_in(client, fake: FakeApi, role: str, delegation: str | None = None):
    fake.on("POST", "/api/review/admin/login", 200, {"token": TOKEN, "role": role, "delegation_id": delegation})
    fake.on("GET", "/api/review/admin/me", 200, {
        "id": "a1", "username": "host-1", "role": role, "delegation_id": delegation,
        "delegation_name": None, "phone": None, "email": None})
    return form_post(client, "/admin/login", {"username": "host-1", "password": "Secret-pass1"})


def host(status: str = "awaiting_info", **changes: Any) -> dict[str, Any]:
    return {"id": HOST, "name": "金融服务专题承办机构", "status": status, "comment": None,
            "info": {"name": "金融服务专题承办机构", "name_en": "Finance host", "field": "金融服务", "industry": "金融",
                     "uscc": "n/a", "address": "北京市朝阳区", "postcode": "100020", "phone": "010-88886666",
                     "website": "https://example.cn"},
            "has_licence": status != "awaiting_info", "codes_allowed": status == "approved", **changes}


def sent(fake: FakeApi, method: str, path: str) -> list[dict[str, Any]]:
    return [c for c in fake.calls if c["method"] == method and c["path"] == path]


# --- the host organisation admin ---------------------------------------------------------------
def test_ciftis_host_admin_lands_on_its_organisation_page(ciftis, client, fake):
    fake.on("GET", "/api/review/host-organisation", 200, host())
    r = admin_log_in(client, fake, "host_organisation_admin", HOST)
    assert r.status_code == 302 and r.headers["Location"] == "/admin/host-organisation"
    endpoints = [item.endpoint for item in menu_for("host_organisation_admin")]
    assert {"admin.home", "admin_host.organisation", "admin_review.queue", "admin_personnel.index",
            "admin_quotas.codes"} <= set(endpoints) and "admin_host.queue" not in endpoints
    html = client.get("/admin/host-organisation").get_data(as_text=True)
    assert "承办机构管理员" in html  # the role in the header


@pytest.mark.parametrize("status,shown,absent", [
    ("awaiting_info", ['data-test="host-save"', 'data-test="host-submit"', "JPG/PNG，清晰完整，不超过 300 KB"],
     ['data-test="host-codes"']),
    ("pending", ['data-test="host-pending"', 'data-test="host-info-uscc"'],
     ['data-test="host-save"', 'data-test="host-submit"', 'data-test="host-codes"']),
    ("returned", ['data-test="host-comment"', "请补充营业执照", 'data-test="host-save"', 'data-test="host-submit"'],
     ['data-test="host-codes"']),
    ("approved", ['data-test="host-approved"', 'data-test="host-codes"', "1 个未使用"],
     ['data-test="host-save"', 'data-test="host-submit"']),
])
def test_ciftis_host_page_renders_each_status(ciftis, client, fake, status, shown, absent):
    fake.on("GET", "/api/review/host-organisation", 200, host(status, comment="请补充营业执照" if status == "returned"
                                                               else None))
    fake.on("GET", f"/api/review/delegations/{HOST}/invitation-codes", 200, [
        {"code": "AAAABBBBCCCC", "used": False}, {"code": "DDDDEEEEFFFF", "used": True}])
    admin_log_in(client, fake, "host_organisation_admin", HOST)
    r = client.get("/admin/host-organisation")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and f'data-status="{status}"' in html
    for text in shown:
        assert text in html, (status, text)
    for text in absent:
        assert text not in html, (status, text)


def test_ciftis_host_info_is_saved_and_a_field_error_is_shown_next_to_it(ciftis, client, fake):
    fake.on("GET", "/api/review/host-organisation", 200, host())
    admin_log_in(client, fake, "host_organisation_admin", HOST)
    fake.on("PUT", "/api/review/host-organisation", 200, host())
    info = {k: v for k, v in host()["info"].items()}
    r = form_post(client, "/admin/host-organisation", info)
    assert r.status_code == 302 and sent(fake, "PUT", "/api/review/host-organisation")[-1]["json"] == info
    fake.on("POST", "/api/review/host-organisation/submit", 422, {
        "code": "host_info_incomplete", "message": "fill in the address", "field": "address"})
    r = form_post(client, "/admin/host-organisation/submit", {})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "address") == "提交前请填写此项。"
    fake.on("POST", "/api/review/host-organisation/submit", 422, {
        "code": "host_info_incomplete", "message": "missing: address, phone", "field": "address"})
    html = form_post(client, "/admin/host-organisation/submit", {}).get_data(as_text=True)
    assert error_of(html, "address") == error_of(html, "phone") == "提交前请填写此项。"
    fake.on("PUT", "/api/review/host-organisation", 422, {
        "code": "invalid_uscc", "message": "give the 18-character unified social credit code, or n/a",
        "field": "uscc"})
    html = form_post(client, "/admin/host-organisation", {**info, "uscc": "123"}).get_data(as_text=True)
    assert error_of(html, "uscc") == "请填写 18 位统一社会信用代码，没有的填写 n/a。" and 'value="123"' in html


def test_ciftis_licence_errors_are_shown_next_to_the_field_in_the_users_language(ciftis, client, fake):
    fake.on("GET", "/api/review/host-organisation", 200, host())
    admin_log_in(client, fake, "host_organisation_admin", HOST)
    page = client.get("/admin/host-organisation").get_data(as_text=True)
    token = csrf_of(page)
    # too large: refused by the portal before the API, with the profile's rule as the hint
    r = client.post("/admin/host-organisation/licence", content_type="multipart/form-data", data={
        "csrf_token": token, "licence": (io.BytesIO(b"\xff\xd8" + b"x" * 310000), "licence.jpg", "image/jpeg")})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and error_of(html, "licence") == "营业执照图片太大。"
    assert "JPG/PNG，清晰完整，不超过 300 KB" in html and not sent(fake, "PUT", "/api/review/host-organisation/licence")
    fake.on("PUT", "/api/review/host-organisation/licence", 400, {
        "code": "licence_wrong_type", "message": "JPG or PNG only", "field": "licence"})
    r = client.post("/admin/host-organisation/licence", content_type="multipart/form-data", data={
        "csrf_token": token, "licence": (io.BytesIO(b"GIF89a"), "licence.gif", "image/gif")})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "licence") == "营业执照须为 JPG 或 PNG 图片。"
    client.get("/lang/en")
    fake.on("POST", "/api/review/host-organisation/submit", 409, {
        "code": "licence_required", "message": "upload the licence", "field": None})
    r = client.post("/admin/host-organisation/submit", data={"csrf_token": token})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "licence") == \
        "Upload the business licence before submitting."
    fake.on("PUT", "/api/review/host-organisation/licence", 200, host())
    r = client.post("/admin/host-organisation/licence", content_type="multipart/form-data", data={
        "csrf_token": token, "licence": (io.BytesIO(b"\x89PNG" + b"x" * 100), "licence.png", "image/png")})
    assert r.status_code == 302
    call = sent(fake, "PUT", "/api/review/host-organisation/licence")[-1]
    assert call["headers"]["Content-Type"].startswith("multipart/form-data")


def test_ciftis_codes_before_approval_say_why_on_the_codes_page(ciftis, client, fake):
    admin_log_in(client, fake, "host_organisation_admin", HOST)
    fake.on("GET", f"/api/review/delegations/{HOST}/invitation-codes", 409, {
        "code": "host_organisation_not_approved", "message": "not approved", "field": None})
    r = client.get("/admin/codes")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-test="codes-refused"' in html and "组委会尚未审核通过" in html
    assert "金融服务专题承办机构" in html and "文化服务专题承办机构" not in html  # its own organisation only


# --- the organising committee ------------------------------------------------------------------
def test_ciftis_committee_lists_host_organisations_waiting_for_review(ciftis, client, fake):
    fake.on("GET", "/api/review/host-organisations", 200, {"items": [
        {"id": HOST, "name": "金融服务专题承办机构", "status": "pending", "submitted_at": "2027-05-01T02:00:00+00:00"}],
        "total": 1})
    admin_log_in(client, fake, "organising_committee")
    assert "admin_host.queue" in [item.endpoint for item in menu_for("organising_committee")]
    r = client.get("/admin/host-organisations")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "金融服务专题承办机构" in html and "2027-05-01 10:00" in html
    assert sent(fake, "GET", "/api/review/host-organisations")[-1]["args"]["status"] == "pending"
    assert f'href="/admin/host-organisations/{HOST}"' in html
    home = client.get("/admin").get_data(as_text=True)
    assert 'data-key="hosts"' in home and "待审核的承办机构" in home


def test_ciftis_committee_sees_the_info_and_licence_and_approves(ciftis, client, fake):
    fake.on("GET", f"/api/review/host-organisations/{HOST}", 200, host("pending"))
    fake.on("GET", f"/api/review/host-organisations/{HOST}/licence", 200, b"\x89PNG-licence")
    fake.on("POST", f"/api/review/host-organisations/{HOST}/approve", 200, host("approved"))
    admin_log_in(client, fake, "organising_committee")
    html = client.get(f"/admin/host-organisations/{HOST}").get_data(as_text=True)
    assert "北京市朝阳区" in html and 'data-test="host-licence-image"' in html and 'data-test="host-approve"' in html
    image = client.get(f"/admin/host-organisations/{HOST}/licence")
    assert image.status_code == 200 and image.data == b"\x89PNG-licence"
    r = form_post(client, f"/admin/host-organisations/{HOST}/approve", {})
    assert r.status_code == 302 and r.headers["Location"] == "/admin/host-organisations"
    assert sent(fake, "POST", f"/api/review/host-organisations/{HOST}/approve")


def test_ciftis_committee_returns_with_a_comment_and_needs_one(ciftis, client, fake):
    fake.on("GET", f"/api/review/host-organisations/{HOST}", 200, host("pending"))
    fake.on("POST", f"/api/review/host-organisations/{HOST}/return", 200, host("returned"))
    admin_log_in(client, fake, "organising_committee")
    r = form_post(client, f"/admin/host-organisations/{HOST}/return", {"comment": ""})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "comment") == "请说明承办机构需要修改的内容。"
    assert not sent(fake, "POST", f"/api/review/host-organisations/{HOST}/return")
    r = form_post(client, f"/admin/host-organisations/{HOST}/return", {"comment": "营业执照不清晰"})
    assert r.status_code == 302
    assert sent(fake, "POST", f"/api/review/host-organisations/{HOST}/return")[-1]["json"] == {"comment": "营业执照不清晰"}


def test_ciftis_admin_form_offers_the_host_admin_role_and_creates_it(ciftis, client, fake):
    fake.on("POST", "/api/review/admins", 201, {"id": "a2", "username": "finance-host",
                                                "role": "host_organisation_admin", "delegation_id": HOST,
                                                "active": True})
    admin_log_in(client, fake, "organising_committee")
    html = client.get("/admin/admins").get_data(as_text=True)
    assert 'value="host_organisation_admin"' in html and "承办机构管理员" in html
    r = form_post(client, "/admin/admins", {"username": "finance-host", "password": "Host-passw0rd",
                                            "role": "host_organisation_admin", "delegation_id": ""})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "delegation_id")
    r = form_post(client, "/admin/admins", {"username": "finance-host", "password": "Host-passw0rd",
                                            "role": "host_organisation_admin", "delegation_id": HOST})
    assert r.status_code == 302 and sent(fake, "POST", "/api/review/admins")[-1]["json"] == {
        "username": "finance-host", "password": "Host-passw0rd", "role": "host_organisation_admin",
        "delegation_id": HOST}


def test_ciftis_personnel_are_approved_and_rejected_on_two_levels(ciftis, client, fake):
    fake.on("GET", "/api/review/personnel", 200, {"items": [
        {"person_id": "p1", "name": "王五", "id_number": "1101**********1234", "unit_id": "u1", "unit_name": "甲公司",
         "status": "awaiting_confirmation", "requested_label": None, "label": None}], "total": 1})
    fake.on("POST", "/api/review/personnel/approve", 200, [{"person_id": "p1", "status": "first_approved"}])
    fake.on("POST", "/api/review/personnel/reject", 200, [{"person_id": "p1", "status": "rejected"}])
    admin_log_in(client, fake, "host_organisation_admin", HOST)
    html = client.get("/admin/personnel").get_data(as_text=True)
    assert 'data-test="people-approve"' in html and 'data-test="people-reject"' in html
    assert 'data-test="confirm-delegation-pays"' not in html and 'data-test="tab-first_approved"' in html
    r = form_post(client, "/admin/personnel/batch", {"action": "approve", "person_ids": "p1"})
    assert r.status_code == 302 and sent(fake, "POST", "/api/review/personnel/approve")[-1]["json"] == {
        "person_ids": ["p1"]}
    r = form_post(client, "/admin/personnel/batch", {"action": "reject", "person_ids": "p1", "reason": ""})
    assert r.status_code == 302 and not sent(fake, "POST", "/api/review/personnel/reject")
    form_post(client, "/admin/personnel/batch", {"action": "reject", "person_ids": "p1", "reason": "照片不合格"})
    assert sent(fake, "POST", "/api/review/personnel/reject")[-1]["json"] == {"person_ids": ["p1"],
                                                                              "reason": "照片不合格"}
    client.get("/admin/personnel?status=first_approved")
    assert sent(fake, "GET", "/api/review/personnel")[-1]["args"]["status"] == "first_approved"


def test_ciftis_desks_name_the_host_organisation(ciftis, client, fake):
    assert "供承办机构、组委会" in client.get("/admin/login").get_data(as_text=True)
    fake.on("GET", "/api/review/queue", 200, {"items": [], "total": 0, "page": 1, "per_page": 20})
    admin_log_in(client, fake, "host_organisation_admin", HOST)
    assert "承办机构" in client.get("/admin/review").get_data(as_text=True)
    assert "交易团" not in client.get("/admin/review").get_data(as_text=True)


# --- CIIE as it was -----------------------------------------------------------------------------
def test_ciie_desks_keep_delegations_and_payment_confirmation(client, fake):
    assert shared.fair.fair().key == "ciie"
    assert "供交易团、组委会" in client.get("/admin/login").get_data(as_text=True)
    fake.on("GET", "/api/review/personnel", 200, {"items": [
        {"person_id": "p1", "name": "王五", "id_number": "1101**********1234", "unit_id": "u1", "unit_name": "甲公司",
         "status": "awaiting_confirmation", "requested_label": None, "label": None}], "total": 1})
    admin_log_in(client, fake, "organising_committee")
    assert "admin_host.queue" not in [item.endpoint for item in menu_for("organising_committee")]
    assert client.get("/admin/host-organisations").status_code == 404
    html = client.get("/admin/admins").get_data(as_text=True)
    assert 'value="delegation_secretariat"' in html and "host_organisation_admin" not in html
    html = client.get("/admin/personnel").get_data(as_text=True)
    assert 'data-test="confirm-delegation-pays"' in html and 'data-test="people-approve"' not in html
    assert 'data-test="tab-pending_lock"' in html and "交易团/分团" in html
    r = form_post(client, "/admin/personnel/batch", {"action": "approve", "person_ids": "p1"})
    assert r.status_code == 302 and not sent(fake, "POST", "/api/review/personnel/approve")


def test_ciftis_desk_urls_never_answer_a_server_error(ciftis, client, fake):
    from tests.unit.test_portal_admin import HOSTILE
    admin_log_in(client, fake, "organising_committee")
    for template in ("/admin/host-organisations?status={}&page={}", "/admin/host-organisations/{}",
                     "/admin/host-organisations/{}/licence", "/admin/personnel?status={}", "/admin/admins"):
        for value in HOSTILE:
            r = client.get(template.replace("{}", value[:1500]))
            assert r.status_code < 500, (template, value[:20], r.status_code)
    for value in HOSTILE:
        r = form_post(client, "/admin/admins", {"username": value, "password": value, "role": value,
                                                "delegation_id": value})
        assert r.status_code == 400
