"""No page of the finance, operations or gate desks reachable from the back office's home
answers a server error, followed link by link as each of their roles."""
from __future__ import annotations

import re
import uuid

import requests

from tests.browser.admins import new_admin
from tests.browser.conftest import DESKTOP
from tests.browser.desks import onsite_unit, transfer_submitted
from tests.browser.site import Site
from tests.browser.test_crawl import crawl


def admin_session(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/admin/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(f"{base}/admin/login", data={"csrf_token": token, "username": username,
                                                      "password": password}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302
    return session


def test_no_desk_page_is_a_server_error(portal_stack, browser, logs_on_failure):
    base = portal_stack.url
    transfer_submitted(portal_stack)
    onsite_unit(portal_stack, (f"孙巡检{uuid.uuid4().hex[:4]}",))
    expected = {"finance": {"/admin/finance/transfers", "/admin/finance/statements", "/admin/finance/refunds",
                            "/admin/finance/invoices", "/admin/finance/reconciliation", "/admin/finance/centralised",
                            "/admin/finance/exports"},
                "operations": {"/admin/operations/pickup", "/admin/operations/dispatch", "/admin/operations/batches",
                               "/admin/operations/checks", "/admin/operations/scans"},
                "gate_staff": {"/admin/gate"}}
    for role, pages in expected.items():
        admin = new_admin(portal_stack, role)
        seen = crawl(admin_session(base, admin.username, admin.password), base, "/admin", limit=150)
        assert pages <= set(seen), (role, sorted(seen))
        assert [p for p, status in seen.items() if status >= 500] == [], (role, seen)
    finance = new_admin(portal_stack, "finance")
    seen = crawl(admin_session(base, finance.username, finance.password), base, "/admin/finance/transfers", limit=60)
    assert any(re.match(r"^/admin/finance/transfers/\w+$", p) for p in seen)  # a transfer's own page was reached
    site = Site(browser(DESKTOP), base)  # the screenshot: the finance desks' home
    from tests.browser.admins import admin_log_in
    admin_log_in(site, finance)
