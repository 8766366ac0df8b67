"""Set-up for the finance, operations and gate desks' browser tests, over the API: bank
transfers submitted by units, refundable people, produced badges."""
from __future__ import annotations

import uuid

from tests.browser.units import ApiUnit, api_unit
from tests.journey import photo_jpeg


def transfer_submitted(stack, remitter: str | None = None, people: int = 1) -> tuple[ApiUnit, dict]:
    """A unit with an unpaid order it says it paid by bank transfer, with a voucher."""
    unit = api_unit(stack, people=people, order=True)
    assert unit.order is not None
    form = {"remitter_type": "unit", "remitter_name": remitter or unit.name, "remitter_account": "6222020200112233",
            "amount_fen": str(unit.order["amount_fen"]), "phone": "13800138000"}
    transfer = unit.portal.call("POST", f"billing/orders/{unit.order['order_no']}/transfer", 201,
                                headers={"Idempotency-Key": uuid.uuid4().hex}, data=form,
                                files={"voucher": ("voucher.jpg", photo_jpeg(900, 600), "image/jpeg")}).json()
    return unit, transfer


def order_status(unit: ApiUnit) -> str:
    assert unit.order is not None
    return unit.portal.call("GET", f"billing/orders/{unit.order['order_no']}", 200).json()["status"]


def onsite_unit(stack, names: tuple[str, ...]) -> tuple[ApiUnit, list[dict]]:
    """A paid unit whose people collect their badges on site; returns each person's badge
    once it waits at the pick-up desk."""
    from tests.infra import wait_for
    from tests.journey import random_resident_id
    unit = api_unit(stack, people=0)
    portal = unit.portal
    for name in names:
        person = portal.call("POST", "registration/units/me/personnel", 201, json={
            "name": name, "gender": "male", "region_type": "mainland", "id_type": "resident_id",
            "id_number": random_resident_id(), "mobile": "13900139000", "entry_dates": ["2026-11-06"],
            "exhibition_area": "consumer_goods", "pickup_method": "onsite", "requested_label": "visitor",
            "privacy_consent": True}).json()
        portal.call("PUT", f"registration/units/me/personnel/{person['id']}/photo", 200,
                    files={"photo": ("photo.jpg", photo_jpeg(), "image/jpeg")})
        unit.people.append(portal.call("POST", f"registration/units/me/personnel/{person['id']}/submit", 200).json())
    portal.submit_unit()
    for person in unit.people:
        portal.wait_person_status(person["id"], "awaiting_payment")
    unit.order = portal.create_order([p["id"] for p in unit.people]).json()
    payment = portal.start_payment(unit.order["order_no"]).json()
    portal.sandbox_pay(payment["provider_txn_id"])

    def badges() -> list[dict] | None:
        cards = {c["person_id"]: c for c in portal.call("GET", "credentials/units/me/credentials", 200).json()}
        ready = [cards.get(p["id"]) for p in unit.people]
        return ready if all(c and c["status"] == "ready_for_pickup" for c in ready) else None  # type: ignore[misc]
    return unit, wait_for(badges, timeout=60, interval=0.5, message="the badges to wait at the pick-up desk")
