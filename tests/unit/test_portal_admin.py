"""The back office's frame in the portal: admin sign-in kept in the session cookie, the
per-role menu, and `admin_required` (signed-out → sign-in, other roles → 403)."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from services.portal.admin_menu import MENU, menu_for
from services.portal.web import ADMIN_ROLES
from services.portal.app import create_app
from services.portal.bootstrap import build
from tests.unit.test_portal import TOKEN, FakeApi, csrf_of, form_post, log_in, settings


@pytest.fixture
def fake() -> FakeApi:
    api = FakeApi()
    api.on("GET", "/api/registration/delegations", 200, [
        {"id": "GD", "name": "广东交易团", "parent_id": None, "industry": False},
        {"id": "GD-GZ", "name": "广州市分团", "parent_id": "GD", "industry": False}])
    return api


@pytest.fixture
def app(fake) -> Flask:
    portal_app = create_app(build(settings(), api_wsgi=fake))
    portal_app.config["TESTING"] = True
    return portal_app


@pytest.fixture
def client(app):
    return app.test_client()


def me(role: str = "delegation_secretariat", delegation: str | None = "GD") -> dict[str, Any]:
    return {"id": "a1", "username": "gd-sec", "role": role, "delegation_id": delegation,
            "delegation_name": "广东交易团" if delegation else None, "phone": "138****8000", "email": None}


def admin_log_in(client, fake: FakeApi, role: str = "delegation_secretariat", delegation: str | None = "GD"):
    fake.on("POST", "/api/review/admin/login", 200, {"token": TOKEN, "role": role, "delegation_id": delegation})
    fake.on("GET", "/api/review/admin/me", 200, me(role, delegation))
    return form_post(client, "/admin/login", {"username": "gd-sec", "password": "Secret-pass1"})


def test_signed_out_visitors_go_to_the_admin_sign_in(client):
    r = client.get("/admin/account")
    assert r.status_code == 302 and r.headers["Location"].startswith("/admin/login?next=/admin/account")


def test_sign_in_keeps_the_token_in_the_session_cookie_and_follows_next(client, fake):
    fake.on("POST", "/api/review/admin/login", 200, {"token": TOKEN, "role": "finance", "delegation_id": None})
    token = csrf_of(client.get("/admin/login").get_data(as_text=True))
    r = client.post("/admin/login?next=/admin/account", data={"csrf_token": token, "username": "fin",
                                                              "password": "Secret-pass1"})
    assert r.status_code == 302 and r.headers["Location"] == "/admin/account"
    assert TOKEN not in r.get_data(as_text=True) and "HttpOnly" in r.headers["Set-Cookie"]
    assert fake.last("/api/review/admin/login")["json"] == {"username": "fin", "password": "Secret-pass1"}


def test_a_wrong_password_is_shown_next_to_the_password_in_chinese(client, fake):
    fake.on("POST", "/api/review/admin/login", 401, {"code": "unauthorized", "message": "wrong username or password",
                                                      "field": None})
    r = form_post(client, "/admin/login", {"username": "x", "password": "y"})
    assert r.status_code == 400 and "用户名或密码错误" in r.get_data(as_text=True)


def test_the_unit_pages_send_an_admin_to_the_back_office_and_a_unit_gets_403_there(client, fake):
    admin_log_in(client, fake)
    assert client.get("/unit").headers["Location"] == "/admin"
    r = client.get("/admin")
    assert r.status_code == 200 and "广东交易团" in r.get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_of(r.get_data(as_text=True))})
    log_in(client, fake)  # a unit contact
    r = client.get("/admin/account")
    assert r.status_code == 403 and "无权" in r.get_data(as_text=True)


def test_admin_required_refuses_other_roles(fake):
    from services.portal.web import FINANCE, admin_required

    portal_app: Flask = create_app(build(settings(), api_wsgi=fake))
    portal_app.config["TESTING"] = True

    @portal_app.get("/admin/test-finance")
    @admin_required(FINANCE)
    def finance_only() -> str:
        return "finance desk"

    c = portal_app.test_client()
    admin_log_in(c, fake, role="delegation_secretariat")
    assert c.get("/admin/test-finance").status_code == 403
    c = portal_app.test_client()
    admin_log_in(c, fake, role="finance", delegation=None)
    assert c.get("/admin/test-finance").get_data(as_text=True) == "finance desk"


def test_every_role_sees_its_menu_and_each_entry_opens_for_exactly_its_roles(app):
    """The menu and the views' guards agree: an entry shown to a role is a page it may open."""
    for item in MENU:
        view = app.view_functions[item.endpoint]
        assert set(getattr(view, "admin_roles", ())) == set(item.roles), item.endpoint
    for role in ADMIN_ROLES:
        endpoints = [item.endpoint for item in menu_for(role)]
        assert endpoints[0] == "admin.home" and "admin.account" in endpoints


def test_the_password_change_keeps_this_session_with_the_new_token(client, fake):
    admin_log_in(client, fake)
    fake.on("POST", "/api/review/admin/password", 200, {"token": TOKEN + "new", "role": "delegation_secretariat",
                                                         "delegation_id": "GD"})
    token = csrf_of(client.get("/admin/account").get_data(as_text=True))
    r = client.post("/admin/account/password", data={"csrf_token": token, "current_password": "Secret-pass1",
                                                     "new_password": "Another-pass2",
                                                     "new_password_confirm": "Another-pass2"})
    assert r.status_code == 302
    client.get("/admin/account")
    assert fake.last("/api/review/admin/me")["headers"]["Authorization"] == f"Bearer {TOKEN}new"


def test_a_wrong_current_password_is_a_form_error_not_a_sign_out(client, fake):
    admin_log_in(client, fake)
    fake.on("POST", "/api/review/admin/password", 401, {"code": "unauthorized",
                                                         "message": "the current password is not right", "field": None})
    token = csrf_of(client.get("/admin/account").get_data(as_text=True))
    r = client.post("/admin/account/password", data={"csrf_token": token, "current_password": "wrong",
                                                     "new_password": "Another-pass2",
                                                     "new_password_confirm": "Another-pass2"})
    assert r.status_code == 400 and "当前密码不正确" in r.get_data(as_text=True)
    assert client.get("/admin/account").status_code == 200  # still signed in
    fake.on("PATCH", "/api/review/admin/me", 400, {"code": "wrong_password", "message": "x",
                                                    "field": "current_password"})
    r = client.post("/admin/account/contact", data={"csrf_token": token, "phone": "13900139000",
                                                    "contact_password": "wrong"})
    assert r.status_code == 400 and "当前密码不正确" in r.get_data(as_text=True)


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_each_role_sees_the_back_office_home(client, fake, role):
    delegation = "GD" if role in ("delegation_secretariat", "sub_delegation_admin") else None
    admin_log_in(client, fake, role=role, delegation=delegation)
    assert client.get("/admin").status_code == 200


def test_charts_are_drawn_to_scale():
    from services.portal import charts
    bars = charts.bar_chart([{"name": "广州", "units": 2, "target": 5}, {"name": "深圳" * 20, "units": 8, "target": 4}])
    assert [b.value_width for b in bars.rows] == [100.0, 400.0] and bars.rows[0].target_width == 250.0
    assert bars.rows[1].over and len(bars.rows[1].label) == 16
    line = charts.line_chart([{"date": f"2026-10-{d:02d}", "units": d % 3} for d in range(1, 31)])
    assert line.total == sum(d % 3 for d in range(1, 31)) and len(line.points) == 30
    assert line.points[0]["x"] == 34.0 and line.points[-1]["x"] == 392.0
    assert min(p["y"] for p in line.points) >= 12.0 and charts.nice_top(7) == 10 and charts.nice_top(130) == 200
    assert charts.line_chart([]).points == [] and charts.line_chart([{"date": "2026-10-01", "units": 0}]).total == 0


HOSTILE = ["../../etc/passwd", "%00", "<script>alert(1)</script>", "' OR 1=1 --", "x" * 3000, "名字" * 300]


def test_no_back_office_url_answers_a_server_error(client, fake):
    admin_log_in(client, fake, role="organising_committee", delegation=None)
    paths = ["/admin/review?status={}&q={}&page={}&submitted_from={}", "/admin/review/units/{}",
             "/admin/review/units/{}/document", "/admin/review/units/{}/personnel/{}/photo.jpg",
             "/admin/personnel?q={}&status={}&page={}", "/admin/quotas?uscc={}&page={}&edit={}",
             "/admin/codes?delegation_id={}&used={}", "/admin/codes/{}.xlsx", "/admin/statistics?from={}&to={}",
             "/admin/statistics/{}", "/admin/statistics/units.xlsx?delegation_id={}",
             "/admin/audit?actor={}&target={}&from={}&to={}&action={}&role={}&page={}"]
    for template in paths:
        for value in HOSTILE:
            r = client.get(template.replace("{}", value[:1500]))
            assert r.status_code < 500, (template, value[:20], r.status_code)
