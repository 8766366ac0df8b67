"""On a 375 px phone every page of the unit fits the screen (no sideways scrolling), the
menu opens from its button, and tables turn into cards."""
from __future__ import annotations

from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.browser.units import api_unit, log_in

PAGES = ["/", "/help", "/register", "/login", "/returning", "/join", "/password-reset"]
UNIT_PAGES = ["/unit/info", "/unit/document", "/unit/addresses", "/unit/submit", "/unit/colleagues",
              "/unit/notifications", "/unit/previous", "/personnel", "/personnel/new", "/personnel/new?region_type=foreign",
              "/orders", "/invoices", "/refunds", "/badges", "/unit"]


def test_every_page_fits_a_phone(portal_stack, browser):
    unit = api_unit(portal_stack, people=2, paid=True)
    site = Site(browser(PHONE), portal_stack.url)
    for path in PAGES:
        site.go(path)
        assert site.fits_width(), path
    log_in(site, unit.uscc)
    order = unit.order["order_no"]
    person = unit.people[0]["id"]
    for path in UNIT_PAGES[:-1] + [f"/orders/{order}", f"/orders/{order}/transfer", f"/personnel/{person}",
                                  f"/personnel/{person}/photo", UNIT_PAGES[-1]]:
        site.go(path)
        assert site.fits_width(), path
        assert site.d.find_element("id", "main").is_displayed()
    assert not site.d.find_element("css selector", ".nav-desktop").is_displayed()
    site.click_css(".nav-mobile summary")
    menu = site.d.find_element("css selector", ".nav-mobile ul")
    assert menu.is_displayed() and "证件" in menu.text
    site.go("/personnel")  # rows are cards: no table header on a phone
    assert not site.d.find_element("css selector", ".table thead").is_displayed()
    site.go("/unit")
    site.click_css(".nav-mobile summary")  # the last page: the progress with its menu open
