"""Chinese by default, English by the switch in the header: the choice follows the person
from page to page, through login, and into the API's messages."""
from __future__ import annotations

from tests.browser.conftest import DESKTOP
from tests.browser.site import Site
from tests.browser.units import api_unit


def test_switching_language_keeps_the_page_and_the_choice(portal_stack, browser):
    unit = api_unit(portal_stack)
    site = Site(browser(DESKTOP), portal_stack.url).go("/")
    assert site.d.find_element("tag name", "html").get_attribute("lang") == "zh-CN"
    assert "专业观众注册报名" in site.main_text()
    site.go("/login")
    site.press("lang-en")  # on the login page: it stays on the login page, now in English
    site.wait_path("^/login$")
    assert site.d.find_element("tag name", "html").get_attribute("lang") == "en"
    site.fill_many(uscc=unit.uscc, password="Wrong-passw0rd")
    site.press("login-submit")
    assert site.wait_error("password") == "The unified social credit code or the password is wrong."
    site.fill_many(uscc=unit.uscc, password="Passw0rd!")
    site.press("login-submit")
    site.wait_path("^/unit$")
    assert "Progress" in site.main_text() and "Unit code for colleagues" in site.main_text()
    site.go("/personnel")
    assert "Personnel" in site.main_text() and "Awaiting" not in site.main_text()
    site.press("lang-zh")
    site.wait_path("^/personnel$")
    assert "人员证件申办" in site.main_text() and "已保存" in site.main_text()
    site.press("lang-en")
    site.wait_path("^/personnel$")
    site.go("/unit")  # the English page is the last one: its screenshot shows the switch
    assert site.d.find_element("css selector", '[data-test="lang-en"]').get_attribute("aria-current") == "true"
