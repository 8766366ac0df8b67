"""Back-office set-up for browser tests: admins of any role created over the API by the
organising committee, and signing in through the admin sign-in page."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.browser.site import Site
from tests.browser.units import committee

PASSWORD = "Desk-passw0rd"


@dataclass
class Admin:
    username: str
    role: str
    delegation_id: str | None
    password: str = PASSWORD


def new_admin(stack, role: str, delegation_id: str | None = None, password: str = PASSWORD) -> Admin:
    """An admin of `role` (of `delegation_id` for the delegation roles), made by the committee."""
    username = f"{role.split('_')[0]}-{uuid.uuid4().hex[:8]}"
    committee(stack).call("POST", "review/admins", 201, json={"username": username, "password": password,
                                                             "role": role, "delegation_id": delegation_id})
    return Admin(username, role, delegation_id, password)


def admin_log_in(site: Site, admin: Admin | None = None, username: str = "admin",
                 password: str = "Admin-passw0rd") -> None:
    """Sign in on /admin/login (the committee's seeded `admin` when no admin is given)."""
    if admin is not None:
        username, password = admin.username, admin.password
    site.go("/admin/login")
    site.fill_many(username=username, password=password)
    site.press("admin-login-submit")
    site.wait_path("^/admin$")


def admin_log_out(site: Site) -> None:
    site.press("logout")
    site.wait_path("^/admin/login")


def new_delegation_pair(stack, two_level: bool = False, target: int = 10, centralised_fen: int = 0) -> tuple[str, str]:
    """A delegation of its own (so that a test's settings touch no other test) with one
    sub-delegation; returned once registration knows both (sign-up needs them)."""
    from tests.infra import wait_for
    oc = committee(stack)
    top = f"T{uuid.uuid4().hex[:6].upper()}"
    sub = f"{top}-A"
    oc.call("POST", "review/delegations", 201, json={"id": top, "name": f"测试交易团{top[-4:]}", "target": target,
                                                     "two_level": two_level})
    oc.call("POST", "review/delegations", 201, json={"id": sub, "name": f"测试分团{top[-4:]}", "parent_id": top,
                                                     "target": target // 2})
    if centralised_fen:
        oc.call("PUT", f"review/delegations/{top}/centralised-payment", 200,
                json={"enabled": True, "limit_fen": centralised_fen})
    wait_for(lambda: {top, sub} <= {d["id"] for d in oc.call("GET", "registration/delegations", 200).json()},
             timeout=30, message="registration to know the new delegations")
    return top, sub


def unit_for_review(stack, delegation_id: str, people: int = 1, category: str = "enterprise", submit: bool = True,
                    labels: tuple[str, ...] = (), quota: dict[str, int] | None = None):
    """A unit of `delegation_id` that the registry does not know (so a person reviews it),
    with its information, document, address and people with photos, submitted. `quota`
    (vip, staff) is set in review before people are added, and awaited in registration,
    which refuses a VIP or staff label beyond it."""
    from tests.browser.units import ApiUnit
    from tests.infra import wait_for
    from tests.journey import Portal, random_phone, random_uscc
    portal = Portal(stack.url)
    uscc, phone = random_uscc(), random_phone()
    name = f"待审示例有限公司{uuid.uuid4().hex[:4]}"
    created = portal.sign_up(uscc, name, f"{uuid.uuid4().hex[:8]}@example.cn", phone, category=category,
                             delegation_id=delegation_id)
    portal.login(uscc)
    portal.fill_info()
    if quota:
        committee(stack).call("PUT", f"review/quotas/{uscc}", 200, json=quota)
        wait_for(lambda: all(row["quota"] == quota.get(row["label"], row["quota"])
                             for row in portal.call("GET", "registration/units/me/quota", 200).json()["labels"]),
                 timeout=30, message="registration to learn the unit's quota")
    added = [portal.add_person(submit=submit, name=f"审核人员{i + 1}", label=labels[i] if i < len(labels) else "visitor")
             for i in range(people)]
    if submit:
        portal.submit_unit()
        oc = committee(stack)
        wait_for(lambda: oc.call("GET", "review/queue", 200, params={"q": uscc, "status": "all"}).json()["total"],
                 timeout=30, message="review to receive the unit")
    return ApiUnit(portal, uscc, name, phone, added, created["unit_code"])


def admin_api(stack, admin: Admin):
    """The admin's own API session (a token from the admin login), for set-up steps."""
    from tests.journey import Portal
    portal = Portal(stack.url)
    portal.token = portal.call("POST", "review/admin/login", 200,
                               json={"username": admin.username, "password": admin.password}).json()["token"]
    return portal
