"""No back-office page reachable from the committee's home answers a server error (every
same-site link followed, in Chinese), and the desks read in English after the switch."""
from __future__ import annotations

import re

import requests

from tests.browser.admins import admin_log_in, new_delegation_pair, unit_for_review
from tests.browser.site import Site
from tests.browser.test_crawl import crawl


def committee_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/admin/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = session.post(f"{base}/admin/login", data={"csrf_token": token, "username": "admin",
                                                  "password": "Admin-passw0rd"}, timeout=30, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/admin"
    return session


def test_no_back_office_page_is_a_server_error_and_english_reads_english(portal_stack, browser):
    base = portal_stack.url
    top, sub = new_delegation_pair(portal_stack)
    unit_for_review(portal_stack, sub, people=1)
    session = committee_session(base)
    seen = crawl(session, base, "/admin", limit=120)
    assert {"/admin", "/admin/review", "/admin/personnel", "/admin/quotas", "/admin/codes", "/admin/statistics",
            "/admin/audit", "/admin/account"} <= set(seen)
    assert any(p.startswith("/admin/review/units/") for p in seen)
    assert [p for p, status in seen.items() if status >= 500] == [], seen
    assert "/admin/logout" not in seen  # signing out is a form, never a link

    session.get(f"{base}/lang/en", timeout=30)  # the switch, as a person uses it (the crawl may have switched)
    for path, words in (("/admin", "Your desks"), ("/admin/review", "Pending review"),
                        ("/admin/personnel", "Find anyone by name or ID number"), ("/admin/quotas", "Import many at once"),
                        ("/admin/statistics", "Units registered per day"), ("/admin/audit", "Who (username)")):
        page = session.get(base + path, timeout=30).text
        assert words in page and "管理后台" not in page, path

    site = Site(browser(), base)  # the screenshot: the review queue in English
    site.go("/lang/en")
    admin_log_in(site)
    site.go(f"/admin/review?delegation_id={sub}")
    site.wait_text("Pending review")
