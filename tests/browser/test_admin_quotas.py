"""Quotas and codes: the XLSX template downloaded, filled in and imported with a line-by-line
result (a bad line refuses the whole file, the corrected file goes in), and invitation codes
generated and exported to an XLSX file that openpyxl reads back."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, new_admin, new_delegation_pair
from tests.browser.site import Site
from tests.journey import random_uscc


def filled_template(template: bytes, rows: list[list[object]], folder, name: str):
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    for row in rows:
        sheet.append(row)
    path = folder / name
    book.save(path)
    return path


def test_a_quota_import_with_its_line_by_line_result(portal_stack, browser, logs_on_failure, tmp_path):
    top, _ = new_delegation_pair(portal_stack)
    secretariat = new_admin(portal_stack, "delegation_secretariat", top)
    site = Site(browser(), portal_stack.url)
    admin_log_in(site, secretariat)
    site.press("menu-admin_quotas.quotas")
    site.wait_path("^/admin/quotas")
    site.press("quota-template")
    template = site.wait_download(".xlsx").read_bytes()
    header = [c.value for c in load_workbook(io.BytesIO(template)).worksheets[0][1]]
    assert header == ["uscc", "vip", "staff"]

    a, b = random_uscc(), random_uscc()
    bad = filled_template(template, [[a, 2, 5], [b, 1, 0], ["91350100M000100Y44", 1, 1], [a, 3, 3]], tmp_path,
                          "bad.xlsx")
    site.upload("file", bad)
    site.press("quota-import")
    site.wait(lambda: site.has('[data-test="import-result"]'), message="the import result")
    lines = site.d.find_elements(By.CSS_SELECTOR, '[data-test="import-line"]')
    assert [line.get_attribute("data-ok") for line in lines] == ["yes", "yes", "no", "no"]
    assert "统一社会信用代码" in lines[2].text and "第 2 行" in lines[3].text
    assert "未导入" in site.main_text() and not site.has('[data-test="quota-row"]')

    good = filled_template(template, [[a, 2, 5], [b.lower(), 1, 0]], tmp_path, "good.xlsx")
    site.upload("file", good)
    site.press("quota-import")
    site.wait_text("已导入 2 行")
    rows = {r.get_attribute("data-uscc"): r.text for r in site.d.find_elements(By.CSS_SELECTOR, '[data-test="quota-row"]')}
    assert set(rows) == {a, b} and "已用 0 / 共 5" in rows[a]

    site.go("/admin/quotas")  # one unit's quota by hand, refused when the code is wrong
    site.fill_many(uscc="91350100M000100Y44", vip="1", staff="1")
    site.press("quota-save")
    assert site.wait_error("uscc")
    site.fill_many(uscc=a, vip="4", staff="6")
    site.press("quota-save")
    site.wait_text("额度已保存")
    assert "已用 0 / 共 4" in site.d.find_element(By.CSS_SELECTOR, f'[data-uscc="{a}"]').text


def test_invitation_codes_generated_and_exported_to_xlsx(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack)
    host = new_admin(portal_stack, "sub_delegation_admin", sub)
    site = Site(browser(), portal_stack.url)
    admin_log_in(site, host)
    site.press("menu-admin_quotas.codes")
    site.wait_path("^/admin/codes")
    site.fill("count", "5")
    site.press("codes-generate")
    site.wait_text("已生成 5 个邀请码")
    shown = [e.text for e in site.d.find_elements(By.CSS_SELECTOR, '[data-test="code-row"] .code')]
    assert len(shown) == 5
    site.press("codes-export")
    book = load_workbook(site.wait_download(".xlsx"))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("code", "used", "used_by")
    assert sorted(r[0] for r in rows[1:]) == sorted(shown) and {r[1] for r in rows[1:]} == {"no"}
