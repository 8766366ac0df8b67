"""The finance desk in the browser: a transfer confirmed after opening its voucher, an
ambiguous statement line matched by hand, a refund approved by a second officer (refused
to the one who asked), and the finance pages refused to other roles."""
from __future__ import annotations

import uuid

from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, admin_log_out, new_admin
from tests.browser.conftest import DESKTOP, OTHER_BLOCKED_ID, PHONE
from tests.browser.desks import order_status, transfer_submitted
from tests.browser.site import Site
from tests.browser.units import api_unit
from tests.infra import wait_for


def test_a_transfer_is_confirmed_after_opening_its_voucher(portal_stack, browser, logs_on_failure):
    unit, transfer = transfer_submitted(portal_stack)
    officer = new_admin(portal_stack, "finance")
    site = Site(browser(DESKTOP), portal_stack.url)
    admin_log_in(site, officer)
    site.press("menu-admin_finance.transfers")
    site.wait_path("^/admin/finance/transfers")
    row = site.wait(lambda: [r for r in site.d.find_elements(By.CSS_SELECTOR, '[data-test="transfer-row"]')
                             if unit.order["order_no"] in r.text][0])
    assert "¥200.00" in row.text and "****2233" in row.text
    row.find_element(By.CSS_SELECTOR, '[data-test="open-transfer"]').click()
    site.wait_path(f"^/admin/finance/transfers/{transfer['id']}$")
    # the voucher is on the page, loaded (an image that decoded), and opens full size
    site.wait(lambda: site.d.execute_script(
        "const i = document.querySelector('[data-test=voucher-image]'); return i.complete && i.naturalWidth === 900"))
    main = site.d.current_window_handle
    site.press("open-voucher")
    site.wait(lambda: len(site.d.window_handles) == 2)
    site.d.switch_to.window([h for h in site.d.window_handles if h != main][0])
    site.wait(lambda: "/voucher" in site.d.current_url)
    assert site.d.execute_script("return document.contentType") == "image/jpeg"
    site.d.close()
    site.d.switch_to.window(main)
    assert "¥200.00" in site.d.find_element(By.CSS_SELECTOR, '[data-test="order-amount"]').text
    site.press("confirm-transfer")
    site.d.switch_to.alert.accept()
    site.wait_text(f"订单 {unit.order['order_no']} 的转账已确认")
    assert order_status(unit) == "paid"
    site.go(f"/admin/finance/transfers/{transfer['id']}")
    assert "已确认" in site.main_text() and not site.has('[data-test="confirm-transfer"]')


def test_an_ambiguous_statement_line_is_matched_by_hand_on_a_phone(portal_stack, browser, logs_on_failure, tmp_path):
    remitter = f"同名贸易有限公司{uuid.uuid4().hex[:4]}"
    (first, _), (second, second_transfer) = transfer_submitted(portal_stack, remitter), \
        transfer_submitted(portal_stack, remitter)
    reference = f"B{uuid.uuid4().hex[:10].upper()}"
    statement = tmp_path / "statement.csv"
    statement.write_text(f"bank_reference,value_date,amount,remitter_name\n{reference},2026-10-10,200.00,{remitter}\n",
                         encoding="utf-8")
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "finance"))
    site.go("/admin/finance/statements")
    site.press("statement-import")  # nothing chosen: said next to the field
    assert site.wait_error("file") == "请选择要导入的银行对账单（CSV）。"
    site.upload("file", statement)
    site.press("statement-import")
    site.wait(lambda: site.has('[data-test="statement-result"]'))
    line = site.wait(lambda: site.d.find_element(By.CSS_SELECTOR, f'[data-reference="{reference}"]'))
    assert "多个候选" in line.text and first.order["order_no"] in line.text and second.order["order_no"] in line.text
    line.find_element(By.CSS_SELECTOR, '[data-test="match-line"]').click()  # no transfer chosen
    site.wait_text("请选择这笔流水对应的转账。")
    line = site.d.find_element(By.CSS_SELECTOR, f'[data-reference="{reference}"]')
    assert "请选择这笔流水对应的转账。" in line.text
    for choice in line.find_elements(By.CSS_SELECTOR, "label.candidate"):
        if second.order["order_no"] in choice.text:
            site.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", choice)
            choice.click()
    line.find_element(By.CSS_SELECTOR, '[data-test="match-line"]').click()
    site.wait_text("流水已匹配")
    assert order_status(second) == "paid" and order_status(first) == "unpaid"
    assert not site.has(f'[data-reference="{reference}"]')  # left the ambiguous lines
    site.go("/admin/finance/statements?status=matched")
    assert reference in site.main_text()
    site.go(f"/admin/finance/transfers/{second_transfer['id']}")
    assert "已确认" in site.main_text()
    site.go("/admin/finance/statements?status=matched")
    assert site.fits_width()


def test_a_refund_is_approved_by_a_second_officer_not_by_the_one_who_asked(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, people=1, paid=True, id_numbers=(OTHER_BLOCKED_ID,), address=False)
    [person] = unit.people
    wait_for(lambda: any(i["status"] == "refundable" for i in unit.portal.call("GET", "billing/payables", 200).json()),
             30, message="the failed check to make the fee refundable")
    asker, approver = new_admin(portal_stack, "finance"), new_admin(portal_stack, "finance")
    site = Site(browser(DESKTOP), portal_stack.url)
    admin_log_in(site, asker)
    site.go("/admin/finance/refunds")
    site.tick("person_ids", person["id"])
    site.press("finance-refund-request")
    site.wait_text("退款已申请，需由另一位财务人员批准。")
    mine = site.wait(lambda: [c for c in site.d.find_elements(By.CSS_SELECTOR, '[data-test="refund-row"]')
                              if c.find_elements(By.CSS_SELECTOR, '[data-test="asked-by-me"]')
                              and unit.order["order_no"] in c.text][0])
    assert "您申请的退款需由另一位财务人员批准。" in mine.text
    assert not mine.find_elements(By.CSS_SELECTOR, '[data-test="approve-refund"]')  # refused to the requester
    refund_id = mine.get_attribute("data-refund")
    admin_log_out(site)

    admin_log_in(site, approver)
    site.go("/admin/finance/refunds")
    card = site.d.find_element(By.CSS_SELECTOR, f'[data-refund="{refund_id}"]')
    assert "另一位财务人员申请" in card.text
    card.find_element(By.CSS_SELECTOR, '[data-test="approve-refund"]').click()
    site.d.switch_to.alert.accept()
    site.wait_text("退款已批准")
    assert not site.has(f'[data-refund="{refund_id}"]')
    site.go("/admin/finance/refunds?status=all")
    card = site.d.find_element(By.CSS_SELECTOR, f'[data-refund="{refund_id}"]')
    assert card.get_attribute("data-status") in ("approved", "sending", "processing", "completed"), card.text


def test_finance_pages_are_refused_to_other_roles(portal_stack, browser, logs_on_failure):
    site = Site(browser(PHONE), portal_stack.url)
    for role, delegation in (("operations", None), ("gate_staff", None), ("delegation_secretariat", "GD")):
        admin_log_in(site, new_admin(portal_stack, role, delegation))
        assert not site.has('[data-test="menu-admin_finance.transfers"]')
        for path in ("/admin/finance/transfers", "/admin/finance/refunds", "/admin/finance/reversal-requests",
                     "/admin/finance/exports/orders.xlsx"):
            site.go(path)
            assert "无权访问" in site.main_text(), (role, path)
        admin_log_out(site)
    committee = new_admin(portal_stack, "organising_committee")
    unit, transfer = transfer_submitted(portal_stack)
    admin_log_in(site, committee)  # the committee sees the desk, but not the voucher
    site.go(f"/admin/finance/transfers/{transfer['id']}")
    assert "仅财务人员可查看转账凭证。" in site.main_text() and not site.has('[data-test="voucher-image"]')
    site.go(f"/admin/finance/transfers/{transfer['id']}/voucher")
    assert "无权访问" in site.main_text()
