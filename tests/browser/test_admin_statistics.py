"""Statistics: the delegation's progress against its target with the bar chart and the
line of daily registrations (SVG drawn on the server, figures in tables), and the XLSX
exports of units and personnel in scope, opened with openpyxl and checked."""
from __future__ import annotations

from openpyxl import load_workbook
from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, new_admin, new_delegation_pair, unit_for_review
from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import committee


def test_a_statistics_page_with_its_charts_and_xlsx_exports(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack, target=10)  # the sub-delegation's target: 5
    units = [unit_for_review(portal_stack, sub, people=2) for _ in range(2)]
    committee(portal_stack).call("POST", f"review/units/{units[0].portal.unit_id}/approve", 200)
    secretariat = new_admin(portal_stack, "delegation_secretariat", top)
    site = Site(browser(), portal_stack.url)
    admin_log_in(site, secretariat)
    site.press("menu-admin_stats.index")
    site.wait_path("^/admin/statistics")

    summary = site.d.find_element(By.CSS_SELECTOR, '[data-test="summary"]').text
    assert "10" in summary and site.d.find_element(By.CSS_SELECTOR, '[data-test="summary-units"]').text == "2"
    bars = site.d.find_elements(By.CSS_SELECTOR, '[data-test="bar-chart"] svg g.bar-row')
    assert len(bars) == 1 and "2 / 5" in bars[0].text
    width = float(bars[0].find_element(By.CSS_SELECTOR, "rect.bar-value-rect").get_attribute("width"))
    target = float(bars[0].find_element(By.CSS_SELECTOR, "rect.bar-target").get_attribute("width"))
    assert abs(width / target - 2 / 5) < 0.01  # drawn to scale
    dots = site.d.find_elements(By.CSS_SELECTOR, '[data-test="line-chart"] circle.line-dot')
    assert len(dots) == 30 and dots[-1].find_element(By.TAG_NAME, "title").get_attribute("textContent").endswith(": 2")
    row = site.d.find_element(By.CSS_SELECTOR, f'[data-test="stats-row"][data-delegation="{sub}"]')
    assert "40.0%" not in row.text and "20.0%" in row.text  # one of five approved

    site.press("export-units")
    book = load_workbook(site.wait_download(".xlsx"))
    rows = list(book.active.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert header[:3] == ("uscc", "name", "category")
    assert sorted(r[0] for r in data) == sorted(u.uscc for u in units)
    by_uscc = {r[0]: dict(zip(header, r)) for r in data}
    assert by_uscc[units[0].uscc]["status"] == "approved" and by_uscc[units[1].uscc]["status"] == "pending"
    assert {r["delegation_id"] for r in by_uscc.values()} == {sub}

    for f in site.d.downloads.iterdir():  # type: ignore[attr-defined]
        f.unlink()
    site.press("export-personnel")
    people = list(load_workbook(site.wait_download(".xlsx")).active.iter_rows(values_only=True))
    assert people[0][:3] == ("name", "id_type", "id_number_masked") and len(people) == 5
    assert all("*" in r[2] for r in people[1:]) and {r[4] for r in people[1:]} == {u.uscc for u in units}


def test_statistics_on_a_phone(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack)
    unit_for_review(portal_stack, sub)
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "sub_delegation_admin", sub))
    site.go("/admin/statistics")
    assert site.has('[data-test="bar-chart"] svg') and site.has('[data-test="line-chart"] svg')
    assert site.fits_width()
