"""Least privilege on the broker, against a real RabbitMQ: the production definitions
(deploy/rabbitmq.py) loaded into a vhost of this run, with a user per service and one for
the police named for this run. Each attack of issue #11 is refused here, by the broker or
by the consumer."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Queue

from deploy.rabbitmq import POLICE, render
from shared.broker import Broker
from shared.config import SERVICES
from shared.events import LATEST, POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE, make_event, parse_event
from shared.inbox import EventConsumer
from shared.topology import (REQUEUE_EXCHANGE, RPC_EXCHANGE, dead_letter_queue_name, SUBSCRIPTIONS, handler_queue_name, producers,
                             retry_exchange_name)
from tests.infra import BrokerUsers, Vhost, new_tag, wait_for

ROOT = Path(__file__).resolve().parents[2]
RETRY_DELAYS_MS = (200,)
REFUSED = ("ACCESS_REFUSED", "PRECONDITION_FAILED")


def test_committed_definitions_are_the_generated_ones():
    assert (ROOT / "deploy/rabbitmq/definitions.json").read_text() == render()


def test_committed_definitions_hold_no_credentials():
    document = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    assert {u["name"] for u in document["users"]} == {*(f"accr-{s}" for s in SERVICES), "police"}
    assert all(u["password_hash"] == "" and u["tags"] == [] for u in document["users"])


class LoadedVhost:
    """The loaded vhost: the administrator's URI and each role's own."""

    def __init__(self, admin: str, users: BrokerUsers):
        self.admin, self.users = admin, users

    def uri(self, role: str) -> str:
        return self.users.uri(role, self.admin)

    def connect(self, role: str) -> Connection:
        return Connection(self.uri(role), transport_options={"confirm_publish": True}, connect_timeout=5)

    def refused(self, role: str, action) -> str:
        """Run `action(connection)` as `role`; return the broker's refusal (fail if none)."""
        with pytest.raises(Exception) as refusal:
            with self.connect(role) as conn:
                action(conn)
        text = str(refusal.value)
        assert any(code in text for code in REFUSED), text
        return text

    def allowed(self, role: str, action) -> None:
        with self.connect(role) as conn:
            action(conn)


@pytest.fixture(scope="module")
def broker():
    tag = new_tag()
    vhost, users = Vhost(tag), BrokerUsers(tag)
    admin = vhost.create()
    try:
        if not vhost.created or not users.load(vhost.name, RETRY_DELAYS_MS):
            pytest.skip("rabbitmqctl cannot create vhosts and import definitions here")
        yield LoadedVhost(admin, users)
    finally:
        users.delete()
        vhost.delete()


def publish(exchange: str, routing_key: str, body=None, **properties):
    def action(conn: Connection) -> None:
        conn.Producer().publish(body if body is not None else {"x": 1}, exchange=exchange, routing_key=routing_key,
                                serializer="json", delivery_mode=2, retry=False, **properties)
    return action


def police_request() -> dict:
    return make_event("BackgroundCheckRequested", {
        "check_id": "c1", "person_id": "p1", "name": "张三", "gender": None, "id_type": "resident_id",
        "id_number": "11010519491231002X", "nationality": "CN", "unit_name": "Example", "reply_to": "police.events"},
        producer="credentials")


# --- each service runs with its own user --------------------------------------------------
def test_each_service_declares_its_own_queues_with_its_own_user(broker):
    for service in SERVICES:
        service_broker = Broker(broker.uri(service), service)
        try:
            service_broker.declare_topology()  # what its API and worker do at start
        finally:
            service_broker.close()


def test_a_service_may_not_configure_what_is_not_its_own(broker):
    other = handler_queue_name("credentials", "PaymentConfirmed")
    broker.refused("review", lambda c: Queue(other, durable=True)(c.channel()).declare())
    broker.refused("review", lambda c: c.channel().queue_declare("anything-of-its-own-choosing", durable=True))
    for exchange in ("review.events", RPC_EXCHANGE, POLICE_REQUEST_EXCHANGE):  # nor delete (and replace) one
        broker.refused("review", lambda c, e=exchange: c.channel().exchange_delete(e))


def test_a_service_reads_its_own_dead_letters_and_no_one_elses(broker):
    def read(queue: str):
        def action(conn: Connection) -> None:
            with conn.SimpleQueue(Queue(queue, no_declare=True)) as q:
                try:
                    q.get(timeout=0.2)
                except q.Empty:
                    pass
        return action
    broker.allowed("billing", read(dead_letter_queue_name("billing")))
    broker.refused("billing", read(dead_letter_queue_name("registration")))
    broker.refused("billing", read(dead_letter_queue_name(POLICE)))  # a police request holds personal data


def test_a_replay_another_service_sends_into_someones_queue_is_refused_by_its_consumer(broker, monkeypatch):
    """Replays go through the requeue exchange (by queue name), which every service may write
    to; the consumer accepts a replay only from its own broker user."""
    queue = handler_queue_name("credentials", "PaymentConfirmed")
    event = make_event("PaymentConfirmed", {"payment_id": "pay-2", "order_id": "o-2", "order_no": "N2",
                                            "unit_id": "u-2", "person_ids": ["p-2"], "amount_fen": 20000,
                                            "method": "qr"}, producer="billing")
    monkeypatch.setenv("AMQP_USERS", broker.users.amqp_users())
    credentials_broker = Broker(broker.uri("credentials"), "credentials")
    consumer = EventConsumer(None, None, {"PaymentConfirmed": lambda ctx: None}, None,  # type: ignore[arg-type]
                             broker=credentials_broker)
    try:
        refusal = consumer.publisher_refusal(parse_event(event), broker.users.names["review"], 1, replayed=True)
        assert refusal is not None and refusal.startswith("forged producer")
        assert consumer.publisher_refusal(parse_event(event), broker.users.names["credentials"], 1,
                                          replayed=True) is None
    finally:
        credentials_broker.close()
    broker.allowed("review", publish(REQUEUE_EXCHANGE, queue, event, user_id=broker.users.names["review"],
                                     headers={"x-replay-of": "forged"}))
    with Connection(broker.admin) as admin:
        with admin.SimpleQueue(Queue(queue, no_declare=True)) as q:
            q.clear()


# --- each service publishes only the events it produces -----------------------------------
def test_a_service_may_not_publish_another_producers_events(broker):
    for service in SERVICES:
        for producer in producers():
            if producer == service:
                continue
            event_type = next(t for t, s in LATEST.items() if s.producer == producer and not s.restricted)
            broker.refused(service, publish(f"{producer}.events", event_type))


def test_a_forged_payment_confirmed_is_refused_even_on_the_forgers_own_exchange(broker):
    text = broker.refused("review", publish("review.events", "PaymentConfirmed"))
    assert "PaymentConfirmed" in text
    broker.allowed("review", publish("review.events", "UnitApproved"))  # its own events go through
    broker.allowed("billing", publish("billing.events", "PaymentConfirmed"))


def test_a_forged_user_id_is_refused_by_the_broker(broker):
    police_user = broker.users.names[POLICE]
    text = broker.refused("billing", publish("billing.events", "PaymentConfirmed", user_id=police_user))
    assert "PRECONDITION_FAILED" in text and "user_id" in text
    broker.allowed("billing", publish("billing.events", "PaymentConfirmed", user_id=broker.users.names["billing"]))


def test_the_police_user_publishes_only_check_results(broker):
    broker.allowed(POLICE, publish("police.events", "BackgroundCheckPassed"))
    broker.allowed(POLICE, publish("police.events", "BackgroundCheckFailed"))
    broker.refused(POLICE, publish("police.events", "PaymentConfirmed"))
    broker.refused(POLICE, publish("billing.events", "PaymentConfirmed"))
    broker.refused(POLICE, publish(POLICE_REQUEST_EXCHANGE, "BackgroundCheckRequested"))
    broker.refused(POLICE, lambda c: c.channel().queue_declare("police-own-queue", durable=True))


# --- nobody but the police reads the ID numbers -------------------------------------------
def test_no_service_may_bind_a_queue_to_the_police_exchange(broker):
    for service in SERVICES:
        own = handler_queue_name(service, SUBSCRIPTIONS[service][0])
        text = broker.refused(service, lambda c, q=own: c.channel().queue_bind(q, POLICE_REQUEST_EXCHANGE,
                                                                              "BackgroundCheckRequested"))
        assert POLICE_REQUEST_EXCHANGE in text
        broker.refused(service, lambda c: c.channel().exchange_declare(POLICE_REQUEST_EXCHANGE, "direct",
                                                                      durable=True))


def test_only_the_police_user_reads_background_check_requests(broker):
    broker.allowed("credentials", publish(POLICE_REQUEST_EXCHANGE, "BackgroundCheckRequested", police_request(),
                                          user_id=broker.users.names["credentials"]))
    for service in SERVICES:
        text = broker.refused(service, lambda c: c.channel().basic_get(POLICE_REQUEST_QUEUE))
        assert POLICE_REQUEST_QUEUE in text
        if service != "credentials":  # and only credentials may send a request
            broker.refused(service, publish(POLICE_REQUEST_EXCHANGE, "BackgroundCheckRequested"))
    with broker.connect(POLICE) as police:
        with police.SimpleQueue(Queue(POLICE_REQUEST_QUEUE, no_declare=True)) as q:
            message = q.get(timeout=5)
            assert message.payload["payload"]["check_id"] == "c1"
            assert message.properties["user_id"] == broker.users.names["credentials"]
            message.ack()
    broker.refused(POLICE, lambda c: c.channel().basic_get(handler_queue_name("credentials", "PaymentConfirmed")))


# --- personal data over RPC answers only the services that need it -------------------------
def test_only_credentials_may_call_person_dossier(broker):
    for service in ("notifications", "review", "billing", "registration"):
        text = broker.refused(service, publish(RPC_EXCHANGE, "registration.person_dossier", {"args": []}))
        assert "registration.person_dossier" in text or RPC_EXCHANGE in text
    broker.allowed("credentials", publish(RPC_EXCHANGE, "registration.person_dossier", {"args": []},
                                          reply_to=str(uuid.uuid4())))
    broker.allowed("notifications", publish(RPC_EXCHANGE, "registration.unit_contact", {"args": []},
                                            reply_to=str(uuid.uuid4())))


def test_no_service_may_listen_in_on_rpc_calls_or_replies(broker):
    reply_queue = f"rpc.reply-notifications-{uuid.uuid4()}"

    def bind(key: str):
        def action(conn: Connection) -> None:
            channel = conn.channel()
            channel.queue_declare(reply_queue, auto_delete=True)
            channel.queue_bind(reply_queue, RPC_EXCHANGE, key)
        return action
    broker.allowed("notifications", bind(str(uuid.uuid4())))  # its own reply queue, by its uuid
    for key in ("#", "registration.*", "registration.person_dossier", "*"):
        broker.refused("notifications", bind(key))


# --- consumers refuse an event whose producer did not publish it ----------------------------
def test_a_forged_event_routed_through_the_retry_exchange_is_dead_lettered_never_applied(broker, monkeypatch):
    """The retry exchange lets any service put a message into another's queue (that is how
    retries come back): the broker cannot tell a forged PaymentConfirmed from a retry, the
    consumer can — its `user_id` is review's, not billing's."""
    queue = handler_queue_name("credentials", "PaymentConfirmed")
    forged = make_event("PaymentConfirmed", {"payment_id": "pay-1", "order_id": "o-1", "order_no": "N1",
                                             "unit_id": "u-1", "person_ids": ["p-1"], "amount_fen": 20000,
                                             "method": "qr"}, producer="billing")
    with Connection(broker.admin) as admin:  # what earlier tests sent there
        with admin.SimpleQueue(Queue(queue, no_declare=True)) as q:
            q.clear()
    broker.allowed("review", publish(retry_exchange_name(RETRY_DELAYS_MS[0]), queue, forged,
                                     user_id=broker.users.names["review"], headers={"x-attempt": 2}))
    with broker.connect("credentials") as conn:  # the credentials worker's view of its queue
        with conn.SimpleQueue(Queue(queue, no_declare=True)) as q:
            message = wait_for(lambda: _get(q), timeout=10, message="the forged event in credentials' queue")
            published_by = message.properties.get("user_id")
            message.ack()
    assert published_by == broker.users.names["review"]

    monkeypatch.setenv("AMQP_USERS", broker.users.amqp_users())
    applied: list = []
    credentials_broker = Broker(broker.uri("credentials"), "credentials")
    consumer = EventConsumer(None, None, {"PaymentConfirmed": applied.append}, None,  # type: ignore[arg-type]
                             broker=credentials_broker)
    try:
        assert consumer.process(queue, message.payload, 2, published_by=published_by) == "refused"
        assert consumer.process(queue, message.payload, 1, published_by=None) == "refused"  # no user_id at all
    finally:
        credentials_broker.close()
    assert applied == []
    with Connection(broker.admin) as admin:
        with admin.SimpleQueue(Queue(dead_letter_queue_name("credentials"), no_declare=True)) as dead:
            letters = [dead.get(timeout=5) for _ in range(2)]
            for letter in letters:
                letter.ack()
    for letter in letters:
        assert letter.payload["id"] == forged["id"]
        assert letter.headers["x-original-queue"] == queue
        assert "forged producer" in letter.headers["x-reason"]
        assert broker.users.names["billing"] in letter.headers["x-reason"]


def _get(q):
    try:
        return q.get(timeout=0.5)
    except q.Empty:
        return None


def test_the_policy_sends_refused_police_requests_to_the_dead_letters(broker):
    broker.allowed("credentials", publish(POLICE_REQUEST_EXCHANGE, "BackgroundCheckRequested", police_request()))
    with broker.connect(POLICE) as police:
        with police.SimpleQueue(Queue(POLICE_REQUEST_QUEUE, no_declare=True)) as q:
            q.get(timeout=5).reject(requeue=False)  # what the police client does with a forged request
    with Connection(broker.admin) as admin:  # the police's own dead letters, which no service records
        with admin.SimpleQueue(Queue(dead_letter_queue_name(POLICE), no_declare=True)) as dead:
            letter = dead.get(timeout=5)
            assert letter.payload["type"] == "BackgroundCheckRequested"
            letter.ack()
