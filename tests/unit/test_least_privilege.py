"""Least privilege on the broker, the parts that need no broker: the permissions the
definitions give each user, the consumer's publisher check, the nameko edge that feeds
it, and the police client's check. The broker's own refusals are proved against a real
RabbitMQ in tests/integration/test_rabbitmq_definitions.py."""
from __future__ import annotations

import re
from types import SimpleNamespace

import nameko.rpc
import pytest
from nameko.events import event_handler as nameko_event_handler
from nameko.rpc import rpc

from deploy import rabbitmq
from police.reference_client import requester_refusal
from shared.broker import producer_users
from shared.config import SERVICES
from shared.events import LATEST, POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE, make_event
from shared.inbox import EventConsumer
from shared.nameko_edge import (PUBLISHED_BY, EventWorker, ProducerCheckedEventHandler, check_entrypoints,
                                event_handler)
from shared.topology import RPC_CALLERS, RPC_EXCHANGE, SUBSCRIPTIONS, handler_queue_name

USERS = {**{s: f"u-{s}" for s in SERVICES}, "police": "u-police"}


def allows(regex: str, name: str) -> bool:
    """RabbitMQ matches a permission regex against the resource name (unanchored; ours are anchored)."""
    return re.search(regex, name) is not None


@pytest.fixture(scope="module")
def document():
    return rabbitmq.definitions("v", USERS)


def permission_of(document, role: str) -> dict:
    return next(p for p in document["permissions"] if p["user"] == USERS[role])


def topic_of(document, role: str, exchange: str) -> dict | None:
    return next((t for t in document["topic_permissions"]
                 if t["user"] == USERS[role] and t["exchange"] == exchange), None)


# --- the definitions ------------------------------------------------------------------------
def test_one_user_per_service_and_one_for_the_police_none_with_a_password_or_a_tag(document):
    assert [u["name"] for u in document["users"]] == [USERS[r] for r in rabbitmq.ROLES]
    assert all(u["password_hash"] == "" and u["tags"] == [] for u in document["users"])
    assert [p["user"] for p in document["permissions"]] == [USERS[r] for r in rabbitmq.ROLES]


def test_nobody_but_the_police_configures_binds_to_or_reads_the_police_exchange_and_queue(document):
    for role in rabbitmq.ROLES:
        permission = permission_of(document, role)
        for name in (POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE):
            assert not allows(permission["configure"], name), (role, name)
        assert not allows(permission["read"], POLICE_REQUEST_EXCHANGE), role  # binding reads the exchange
        assert allows(permission["read"], POLICE_REQUEST_QUEUE) == (role == "police"), role
        assert allows(permission["write"], POLICE_REQUEST_EXCHANGE) == (role == "credentials"), role


def test_each_producer_writes_only_its_own_events(document):
    for role in rabbitmq.ROLES:
        permission = permission_of(document, role)
        for producer in {spec.producer for spec in LATEST.values()}:
            assert allows(permission["write"], f"{producer}.events") == (producer == role), (role, producer)
        topic = topic_of(document, role, f"{role}.events")
        for event_type, spec in LATEST.items():
            if topic is not None and not spec.restricted:
                assert allows(topic["write"], event_type) == (spec.producer == role), (role, event_type)


def test_each_service_binds_only_the_events_it_consumes(document):
    for service in SERVICES:
        for producer in {spec.producer for spec in LATEST.values()}:
            topic = topic_of(document, service, f"{producer}.events")
            wanted = [t for t in SUBSCRIPTIONS[service] if LATEST[t].producer == producer]
            if producer == service:
                continue
            if not wanted:
                assert topic is None and not allows(permission_of(document, service)["read"], f"{producer}.events")
                continue
            assert topic is not None
            for event_type, spec in LATEST.items():
                if spec.producer == producer:
                    assert allows(topic["read"], event_type) == (event_type in wanted), (service, event_type)
            assert not allows(topic["read"], "#") and not allows(topic["read"], "*")


def test_each_service_configures_only_its_own_queues(document):
    for service in SERVICES:
        configure = permission_of(document, service)["configure"]
        for other in SERVICES:
            for event_type in SUBSCRIPTIONS[other]:
                assert allows(configure, handler_queue_name(other, event_type)) == (other == service)
        for exchange in document["exchanges"]:
            assert not allows(configure, exchange["name"]), (service, exchange["name"])
        assert not allows(configure, "amq.gen-abc") and not allows(configure, "anything")
    assert permission_of(document, "police")["configure"] == "^$"


def test_rpc_calls_only_from_the_services_the_rpc_table_names(document):
    for service in SERVICES:
        topic = topic_of(document, service, RPC_EXCHANGE)
        for callee, methods in RPC_CALLERS.items():
            for method, callers in methods.items():
                may = topic is not None and allows(topic["write"], f"{callee}.{method}")
                assert may == (service in callers), (service, callee, method)
    credentials = topic_of(document, "credentials", RPC_EXCHANGE)
    assert credentials is not None and allows(credentials["write"], "registration.person_dossier")
    for service in SERVICES:  # nobody binds to overhear calls: only its own "<service>.*" and reply uuids
        topic = topic_of(document, service, RPC_EXCHANGE)
        if topic is None:
            assert not allows(permission_of(document, service)["read"], RPC_EXCHANGE)
            continue
        assert not any(allows(topic["read"], key) for key in ("#", "*", "registration.person_dossier"))
        assert allows(topic["read"], "registration.*") == (service == "registration")


def test_the_police_user_publishes_only_the_check_results(document):
    topic = topic_of(document, "police", "police.events")
    assert topic is not None
    assert {t for t in LATEST if allows(topic["write"], t)} == {"BackgroundCheckPassed", "BackgroundCheckFailed"}
    assert permission_of(document, "police")["write"] == r"^(police\.events)$"


def test_passwords_come_only_from_the_environment_and_are_not_short(monkeypatch):
    with pytest.raises(ValueError, match="AMQP_PASSWORD_REGISTRATION"):
        rabbitmq.passwords_from_env({})
    env = {f"AMQP_PASSWORD_{r.upper()}": f"{r}-password-long-enough" for r in rabbitmq.ROLES}
    with pytest.raises(ValueError, match="AMQP_PASSWORD_POLICE"):
        rabbitmq.passwords_from_env({**env, "AMQP_PASSWORD_POLICE": "short"})
    document = rabbitmq.definitions("v", rabbitmq.users_from_env({}), rabbitmq.passwords_from_env(env))
    assert all(u["password_hash"] for u in document["users"])
    for role in rabbitmq.ROLES:
        monkeypatch.delenv(f"AMQP_PASSWORD_{role.upper()}", raising=False)
    assert rabbitmq.main(["--passwords-from-env"]) == 2


def test_password_hash_is_rabbitmq_sha256_with_a_fresh_salt():
    import base64
    import hashlib
    raw = base64.b64decode(rabbitmq.password_hash("secret", salt=b"abcd"))
    assert raw == b"abcd" + hashlib.sha256(b"abcdsecret").digest()
    assert rabbitmq.password_hash("secret") != rabbitmq.password_hash("secret")


# --- who publishes whose events ------------------------------------------------------------
def test_amqp_users_names_each_producer_and_defaults_to_the_one_dev_user():
    assert producer_users("guest", "")["billing"] == "guest"
    users = producer_users("guest", "billing=u-billing, police=u-police")
    assert users["billing"] == "u-billing" and users["police"] == "u-police" and users["review"] == "guest"
    for bad in ("billing", "billing=", "nobody=u", "=u"):
        with pytest.raises(ValueError):
            producer_users("guest", bad)


class FakeBroker:
    def __init__(self, user: str, users: dict[str, str]):
        self.user, self.producer_users, self.published = user, users, []
        self.service = "credentials"

    def user_of(self, producer: str) -> str:
        return self.producer_users[producer]

    def publish(self, exchange, routing_key, body, headers=None, message_id=None, correlation_id=None,
                expiration_ms=None):
        self.published.append((exchange, routing_key, body, headers))


def credentials_consumer(applied: list) -> tuple[EventConsumer, FakeBroker]:
    broker = FakeBroker("u-credentials", producer_users("u-credentials", ",".join(
        f"{role}={user}" for role, user in USERS.items())))
    consumer = EventConsumer(None, None, {"PaymentConfirmed": applied.append}, None,  # type: ignore[arg-type]
                             broker=broker)  # type: ignore[arg-type]
    return consumer, broker


def payment_confirmed() -> dict:
    return make_event("PaymentConfirmed", {"payment_id": "p", "order_id": "o", "order_no": "N", "unit_id": "u",
                                           "person_ids": ["x"], "amount_fen": 1, "method": "qr"}, producer="billing")


@pytest.mark.parametrize("published_by,attempt", [("u-review", 1), ("u-review", 2), (None, 1), ("", 1),
                                                  ("u-police", 1), ("u-credentials", 1)])
def test_an_event_its_producer_did_not_publish_is_dead_lettered_with_the_reason_never_applied(published_by, attempt):
    applied: list = []
    consumer, broker = credentials_consumer(applied)
    assert consumer.process("q", payment_confirmed(), attempt, published_by=published_by) == "refused"
    assert applied == []
    [(exchange, queue, body, headers)] = broker.published
    assert exchange == "accr.dead-letters" and queue == "credentials" and body["type"] == "PaymentConfirmed"
    assert headers["x-original-queue"] == "q"
    assert headers["x-reason"].startswith("forged producer") and "'u-billing'" in headers["x-reason"]


def test_the_producers_user_is_accepted_and_so_is_a_retry_from_the_consumer_itself():
    consumer, _ = credentials_consumer([])
    event = SimpleNamespace(type="PaymentConfirmed", producer="billing")
    assert consumer.publisher_refusal(event, "u-billing", 1) is None  # type: ignore[arg-type]
    assert consumer.publisher_refusal(event, "u-credentials", 2) is None  # type: ignore[arg-type]
    assert consumer.publisher_refusal(event, "u-credentials", 1) is not None  # type: ignore[arg-type]


# --- the nameko edge ------------------------------------------------------------------------
def test_the_publisher_comes_from_the_validated_user_id_never_from_a_header():
    handler = ProducerCheckedEventHandler("billing", "PaymentConfirmed")
    spoofed = SimpleNamespace(headers={PUBLISHED_BY: "u-billing", "nameko." + PUBLISHED_BY: "u-billing"},
                              properties={})
    assert handler.unpack_message_headers(spoofed)[PUBLISHED_BY] == ""
    genuine = SimpleNamespace(headers={"x-attempt": 2}, properties={"user_id": "u-billing"})
    data = handler.unpack_message_headers(genuine)
    assert data[PUBLISHED_BY] == "u-billing" and data["x-attempt"] == 2


def test_nameko_checks_the_rpc_exchange_instead_of_declaring_it():
    assert nameko.rpc.get_rpc_exchange({}).passive is True
    assert nameko.rpc.get_rpc_exchange({}).name == RPC_EXCHANGE


def _worker(name: str, **methods) -> type:
    return type("W", (EventWorker,), {"name": name, "handlers": {t: print for t in SUBSCRIPTIONS[name]},
                                      **methods})


def test_a_worker_on_namekos_own_event_handler_is_refused_at_import():
    methods = {"on_unit_submitted": nameko_event_handler("registration", "UnitSubmitted")(lambda self, body: None),
               "on_personnel_submitted": event_handler("registration", "PersonnelSubmitted")(lambda self, b: None),
               "on_reuse_requested": event_handler("registration", "ReuseRequested")(lambda self, b: None),
               "on_personnel_cancelled": event_handler("registration", "PersonnelCancelled")(lambda self, b: None),
               "on_tokens_revoked": event_handler("registration", "TokensRevoked")(lambda self, b: None),
               "claim_invitation_code": rpc(lambda self: None)}
    with pytest.raises(RuntimeError, match="nameko's event_handler"):
        check_entrypoints(_worker("review", **methods))
    methods["on_unit_submitted"] = event_handler("registration", "UnitSubmitted")(lambda self, body: None)
    check_entrypoints(_worker("review", **methods))


def test_a_worker_answering_an_rpc_the_table_does_not_name_is_refused_at_import():
    methods = {f"on_{n}": event_handler("registration", t)(lambda self, body: None)
               for n, t in (("unit_submitted", "UnitSubmitted"), ("personnel_submitted", "PersonnelSubmitted"),
                            ("reuse_requested", "ReuseRequested"), ("personnel_cancelled", "PersonnelCancelled"),
                            ("tokens_revoked", "TokensRevoked"))}
    methods["claim_invitation_code"] = rpc(lambda self: None)
    methods["person_dossier"] = rpc(lambda self: None)
    with pytest.raises(RuntimeError, match="RPC table"):
        check_entrypoints(_worker("review", **methods))


def test_every_worker_answers_exactly_the_rpc_table():
    import importlib
    for service in SERVICES:
        worker = getattr(importlib.import_module(f"services.{service}.worker"), f"{service.title()}Worker")
        check_entrypoints(worker)  # raises otherwise


# --- the police client ------------------------------------------------------------------------
def test_the_police_client_answers_only_requests_the_credentials_user_published():
    assert requester_refusal("u-credentials", "u-credentials") is None
    for published_by in (None, "", "u-review", "u-police"):
        assert requester_refusal(published_by, "u-credentials") is not None
