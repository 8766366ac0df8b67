"""A lost badge, through the pages on a phone: the unit asks for a new one, operations
reissue it (the old card is void), the unit sees it reissued."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import api_unit, committee, log_in
from tests.infra import wait_for


def test_the_unit_asks_for_a_new_badge_and_operations_reissue_it(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, people=1, paid=True)
    card = wait_for(lambda: next((c for c in unit.portal.call("GET", "credentials/units/me/credentials", 200).json()
                                  if c["status"] in ("produced", "dispatched")), None),
                    timeout=90, message="the badge to be produced")
    site = Site(browser(PHONE), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/badges")
    site.press("reissue-open")
    site.d.find_element(By.CSS_SELECTOR, f'[data-person="{card["person_id"]}"] input[name="remarks"]').send_keys("出租车上遗失")
    site.press("reissue-submit")
    site.wait_text("补证申请已提交")
    assert site.has('[data-test="reissue-pending"]') and not site.has('[data-test="reissue-open"]')
    ops = committee(portal_stack)
    [request] = ops.call("GET", "credentials/operations/reissue-requests?status=requested", 200).json() and [
        r for r in ops.call("GET", "credentials/operations/reissue-requests", 200).json()
        if r["credential_no"] == card["credential_no"]]
    assert request["reason"] == "lost" and request["remarks"] == "出租车上遗失"
    done = ops.call("POST", f"credentials/operations/reissue-requests/{request['id']}/reissue", 200).json()
    assert done["status"] == "reissued" and done["new_issue"] == 2
    site.go("/badges")
    site.wait_text("原证件已作废")
    assert site.has('[data-test="reissued"]') and site.fits_width()
