"""The operations desk in the browser: a colleague collects a badge on the holder's behalf
at the pick-up desk (found by name, compared with the photo), the dispatch list shows who
collected it, and the operations pages are refused to other roles."""
from __future__ import annotations

import uuid

from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, admin_log_out, new_admin
from tests.browser.conftest import PHONE
from tests.browser.desks import onsite_unit
from tests.browser.site import Site


def test_a_colleague_collects_a_badge_on_the_holder_s_behalf(portal_stack, browser, logs_on_failure):
    tag = uuid.uuid4().hex[:4]
    unit, (holder, colleague) = onsite_unit(portal_stack, (f"张代领{tag}", f"李同事{tag}"))
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "operations"))
    site.d.find_element(By.CSS_SELECTOR, ".nav-mobile summary").click()
    site.click_css('.nav-mobile a[href="/admin/operations/pickup"]')
    site.wait_path("^/admin/operations/pickup$")
    site.fill("q", f"代领{tag}")
    site.press("pickup-search")
    [row] = site.wait(lambda: site.d.find_elements(By.CSS_SELECTOR, '[data-test="pickup-row"]'))
    assert holder["credential_no"] in row.text and "现场领取处待领" in row.text and unit.name in row.text
    row.find_element(By.CSS_SELECTOR, '[data-test="pickup-open"]').click()
    site.wait_path(f"^/admin/operations/pickup/{holder['credential_no']}")
    site.wait(lambda: site.d.execute_script(
        "const i = document.querySelector('[data-test=holder-photo]'); return i && i.complete && i.naturalWidth > 0"))
    assert f"李同事{tag}" in site.main_text()  # the unit's other badge waiting here
    proxy_field = site.field("proxy_credential_no")
    assert not proxy_field.is_displayed()  # shown once "a colleague" is chosen
    site.tick("collector", "proxy")
    site.fill("proxy_credential_no", "202699999999")
    site.press("hand-over")
    assert site.wait_error("proxy_credential_no") == "没有该编号的证件。"
    site.tick("collector", "proxy")
    site.fill("proxy_credential_no", colleague["credential_no"])
    site.press("hand-over")
    site.wait_text(f"已交给证件号为 {colleague['credential_no']} 的同事")
    handed = site.d.find_element(By.CSS_SELECTOR, '[data-test="handed-over"]').text
    assert "同单位同事代领" in handed and colleague["credential_no"] in handed
    assert "已领取" in site.d.find_element(By.CSS_SELECTOR, '[data-test="badge-status"]').text
    assert not site.has('[data-test="hand-over"]') and site.fits_width()
    statuses = {c["credential_no"]: c["status"] for c in unit.portal.call("GET", "credentials/units/me/credentials",
                                                                           200).json()}
    assert statuses == {holder["credential_no"]: "collected", colleague["credential_no"]: "ready_for_pickup"}
    site.go(f"/admin/operations/dispatch?status=collected&q={holder['credential_no']}")
    [line] = site.d.find_elements(By.CSS_SELECTOR, '[data-test="dispatch-row"]')
    assert colleague["credential_no"] in line.text
    site.go(f"/admin/operations/pickup/{holder['credential_no']}")


def test_operations_pages_are_refused_to_other_roles(portal_stack, browser, logs_on_failure):
    site = Site(browser(PHONE), portal_stack.url)
    for role in ("finance", "gate_staff"):
        admin_log_in(site, new_admin(portal_stack, role))
        for path in ("/admin/operations/pickup", "/admin/operations/dispatch", "/admin/operations/batches",
                     "/admin/operations/checks", "/admin/operations/scans", "/admin/operations/reissue-requests"):
            site.go(path)
            assert "无权访问" in site.main_text(), (role, path)
        admin_log_out(site)
    admin_log_in(site, new_admin(portal_stack, "operations"))
    site.go("/admin/operations/batches")
    assert "无权访问" not in site.main_text() and site.has('[data-test="batches"]')
    site.go("/admin/operations/scans?verdict=nonsense&page=x")  # bad filters are ignored, not an error
    assert site.has('[data-test="scans"]')
