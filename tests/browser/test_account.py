"""Account management on a phone: the contact changes the unit's mobile (the code goes to
the new number) and its email (the code goes to the new address)."""
from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import api_unit, log_in
from tests.infra import wait_for
from tests.journey import random_phone


def test_the_contact_changes_the_units_phone_and_email(portal_stack, browser, logs_on_failure):
    if not hasattr(portal_stack, "mailbox"):
        pytest.skip("needs the test stack's mailbox")
    unit = api_unit(portal_stack, people=0)
    site = Site(browser(PHONE), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/unit/account")
    new_phone = random_phone()
    # a wrong code is refused next to the field; the number typed stays
    site.fill("phone", new_phone)
    code = site.send_code_and_read(new_phone)
    site.fill("sms_code", "000000" if code != "000000" else "111111")
    site.press("phone-save")
    assert site.wait_error("sms_code") == "验证码不正确。"
    site.fill("sms_code", code)
    site.press("phone-save")
    site.wait_text("联系人手机已修改")
    assert site.d.find_element("css selector", '[data-test="contact-phone"]').text.endswith(new_phone[-4:])
    # the email: a code to the new address
    address = f"new-{uuid.uuid4().hex[:6]}@example.cn"
    site.fill("email", address)
    site.press("send-email-code")
    site.wait_text(f"验证码已发送至 {address}")
    mail = wait_for(lambda: portal_stack.mailbox.to(address), timeout=30, message="the email code")
    email_code = re.search(r"\b(\d{6})\b", mail[-1]["body"]).group(1)
    site.fill("email_code", email_code)
    site.press("email-save")
    site.wait_text("联系邮箱已修改。")
    assert site.d.find_element("css selector", '[data-test="contact-email"]').text.endswith("example.cn")
    assert site.fits_width()
    # the API now knows the unit by its new mobile (SMS logins and password resets use it)
    assert unit.portal.call("GET", "registration/units/me", 200).json()["contact_phone"].endswith(new_phone[-4:])
