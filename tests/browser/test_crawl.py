"""No page reachable from the home page answers a server error: every same-site link is
followed (anonymous, then as a unit with paid people and dispatched badges)."""
from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import requests

from tests.browser.conftest import DESKTOP
from tests.browser.site import Site
from tests.browser.units import api_unit, log_in

SKIP = ("/static/",)


def crawl(session: requests.Session, base: str, start: str = "/", limit: int = 300) -> dict[str, int]:
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        answer = session.get(base + path, timeout=30, allow_redirects=False)
        seen[path] = answer.status_code
        location = answer.headers.get("Location")
        if location:
            queue.append(_local(base, path, location))
        if "text/html" not in answer.headers.get("Content-Type", ""):
            continue
        for href in re.findall(r'href="([^"#]+)"', answer.text):
            local = _local(base, path, href.replace("&amp;", "&"))
            if local and not local.startswith(SKIP) and local not in seen:
                queue.append(local)
    return seen


def _local(base: str, current: str, href: str) -> str:
    url = urlsplit(urljoin(base + current, href))
    if f"{url.scheme}://{url.netloc}" != base:
        return ""
    return url.path + (f"?{url.query}" if url.query else "")


def test_no_reachable_page_is_a_server_error(portal_stack, browser):
    base = portal_stack.url
    anonymous = crawl(requests.Session(), base)
    assert {"/", "/register", "/login", "/returning", "/join", "/help"} <= set(anonymous)
    assert [p for p, status in anonymous.items() if status >= 500] == []
    unit = api_unit(portal_stack, people=2, paid=True)
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    session.post(f"{base}/login", data={"csrf_token": token, "uscc": unit.uscc, "password": "Passw0rd!"}, timeout=30)
    signed_in = crawl(session, base, "/unit")
    assert {"/unit", "/unit/info", "/personnel", "/orders", "/badges", "/invoices", "/refunds"} <= set(signed_in)
    assert any(p.startswith("/orders/V") for p in signed_in) and any(p.startswith("/personnel/") for p in signed_in)
    assert [p for p, status in signed_in.items() if status >= 500] == [], signed_in
    assert len(signed_in) > 30
    site = Site(browser(DESKTOP), base)  # the screenshot: the last order's page
    log_in(site, unit.uscc)
    site.go(sorted(p for p in signed_in if p.startswith("/orders/V"))[-1])
