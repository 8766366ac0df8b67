"""Finance downloads the orders workbook from the exports page; the file opens with
openpyxl and holds the unit's paid order with its amount in yuan."""
from __future__ import annotations

from openpyxl import load_workbook

from tests.browser.admins import admin_log_in, new_admin
from tests.browser.conftest import DESKTOP
from tests.browser.site import Site
from tests.browser.units import api_unit


def test_an_orders_export_opens_with_openpyxl(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, people=2, paid=True)
    assert unit.order is not None
    site = Site(browser(DESKTOP), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "finance"))
    site.press("menu-admin_finance.exports")
    site.wait_path("^/admin/finance/exports$")
    site.press("export-orders")
    book = load_workbook(site.wait_download("orders.xlsx"))
    sheet = book["orders"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("订单号 Order no", "单位 Unit id", "金额(元) Amount (CNY)")
    [row] = [r for r in rows[1:] if r[0] == unit.order["order_no"]]
    assert (row[2], row[3], row[8]) == (400.0, "paid", 2) and row[4] in ("alipay", "wechat", "unionpay")
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    site.press("export-refunds")
    assert load_workbook(site.wait_download("refunds.xlsx"))["refunds"].max_row >= 1


def test_every_desk_page_reads_in_english_and_fits_a_phone(portal_stack, browser, logs_on_failure):
    from tests.browser.admins import admin_log_out
    from tests.browser.conftest import PHONE
    site = Site(browser(PHONE), portal_stack.url)
    pages = {
        "finance": {"/admin/finance/transfers": "Bank transfers", "/admin/finance/statements": "Bank statements",
                    "/admin/finance/refunds": "Refunds", "/admin/finance/invoices": "Invoices",
                    "/admin/finance/reconciliation": "Reconciliation",
                    "/admin/finance/centralised": "Centralised payment", "/admin/finance/exports": "Exports"},
        "operations": {"/admin/operations/pickup": "Pick-up desk", "/admin/operations/dispatch": "Dispatch",
                       "/admin/operations/batches": "Production batches", "/admin/operations/checks": "Overdue checks"},
        "gate_staff": {"/admin/gate": "Gate check"},
    }
    for role, paths in pages.items():
        admin_log_in(site, new_admin(portal_stack, role))
        site.press("lang-en")
        for path, heading in paths.items():
            site.go(path)
            assert site.d.find_element("css selector", "#main h1").text == heading, path
            assert site.fits_width(), path
        site.press("lang-zh")
        admin_log_out(site)
    admin_log_in(site, new_admin(portal_stack, "finance"))
    site.go("/admin/finance/reconciliation")
