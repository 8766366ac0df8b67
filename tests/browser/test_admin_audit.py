"""The audit log searched by the organising committee (by who, what and when), and each
back-office role's pages refused to the other roles (a 403 page, not the page)."""
from __future__ import annotations

import datetime as dt

import pytest
from selenium.webdriver.common.by import By

from tests.browser.admins import admin_api, admin_log_in, admin_log_out, new_admin, new_delegation_pair, \
    unit_for_review
from tests.browser.site import Site


def rows(site: Site) -> list[str]:
    return [r.text for r in site.d.find_elements(By.CSS_SELECTOR, '[data-test="audit-row"]')]


def test_the_committee_searches_the_audit_log_by_actor_target_and_time(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack)
    unit = unit_for_review(portal_stack, sub)
    reviewer = new_admin(portal_stack, "sub_delegation_admin", sub)
    admin_api(portal_stack, reviewer).call("POST", f"review/units/{unit.portal.unit_id}/return", 200,
                                           json={"comment": "请补充营业执照"})
    site = Site(browser(), portal_stack.url)
    admin_log_in(site)  # the organising committee's seeded admin
    site.press("menu-admin_audit.index")
    site.wait_path("^/admin/audit")

    site.fill("actor", reviewer.username)
    site.press("search")
    site.wait(lambda: len(rows(site)) == 1, message="the reviewer's one action")
    assert "退回修改" in rows(site)[0] and unit.name in rows(site)[0] and reviewer.username in rows(site)[0]

    site.go("/admin/audit")
    site.fill("target", unit.uscc)  # the unit by its code
    site.press("search")
    site.wait(lambda: len(rows(site)) == 1)
    today = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()
    site.go(f"/admin/audit?target={unit.uscc}&from={today - dt.timedelta(days=400)}&to={today - dt.timedelta(days=1)}")
    assert rows(site) == [] and "未找到" in site.main_text()
    site.go(f"/admin/audit?target={unit.uscc}&from={today}&to={today}&action=unit.return")
    assert len(rows(site)) == 1 and site.d.find_element(By.CSS_SELECTOR, "#q-action").get_attribute("value") == \
        "unit.return"


# each back-office role owned here, a page of it, and the roles that may not open that page
REFUSALS = {
    "organising_committee": ("/admin/audit", ("delegation_secretariat", "sub_delegation_admin", "finance")),
    "delegation_secretariat": ("/admin/quotas", ("sub_delegation_admin", "operations", "gate_staff")),
    "sub_delegation_admin": ("/admin/review", ("finance", "operations", "gate_staff")),
}


@pytest.mark.parametrize("role", sorted(REFUSALS))
def test_other_roles_are_refused_the_pages_of(role, portal_stack, browser, logs_on_failure):
    page, others = REFUSALS[role]
    top, sub = new_delegation_pair(portal_stack)
    site = Site(browser(), portal_stack.url)
    for other in others:
        delegation = sub if other == "sub_delegation_admin" else top if other == "delegation_secretariat" else None
        admin_log_in(site, new_admin(portal_stack, other, delegation))
        assert page not in [a.get_attribute("href").replace(portal_stack.url, "")
                            for a in site.d.find_elements(By.CSS_SELECTOR, ".admin-nav .nav-desktop a")]
        site.go(page)
        assert "无权访问" in site.main_text(), (role, other)
        assert site.d.find_element(By.CSS_SELECTOR, ".error-page").get_attribute("data-status") == "403"
        admin_log_out(site)
    owner = new_admin(portal_stack, role, top if role == "delegation_secretariat" else
                      sub if role == "sub_delegation_admin" else None)
    admin_log_in(site, owner)
    site.go(page)
    assert "无权访问" not in site.main_text() and site.path.startswith(page)
