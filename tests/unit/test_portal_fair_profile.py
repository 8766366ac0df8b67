"""The unit pages follow the fair profile: the same templates show CIIE's fields to CIIE units
and CIFTIS's to CIFTIS units (names, visitor kinds, the invitation code, unit fields, badge
types, the photo rule), with the profile swapped in `services.portal.profile`."""
from __future__ import annotations

import re

import pytest

from services.portal import profile as portal_profile
from services.portal.app import create_app
from services.portal.bootstrap import build
from shared.fair import load_profile
from tests.unit.test_portal import FakeApi, error_of, form_post, log_in, settings, unit


@pytest.fixture
def fake() -> FakeApi:
    api = FakeApi()
    api.on("GET", "/api/registration/delegations", 200, [
        {"id": "GD", "name": "广东交易团", "parent_id": None, "industry": False},
        {"id": "GD-GZ", "name": "广州市分团", "parent_id": "GD", "industry": False}])
    api.on("GET", "/api/registration/catalogue/procurement", 200, {"areas": []})
    api.on("GET", "/api/registration/units/me/quota", 200, {"labels": []})
    return api


@pytest.fixture
def ciftis(monkeypatch):
    chosen = load_profile("ciftis")
    monkeypatch.setattr(portal_profile, "fair", lambda: chosen)
    return chosen


def client_for(fake, edition="CIIE-2026"):
    app = create_app(build(settings(edition=edition), api_wsgi=fake))
    app.config["TESTING"] = True
    return app.test_client()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- header, footer, notices -------------------------------------------------------------------
def test_ciftis_header_footer_and_notices_name_the_fair(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    html = client.get("/").get_data(as_text=True)
    assert "服贸会" in html and "中国国际服务贸易交易会" in html and "参展参会注册报名" in html
    assert "进博会" not in html and "中国国际进口博览会" not in html
    assert "邀请码只能使用一次" in html  # the profile's notice
    client.get("/lang/en")
    html = client.get("/").get_data(as_text=True)
    assert "CIFTIS" in html and "China International Fair for Trade in Services" in html
    assert "Online-only exhibitors cannot apply for badges" in html and "CIIE" not in text_of(html)


def test_ciie_header_and_notices_are_unchanged(fake):
    html = client_for(fake).get("/").get_data(as_text=True)
    assert "进博会" in html and "中国国际进口博览会 · 专业观众报名" in html and "专业观众注册报名" in html
    assert "10 月中旬截止" in html and "服贸会" not in html


# --- sign-up ------------------------------------------------------------------------------------
def test_ciftis_register_page_offers_its_four_kinds_and_the_invitation_code(ciftis, fake):
    html = client_for(fake, "CIFTIS-2027").get("/register").get_data(as_text=True)
    for kind, word in (("exhibitor_onsite", "线上线下参展商"), ("exhibitor_online", "线上参展商"),
                       ("attendee_invited", "定向邀请"), ("attendee_open", "非受邀")):
        assert f'value="{kind}"' in html and word in html
    assert 'value="unit"' not in html and 'value="individual"' not in html
    assert 'name="host_invitation_code"' in html
    required = re.search(r'data-required-for-kind="([^"]*)"', html).group(1).split()
    shown = re.search(r'data-show-for-kind="([^"]*)"', html).group(1).split()
    assert {"exhibitor_onsite", "exhibitor_online", "attendee_invited"} <= set(required) and required == shown
    assert "attendee_open" not in shown  # no code: the field is hidden for it
    assert 'name="recommendation_code"' not in html and 'name="delegation_id"' not in html  # no delegations
    assert 'value="resident_id"' not in html  # no individuals at CIFTIS
    assert 'value="government"' not in html and 'value="other"' in html  # its categories


def test_ciftis_sign_up_needs_the_invitation_code_for_an_invited_kind(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    form = {"visitor_kind": "exhibitor_onsite", "region": "mainland", "category": "enterprise",
            "name": "示例服务有限公司", "identifier_type": "uscc", "uscc": "91350100M000100Y43",
            "email": "a@example.cn", "phone": "13800138000", "sms_code": "123456", "password": "Passw0rd1",
            "password_confirm": "Passw0rd1", "consent": "on"}
    r = form_post(client, "/register", form)
    assert r.status_code == 400 and "邀请码" in error_of(r.get_data(as_text=True), "host_invitation_code")
    assert not [c for c in fake.calls if c["path"] == "/api/registration/units"]

    fake.on("POST", "/api/registration/units", 201, {"unit_id": "u1", "unit_code": "T12345678", "status": "draft"})
    fake.on("POST", "/api/registration/auth/login", 200, {"token": "t" * 40, "unit_id": "u1"})
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind="exhibitor_onsite"))
    r = form_post(client, "/register", {**form, "host_invitation_code": "abcd2345efgh"})
    assert r.status_code == 302
    sent = fake.last("/api/registration/units")["json"]
    assert sent["visitor_kind"] == "exhibitor_onsite" and sent["host_invitation_code"] == "ABCD2345EFGH"
    assert sent["delegation_id"] is None and sent["recommendation_code"] is None


def test_ciftis_open_attendee_signs_up_without_a_code(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    fake.on("POST", "/api/registration/units", 201, {"unit_id": "u1", "unit_code": "T12345678", "status": "draft"})
    fake.on("POST", "/api/registration/auth/login", 200, {"token": "t" * 40, "unit_id": "u1"})
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind="attendee_open"))
    r = form_post(client, "/register", {
        "visitor_kind": "attendee_open", "region": "overseas", "category": "other", "name": "Example Ltd",
        "identifier_type": "registration_no", "uscc": "HK-1234567", "email": "a@example.com",
        "phone": "85212345678", "sms_code": "123456", "password": "Passw0rd1", "password_confirm": "Passw0rd1",
        "consent": "on", "host_invitation_code": "IGNORED1"})
    assert r.status_code == 302
    sent = fake.last("/api/registration/units")["json"]
    assert sent["visitor_kind"] == "attendee_open" and "host_invitation_code" not in sent


def test_ciie_register_page_keeps_its_kinds_delegations_and_recommendation_code(fake):
    html = client_for(fake).get("/register").get_data(as_text=True)
    assert 'value="unit"' in html and 'value="individual"' in html and 'name="recommendation_code"' in html
    assert 'name="delegation_id"' in html and 'name="host_invitation_code"' not in html
    assert 'value="government"' in html and 'value="resident_id"' in html


# --- unit information --------------------------------------------------------------------------
def test_ciftis_unit_info_shows_the_introduction_counter_and_company_types(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind="exhibitor_onsite"))
    log_in(client, fake)
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind="exhibitor_onsite",
                                                           info={"introduction": "服" * 60}))
    html = client.get("/unit/info").get_data(as_text=True)
    assert 'data-test="introduction-counter"' in html and "60/1000" in html
    assert 'maxlength="1000"' in html and 'minlength="50"' in html
    for code, word in (("domestic", "内资"), ("hk_macao_taiwan_invested", "港澳台商投资"),
                       ("foreign_invested", "外商投资")):
        assert f'value="{code}"' in html and word in html
    for name in ("fortune500", "fortune500_name", "website", "contact_position", "contact_email",
                 "exhibition_content", "exhibition_needs"):
        assert f'name="{name}"' in html, name
    for name in ("name_en", "registered_capital_10k_cny", "import_modes", "area_food_agriculture"):
        assert f'name="{name}"' not in html, name  # CIIE's fields are not CIFTIS's
    assert re.search(r'for="f-introduction">[^<]*<span class="req"', html)  # required by the kind

    fake.on("PATCH", "/api/registration/units/me/info", 200, unit())
    r = form_post(client, "/unit/info", {"company_type": "foreign_invested", "introduction": "介绍" * 30,
                                         "fortune500": "no", "contact_position": "经理",
                                         "contact_email": "li@example.cn", "exhibition_content": "云服务",
                                         "name_en": "not asked"})
    assert r.status_code == 302
    sent = fake.last("/api/registration/units/me/info")["json"]
    assert sent["company_type"] == "foreign_invested" and sent["fortune500"] is False
    assert sent["introduction"] == "介绍" * 30 and sent["exhibition_content"] == "云服务"
    assert sent["contact_position"] == "经理" and sent["contact_email"] == "li@example.cn"


def test_ciftis_attendee_info_has_no_exhibition_fields(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    log_in(client, fake)
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind="attendee_open"))
    html = client.get("/unit/info").get_data(as_text=True)
    assert 'name="introduction"' in html and 'name="exhibition_content"' not in html


def test_ciie_unit_info_keeps_its_fields(fake):
    client = client_for(fake)
    log_in(client, fake)
    html = client.get("/unit/info").get_data(as_text=True)
    for name in ("name_en", "registered_capital_10k_cny", "import_modes", "contact_name", "purposes"):
        assert f'name="{name}"' in html, name
    for name in ("introduction", "company_type", "fortune500", "exhibition_content"):
        assert f'name="{name}"' not in html, name


def test_ciftis_needs_no_qualification_document(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    log_in(client, fake)
    html = client.get("/unit/document").get_data(as_text=True)
    assert 'name="document"' not in html and "无需上传资质文件" in html


# --- personnel ----------------------------------------------------------------------------------
def personnel_client(fake, kind):
    client = client_for(fake, "CIFTIS-2027")
    log_in(client, fake)
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind=kind))
    return client


def test_ciftis_personnel_form_offers_the_exhibitor_badge_to_an_onsite_exhibitor(ciftis, fake):
    html = personnel_client(fake, "exhibitor_onsite").get("/personnel/new").get_data(as_text=True)
    options = re.findall(r'<option value="([a-z_]+)"', html.split('id="f-requested_label"')[1].split("</select>")[0])
    assert options == ["exhibitor"]
    assert "600×800 像素" in html  # the profile's photo rule
    assert 'data-test="online-only"' not in html
    assert 'value="telecom_it"' in html and "电信、计算机和信息服务" in html  # its exhibition areas


def test_ciftis_online_exhibitor_gets_no_badge_choice_and_no_submit(ciftis, fake):
    client = personnel_client(fake, "exhibitor_online")
    html = client.get("/personnel/new").get_data(as_text=True)
    assert 'name="requested_label"' not in html and 'data-test="online-only"' in html
    fake.on("GET", "/api/registration/units/me/personnel", 200,
            {"items": [], "total": 1, "page": 1, "per_page": 20})
    html = client.get("/personnel").get_data(as_text=True)
    assert 'data-test="online-only"' in html and 'data-test="batch-submit"' not in html
    fake.on("POST", "/api/registration/units/me/personnel", 201, {"id": "p1", "name": "张三"})
    r = form_post(client, "/personnel/new", {"region_type": "mainland", "name": "张三", "id_number": "x" * 18,
                                             "entry_dates": "2027-09-08"})
    assert r.status_code == 302 and "requested_label" not in fake.last("/api/registration/units/me/personnel")["json"]


def test_ciie_personnel_form_keeps_visitor_and_quota_badges(fake):
    client = client_for(fake)
    fake.on("GET", "/api/registration/units/me/quota", 200, {"labels": [
        {"label": "vip", "quota": 2, "applied": 0, "remaining": 2},
        {"label": "staff", "quota": 0, "applied": 0, "remaining": 0}]})
    log_in(client, fake)
    html = client.get("/personnel/new").get_data(as_text=True)
    select = html.split('id="f-requested_label"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([a-z_]+)"', select) == ["visitor", "vip"]
    assert "贵宾（剩余 2 个）" in select or "剩余 2" in select
    assert "480×640" in html and 'data-test="online-only"' not in html


# --- messages name the profile's numbers --------------------------------------------------------
def test_ciftis_photo_messages_name_its_rule(ciftis, fake):
    from services.portal.client import ApiProblem
    from services.portal.messages import problem_text
    app = create_app(build(settings(), api_wsgi=fake))
    with app.test_request_context("/"):
        assert "600×800" in problem_text(ApiProblem(400, "photo_wrong_size", "x", "photo"))
        assert "500KB" in problem_text(ApiProblem(400, "photo_too_large", "x", "photo"))
        assert "50KB" in problem_text(ApiProblem(400, "photo_file_too_small", "x", "photo"))
        assert "50" in problem_text(ApiProblem(400, "introduction_too_short", "x", "introduction"))
        assert "邀请码" in problem_text(ApiProblem(400, "invitation_code_required", "x", "host_invitation_code"))


def test_ciie_photo_messages_name_its_rule(fake):
    from services.portal.client import ApiProblem
    from services.portal.messages import problem_text
    app = create_app(build(settings(), api_wsgi=fake))
    with app.test_request_context("/"):
        assert "480×640" in problem_text(ApiProblem(400, "photo_too_small", "x", "photo"))
        assert "1MB" in problem_text(ApiProblem(400, "photo_too_large", "x", "photo"))


# --- sub-users (子用户) on the colleagues page ----------------------------------------------------
def test_the_contact_creates_a_sub_user_and_sees_the_initial_password_once(fake):
    client = client_for(fake)
    log_in(client, fake)
    member = {"id": "m1", "name": "王五", "phone": "139****0000", "status": "approved",
              "created_at": "2026-09-01T02:00:00+00:00"}
    fake.on("GET", "/api/registration/units/me/members", 200, [member])
    page = client.get("/unit/colleagues").get_data(as_text=True)
    assert 'data-test="create-member"' in page and 'data-test="reset-password"' in page
    assert 'data-test="initial-password"' not in page

    fake.on("POST", "/api/registration/units/me/members", 201, {**member, "initial_password": "Ab3dEf7h"})
    r = form_post(client, "/unit/colleagues", {"action": "create", "name": "王五", "phone": "13900000000"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Ab3dEf7h" in html and r.headers["Cache-Control"] == "private, no-store"
    sent = [c for c in fake.calls if c["path"] == "/api/registration/units/me/members" and c["method"] == "POST"]
    assert sent[-1]["json"] == {"name": "王五", "phone": "13900000000"}
    assert "Ab3dEf7h" not in client.get("/unit/colleagues").get_data(as_text=True)  # shown once

    fake.on("POST", "/api/registration/units/me/members/m1/reset-password", 204, None)
    r = form_post(client, "/unit/colleagues/m1/reset-password", {})
    assert r.status_code == 302 and "短信" in client.get("/unit/colleagues").get_data(as_text=True)
    fake.on("DELETE", "/api/registration/units/me/members/m1", 200, {**member, "status": "rejected"})
    assert form_post(client, "/unit/colleagues/m1/remove", {}).status_code == 302
    assert [c for c in fake.calls if c["method"] == "DELETE"]

    fake.on("POST", "/api/registration/units/me/members", 400,
            {"code": "validation_error", "message": "not a valid phone number", "field": "phone"})
    r = form_post(client, "/unit/colleagues", {"action": "create", "name": "王五", "phone": "12"})
    assert r.status_code == 400 and error_of(r.get_data(as_text=True), "phone")


def test_ciftis_submission_preview_lists_the_kinds_required_fields(ciftis, fake):
    client = client_for(fake, "CIFTIS-2027")
    log_in(client, fake)
    fake.on("GET", "/api/registration/units/me", 200, unit(visitor_kind="attendee_open", info={
        "company_type": "domestic", "fortune500": False, "contact_name": "李雷"}))
    fake.on("GET", "/api/registration/units/me/progress", 200, {"unit_id": "u1", "status": "draft",
                                                               "review_comment": None, "steps": []})
    fake.on("GET", "/api/registration/units/me/personnel", 200, {"items": [], "total": 0, "page": 1, "per_page": 200})
    html = text_of(client.get("/unit/submit").get_data(as_text=True))
    assert "公司类型 内资" in html and "是否为财富世界500强企业 否" in html
    missing = html.split("尚缺")[1]
    assert "公司简介" in missing and "联系人职务" in missing and "公司类型" not in missing.split("修改")[0]
    assert "单位名称（英文）" not in html  # CIIE's field


def test_ciftis_person_not_approved_shows_the_reviewers_reason(ciftis, fake):
    client = personnel_client(fake, "attendee_invited")
    fake.on("GET", "/api/registration/units/me/personnel/p1", 200, {
        "id": "p1", "name": "王伟", "status": "rejected", "review_comment": "照片不是本人近照",
        "region_type": "mainland", "id_type": "resident_id", "id_number": "1101**********1234", "gender": "male",
        "entry_dates": ["2027-09-08"], "exhibition_area": "finance", "pickup_method": "courier",
        "requested_label": "delegate", "label": None, "has_photo": False})
    r = client.get("/personnel/p1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:500]
    assert "审核未通过" in html and 'data-test="review-comment"' in html and "照片不是本人近照" in html
