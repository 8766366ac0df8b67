"""The units' requests the desks decide, in the browser on a phone: finance reverses an
invoice a unit asked to reverse (退票申请; a refusal without a note is refused next to the
field), operations reissue a lost badge (补证) after seeing the holder's photo."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from shared.masking import mask_id_number
from tests.browser.admins import admin_log_in, new_admin
from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import api_unit
from tests.infra import wait_for
from tests.journey import random_resident_id


def open_menu(site: Site, path: str) -> None:
    site.d.find_element(By.CSS_SELECTOR, ".nav-mobile summary").click()
    site.click_css(f'.nav-mobile a[href="{path}"]')
    site.wait_path(f"^{path}$")


def row_of(site: Site, test_id: str, key: str, value: str):
    return site.wait(lambda: site.d.find_element(By.CSS_SELECTOR, f'[data-test="{test_id}"][data-{key}="{value}"]'))


def test_finance_reverses_an_invoice_a_unit_asked_to_reverse(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, paid=True)
    order = unit.order
    assert order is not None
    invoice = unit.portal.call("POST", f"billing/orders/{order['order_no']}/invoice", 201,
                               json={"kind": "ordinary", "title": unit.name}).json()
    unit.portal.call("POST", f"billing/invoices/{invoice['invoice_no']}/reversal-requests", 201, json={
        "reason": "发票抬头有误", "red_letter_applied": False, "booked": True, "remarks": "已入账"})
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "finance"))
    open_menu(site, "/admin/finance/reversal-requests")
    row = row_of(site, "reversal-row", "invoice", invoice["invoice_no"])
    for shown in (unit.name, order["order_no"], "¥200.00", "发票抬头有误", "未申请", "已入账", "72小时"):
        assert shown in row.text, shown
    assert row.find_element(By.CSS_SELECTOR, '[data-test="notice-72h"]').is_displayed()
    # a refusal needs a note: the error stands next to the field, in Chinese
    request_id = row.get_attribute("data-request")
    row.find_element(By.CSS_SELECTOR, '[data-test="refuse-reversal-open"]').click()
    row.find_element(By.CSS_SELECTOR, '[data-test="refuse-reversal"]').click()
    assert site.wait_error(f"note-{request_id}") in ("此项为必填项。", "请写明拒绝退票的理由：单位会看到。")
    row = row_of(site, "reversal-row", "invoice", invoice["invoice_no"])
    row.find_element(By.CSS_SELECTOR, '[data-test="approve-reversal"]').click()
    site.d.switch_to.alert.accept()
    site.wait_text(f"发票 {invoice['invoice_no']} 已按单位申请退票")
    assert not site.has(f'[data-test="reversal-row"][data-invoice="{invoice["invoice_no"]}"]')  # left the queue
    site.press("reversal-tab-approved")
    row = row_of(site, "reversal-row", "invoice", invoice["invoice_no"])
    assert "已通过" in row.text and not row.find_elements(By.CSS_SELECTOR, '[data-test="approve-reversal"]')
    site.go(f"/admin/finance/invoices?q={invoice['invoice_no']}")
    [line] = site.d.find_elements(By.CSS_SELECTOR, '[data-test="invoice-row"]')
    assert "已退票" in line.text and "发票抬头有误" in line.text
    assert not line.find_elements(By.CSS_SELECTOR, '[data-test="reverse-invoice"]')
    site.go("/admin/finance/reversal-requests?status=approved")
    assert site.fits_width()


def test_operations_reissue_a_lost_badge_a_unit_asked_for(portal_stack, browser, logs_on_failure):
    id_number = random_resident_id()
    unit = api_unit(portal_stack, people=1, paid=True, id_numbers=(id_number,))
    card = wait_for(lambda: next((c for c in unit.portal.call("GET", "credentials/units/me/credentials", 200).json()
                                  if c["status"] in ("produced", "dispatched")), None),
                    timeout=90, message="the badge to be produced")
    unit.portal.call("POST", f"credentials/units/me/credentials/{card['credential_no']}/reissue-requests", 201,
                     json={"reason": "lost", "remarks": "出租车上遗失"})
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "operations"))
    open_menu(site, "/admin/operations/reissue-requests")
    row = row_of(site, "reissue-row", "credential", card["credential_no"])
    for shown in ("测试人员1", unit.name, "遗失", "出租车上遗失", mask_id_number(id_number)):
        assert shown in row.text, shown
    assert id_number not in site.d.page_source  # masked in the list
    site.wait(lambda: site.d.execute_script(
        f"const i = document.querySelector('[data-credential=\"{card['credential_no']}\"] [data-test=reissue-photo]');"
        " return i && i.complete && i.naturalWidth > 0"))
    request_id = row.get_attribute("data-request")
    row.find_element(By.CSS_SELECTOR, '[data-test="refuse-reissue-open"]').click()
    row.find_element(By.CSS_SELECTOR, '[data-test="refuse-reissue"]').click()
    assert site.wait_error(f"note-{request_id}") in ("此项为必填项。", "请写明不补发证件的理由：单位会看到。")
    row = row_of(site, "reissue-row", "credential", card["credential_no"])
    row.find_element(By.CSS_SELECTOR, '[data-test="reissue-badge"]').click()
    site.d.switch_to.alert.accept()
    site.wait_text(f"证件 {card['credential_no']} 已补发")
    [done] = [r for r in unit.portal.call("GET", "credentials/units/me/reissue-requests", 200).json()
              if r["id"] == request_id]
    assert done["status"] == "reissued" and done["new_issue"] == 2
    site.press("reissue-tab-reissued")
    row = row_of(site, "reissue-row", "credential", card["credential_no"])
    assert "已补发" in row.text and row.find_element(By.CSS_SELECTOR, '[data-test="new-issue"]').text == "第 2 版"
    assert not row.find_elements(By.CSS_SELECTOR, '[data-test="reissue-badge"]') and site.fits_width()
