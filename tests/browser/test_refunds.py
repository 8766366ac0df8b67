"""A person whose check failed and a person the unit cancels are refunded together from the
refunds page, whose statuses follow the request."""
from __future__ import annotations

from tests.browser.conftest import BLOCKED_ID, DESKTOP
from tests.browser.site import Site
from tests.browser.units import api_unit, log_in
from tests.infra import wait_for


def test_cancel_a_person_and_refund_two(portal_stack, browser):
    unit = api_unit(portal_stack, people=2, paid=True, id_numbers=(BLOCKED_ID,), address=False)
    failed, other = unit.people
    wait_for(lambda: unit.portal.person(failed["id"])["status"] == "check_failed", 30, message="the failed check")
    site = Site(browser(DESKTOP), portal_stack.url)
    log_in(site, unit.uscc)

    site.go(f"/personnel/{failed['id']}")
    assert "审核不通过" in site.main_text()
    wait_for(lambda: unit.portal.person(other["id"])["status"] == "in_production", 30, message="production")
    site.go("/badges")  # produced, but no address to send it to: the page says so
    assert site.has('[data-test="no-address"]')
    site.go(f"/personnel/{other['id']}")
    site.press("person-cancel")
    site.d.switch_to.alert.accept()  # "Cancel this person?"
    site.wait_text("人员已注销，已付费用可申请退款。")

    site.go("/refunds")
    site.wait_after_reload(lambda: len(site.d.find_elements("css selector", 'input[name="person_ids"]')) == 2, 30,
                           "two refundable people")
    site.tick("route", "other_account")
    assert site.d.find_element("css selector", ".payee-fields").is_displayed()
    site.fill_many(payee_name="深圳示例科技有限公司", payee_account="6222020200112233", payee_bank="中国银行深圳分行",
                   payee_bank_code="104584000003")
    site.press("refund-request")  # paid by QR code: only back the same way
    assert site.wait_error("route") == "扫码和 B2B 支付只能原路退款。"
    site.tick("route", "original")
    site.press("refund-request")
    site.wait_text("退款申请已提交，等待财务审核。")
    [row] = site.d.find_elements("css selector", '[data-test="refund-row"]')
    assert "¥400.00" in row.text and "已申请" in row.text and "原路返回" in row.text
