"""Each service against real PostgreSQL and RabbitMQ: its HTTP API writes rows and
events in one transaction, its handlers consume the real queues."""
from __future__ import annotations

import io
import threading
import uuid
from types import SimpleNamespace

from sqlalchemy import select

from services.billing.providers import sign
from shared.auth import issue_token
from shared.events import make_event
from shared.topology import handler_queue_name
from tests.infra import wait_for
from tests.integration.conftest import deps_of, handlers_of, service_app
from tests.journey import FULL_UNIT_INFO, PERSON_REQUIRED, photo_jpeg, random_phone, random_resident_id, random_uscc


def unit_headers(unit_id: str) -> dict:
    return {"Authorization": "Bearer " + issue_token(unit_id, "unit_contact", "registration", unit_id=unit_id)}


def sms_code(apps, phone: str, purpose: str) -> str:
    r = apps["registration"].post("/sms-codes", json={"phone": phone, "purpose": purpose},
                                  headers={"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250}"})
    assert r.status_code == 202, r.json
    return deps_of("registration").sms_codes.last(phone)


def age_sms_codes(minutes: int) -> None:
    import datetime as dt
    from services.registration.models import SmsCode
    with deps_of("registration").uow() as (s, _):
        for row in s.scalars(select(SmsCode)):
            row.created_at -= dt.timedelta(minutes=minutes)


def signed_up_unit(apps, language="zh", phone=None) -> tuple[str, dict, str]:
    uscc = random_uscc()
    phone = phone or random_phone()
    r = apps["registration"].post("/units", json={
        "uscc": uscc, "password": "Passw0rd!", "name": "Example Co " + uscc[-4:], "category": "enterprise",
        "phone": phone, "email": f"{uscc.lower()}@example.cn", "delegation_id": "GD-GZ",
        "language": language, "sms_code": sms_code(apps, phone, "signup"), "privacy_consent": True})
    assert r.status_code == 201, r.json
    unit_id = r.json["unit_id"]
    return unit_id, unit_headers(unit_id), uscc


class TestRegistration:
    def test_submission_publishes_unit_and_personnel_events(self, apps, pump):
        for t in ("UnitSubmitted", "PersonnelSubmitted"):
            pump.purge(handler_queue_name("review", t))
        unit_id, headers, uscc = signed_up_unit(apps)
        c = apps["registration"]
        assert c.patch("/units/me/info", headers=headers, json=FULL_UNIT_INFO).status_code == 200
        person = c.post("/units/me/personnel", headers=headers, json={
            "name": "张三", "region_type": "mainland", "id_type": "resident_id", "id_number": random_resident_id(),
            "entry_dates": ["2026-11-06"], **PERSON_REQUIRED}).json
        assert person["status"] == "saved" and "*" in person["id_number"]
        r = c.put(f"/units/me/personnel/{person['id']}/photo", headers=headers,
                  data={"photo": (io.BytesIO(photo_jpeg()), "me.jpg")}, content_type="multipart/form-data")
        assert r.status_code == 200 and r.json["has_photo"]
        r = c.post("/units/me/submit", headers=headers, json={"person_ids": [person["id"]]})
        assert (r.status_code, r.json["code"], r.json["field"]) == (400, "document_required", "document")
        r = c.put("/units/me/document", headers=headers, content_type="multipart/form-data",
                  data={"document": (io.BytesIO(photo_jpeg(800, 600, "PNG")), "licence.png")})
        assert r.status_code == 200 and r.json["kind"] == "business_licence"
        r = c.post("/units/me/submit", headers=headers, json={"person_ids": [person["id"]]})
        assert r.status_code == 200 and r.json["status"] == "submitted"
        unit_msg = pump.get_raw(handler_queue_name("review", "UnitSubmitted"))
        person_msg = pump.get_raw(handler_queue_name("review", "PersonnelSubmitted"))
        assert unit_msg.payload["payload"]["uscc"] == uscc
        assert person_msg.payload["payload"]["person_id"] == person["id"]
        assert "id_number" not in person_msg.payload["payload"]  # no personal data on events

    def test_bad_input_gets_json_errors(self, apps):
        c = apps["registration"]
        r = c.post("/units", json={"uscc": "91350100M000100Y43"})
        assert r.status_code == 400 and r.json["field"] in ("password", "name", "category", "phone", "email")
        r = c.post("/units", data="not json", content_type="application/json")
        assert r.status_code == 400 and set(r.json) == {"code", "message", "field"}
        unit_id, headers, _ = signed_up_unit(apps)
        r = c.post("/units/me/personnel", headers=headers, json={
            "name": "张三", "region_type": "mainland", "id_type": "resident_id", "id_number": "110105194912310021",
            "entry_dates": ["2026-11-06"]})
        assert (r.status_code, r.json["code"], r.json["field"]) == (400, "invalid_id_number", "id_number")
        person = c.post("/units/me/personnel", headers=headers, json={
            "name": "张三", "region_type": "mainland", "id_type": "resident_id", "id_number": random_resident_id(),
            "entry_dates": ["2026-11-06"]}).json
        for payload, code in ((b"GIF89a....", "not_an_image"), (photo_jpeg(fmt="PNG"), "photo_not_jpg"),
                              (photo_jpeg(640, 480), "photo_too_small")):
            r = c.put(f"/units/me/personnel/{person['id']}/photo", headers=headers,
                      data={"photo": (io.BytesIO(payload), "x.jpg")}, content_type="multipart/form-data")
            assert (r.status_code, r.json["code"], r.json["field"]) == (400, code, "photo")
        r = c.put(f"/units/me/personnel/{person['id']}/photo", headers=headers)
        assert (r.status_code, r.json["field"]) == (400, "photo")
        r = c.get("/units/me/personnel", headers=headers, query_string={"per_page": 500})
        assert (r.status_code, r.json["field"]) == (400, "per_page")
        r = c.get("/units/me/personnel", headers=headers, query_string={"entry_date": "2026-11-06"})
        assert r.json["total"] == 1 and "*" in r.json["items"][0]["id_number"]
        assert c.get("/units/me").status_code == 401
        assert c.get("/units/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401

    def test_a_member_may_not_submit_a_person(self, apps):
        """A colleague saves records; the unit contact submits them (this once answered 500)."""
        unit_id, _, _ = signed_up_unit(apps)
        member = {"Authorization": "Bearer " + issue_token("member-1", "unit_member", "registration", unit_id=unit_id)}
        r = apps["registration"].post("/units/me/personnel", headers=member, json={
            "name": "李四", "gender": "male", "region_type": "mainland", "id_type": "resident_id",
            "id_number": random_resident_id(), "entry_dates": ["2026-11-06"], "submit": True})
        assert (r.status_code, r.json["code"]) == (403, "forbidden"), r.json

    def test_rpc_answers_carry_what_the_caller_needs(self, apps):
        from services.registration.domain import answers
        unit_id, _, _ = signed_up_unit(apps, language="en")
        with deps_of("registration").uow() as (s, _):
            contact = answers.unit_contact(s, unit_id)
        assert contact["language"] == "en" and contact["phone"].startswith("13")

    def test_sms_codes_rate_limits_tries_and_login(self, apps, sms_inbox):
        c = apps["registration"]
        phone = random_phone()
        unit_id, _, uscc = signed_up_unit(apps, phone=phone)
        age_sms_codes(minutes=2)  # the sign-up code was sent two minutes ago
        r = c.post("/sms-codes", json={"phone": phone, "purpose": "login"}, headers={"X-Forwarded-For": "192.0.2.1"})
        assert r.status_code == 202
        r = c.post("/sms-codes", json={"phone": phone, "purpose": "login"}, headers={"X-Forwarded-For": "192.0.2.1"})
        assert (r.status_code, r.json["code"]) == (429, "sms_too_soon")
        code = sms_inbox.last(phone)
        wrong = "000000" if code != "000000" else "111111"
        r = c.post("/auth/login/sms", json={"phone": phone, "sms_code": wrong})
        assert (r.status_code, r.json["code"], r.json["field"]) == (400, "sms_code_wrong", "sms_code")
        r = c.post("/auth/login/sms", json={"phone": phone, "sms_code": code})
        assert r.status_code == 200 and r.json["unit_id"] == unit_id
        r = c.post("/auth/login/sms", json={"phone": phone, "sms_code": code})  # used up
        assert r.json["code"] == "sms_code_expired"
        r = c.post("/sms-codes", json={"phone": "12", "purpose": "login"})
        assert (r.status_code, r.json["field"]) == (400, "phone")
        r = c.post("/units", json={"uscc": random_uscc(), "password": "Passw0rd!", "name": "No Code Co",
                                   "category": "enterprise", "phone": random_phone(), "email": "x@example.cn",
                                   "sms_code": "123456", "privacy_consent": True})
        assert (r.status_code, r.json["field"]) == (400, "sms_code")

    def test_sms_codes_are_limited_per_client_address(self, apps):
        client = {"X-Forwarded-For": "203.0.113.7, 198.51.100.9"}  # the gateway appended the last hop
        answers = [apps["registration"].post("/sms-codes", headers=client,
                                             json={"phone": random_phone(), "purpose": "signup"}).status_code
                   for _ in range(41)]
        assert answers[:40] == [202] * 40 and answers[40] == 429
        other = {"X-Forwarded-For": "203.0.113.7, 198.51.100.10"}  # same spoofable first hop, other client
        assert apps["registration"].post("/sms-codes", headers=other,
                                         json={"phone": random_phone(), "purpose": "signup"}).status_code == 202

    def test_password_reset_by_sms(self, apps, sms_inbox):
        c = apps["registration"]
        phone = random_phone()
        _, _, uscc = signed_up_unit(apps, phone=phone)
        age_sms_codes(minutes=2)
        c.post("/sms-codes", json={"phone": phone, "purpose": "reset_password"}, headers={"X-Forwarded-For": "192.0.2.2"})
        r = c.post("/auth/password-reset", json={"uscc": uscc, "phone": phone, "sms_code": sms_inbox.last(phone),
                                                 "new_password": "weak"})
        assert (r.status_code, r.json["field"]) == (400, "password")
        r = c.post("/auth/password-reset", json={"uscc": uscc, "phone": phone, "sms_code": sms_inbox.last(phone),
                                                 "new_password": "N3w-password"})
        assert r.status_code == 204
        assert c.post("/auth/login", json={"uscc": uscc, "password": "Passw0rd!"}).status_code == 401
        assert c.post("/auth/login", json={"uscc": uscc, "password": "N3w-password"}).status_code == 200


class TestReview:
    def test_registry_match_approves_automatically_and_confirms_the_person(self, apps, pump):
        rt = deps_of("review")
        for t in ("UnitApproved", "PersonnelConfirmed"):
            pump.purge(handler_queue_name("registration", t))
        uscc, unit_id = random_uscc(), uuid.uuid4().hex
        assert apps["review"].put(f"/sandbox/registry/{uscc}", json={"name": "Known Co"}).status_code == 200
        rt.broker.publish("registration.events", "PersonnelSubmitted", make_event("PersonnelSubmitted", {
            "person_id": "p-" + unit_id, "unit_id": unit_id, "requested_label": "visitor", "region_type": "mainland",
            "entry_dates": ["2026-11-06"], "exhibition_area": None, "pickup_method": "courier"},
            producer="registration"))
        rt.broker.publish("registration.events", "UnitSubmitted", make_event("UnitSubmitted", {
            "unit_id": unit_id, "edition": "CIIE-2026", "delegation_id": "GD-GZ", "uscc": uscc, "name": "Known Co",
            "category": "enterprise", "region": "mainland", "resubmission": False}, producer="registration"))
        wait_for(lambda: pump.drain("review", "PersonnelSubmitted"), message="person event")
        wait_for(lambda: pump.drain("review", "UnitSubmitted"), message="unit event")
        approved = pump.get_raw(handler_queue_name("registration", "UnitApproved"))
        confirmed = pump.get_raw(handler_queue_name("registration", "PersonnelConfirmed"))
        assert approved.payload["payload"] == {"unit_id": unit_id, "delegation_id": "GD-GZ", "automatic": True}
        assert confirmed.payload["payload"]["payer"] == "unit"

    def test_unknown_company_waits_and_admin_scope_is_enforced(self, apps, pump):
        from deploy.seed import seed
        seed("Admin-passw0rd")
        rt = deps_of("review")
        unit_id = uuid.uuid4().hex
        env = make_event("UnitSubmitted", {"unit_id": unit_id, "edition": "CIIE-2026", "delegation_id": "GD-SZ",
                                           "uscc": random_uscc(), "name": "Unknown Co", "category": "government",
                                           "region": "mainland", "resubmission": False}, producer="registration")
        assert rt.consumer(handlers_of("review")).process("q", env, 1, published_by=rt.broker.user) == "applied"
        token = apps["review"].post("/admin/login", json={"username": "admin", "password": "Admin-passw0rd"}).json["token"]
        admin = {"Authorization": f"Bearer {token}"}
        queue = apps["review"].get("/queue", headers=admin).json
        assert unit_id in [i["unit_id"] for i in queue["items"]]
        gz = {"Authorization": "Bearer " + issue_token("a2", "sub_delegation_admin", "review", delegation_id="GD-GZ")}
        assert unit_id not in [i["unit_id"] for i in apps["review"].get("/queue", headers=gz).json["items"]]
        assert apps["review"].post(f"/units/{unit_id}/approve", headers=gz).status_code == 404
        r = apps["review"].post(f"/units/{unit_id}/reject", headers=admin, json={"reason": "x", "confirm": False})
        assert r.status_code == 400 and r.json["field"] == "confirm"
        assert apps["review"].post(f"/units/{unit_id}/approve", headers=admin).json["status"] == "approved"
        unit = unit_headers("u")  # units cannot review
        assert apps["review"].get("/queue", headers=unit).status_code == 403


def billing_order(apps, unit_id: str, headers: dict) -> dict:
    rt = deps_of("billing")
    person_id = uuid.uuid4().hex
    env = make_event("PersonnelConfirmed", {"person_id": person_id, "unit_id": unit_id, "delegation_id": "GD",
                                            "label": "visitor", "payer": "unit"}, producer="review")
    assert rt.consumer(handlers_of("billing")).process("q", env, 1, published_by=rt.broker.user) == "applied"
    key = uuid.uuid4().hex
    r = apps["billing"].post("/orders", headers={**headers, "Idempotency-Key": key}, json={"person_ids": [person_id]})
    assert r.status_code == 201, r.json
    again = apps["billing"].post("/orders", headers={**headers, "Idempotency-Key": key}, json={"person_ids": [person_id]})
    assert again.status_code == 201 and again.json["order_no"] == r.json["order_no"]  # replayed, not repeated
    other = apps["billing"].post("/orders", headers={**headers, "Idempotency-Key": key}, json={"person_ids": ["x"]})
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    pay = apps["billing"].post(f"/orders/{r.json['order_no']}/payments",
                               headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, json={"method": "wechat"})
    assert pay.status_code == 201, pay.json
    return {**r.json, "txn_id": pay.json["provider_txn_id"], "person_id": person_id}


class TestBilling:
    def test_money_requests_need_an_idempotency_key(self, apps):
        r = apps["billing"].post("/orders", headers=unit_headers("u-x"), json={"person_ids": ["p"]})
        assert r.status_code == 400 and r.json["field"] == "Idempotency-Key"

    def test_one_callback_delivered_to_two_instances_at_once_confirms_once(self, apps, pump):
        pump.purge(handler_queue_name("credentials", "PaymentConfirmed"))
        unit_id = uuid.uuid4().hex
        order = billing_order(apps, unit_id, unit_headers(unit_id))
        params = {"notify_id": "n", "txn_id": order["txn_id"], "out_trade_no": order["order_no"],
                  "total_fen": "20000", "trade_status": "TRADE_SUCCESS"}
        params["sign"] = sign(params, "sandbox-payment-secret")
        second = service_app("billing").create_app(start_relay=False).test_client()  # another instance
        barrier, answers = threading.Barrier(2), []

        def deliver(client):
            barrier.wait()
            answers.append(client.post("/callbacks/sandbox", data=params).status_code)

        threads = [threading.Thread(target=deliver, args=(c,)) for c in (apps["billing"], second)]
        [t.start() for t in threads]
        [t.join(20) for t in threads]
        assert answers == [200, 200]
        from services.billing.models import PaymentCallback
        with deps_of("billing").uow() as (s, _):
            verdicts = sorted(s.scalars(select(PaymentCallback.verdict).where(
                PaymentCallback.provider_txn_id == order["txn_id"])))
            assert verdicts == ["confirmed", "duplicate"]
        first = pump.get_raw(handler_queue_name("credentials", "PaymentConfirmed"))
        assert first is not None and first.payload["payload"]["order_no"] == order["order_no"]
        assert pump.get_raw(handler_queue_name("credentials", "PaymentConfirmed"), timeout=0.5) is None

    def test_tampered_callback_changes_nothing(self, apps):
        unit_id = uuid.uuid4().hex
        headers = unit_headers(unit_id)
        order = billing_order(apps, unit_id, headers)
        params = {"notify_id": "n", "txn_id": order["txn_id"], "out_trade_no": order["order_no"],
                  "total_fen": "20000", "trade_status": "TRADE_SUCCESS"}
        params["sign"] = sign(params, "sandbox-payment-secret")
        params["total_fen"] = "1"
        r = apps["billing"].post("/callbacks/sandbox", data=params)
        assert r.status_code == 400 and r.json["field"] == "sign"
        assert apps["billing"].get(f"/orders/{order['order_no']}", headers=headers).json["status"] == "unpaid"
        assert apps["billing"].get(f"/orders/{order['order_no']}", headers=unit_headers("someone-else")).status_code == 404


class TestCredentialsAndNotifications:
    def test_paid_person_goes_to_the_police_queue_with_personal_data_only_there(self, apps, pump):
        from shared.events import POLICE_REQUEST_QUEUE
        pump.purge(POLICE_REQUEST_QUEUE)
        dossier = {"name": "张三", "gender": "male", "id_type": "resident_id", "id_number": "11010519491231002X",
                   "nationality": "CN", "unit_name": "Example", "pickup_method": "courier"}
        rpc = SimpleNamespace(registration=SimpleNamespace(person_dossier=lambda pid: dossier))
        rt = deps_of("credentials")
        person = uuid.uuid4().hex
        rt.broker.publish("billing.events", "PaymentConfirmed", make_event("PaymentConfirmed", {
            "payment_id": "pay", "order_id": "o", "order_no": "V1", "unit_id": "u1", "person_ids": [person],
            "amount_fen": 20000, "method": "alipay"}, producer="billing"))
        wait_for(lambda: pump.drain("credentials", "PaymentConfirmed", rpc=rpc), message="payment event")
        request = pump.get_raw(POLICE_REQUEST_QUEUE)
        assert request.payload["payload"]["id_number"] == "11010519491231002X"
        from services.credentials.models import OutboxMessage
        with rt.uow() as (s, _):  # the restricted copy is scrubbed once delivered
            bodies = s.scalars(select(OutboxMessage.body).where(OutboxMessage.event_type == "BackgroundCheckRequested"))
            assert all("11010519491231002X" not in b for b in bodies)

    def test_approval_email_and_sms_arrive_once_even_when_redelivered(self, apps, infra):
        rt = deps_of("notifications")
        email = f"{uuid.uuid4().hex[:8]}@example.cn"
        contact = {"unit_name": "Example Co", "email": email, "phone": "13700000001", "language": "en",
                   "contact_name": "Ms Li"}
        rpc = SimpleNamespace(registration=SimpleNamespace(unit_contact=lambda unit_id: contact))
        env = make_event("UnitApproved", {"unit_id": "u-mail", "delegation_id": "GD", "automatic": True},
                         producer="review")
        consumer = rt.consumer(handlers_of("notifications"))
        assert consumer.process("q", env, 1, rpc=rpc, published_by=rt.broker.user) == "applied"
        assert consumer.process("q", env, 1, rpc=rpc, published_by=rt.broker.user) == "duplicate"
        mails = wait_for(lambda: infra["mailbox"].to(email), message="email")
        assert len(mails) == 1 and mails[0]["subject"].endswith("Example Co has been approved")
        assert "Dear Ms Li" in mails[0]["body"]
        sms = apps["notifications"].get("/sandbox/sms", query_string={"phone": "13700000001"}).json
        assert len(sms) == 1 and sms[0]["text"].startswith("[CIIE]")
        ops = {"Authorization": "Bearer " + issue_token("ops", "operations", "review")}
        log = apps["notifications"].get("/messages", headers=ops, query_string={"unit_id": "u-mail"}).json
        assert {m["channel"] for m in log} == {"email", "sms"} and all(m["status"] == "sent" for m in log)
        assert all("*" in m["recipient"] for m in log)  # masked in the log
