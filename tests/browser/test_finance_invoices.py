"""Finance finds a unit's invoice and reverses it (退票) with its reason, the red-letter
answer and the booked flag; the unit's invoice is then reversed. And the gate works
without JavaScript: the code typed into a plain form."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, new_admin
from tests.browser.conftest import DESKTOP
from tests.browser.site import Site
from tests.browser.units import api_unit


def test_an_invoice_is_reversed_by_finance(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, people=1, paid=True)
    assert unit.order is not None
    invoice = unit.portal.call("POST", f"billing/orders/{unit.order['order_no']}/invoice", 201,
                               json={"kind": "ordinary", "title": unit.name}).json()
    site = Site(browser(DESKTOP), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "finance"))
    site.go("/admin/finance/invoices")
    site.fill("q", invoice["invoice_no"])
    site.press("invoice-search")
    site.wait_path(r"^/admin/finance/invoices\?")  # the search's page, not the list before it

    def found() -> bool:
        rows = site.d.find_elements(By.CSS_SELECTOR, '[data-test="invoice-row"]')
        return len(rows) == 1 and invoice["invoice_no"] in rows[0].text
    site.wait(found)
    [row] = site.d.find_elements(By.CSS_SELECTOR, '[data-test="invoice-row"]')
    assert unit.order["order_no"] in row.text and unit.name in row.text and "¥200.00" in row.text
    row.find_element(By.CSS_SELECTOR, '[data-test="reverse-invoice"]').click()
    site.wait_path(f"^/admin/finance/invoices/{invoice['invoice_no']}/reverse$")
    site.press("reverse-submit")
    assert site.wait_error("reason") == "请填写退票原因。"
    assert site.error_for("red_letter_applied") == "请选择是否已申请红字确认单。"
    site.fill("reason", "抬头有误，单位申请重开")
    site.tick("red_letter_applied", "no")
    site.tick("booked", "yes")
    site.press("reverse-submit")
    site.wait_text(f"发票 {invoice['invoice_no']} 已退票，已通知单位。")
    [row] = site.d.find_elements(By.CSS_SELECTOR, '[data-test="invoice-row"]')
    assert "抬头有误，单位申请重开" in row.text and not row.find_elements(By.CSS_SELECTOR, '[data-test="reverse-invoice"]')
    [mine] = [i for i in unit.portal.call("GET", "billing/invoices", 200).json()
              if i["invoice_no"] == invoice["invoice_no"]]
    assert mine["status"] == "reversed" and mine["reversal_reason"] == "抬头有误，单位申请重开"


def test_the_gate_works_without_javascript(portal_stack, browser, logs_on_failure):
    site = Site(browser(DESKTOP, javascript=False), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "gate_staff"))
    site.go("/admin/gate")
    assert site.d.find_element(By.ID, "camera-actions").get_attribute("hidden") is not None  # no camera without JS
    site.fill_many(gate="东登录厅E3", payload="ACCR2:201900000001:1:" + "A" * 26)
    site.press("gate-check")
    site.wait(lambda: site.has('[data-test="verdict"]'))
    verdict = site.d.find_element(By.CSS_SELECTOR, '[data-test="verdict"]')
    assert verdict.get_attribute("data-verdict") == "wrong_edition" and "届次不符" in verdict.text
    assert site.field("gate").get_attribute("value") == "东登录厅E3"
