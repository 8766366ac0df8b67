"""The foundation journey through the nginx gateway and RabbitMQ only, with every
service in its own processes against its own PostgreSQL database."""
from __future__ import annotations

import threading
import time
import uuid

import requests
from kombu import Connection

from services.billing.providers import sign
from shared.topology import handler_queue_name
from tests.e2e.conftest import SANDBOX_SECRET
from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_uscc

TIMINGS: dict[str, float] = {}


def registered_unit(stack, language: str = "zh") -> tuple[Portal, dict, str, str]:
    portal = Portal(stack.url)
    uscc = random_uscc()
    name = f"广州示例贸易有限公司{uuid.uuid4().hex[:6]}"
    email = f"contact-{uuid.uuid4().hex[:8]}@example.cn"
    phone = random_phone()
    portal.set_registry(uscc, name)  # known to the business registry: automatic review
    portal.sign_up(uscc, name, email, phone, language=language)
    portal.login(uscc)
    portal.fill_info()
    person = portal.add_person()
    return portal, person, email, phone


def pay_order(portal: Portal, person_ids: list[str], notify_times: int = 1) -> dict:
    portal.wait_payable(person_ids)
    order = portal.create_order(person_ids)
    assert order.status_code == 201, order.text
    payment = portal.start_payment(order.json()["order_no"])
    assert payment.status_code == 201, payment.text
    portal.sandbox_pay(payment.json()["provider_txn_id"], notify_times=notify_times)
    return {**order.json(), "txn_id": payment.json()["provider_txn_id"]}


def test_journey_from_sign_up_to_dispatched_badge(stack, dump_logs_on_failure):
    portal, person, email, phone = registered_unit(stack)
    assert portal.step(3)["count"] == 1 and portal.step(4)["done"] is False

    started = time.monotonic()
    portal.submit_unit()
    # review approves automatically (UnitApproved); the person is confirmed as a
    # fee-paying professional visitor (PersonnelConfirmed)
    confirmed = portal.wait_person_status(person["id"], "awaiting_payment")
    assert confirmed["label"] == "visitor" and confirmed["payer"] == "unit"
    assert portal.step(4) == {"step": 4, "name": "delegation_review", "done": True, "status": "approved"}
    payables = portal.call("GET", "billing/payables", 200).json()
    assert [(p["person_id"], p["fee_fen"]) for p in payables] == [(person["id"], 20000)]

    order = pay_order(portal, [person["id"]])
    assert order["amount_fen"] == 20000 and order["order_no"].startswith("V") and len(order["order_no"]) == 24
    wait_for(lambda: portal.call("GET", f"billing/orders/{order['order_no']}", 200).json()["status"] == "paid",
             message="order paid")
    dispatched = portal.wait_person_status(person["id"], "dispatched", timeout=30)
    TIMINGS["submission_to_dispatch_s"] = time.monotonic() - started
    assert dispatched["credential_no"] and dispatched["tracking_no"].startswith("SF")

    steps = portal.progress()["steps"]
    assert all(s["done"] for s in steps), steps
    assert [s["name"] for s in steps] == ["account", "unit_info", "personnel", "delegation_review", "payment",
                                          "personnel_check", "production", "distribution"]
    creds = portal.call("GET", "credentials/units/me/credentials", 200).json()
    assert [c["credential_no"] for c in creds] == [dispatched["credential_no"]]

    # the unit heard of each step by email (real SMTP) and SMS (sandbox). Not in a fixed order:
    # notifications applies several events at once, and the unit may order and pay before the
    # email about its confirmed person has left (nothing makes one wait for the other).
    subjects = wait_for(lambda: (m := stack.mailbox.to(email)) and len(m) >= 6 and [x["subject"] for x in m],
                        message="six emails")
    assert len(subjects) == 6, subjects

    def one(found: list[str], what: str) -> str:
        assert len(found) == 1, (what, subjects)
        return found[0]

    assert one([s for s in subjects if "审核已通过" in s], "the unit's approval")
    assert "张三 待缴费 200.00 元" in one([s for s in subjects if "待缴费" in s], "the person awaits payment")
    assert "待支付 200.00 元" in one([s for s in subjects if order["order_no"] in s and "待支付" in s], "the order")
    assert one([s for s in subjects if "支付成功" in s], "the payment")
    assert "张三" in one([s for s in subjects if "人员审核结果：已通过" in s], "the check, naming the person")
    assert "寄出" in one([s for s in subjects if dispatched["credential_no"] in s], "the dispatch")
    assert any(dispatched["tracking_no"] in m["body"] for m in stack.mailbox.to(email))
    texts = wait_for(lambda: (m := portal.sms(phone)) and len(m) >= 7 and [x["text"] for x in m],
                     message="the code and six SMS")
    assert "验证码" in texts.pop(0)  # the sign-up code came first: the unit needed it to sign up
    assert len(texts) == 6, texts
    for what in ("审核通过", "请缴纳", "待支付", "已支付", "人员张三审核已通过", "已寄出"):
        assert len([t for t in texts if what in t]) == 1, (what, texts)
    print(f"\nsubmission -> credential dispatched: {TIMINGS['submission_to_dispatch_s']:.2f}s; "
          f"stack RSS {stack.rss_bytes() / 2**20:.0f} MiB")


def test_english_unit_gets_english_messages(stack):
    portal, person, email, _ = registered_unit(stack, language="en")
    portal.submit_unit()
    subjects = wait_for(lambda: [m["subject"] for m in stack.mailbox.to(email)], message="an email")
    assert all(s.startswith("[CIIE professional visitors]") for s in subjects)
    assert wait_for(lambda: any("approved" in m["subject"] for m in stack.mailbox.to(email)), message="the approval")


def test_bad_uscc_check_character_is_a_400_naming_the_field(stack):
    portal = Portal(stack.url)
    good = random_uscc()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    r = portal.call("POST", "registration/units", json={
        "uscc": bad, "password": "Passw0rd!", "name": "Bad Co", "category": "enterprise",
        "phone": "13800138000", "email": "bad@example.cn", "sms_code": "123456", "privacy_consent": True})
    assert r.status_code == 400
    assert r.json()["field"] == "uscc" and r.json()["code"] == "invalid_uscc" and r.json()["message"]


def _signed_notification(order: dict, **changes) -> dict:
    params = {"notify_id": uuid.uuid4().hex, "txn_id": order["txn_id"], "out_trade_no": order["order_no"],
              "total_fen": str(order["amount_fen"]), "trade_status": "TRADE_SUCCESS", "method": "alipay",
              "gmt_payment": "2026-11-23 10:00:00"}
    params["sign"] = sign(params, SANDBOX_SECRET)
    params.update(changes)
    return params


def _unpaid_order(stack) -> tuple[Portal, dict, dict]:
    portal, person, email, phone = registered_unit(stack)
    portal.submit_unit()
    portal.wait_person_status(person["id"], "awaiting_payment")
    order = portal.create_order([person["id"]]).json()
    payment = portal.start_payment(order["order_no"]).json()
    return portal, person, {**order, "txn_id": payment["provider_txn_id"]}


def test_unsigned_or_tampered_callbacks_are_rejected_and_confirm_nothing(stack):
    portal, person, order = _unpaid_order(stack)
    callback = f"{stack.url}/api/billing/callbacks/sandbox"
    unsigned = {k: v for k, v in _signed_notification(order).items() if k != "sign"}
    tampered = _signed_notification(order, total_fen="1")  # amount changed after signing
    forged = _signed_notification(order)
    forged["sign"] = sign({k: v for k, v in forged.items() if k != "sign"}, "not-the-secret")
    for params in (unsigned, tampered, forged):
        r = requests.post(callback, data=params, timeout=10)
        assert r.status_code == 400 and r.json()["code"] == "callback_bad_signature", r.text
    assert portal.call("GET", f"billing/orders/{order['order_no']}", 200).json()["status"] == "unpaid"
    assert portal.person(person["id"])["status"] == "awaiting_payment"


def test_the_same_callback_delivered_twice_confirms_one_payment(stack):
    portal, person, order = _unpaid_order(stack)
    callback = f"{stack.url}/api/billing/callbacks/sandbox"
    params = _signed_notification(order)
    answers = []
    barrier = threading.Barrier(2)

    def deliver():
        barrier.wait()
        answers.append(requests.post(callback, data=params, timeout=10))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert [a.status_code for a in answers] == [200, 200] and {a.text for a in answers} == {"success"}
    again = requests.post(callback, data=params, timeout=10)  # and a late replay
    assert again.status_code == 200 and again.text == "success"
    portal.wait_person_status(person["id"], "dispatched")
    summary = portal.call("GET", "credentials/units/me/summary", 200).json()
    assert summary["requested"] == 1 and summary["produced"] == 1
    email = stack.mailbox.messages  # one "payment confirmed" email for this order
    confirmed = [m for m in email if order["order_no"] in m["subject"] and "支付成功" in m["subject"]]
    assert len(confirmed) == 1


def test_killing_a_worker_mid_journey_loses_no_event(stack, dump_logs_on_failure):
    portal, person, email, _ = registered_unit(stack)
    portal.submit_unit()
    portal.wait_person_status(person["id"], "awaiting_payment")
    stack.kill_worker("credentials")  # SIGKILL: no goodbye
    order = pay_order(portal, [person["id"]])
    portal.wait_person_status(person["id"], "awaiting_check")  # billing and registration go on
    queue = handler_queue_name("credentials", "PaymentConfirmed")
    with Connection(stack.env["AMQP_URI"]) as conn:  # PaymentConfirmed waits in credentials' queue
        wait_for(lambda: conn.default_channel.queue_declare(queue, passive=True).message_count >= 1,
                 message="the payment waiting for credentials")
    assert portal.person(person["id"])["status"] == "awaiting_check"
    stack.start_worker("credentials")
    dispatched = portal.wait_person_status(person["id"], "dispatched", timeout=60)
    assert dispatched["credential_no"]
    wait_for(lambda: any(order["order_no"] in m["subject"] for m in stack.mailbox.to(email)), message="email")


def test_personal_data_stays_out_of_every_log(stack):
    """ID numbers and phone numbers travel through every service during a journey (and a
    search by ID number puts one in a query string): no log line of any process has them."""
    from tests.journey import random_resident_id
    portal, _, email, phone = registered_unit(stack)
    id_number = random_resident_id()
    person = portal.add_person(id_number=id_number)
    portal.submit_unit()
    found = portal.call("GET", "registration/units/me/personnel", 200, params={"id_number": id_number}).json()
    assert [p["id"] for p in found["items"]] == [person["id"]] and "*" in found["items"][0]["id_number"]
    portal.wait_person_status(person["id"], "awaiting_payment")
    order = pay_order(portal, [person["id"]])
    portal.wait_person_status(person["id"], "dispatched")
    logs = "".join(p.read_text(errors="replace") for p in (stack.workdir / "logs").glob("*.log"))
    assert order["order_no"] in logs  # the logs are there and do record the journey
    for secret in (id_number, phone, email):
        assert secret not in logs, f"{secret[:3]}… appears in a log"
