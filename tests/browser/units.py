"""Test set-up over the API (fast), for tests whose subject is a later page: a unit in a
given state, the organising committee's token, a previous edition."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.browser.site import Site
from tests.journey import Portal, random_phone, random_resident_id, random_uscc


@dataclass
class ApiUnit:
    portal: Portal
    uscc: str
    name: str
    phone: str
    people: list[dict[str, Any]]
    unit_code: str
    order: dict[str, Any] | None = None


def api_unit(stack, people: int = 1, submit: bool = False, awaiting_payment: bool = False,
             order: bool = False, paid: bool = False, id_numbers: tuple[str, ...] = (),
             address: bool = True) -> ApiUnit:
    """address=False: no delivery address, so couriered badges wait after production."""
    portal = Portal(stack.url)
    uscc, phone = random_uscc(), random_phone()
    name = f"深圳示例科技有限公司{uuid.uuid4().hex[:4]}"
    portal.set_registry(uscc, name)
    created = portal.sign_up(uscc, name, f"{uuid.uuid4().hex[:8]}@example.cn", phone)
    portal.login(uscc)
    portal.fill_info()
    if not address:
        for row in portal.call("GET", "registration/units/me/addresses", 200).json():
            portal.call("DELETE", f"registration/units/me/addresses/{row['id']}", 204)
    added = [portal.add_person(submit=submit or awaiting_payment or order or paid, name=f"测试人员{i + 1}",
                               id_number=id_numbers[i] if i < len(id_numbers) else None)
             for i in range(people)]
    unit = ApiUnit(portal, uscc, name, phone, added, created["unit_code"])
    if submit or awaiting_payment or order or paid:
        portal.submit_unit()
    if awaiting_payment or order or paid:
        for person in added:
            portal.wait_person_status(person["id"], "awaiting_payment")
    if order or paid:
        unit.order = portal.create_order([p["id"] for p in added]).json()
    if paid and unit.order:
        payment = portal.start_payment(unit.order["order_no"]).json()
        portal.sandbox_pay(payment["provider_txn_id"])
        for person in added:  # paid: the check follows at once (it may already be over)
            wait_until_paid(portal, person["id"])
    return unit


def wait_until_paid(portal: Portal, person_id: str) -> None:
    from tests.infra import wait_for
    wait_for(lambda: portal.person(person_id)["status"] not in ("awaiting_payment", "submitted"), timeout=30,
             message="the payment to reach registration")


def log_in(site: Site, uscc: str, password: str = "Passw0rd!") -> None:
    site.go("/login")
    site.fill_many(uscc=uscc, password=password)
    site.press("login-submit")
    site.wait_path("^/unit$")


def committee(stack) -> Portal:
    admin = Portal(stack.url)
    admin.token = admin.call("POST", "review/admin/login", 200,
                             json={"username": "admin", "password": "Admin-passw0rd"}).json()["token"]
    return admin


def previous_edition_unit(stack, name: str, password: str = "OldPassw0rd1") -> dict[str, Any]:
    """A unit of CIIE-2025 with two people: one whose badge can be reused, one to register again."""
    uscc = random_uscc()
    reusable = {"id_number": random_resident_id(), "name": "陈往届", "gender": "female", "region_type": "mainland",
                "id_type": "resident_id", "label": "visitor", "credential_no": "202500000123", "check_passed": True,
                "card_face": {"name": "陈往届", "unit_name": name, "delegation_id": "GD-GZ", "label": "visitor",
                              "entry_days": [2, 3]}}
    again = {"id_number": random_resident_id(), "name": "周往届", "gender": "male", "region_type": "mainland",
             "id_type": "resident_id", "label": "visitor", "credential_no": None, "check_passed": False}
    unit = {"uscc": uscc, "name": name, "category": "enterprise", "delegation_id": "GD-GZ", "password": password,
            "contact_phone": random_phone(), "contact_email": f"old-{uuid.uuid4().hex[:6]}@example.cn",
            "info": {"name_en": "Returning Trading Co.", "registered_address": "2 Tianhe Road, Guangzhou",
                     "industry": "Retail", "contact_name": "Chen", "contact_mobile": "13700137000",
                     "purposes": ["procure"]},
            "personnel": [reusable, again]}
    committee(stack).call("POST", "registration/admin/previous-editions/import", 200,
                          json={"edition": "CIIE-2025", "units": [unit]})
    return {**unit, "password": password}
