"""The portal's pages with Flask's test client and a scripted stand-in for the APIs (called
in process): language, CSRF, sessions, API errors shown next to their fields, guards, and
hostile input that must never become a server error."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from services.portal.app import create_app
from services.portal.bootstrap import PortalSettings, build

TOKEN = "eyJ.fake.token-" + "x" * 40


class FakeApi:
    """Answers scripted (method, path) pairs as the gateway would; anything else is the
    APIs' JSON 404. Records what the portal sent."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.calls: list[dict[str, Any]] = []

    def on(self, method: str, path: str, status: int, body: Any = None) -> None:
        self.routes[(method, path)] = (status, body)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.calls.append({"method": request.method, "path": request.path, "headers": dict(request.headers),
                           "json": request.get_json(silent=True), "args": dict(request.args)})
        status, body = self.routes.get((request.method, request.path),
                                       (404, {"code": "not_found", "message": "no such route", "field": None}))
        if isinstance(body, bytes):
            return Response(body, status=status, mimetype="application/octet-stream")(environ, start_response)
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def last(self, path: str) -> dict[str, Any]:
        return [c for c in self.calls if c["path"] == path][-1]


def settings(**changes: Any) -> PortalSettings:
    values: dict[str, Any] = dict(
        api_url="http://unused", service_urls={}, secret_key=b"k" * 32, cookie_secure=False, proxy_hops=0,
        sandbox=False, edition="CIIE-2026", fair_days=(dt.date(2026, 11, 5), dt.date(2026, 11, 10)),
        deadlines={}, api_timeout=5.0, transfer_payee={"name": "P", "account": "1", "bank": "B"})
    values.update(changes)
    return PortalSettings(**values)


@pytest.fixture
def fake() -> FakeApi:
    api = FakeApi()
    api.on("GET", "/api/registration/delegations", 200, [
        {"id": "GD", "name": "广东交易团", "parent_id": None, "industry": False},
        {"id": "GD-GZ", "name": "广州市分团", "parent_id": "GD", "industry": False}])
    return api


@pytest.fixture
def app(fake):
    portal_app = create_app(build(settings(), api_wsgi=fake))
    portal_app.config["TESTING"] = True
    return portal_app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_post(client, path: str, data: dict[str, Any], **kwargs):
    token = csrf_of(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="error-text" id="f-{field}-error"\s*>([^<]*)</p>', html)
    return found.group(1).strip() if found else ""


def log_in(client, fake: FakeApi, role: str = "unit_contact") -> None:
    fake.on("GET", "/api/registration/units/me", 200, unit())
    if role == "unit_contact":
        fake.on("POST", "/api/registration/auth/login", 200, {"token": TOKEN, "unit_id": "u1"})
        r = form_post(client, "/login", {"uscc": "91350100M000100Y43", "password": "Passw0rd!"})
    else:
        fake.on("POST", "/api/registration/auth/member-login", 200, {"token": TOKEN, "unit_id": "u1"})
        r = form_post(client, "/login/colleague", {"unit_code": "T12345678", "phone": "13800138000",
                                                   "password": "Passw0rd!"})
    assert r.status_code == 302


def unit(**changes: Any) -> dict[str, Any]:
    return {"id": "u1", "uscc": "91350100M000100Y43", "unit_code": "T12345678", "name": "示例有限公司",
            "visitor_kind": "unit", "region": "mainland", "category": "enterprise", "delegation_id": "GD-GZ",
            "status": "draft", "review_comment": None, "referral_code": "R1", "contact_phone": "138****8000",
            "contact_email": "c***@example.cn", "info": {}, **changes}


# --- language --------------------------------------------------------------------------------
def test_home_is_chinese_by_default_and_english_by_switch(client):
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="zh-CN">' in html and "专业观众注册报名" in html
    switched = client.get("/lang/en?next=/help")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/help")
    assert "HttpOnly" in switched.headers["Set-Cookie"] and "SameSite=Lax" in switched.headers["Set-Cookie"]
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Professional visitor registration" in html and "专业观众注册报名" not in html
    assert "中文" in html  # the way back is always on the page
    client.get("/lang/zh")
    assert "专业观众注册报名" in client.get("/").get_data(as_text=True)


def test_home_shows_the_fee_review_charges_and_copes_without_it(fake):
    fake.on("GET", "/api/review/edition", 200, {"edition": "CIIE-2026", "fee_fen": 35000})
    client = create_app(build(settings(), api_wsgi=fake)).test_client()
    assert "¥350.00" in client.get("/").get_data(as_text=True)
    client.get("/")
    assert len([c for c in fake.calls if c["path"] == "/api/review/edition"]) == 1  # remembered a minute

    fake.on("GET", "/api/review/edition", 503, {"code": "unavailable", "message": "down", "field": None})
    client = create_app(build(settings(), api_wsgi=fake)).test_client()
    html = client.get("/").get_data(as_text=True)
    assert "¥350.00" not in html and "缴费时每人的费用会显示" in html


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        r = client.get("/lang/en", query_string={"next": target})
        assert r.status_code == 302 and r.headers["Location"] in ("/", "http://localhost/"), target
    assert client.get("/lang/xx").status_code == 302  # an unknown language changes nothing


def test_every_translation_is_filled_and_compiled():
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po
    folder = Path(__file__).resolve().parents[2] / "services/portal/translations/zh/LC_MESSAGES"
    po = read_po((folder / "messages.po").open("rb"))
    missing = [m.id for m in po if m.id and not m.string]
    assert missing == []
    mo = {m.id: m.string for m in read_mo((folder / "messages.mo").open("rb")) if m.id}
    assert mo == {m.id: m.string for m in po if m.id}, "run pybabel compile -d services/portal/translations"


# --- CSRF, cookies, headers ---------------------------------------------------------------------
def test_a_form_without_its_csrf_token_is_refused(client, fake):
    fake.on("POST", "/api/registration/auth/login", 200, {"token": TOKEN, "unit_id": "u1"})
    r = client.post("/login", data={"uscc": "91350100M000100Y43", "password": "Passw0rd!"})
    assert r.status_code == 400 and "表单已失效" in r.get_data(as_text=True)
    assert not [c for c in fake.calls if c["path"] == "/api/registration/auth/login"]
    r = client.post("/logout")
    assert r.status_code == 400


def test_the_token_lives_only_in_the_httponly_session_cookie(client, fake):
    fake.on("GET", "/api/registration/units/me", 200, unit())
    fake.on("POST", "/api/registration/auth/login", 200, {"token": TOKEN, "unit_id": "u1"})
    r = form_post(client, "/login", {"uscc": "91350100M000100Y43", "password": "Passw0rd!"})
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("accr_portal=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    fake.on("GET", "/api/registration/units/me/progress", 200, {"unit_id": "u1", "status": "draft",
                                                               "review_comment": None, "steps": steps()})
    fake.on("GET", "/api/registration/units/me/personnel", 200, {"items": [], "total": 0, "page": 1, "per_page": 1})
    page = client.get("/unit")
    assert page.status_code == 200 and TOKEN not in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    sent = fake.last("/api/registration/units/me/progress")["headers"]
    assert sent["Authorization"] == f"Bearer {TOKEN}" and sent["Accept-Language"] == "zh"


def test_secure_cookies_when_configured(fake):
    secure = create_app(build(settings(cookie_secure=True), api_wsgi=fake)).test_client()
    r = secure.get("/login", base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"]


def steps(done: int = 1) -> list[dict[str, Any]]:
    names = ["account", "unit_info", "personnel", "delegation_review", "payment", "personnel_check",
             "production", "distribution"]
    return [{"step": i + 1, "name": n, "done": i < done, "count": 0, "total": 0} for i, n in enumerate(names)]


# --- API errors in the user's language, next to their field ------------------------------------------
def test_login_failure_is_shown_next_to_the_password(client, fake):
    fake.on("POST", "/api/registration/auth/login", 401,
            {"code": "unauthorized", "message": "wrong USCC or password", "field": None})
    r = form_post(client, "/login", {"uscc": "91350100M000100Y43", "password": "nope"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and error_of(html, "password") == "统一社会信用代码或密码错误。"
    assert re.search(r'id="f-password"[^>]*aria-describedby="f-password-error"[^>]*aria-invalid="true"', html)


def test_sign_up_errors_by_code_in_chinese_and_english(client, fake):
    fake.on("POST", "/api/registration/units", 400, {"code": "invalid_uscc", "message": "USCC check", "field": "uscc"})
    form = {"region": "mainland", "category": "enterprise", "delegation_id": "GD-GZ", "name": "示例", "uscc": "X" * 18,
            "email": "a@example.cn", "phone": "13800138000", "sms_code": "123456", "password": "Passw0rd!",
            "password_confirm": "Passw0rd!", "consent": "on"}
    html = form_post(client, "/register", form).get_data(as_text=True)
    assert error_of(html, "uscc") == "统一社会信用代码不正确：校验位不符。"
    assert 'value="示例"' in html and "Passw0rd" not in html  # values kept, never the password
    client.get("/lang/en")
    html = form_post(client, "/register", form).get_data(as_text=True)
    assert error_of(html, "uscc") == "The unified social credit code is not valid: its check character does not match."


def test_validation_errors_and_unknown_codes(client, fake):
    fake.on("POST", "/api/registration/units", 400,
            {"code": "validation_error", "message": "Not a valid email address.", "field": "email"})
    form = {"delegation_id": "GD-GZ", "name": "示例", "uscc": "X" * 18, "email": "bad", "phone": "13800138000",
            "sms_code": "123456", "password": "Passw0rd!", "password_confirm": "Passw0rd!", "consent": "on"}
    assert error_of(form_post(client, "/register", form).get_data(as_text=True), "email") == "请输入有效的电子邮箱。"
    fake.on("POST", "/api/registration/units", 409, {"code": "brand_new_code", "message": "Something new", "field": "name"})
    assert error_of(form_post(client, "/register", form).get_data(as_text=True), "name") == "Something new"
    fake.on("POST", "/api/registration/units", 400, {"code": "sms_code_wrong", "message": "x", "field": "sms_code"})
    assert error_of(form_post(client, "/register", form).get_data(as_text=True), "sms_code") == "验证码不正确。"


def test_portal_checks_before_the_api_passwords_and_consent(client, fake):
    form = {"delegation_id": "GD-GZ", "name": "示例", "uscc": "X" * 18, "email": "a@example.cn",
            "phone": "13800138000", "sms_code": "123456", "password": "Passw0rd!", "password_confirm": "Other1234"}
    html = form_post(client, "/register", form).get_data(as_text=True)
    assert error_of(html, "password_confirm") == "两次输入的密码不一致。"
    assert error_of(html, "consent") == "请阅读并同意隐私条款。"
    assert not [c for c in fake.calls if c["path"] == "/api/registration/units"]


def test_send_code_button_keeps_the_form_and_passes_the_client_address(client, fake):
    fake.on("POST", "/api/registration/sms-codes", 202, {"expires_in": 300, "resend_after": 60})
    form = {"name": "示例", "phone": "13800138000", "action": "send_code"}
    html = form_post(client, "/register", form, environ_base={"REMOTE_ADDR": "203.0.113.9"}).get_data(as_text=True)
    assert 'value="示例"' in html and "验证码已发送至 138****8000" in html and re.search(r'data-wait="(59|60)"', html)
    call = fake.last("/api/registration/sms-codes")
    assert call["json"] == {"phone": "13800138000", "purpose": "signup"}
    assert call["headers"]["X-Forwarded-For"] == "203.0.113.9"
    fake.on("POST", "/api/registration/sms-codes", 429,
            {"code": "sms_too_soon", "message": "wait", "field": "phone"})
    token = csrf_of(client.get("/register").get_data(as_text=True))
    r = client.post("/sms-code", data={"phone": "13800138000", "purpose": "signup"}, headers={"X-CSRFToken": token})
    assert r.status_code == 400 and r.json["message"] == "请等待一分钟后再获取验证码。" and r.json["wait"] > 0


# --- guards ----------------------------------------------------------------------------------------------
def test_pages_of_the_unit_need_a_login(client):
    for path in ("/unit", "/unit/info", "/personnel", "/orders", "/badges", "/invoices", "/refunds",
                 "/unit/colleagues"):
        r = client.get(path)
        assert r.status_code == 302 and "/login?next=" in r.headers["Location"], path


def test_a_colleague_sees_only_what_a_member_may(client, fake):
    log_in(client, fake, role="unit_member")
    for path in ("/unit", "/orders", "/badges", "/unit/colleagues", "/refunds"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/personnel"), path
    fake.on("GET", "/api/registration/units/me/personnel", 200, {"items": [], "total": 0, "page": 1, "per_page": 20})
    html = client.get("/personnel").get_data(as_text=True)
    assert "我的人员信息" in html and "batch-submit" not in html and "/orders" not in html


def test_an_expired_session_goes_back_to_the_login(client, fake):
    log_in(client, fake)
    fake.on("GET", "/api/registration/units/me", 401, {"code": "unauthorized", "message": "token expired",
                                                       "field": None})
    r = client.get("/unit")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/unit").status_code == 302  # signed out


def test_a_service_that_does_not_answer_is_a_503_page(fake):
    portal = create_app(build(settings(api_url="http://127.0.0.1:9")))  # nothing listens there
    r = portal.test_client().get("/register")
    assert r.status_code == 503 and "服务暂时不可用" in r.get_data(as_text=True)


def test_a_tampered_payment_link_is_a_404(client, fake):
    log_in(client, fake)
    fake.on("GET", "/api/billing/orders/V1", 200, {"order_no": "V1", "amount_fen": 20000, "status": "unpaid",
                                                  "person_ids": []})
    assert client.get("/orders/V1/qr?t=forged").status_code == 404
    assert client.get("/orders/V1/qr.png?t=forged").status_code == 404


def test_sandbox_pages_exist_only_in_the_sandbox(client, fake):
    assert client.get("/sandbox/phone").status_code == 404
    sandbox = create_app(build(settings(sandbox=True), api_wsgi=fake)).test_client()
    fake.on("GET", "/api/notifications/sandbox/sms", 200, [{"id": "1", "phone": "13800138000", "text": "验证码 123456",
                                                           "received_at": "2026-05-01T10:00:00"}])
    assert "123456" in sandbox.get("/sandbox/phone?phone=13800138000").get_data(as_text=True)


# --- hostile input ------------------------------------------------------------------------------------------
HOSTILE = ["../../etc/passwd", "%00", "<script>alert(1)</script>", "' OR 1=1 --", "x" * 5000, "名字" * 300,
           "\u202e\u0000", "{{7*7}}"]


def test_no_url_answers_a_server_error(client, fake):
    log_in(client, fake)
    paths = ["/personnel/{}", "/personnel/{}/edit", "/personnel/{}/photo", "/personnel/{}/photo.jpg",
             "/orders/{}", "/orders/{}/qr", "/orders/{}/transfer", "/badges/{}/card.pdf", "/invoices/{}.pdf",
             "/unit/previous/{}", "/unit/addresses/{}/edit", "/personnel?page={}", "/personnel?status={}&name={}",
             "/lang/{}", "/sandbox/pay/{}", "/unit/document/image?x={}"]
    for template in paths:
        for value in HOSTILE:
            r = client.get(template.replace("{}", value[:2000]))
            assert r.status_code < 500, (template, value[:20], r.status_code)


def test_no_form_input_answers_a_server_error(client, fake):
    log_in(client, fake)
    fake.on("GET", "/api/registration/units/me/addresses", 200, [])
    fake.on("GET", "/api/registration/catalogue/procurement", 200, {"areas": []})
    forms = ["/login", "/login/sms", "/login/colleague", "/password-reset", "/returning", "/join", "/register",
             "/unit/info", "/unit/addresses", "/personnel/new", "/orders", "/refunds", "/unit/submit",
             "/unit/colleagues", "/personnel/submit"]
    token = csrf_of(client.get("/login").get_data(as_text=True))
    for path in forms:
        for value in HOSTILE:
            data = {name: value for name in ("uscc", "password", "phone", "name", "sms_code", "person_ids",
                                             "registered_capital_10k_cny", "entry_dates", "region_type", "method",
                                             "member_ids", "route", "action", "decision", "idempotency_key")}
            r = client.post(path, data={**data, "csrf_token": token})
            assert r.status_code < 500, (path, value[:20], r.status_code)


def test_a_huge_upload_is_refused_politely(client, fake):
    log_in(client, fake)
    token = csrf_of(client.get("/login").get_data(as_text=True))
    import io
    r = client.post("/personnel/p1/photo", data={"csrf_token": token, "photo": (io.BytesIO(b"x" * (9 * 1024 * 1024)),
                                                                                  "big.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 413 and "文件过大" in r.get_data(as_text=True)


def test_one_click_invitation_and_referral_links_prefill_the_sign_up(client, fake):
    fake.on("GET", "/api/registration/invitations/tok123", 200, {
        "uscc": "91350100M000100Y43", "name": "往届示例有限公司", "edition": "CIIE-2025", "category": "enterprise",
        "region": "mainland", "delegation_id": "GD-GZ", "contact_email": "c***@example.cn",
        "contact_phone": "138****8000", "info": {}})
    html = client.get("/register?invitation=tok123&ref=R2345678").get_data(as_text=True)
    assert 'value="往届示例有限公司"' in html and 'value="91350100M000100Y43"' in html
    assert 'name="invitation_token" value="tok123"' in html and 'name="referral_code" value="R2345678"' in html
    assert re.search(r'<option value="GD-GZ" selected>', html)
    html = client.get("/register?invitation=unknown").get_data(as_text=True)
    assert "邀请链接无效，您仍可在下方注册。" in html


def test_unit_home_counts_saved_people_from_the_progress(client, fake):
    log_in(client, fake)
    progress = steps(done=2)
    progress[2].update(count=1, total=3)
    fake.on("GET", "/api/registration/units/me/progress", 200, {"unit_id": "u1", "status": "submitted",
                                                               "review_comment": None, "steps": progress})
    fake.on("GET", "/api/registration/units/me", 200, unit(status="submitted"))
    html = client.get("/unit").get_data(as_text=True)
    assert "还有 2 名已保存人员待提交" in html and 'data-current="3"' in html
