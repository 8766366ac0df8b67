"""A returning unit (往届观众) verifies its previous account, registers with last edition's
unit information carried over, reuses one person's badge and registers another again."""
from __future__ import annotations

import uuid

from tests.browser.conftest import DESKTOP
from tests.browser.site import Site, photo_file
from tests.browser.units import previous_edition_unit
from tests.journey import random_phone


def test_returning_unit_carries_over_and_reuses(portal_stack, browser, tmp_path):
    name = f"广州往届贸易有限公司{uuid.uuid4().hex[:4]}"
    previous = previous_edition_unit(portal_stack, name)
    site = Site(browser(DESKTOP), portal_stack.url).go("/")
    site.press("start-returning")
    site.wait_path("^/returning")
    site.fill_many(uscc=previous["uscc"], password="not-the-password1")
    site.press("verify-submit")
    assert site.wait_error("uscc") == "往届账号或密码不正确。"
    site.fill_many(uscc=previous["uscc"], password=previous["password"])
    site.press("verify-submit")
    site.wait_path("^/register$")
    assert site.has('[data-test="returning-banner"]') and name in site.main_text()
    assert site.field("uscc").get_attribute("value") == previous["uscc"]
    assert site.field("name").get_attribute("value") == name
    phone = random_phone()
    site.fill_many(email="new-contact@example.cn", phone=phone)
    site.fill("sms_code", site.send_code_and_read(phone))
    site.fill_many(password="Passw0rd!", password_confirm="Passw0rd!")
    site.tick("consent", "on")
    site.press("register-submit")
    site.wait_path("^/unit$")
    site.go("/unit/info")  # last edition's unit information came along
    assert site.field("name_en").get_attribute("value") == "Returning Trading Co."
    assert site.field("industry").get_attribute("value") == "Retail"

    site.go("/unit/previous")
    rows = site.d.find_elements("css selector", '[data-test="previous-row"]')
    assert len(rows) == 2
    reusable = [r for r in rows if "陈往届" in r.text][0]
    assert "可复用" in reusable.text
    reusable.find_element("css selector", '[data-test="previous-open"]').click()
    site.tick("entry_dates", "2026-11-06")
    site.press("reuse")  # the previous badge covered days 2 and 3: not the same dates
    site.wait_text("该证件不能复用。 卡面入场日期将发生变化。")
    site.tick("entry_dates", "2026-11-06")
    site.tick("entry_dates", "2026-11-07")
    site.press("reuse")
    site.wait_path(r"^/personnel/\w+$")
    assert "待锁定" in site.main_text() and "202500000123" in site.main_text()

    site.go("/unit/previous")
    again = [r for r in site.d.find_elements("css selector", '[data-test="previous-row"]') if "周往届" in r.text][0]
    again.find_element("css selector", '[data-test="previous-open"]').click()
    site.tick("entry_dates", "2026-11-08")
    site.press("carry-over")
    site.wait_path(r"^/personnel/\w+/photo$")
    site.upload("photo", photo_file(tmp_path, 600, 800))
    site.wait(lambda: site.d.find_element("css selector", "[data-cropper]").is_displayed(), 10, "the crop preview")
    site.press("photo-upload")
    site.wait_path(r"^/personnel/\w+$")
    assert "周往届" in site.main_text() and "已保存" in site.main_text()
    site.go("/personnel")
    assert {"陈往届", "周往届"} <= set(site.main_text().split())
