"""Label upgrades across the services (#14): an upgrade makes a person free (staff or VIP),
whatever they had reached — an unpaid person (here in an unpaid order) still gets checked
and badged, a person the delegation pays for gives the delegation its budget back, and a
produced card is revoked and replaced. (A person paid for and not yet produced is the
unit tests' case: production runs on a timer faster than a test can act between.)"""
from __future__ import annotations

import uuid

from tests.e2e.test_journey import pay_order
from tests.e2e.test_registration_journeys import admin
from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_uscc


def approved_unit(stack, delegation_id: str = "GD-GZ") -> tuple[Portal, str]:
    unit = Portal(stack.url)
    uscc, name = random_uscc(), f"惠州示例有限公司{uuid.uuid4().hex[:4]}"
    unit.set_registry(uscc, name)  # automatic review
    unit.sign_up(uscc, name, f"up-{uuid.uuid4().hex[:6]}@example.cn", random_phone(), delegation_id=delegation_id)
    unit.login(uscc)
    unit.fill_info()
    return unit, uscc


def payables(unit: Portal) -> dict[str, str]:
    return {p["person_id"]: p["status"] for p in unit.call("GET", "billing/payables", 200).json()}


def test_an_unpaid_person_upgraded_to_staff_is_checked_and_badged(stack, dump_logs_on_failure):
    unit, uscc = approved_unit(stack)
    upgraded, colleague = unit.add_person(name="张三"), unit.add_person(name="李四")
    unit.submit_unit()
    for person in (upgraded, colleague):
        unit.wait_person_status(person["id"], "awaiting_payment")
    order = unit.create_order([upgraded["id"], colleague["id"]])
    assert order.status_code == 201, order.text
    wait_for(lambda: unit.person(upgraded["id"])["order_no"] == order.json()["order_no"], message="the order known")

    committee = admin(stack)
    committee.call("PUT", f"review/quotas/{uscc}", 200, json={"vip": 0, "staff": 1})
    committee.call("POST", f"review/personnel/{upgraded['id']}/upgrade", 200, json={"label": "staff"})

    # billing: the fee is dropped and the unpaid order cancelled, the colleague can be paid for again
    wait_for(lambda: payables(unit) == {upgraded["id"]: "cancelled", colleague["id"]: "awaiting_payment"},
             message="the upgraded person's fee dropped")
    assert unit.call("GET", f"billing/orders/{order.json()['order_no']}", 200).json()["status"] == "cancelled"
    # registration and credentials: on to the police check and a staff badge, no payment
    dispatched = unit.wait_person_status(upgraded["id"], "dispatched", timeout=60)
    assert (dispatched["label"], dispatched["payer"], dispatched["order_no"]) == ("staff", "free", None)
    [card] = unit.call("GET", "credentials/units/me/credentials", 200).json()
    assert card["person_id"] == upgraded["id"] and card["label"] == "staff"
    assert unit.person(colleague["id"])["status"] == "awaiting_payment"
    pay_order(unit, [colleague["id"]])
    unit.wait_person_status(colleague["id"], "dispatched", timeout=60)


def test_a_person_the_delegation_pays_for_gives_the_budget_back_when_upgraded(stack, dump_logs_on_failure):
    committee = admin(stack)
    delegation_id = f"UP{uuid.uuid4().hex[:6].upper()}"
    committee.call("POST", "review/delegations", 201, json={"id": delegation_id, "name": "升级测试交易团",
                                                           "target": 10})
    committee.call("PUT", f"review/delegations/{delegation_id}/centralised-payment", 200,
                   json={"enabled": True, "limit_fen": 20000})
    wait_for(lambda: any(d["id"] == delegation_id for d in Portal(stack.url).call(
        "GET", "registration/delegations", 200).json()), message="registration to learn the delegation")
    unit, uscc = approved_unit(stack, delegation_id)
    person = unit.add_person()
    unit.submit_unit()
    unit.wait_person_status(person["id"], "awaiting_confirmation")
    wait_for(lambda: any(p["person_id"] == person["id"] for p in committee.call(
        "GET", "review/personnel", 200, params={"unit_id": unit.unit_id}).json()["items"]),
        message="the person awaiting the delegation's decision")
    committee.call("POST", "review/personnel/confirm", 200, json={"person_ids": [person["id"]],
                                                                  "delegation_pays": True})

    def delegation() -> dict:
        return next(d for d in committee.call("GET", "review/delegations", 200).json() if d["id"] == delegation_id)

    def statement() -> dict:
        return committee.call("GET", f"billing/finance/delegations/{delegation_id}/centralised", 200).json()

    assert delegation()["centralised_spent_fen"] == 20000
    wait_for(lambda: statement()["amount_fen"] == 20000, message="billed to the delegation")
    committee.call("PUT", f"review/quotas/{uscc}", 200, json={"vip": 1, "staff": 0})
    committee.call("POST", f"review/personnel/{person['id']}/upgrade", 200, json={"label": "vip"})
    assert delegation()["centralised_spent_fen"] == 0
    wait_for(lambda: statement() == {"delegation_id": delegation_id, "people": 0, "amount_fen": 0},
             message="the delegation's bill without the upgraded person")
    badged = unit.wait_person_status(person["id"], "dispatched", timeout=60)
    assert (badged["label"], badged["payer"]) == ("vip", "free")


def test_a_produced_card_is_replaced_when_its_holder_is_upgraded(stack, dump_logs_on_failure):
    unit, uscc = approved_unit(stack)
    person = unit.add_person()
    unit.submit_unit()
    unit.wait_person_status(person["id"], "awaiting_payment")
    pay_order(unit, [person["id"]])
    old_no = unit.wait_person_status(person["id"], "dispatched", timeout=60)["credential_no"]
    committee = admin(stack)
    committee.call("PUT", f"review/quotas/{uscc}", 200, json={"vip": 0, "staff": 1})
    committee.call("POST", f"review/personnel/{person['id']}/upgrade", 200, json={"label": "staff"})

    def cards() -> dict[str, tuple[str, str]]:
        return {c["credential_no"]: (c["status"], c["label"])
                for c in unit.call("GET", "credentials/units/me/credentials", 200).json()}

    replaced = wait_for(lambda: len(c := cards()) == 2 and any(v == ("dispatched", "staff") for v in c.values()) and c,
                        timeout=60, message="a new staff card dispatched")
    assert replaced[old_no] == ("revoked", "visitor")
    wait_for(lambda: payables(unit) == {person["id"]: "refundable"}, message="the paid fee refundable")
    new_no = next(no for no in replaced if no != old_no)
    assert wait_for(lambda: (p := unit.person(person["id"]))["credential_no"] == new_no and p)["label"] == "staff"
