"""Notifications against a local SMTP server, real PostgreSQL and RabbitMQ: every
template's subject, recipient, language and body; a flaky SMS provider; opt-out."""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from shared.auth import issue_token
from shared.events import make_event
from tests.infra import wait_for
from tests.integration.conftest import deps_of, handlers_of


def consumer():
    return deps_of("notifications").consumer(handlers_of("notifications"))


def dev_user() -> str:
    """Every service of the integration tests publishes as one dev user."""
    return deps_of("notifications").broker.user

EVENTS = {  # event -> (payload, producer, a phrase of the Chinese subject, of the English one, body must contain)
    "UnitApproved": ({"delegation_id": "GD", "automatic": True}, "review", "审核已通过", "has been approved", None),
    "UnitReturned": ({"comment": "补充英文名称"}, "review", "退回修改", "revise", "补充英文名称"),
    "UnitRejected": ({"reason": "不符合条件"}, "review", "审核未通过", "was not approved", "不符合条件"),
    "OrderCreated": ({"order_id": "o", "order_no": "V20261001000000123456789", "person_ids": ["p"], "amount_fen": 20000,
                      "expires_at": "2026-10-01T02:00:00Z"}, "billing", "待支付 200.00 元", "CNY 200.00 due",
                     "V20261001000000123456789"),
    "PaymentConfirmed": ({"payment_id": "pay", "order_id": "o", "order_no": "V1", "person_ids": ["p"],
                          "amount_fen": 20000, "method": "alipay"}, "billing", "支付成功", "Payment received", "200.00"),
    "TransferRejected": ({"order_id": "o", "order_no": "V2", "reason": "金额不符"}, "billing", "未通过确认",
                         "not accepted", "金额不符"),
    "InvoiceIssued": ({"invoice_id": "i", "order_id": "o", "invoice_no": "26440000000000000007", "kind": "special",
                       "amount_fen": 20000}, "billing", "已开具", "issued", "26440000000000000007"),
    "InvoiceReversed": ({"invoice_id": "i", "order_id": "o", "invoice_no": "26440000000000000008",
                         "reason": "抬头有误", "notice_72h": True}, "billing", "已退票", "reversed", "72"),
    "RefundCompleted": ({"refund_id": "r", "order_id": "o", "order_no": "V3", "person_ids": ["p"],
                         "amount_fen": 20000}, "billing", "退款 200.00 元", "Refund of CNY 200.00", "V3"),
    "CredentialDispatched": ({"credential_id": "c", "credential_no": "202600000099", "person_id": "p",
                              "method": "courier", "tracking_no": "SF000000000001"}, "credentials", "已寄出",
                             "dispatched", "SF000000000001"),
    "BackgroundCheckFailed": ({"check_id": "k", "person_id": "p", "reason_code": "BLOCKLISTED"}, "police",
                              "未通过", "not passed", None),
    "ReminderDue": ({"kind": "payment", "deadline": "2026-10-15T16:00:00", "people": 2, "days_before": 3},
                    "registration", "缴费将于北京时间 2026-10-16 00:00 截止", "Payment closes on", "2"),
}


def rpc_for(contact: dict, unit_id: str) -> SimpleNamespace:
    return SimpleNamespace(registration=SimpleNamespace(unit_contact=lambda u: contact, person_unit=lambda p: unit_id,
                                                        person_name=lambda p: "王小明"))


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_each_template_arrives_by_smtp_in_the_units_language(infra, apps, event_type, language):
    payload, producer, zh, en, body = EVENTS[event_type]
    unit_id, email = uuid.uuid4().hex, f"{uuid.uuid4().hex[:8]}@example.cn"
    contact = {"unit_name": "示例贸易 Example Co", "email": email, "phone": "13700000002", "language": language,
               "contact_name": "Li"}
    if producer not in ("police",):
        payload = {**payload, "unit_id": unit_id}
    env = make_event(event_type, payload, producer=producer)
    assert consumer().process("q", env, 1, rpc=rpc_for(contact, unit_id), published_by=dev_user()) == "applied"
    [mail] = wait_for(lambda: infra["mailbox"].to(email), message=f"{event_type} email")
    assert mail["to"] == [email]
    assert (zh if language == "zh" else en) in mail["subject"], mail["subject"]
    assert "Li" in mail["body"]
    if body:
        assert body in mail["body"]
    if event_type == "BackgroundCheckFailed":
        assert "BLOCKLISTED" not in mail["body"]  # the reason is never shown to the unit
        assert "王小明" in mail["subject"] and "王小明" in mail["body"]  # which person


def test_flaky_sms_provider_retries_with_backoff_then_dead_letters(infra, apps):
    from services.notifications import domain
    from services.notifications.models import Message
    rt = deps_of("notifications")
    unit_id = uuid.uuid4().hex
    contact = {"unit_name": "Flaky Co", "email": f"{unit_id[:8]}@example.cn", "phone": "13999999999",
               "language": "zh"}
    env = make_event("UnitApproved", {"unit_id": unit_id, "delegation_id": "GD", "automatic": True}, producer="review")
    consumer().process("q", env, 1, rpc=rpc_for(contact, unit_id), published_by=dev_user())

    def sms():
        with rt.uow() as (s, _):
            return s.scalar(select(Message).where(Message.unit_id == unit_id, Message.channel == "sms"))

    assert sms().status == "failed" and sms().attempts == 1
    first_retry_at = sms().next_attempt_at
    for attempt in range(2, domain.MAX_ATTEMPTS + 1):
        domain.deliver(rt)  # not due yet: nothing happens
        assert sms().attempts == attempt - 1
        domain.deliver(rt, now=sms().next_attempt_at + dt.timedelta(seconds=1))
    dead = sms()
    assert dead.status == "dead" and dead.attempts == domain.MAX_ATTEMPTS and "unavailable" in dead.last_error
    assert dead.next_attempt_at - first_retry_at > dt.timedelta(seconds=10)  # backed off
    ops = {"Authorization": "Bearer " + issue_token("ops", "operations", "review")}
    listed = apps["notifications"].get("/messages", headers=ops, query_string={"status": "dead"}).json
    assert dead.id in [m["id"] for m in listed]
    assert apps["notifications"].get("/messages", headers={"Authorization": "Bearer " + issue_token(
        "u", "unit_contact", "registration", unit_id="u")}).status_code == 403
    r = apps["notifications"].post(f"/messages/{dead.id}/resend", headers=ops)
    assert r.status_code == 200 and r.json["status"] in ("failed", "queued")  # the number still fails


def test_reminders_respect_opt_out_but_results_do_not(infra, apps):
    unit_id = uuid.uuid4().hex
    email = f"{unit_id[:8]}@example.cn"
    unit = {"Authorization": "Bearer " + issue_token(unit_id, "unit_contact", "registration", unit_id=unit_id)}
    assert apps["notifications"].put("/units/me/preferences", headers=unit, json={"reminders": False}).status_code == 200
    assert apps["notifications"].get("/units/me/preferences", headers=unit).json == {"reminders": False}
    contact = {"unit_name": "Quiet Co", "email": email, "phone": "13700000003", "language": "en"}
    consumer_ = consumer()
    reminder = make_event("ReminderDue", {"unit_id": unit_id, "kind": "payment", "deadline": "2026-10-15T16:00:00",
                                          "people": 1, "days_before": 1}, producer="registration")
    result = make_event("UnitApproved", {"unit_id": unit_id, "delegation_id": "GD", "automatic": True},
                        producer="review")
    consumer_.process("q", reminder, 1, rpc=rpc_for(contact, unit_id), published_by=dev_user())
    consumer_.process("q", result, 1, rpc=rpc_for(contact, unit_id), published_by=dev_user())
    mails = wait_for(lambda: infra["mailbox"].to(email), message="the approval")
    assert [m["subject"] for m in mails] == ["[CIIE professional visitors] Quiet Co has been approved"]


def test_template_preview_for_admins(apps):
    admin = {"Authorization": "Bearer " + issue_token("a", "organising_committee", "review")}
    r = apps["notifications"].get("/templates/payment_due/preview", headers=admin, query_string={"language": "en"})
    assert r.status_code == 200 and "CNY 200.00" in r.json["subject"]
    assert apps["notifications"].get("/templates/nope/preview", headers=admin).status_code == 404
    r = apps["notifications"].get("/templates/payment_due/preview", headers=admin, query_string={"language": "fr"})
    assert (r.status_code, r.json["field"]) == (400, "language")


def test_a_crlf_in_a_name_cannot_inject_headers_and_blocks_no_other_message(infra, apps):
    """A unit name with CR/LF (from before names were validated) reaches a subject: it is sent
    on one line; a message whose address can never be sent dies at once with its reason, and
    the message queued after it still goes out."""
    from services.notifications import domain
    from services.notifications.models import Message
    rt = deps_of("notifications")
    evil, bad_address, fine = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    evil_email, fine_email = f"{evil[:8]}@example.cn", f"{fine[:8]}@example.cn"
    contacts = {
        evil: {"unit_name": "Evil\r\nBcc: spy@evil.example", "email": evil_email, "phone": None, "language": "en"},
        bad_address: {"unit_name": "Broken", "email": "x@example.cn\r\nBcc: spy@evil.example", "phone": None,
                      "language": "en"},
        fine: {"unit_name": "Fine Co", "email": fine_email, "phone": None, "language": "en"},
    }
    rpc = SimpleNamespace(registration=SimpleNamespace(unit_contact=lambda u: contacts[u], person_unit=lambda p: None))
    for unit_id in (evil, bad_address, fine):
        env = make_event("UnitApproved", {"unit_id": unit_id, "delegation_id": "GD", "automatic": True},
                         producer="review")
        assert consumer().process("q", env, 1, rpc=rpc, published_by=dev_user()) == "applied"
    [mail] = wait_for(lambda: infra["mailbox"].to(evil_email), message="the evil unit's email")
    assert "\n" not in mail["subject"] and mail["to"] == [evil_email]
    assert infra["mailbox"].to("spy@evil.example") == []
    wait_for(lambda: infra["mailbox"].to(fine_email), message="the next unit's email")
    domain.deliver(rt)  # a later sweep does not pick the broken one up again
    with rt.uow() as (s, _):
        broken = s.scalar(select(Message).where(Message.unit_id == bad_address))
        assert broken.status == "dead" and "invalid header" in broken.last_error
