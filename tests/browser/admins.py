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
