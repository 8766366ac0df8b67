"""The back office's frame: sign-in, the menu of the role, one's own account, and the
pages of other roles refused (a unit at /admin, an admin of another desk)."""
from __future__ import annotations

from tests.browser.admins import admin_log_in, admin_log_out, new_admin
from tests.browser.conftest import PHONE
from tests.browser.site import Site


def test_an_admin_signs_in_sees_their_menu_and_changes_their_contact_on_a_phone(portal_stack, browser,
                                                                                 logs_on_failure):
    site = Site(browser(PHONE), portal_stack.url)
    site.go("/admin/account")
    site.wait_path("^/admin/login")  # signed out: the sign-in first, then back to the page asked for
    secretariat = new_admin(portal_stack, "delegation_secretariat", "GD")
    site.fill_many(username=secretariat.username, password="wrong-password")
    site.press("admin-login-submit")
    assert "用户名或密码错误" in site.wait_error("password")
    site.fill_many(username=secretariat.username, password=secretariat.password)
    site.press("admin-login-submit")
    site.wait_path("^/admin/account$")
    site.fill_many(phone="13912345678", email="gd-sec@example.cn", contact_password=secretariat.password)
    site.press("contact-save")
    site.wait_text("联系方式已保存")
    assert site.d.find_element("css selector", '[data-test="me-phone"]').text == "139****5678"
    assert site.fits_width()
    site.go("/admin")
    assert "交易团秘书处" in site.text() and "广东交易团" in site.main_text()


def test_a_unit_and_another_desk_are_refused(portal_stack, browser, logs_on_failure):
    from tests.browser.units import api_unit, log_in
    site = Site(browser(), portal_stack.url)
    unit = api_unit(portal_stack, people=0)
    log_in(site, unit.uscc)
    site.go("/admin/account")
    assert "无权访问" in site.main_text()
    site.press("logout")
    gate = new_admin(portal_stack, "gate_staff")
    admin_log_in(site, gate)
    site.go("/unit")
    site.wait_path("^/admin$")  # the unit's pages send an admin back to the back office
    admin_log_out(site)
