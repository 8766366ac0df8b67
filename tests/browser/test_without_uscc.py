"""Accounts without a USCC, through the pages: an individual visitor from abroad signs up
with a passport on a phone and logs in with it; an overseas unit with its registration
number. A refusal keeps what was typed, and the SMS code stays good for the retry."""
from __future__ import annotations

import random
import uuid

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.site import Site
from tests.journey import random_phone


def sign_up(site: Site, kind: str, region: str, identifier_type: str, identifier: str, name: str,
            phone: str) -> str:
    site.go("/register")
    site.tick("visitor_kind", kind)
    site.choose("region", region)
    site.choose("identifier_type", identifier_type)
    site.fill_many(name=name, uscc=identifier, email=f"v-{uuid.uuid4().hex[:6]}@example.com", phone=phone)
    code = site.send_code_and_read(phone)
    submit(site, code)
    return code


def submit(site: Site, code: str) -> None:
    site.fill_many(sms_code=code, password="Passw0rd!", password_confirm="Passw0rd!")
    site.tick("consent", "on")
    site.press("register-submit")


def test_an_individual_from_abroad_signs_up_and_logs_in_with_a_passport(portal_stack, browser, logs_on_failure):
    site = Site(browser(PHONE), portal_stack.url)
    passport = f"E{random.randrange(10**7, 10**8)}"
    # a Chinese name is refused for a foreigner, next to the field, the rest kept
    code = sign_up(site, "individual", "overseas", "passport", passport, "约翰", random_phone())
    assert "英文字母" in site.wait_error("name")
    assert site.field("uscc").get_attribute("value") == passport
    site.fill("name", "John O'Neil")
    submit(site, code)
    site.wait_path("^/unit$")
    assert passport not in site.text()  # shown masked
    assert passport[:3] in site.text()
    site.d.delete_all_cookies()  # a new visit
    site.go("/login")
    site.fill_many(uscc=passport.lower(), password="Passw0rd!")
    site.click_css('#main form button[type="submit"]')
    site.wait_path("^/unit")
    site.go("/unit/info")
    site.wait_text("护照（个人）")
    assert passport not in site.text()
    assert site.fits_width()


def test_an_overseas_unit_signs_up_with_its_registration_number(portal_stack, browser, logs_on_failure):
    site = Site(browser(DESKTOP), portal_stack.url)
    number = f"HRB-{random.randrange(10**5, 10**6)}"
    code = sign_up(site, "unit", "overseas", "uscc", number, "Example GmbH", random_phone())
    # a registration number is not a USCC: the page says so, next to the field
    assert "18" in site.wait_error("uscc")
    site.choose("identifier_type", "registration_no")
    submit(site, code)
    site.wait_path("^/unit$")
    site.wait_text(number)
