"""The unit sees the VIP and staff quota its delegation gives it (review → registration by
QuotaChanged) and, adding a person on a phone, can choose only a label that has room left."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import api_unit, committee, log_in
from tests.journey import random_resident_id


def label_choices(site: Site) -> list[str]:
    return [o.get_attribute("value") for o in Select(site.field("requested_label")).options]


def test_the_unit_sees_its_quota_and_picks_a_free_label_within_it(portal_stack, browser, logs_on_failure):
    unit = api_unit(portal_stack, people=0)
    site = Site(browser(PHONE), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/personnel/new")
    assert label_choices(site) == ["visitor"]  # no quota yet: professional visitor only
    committee(portal_stack).call("PUT", f"review/quotas/{unit.uscc}", 200, json={"vip": 1, "staff": 2})
    site.wait_after_reload(lambda: "vip" in label_choices(site), message="the quota to reach the unit")
    assert label_choices(site) == ["visitor", "vip", "staff"]
    assert "（剩余 1 个）" in Select(site.field("requested_label")).options[1].text
    site.fill_many(name="王贵宾", id_number=random_resident_id(), mobile="13800138001")
    site.tick("gender", "male")
    site.tick("entry_dates", site.d.find_elements(By.CSS_SELECTOR, 'input[name="entry_dates"]')[1]
              .get_attribute("value"))
    site.choose("requested_label", "vip")
    site.tick("privacy_consent", "on")
    site.press("person-save")
    site.wait_path("/photo$")
    site.go("/personnel/new")
    assert label_choices(site) == ["visitor", "staff"]  # the one VIP badge is taken
    site.go("/personnel")
    row = site.d.find_element(By.CSS_SELECTOR, '[data-test="quota-vip"]')
    assert row.text.split()[-3:] == ["1", "1", "0"]
    assert site.d.find_element(By.CSS_SELECTOR, '[data-test="quota-staff"]').text.split()[-3:] == ["2", "0", "2"]
    assert site.fits_width()
