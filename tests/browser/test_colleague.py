"""A colleague joins with the unit code on their phone, the unit contact approves them, and
the colleague fills in their own record: they see and do only what a member may."""
from __future__ import annotations

from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.site import Site, photo_file
from tests.browser.units import api_unit, log_in
from tests.journey import random_phone, random_resident_id


def test_colleague_joins_is_approved_and_fills_in_their_record(portal_stack, browser, tmp_path):
    unit = api_unit(portal_stack, submit=True)
    colleague = Site(browser(PHONE), portal_stack.url)
    contact = Site(browser(DESKTOP), portal_stack.url)

    colleague.go("/").press("start-join")
    colleague.wait_path("^/join")
    phone = random_phone()
    colleague.fill_many(unit_code="T123", name="王同事", phone=phone)
    colleague.field("unit_code").send_keys(Keys.TAB)
    assert colleague.wait_error("unit_code") == "单位编号为字母 T 加 8 位数字。"
    colleague.fill("unit_code", unit.unit_code)
    colleague.fill("sms_code", colleague.send_code_and_read(phone))
    colleague.fill_many(password="Passw0rd!", password_confirm="Passw0rd!")
    colleague.press("join-submit")
    colleague.wait(lambda: colleague.has('[data-test="join-sent"]'))

    colleague.go("/login/colleague")  # not approved yet
    colleague.fill_many(unit_code=unit.unit_code, phone=phone, password="Passw0rd!")
    colleague.press("login-submit")
    assert colleague.wait_error("unit_code") == "单位尚未审核您的加入申请。"

    log_in(contact, unit.uscc)
    contact.go("/unit/colleagues")
    assert unit.unit_code in contact.d.find_element("css selector", '[data-test="share-code"]').text
    contact.tick("member_ids", contact.d.find_element("css selector", 'input[name="member_ids"]').get_attribute("value"))
    contact.press("approve-members")
    contact.wait_text("已同意 1 个加入申请。")

    colleague.fill("password", "Passw0rd!")
    colleague.press("login-submit")
    colleague.wait_path("^/personnel$")
    assert "我的人员信息" in colleague.main_text() and "暂无人员" in colleague.main_text()
    colleague.go("/orders")  # a member has no payments
    colleague.wait_path("^/personnel$")
    assert "该页面仅限单位联络员使用。" in colleague.text()
    colleague.press("add-mainland")
    colleague.fill_many(name="王同事", id_number=random_resident_id(), mobile=phone)
    colleague.tick("gender", "female")
    colleague.tick("entry_dates", "2026-11-07")
    colleague.choose("exhibition_area", "automobile")
    colleague.tick("privacy_consent", "on")
    colleague.press("person-save")
    colleague.wait_path(r"^/personnel/\w+/photo$")
    colleague.upload("photo", photo_file(tmp_path, 720, 960))
    colleague.wait(lambda: colleague.d.find_element("css selector", "[data-cropper]").is_displayed(), 10, "crop")
    colleague.press("photo-upload")
    colleague.wait_path(r"^/personnel/\w+$")
    assert not colleague.has('[data-test="person-submit"]')  # the unit contact submits
    assert "您的信息由单位联络员提交。" in colleague.main_text()

    contact.go("/personnel?status=saved")
    rows = contact.d.find_elements("css selector", '[data-test="person-row"]')
    assert [r.text.split()[0] for r in rows] == ["王同事"]
    contact.tick("person_ids", rows[0].get_attribute("data-person"))
    contact.press("batch-submit")
    contact.wait_text("已提交 1 人。")
    colleague.d.refresh()
    colleague.wait(lambda: "已保存" not in colleague.main_text())
    colleague.go("/personnel")  # the colleague's own list: only their record
    assert len(colleague.d.find_elements("css selector", '[data-test="person-row"]')) == 1
