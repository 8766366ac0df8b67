"""Bulk import on a phone: the unit downloads the template, uploads it filled in, and reads
a result per line (good lines saved, a bad one with its reason); and it looks up the
orders of the previous edition."""
from __future__ import annotations

import io
import random

from openpyxl import Workbook, load_workbook

from services.registration.domain.bulk_import import COLUMNS, EXAMPLE
from tests.browser.conftest import PHONE, SCREENSHOTS, save_screenshot
from tests.browser.site import Site
from tests.browser.units import api_unit, committee, log_in
from tests.infra import wait_for
from tests.journey import random_resident_id


def filled_template(folder, lines) -> str:
    book = Workbook()
    sheet = book.active
    sheet.append([header for _, header in COLUMNS])
    for over in lines:
        values = dict(zip([k for k, _ in COLUMNS], EXAMPLE), id_number=random_resident_id())
        values.update(over)
        sheet.append([values[k] for k, _ in COLUMNS])
    path = folder / "people.xlsx"
    book.save(path)
    return str(path)


def test_bulk_import_and_previous_orders(portal_stack, browser, tmp_path, logs_on_failure):
    unit = api_unit(portal_stack, people=1, submit=True)
    site = Site(browser(PHONE), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/personnel")
    site.press("bulk-import")
    site.wait_path("^/personnel/import$")
    # the template the page offers is the one the import reads
    template = site.d.execute_script(
        "return fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)));",
        site.base + "/personnel/import/template.xlsx")
    headers = [c.value for c in load_workbook(io.BytesIO(bytes(template))).worksheets[0][1]]
    assert headers == [h for _, h in COLUMNS]
    site.upload("file", filled_template(tmp_path, [
        {"name": "批量一"}, {"name": "批量二", "id_number": "110105194912310021"}, {"name": "批量三"}]))
    site.press("import-submit")
    site.wait_text("已保存 2 人，未保存 1 人")
    bad = [r.text for r in site.d.find_elements("css selector", '[data-test="import-row"][data-ok="no"]')]
    assert len(bad) == 1 and bad[0].startswith("3") and "证件号码" in bad[0]
    assert site.fits_width()
    save_screenshot(site.d, SCREENSHOTS / "test_bulk_import_result.png")  # the line-by-line result, to look at
    site.go("/personnel?status=saved")
    site.wait_text("批量三")
    # the previous edition's orders, once the unit is approved
    wait_for(lambda: unit.portal.call("GET", "registration/units/me", 200).json()["status"] == "approved",
             timeout=30, message="the automatic approval")
    order_no = f"V20251012093000{random.randrange(10**8, 10**9)}"
    committee(portal_stack).call("POST", "registration/admin/previous-editions/import", 200, json={
        "edition": "CIIE-2025", "units": [{
            "uscc": unit.uscc, "name": unit.name, "category": "enterprise", "contact_phone": unit.phone,
            "contact_email": "old@example.cn", "orders": [{"order_no": order_no, "amount_fen": 40000, "status": "paid",
                                                         "paid_at": "2025-10-12", "people": 2}]}]})
    site.go("/orders")
    site.press("previous-orders")
    site.wait_text(order_no)
    assert "400.00" in site.main_text() and "CIIE-2025" in site.main_text()
