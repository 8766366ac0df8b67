"""A unit asks on a phone for an invoice to be reversed (退票) with the reason and the
red-letter answers, is told of the 72-hour step in the tax system, and sees the finance
desk's decision."""
from __future__ import annotations

from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import api_unit, committee, log_in


def test_the_unit_asks_for_a_reversal_and_finance_approves(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, paid=True)
    invoice = unit.portal.call("POST", f"billing/orders/{unit.order['order_no']}/invoice", 201,
                               json={"kind": "ordinary", "title": "深圳示例科技有限公司"}).json()
    site = Site(browser(PHONE), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/invoices")
    site.press("invoice-reverse")
    site.wait_path(f"^/invoices/{invoice['invoice_no']}/reverse$")
    site.press("reversal-submit")  # no reason
    assert site.wait_error("reason") in ("此项为必填项。", "请填写退票原因。")  # at once, or from the page
    site.fill("reason", "发票抬头有误")
    site.tick("red_letter_applied", "no")
    site.tick("booked", "yes")
    site.press("reversal-submit")
    site.wait_path("^/invoices$")
    site.wait_text("72小时内")
    assert site.has('[data-test="notice-72h"]') and site.has('[data-test="reversal-pending"]')
    finance = committee(portal_stack)
    [request] = [r for r in finance.call("GET", "billing/finance/invoice-reversal-requests?status=requested", 200)
                 .json() if r["invoice_no"] == invoice["invoice_no"]]
    assert (request["reason"], request["red_letter_applied"], request["booked"]) == ("发票抬头有误", False, True)
    finance.call("POST", f"billing/finance/invoice-reversal-requests/{request['id']}/approve", 200)
    site.go("/invoices")
    site.wait_text("已退票")
    assert not site.has('[data-test="invoice-reverse"]') and site.fits_width()
