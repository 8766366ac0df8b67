"""QUEUE_TYPE=quorum against the local broker: every durable queue of ours (handler, retry,
dead-letter) is a quorum queue, a service and its nameko handlers declare theirs again
without a conflict, and a failing message goes round its retry queue into the dead
letters as it does with classic queues."""
from __future__ import annotations

import contextlib
import subprocess

import pytest
from kombu import Connection, Exchange, Queue

from shared.broker import Broker
from shared.events import make_event
from shared.inbox import EventConsumer
from shared.topology import (DEAD_LETTER_EXCHANGE, SUBSCRIPTIONS, dead_letter_queue_name, durable_queue_arguments,
                             handler_queue_name, retry_exchange_name)
from tests.infra import Vhost, new_tag, wait_for

DELAY_MS = 200


def queue_types(vhost: str) -> dict[str, str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return dict(line.split("\t")[:2] for line in out.splitlines() if "\t" in line)


@pytest.fixture
def quorum_vhost(monkeypatch):
    monkeypatch.setenv("QUEUE_TYPE", "quorum")
    monkeypatch.setenv("RETRY_DELAYS_MS", str(DELAY_MS))
    vhost = Vhost(new_tag())
    uri = vhost.create()
    if not vhost.created:
        pytest.skip("rabbitmqctl cannot create vhosts here")
    admin = Broker(uri)
    try:
        admin.declare_topology()  # the provisioning, as an administrator does it
        yield vhost.name, uri
    finally:
        admin.close()
        vhost.delete()


class DatabaseDown:
    """An outbox whose database refuses every transaction: each attempt fails."""
    service = "review"

    @contextlib.contextmanager
    def unit_of_work(self, correlation_id=None):
        raise RuntimeError("the database is down")
        yield  # pragma: no cover


def test_every_durable_queue_is_a_quorum_queue(quorum_vhost):
    name, _ = quorum_vhost
    types = queue_types(name)
    ours = {handler_queue_name(s, t) for s, events in SUBSCRIPTIONS.items() for t in events}
    ours |= {dead_letter_queue_name(s) for s in [*SUBSCRIPTIONS, "police"]} | {retry_exchange_name(DELAY_MS)}
    assert ours <= set(types)
    assert {q: types[q] for q in ours if types[q] != "quorum"} == {}


def test_services_and_their_handlers_declare_their_quorum_queues_again(quorum_vhost):
    _, uri = quorum_vhost
    for service in SUBSCRIPTIONS:
        service_broker = Broker(uri, service)
        try:
            service_broker.declare_topology()  # what its API and worker do at start
        finally:
            service_broker.close()
    # what nameko declares for an @event_handler (shared.nameko_edge sets the arguments)
    queue = Queue(handler_queue_name("review", "UnitSubmitted"),
                  exchange=Exchange("registration.events", type="topic", durable=True, passive=True),
                  routing_key="UnitSubmitted", durable=True, auto_delete=False, exclusive=False,
                  queue_arguments=durable_queue_arguments())
    with Connection(uri) as conn:
        queue(conn.channel()).declare()


def test_a_failing_message_retries_through_a_quorum_queue_then_dies(quorum_vhost, monkeypatch):
    _, uri = quorum_vhost
    review = Broker(uri, "review")
    consumer = EventConsumer(DatabaseDown(), None, {"UnitSubmitted": lambda ctx: None}, None,  # type: ignore[arg-type]
                             broker=review)
    queue = handler_queue_name("review", "UnitSubmitted")
    event = make_event("UnitSubmitted", {"unit_id": "u-q", "edition": "CIIE-2026", "delegation_id": "GD-GZ",
                                         "uscc": "91350100M000100Y43", "name": "Quorum Co", "category": "government",
                                         "region": "mainland", "resubmission": False}, producer="registration")
    outcomes: list[str] = []
    try:
        review.publish("registration.events", "UnitSubmitted", event, message_id=event["id"])
        with Connection(uri) as conn, conn.SimpleQueue(Queue(queue, no_declare=True), no_ack=False) as q:
            def step() -> bool:
                try:
                    message = q.get(timeout=0.5)
                except q.Empty:
                    return False
                outcomes.append(consumer.process(queue, message.payload, int(message.headers.get("x-attempt", 1)),
                                                 published_by=message.properties.get("user_id")))
                message.ack()
                return outcomes[-1] == "dead-lettered"
            wait_for(step, timeout=20, message="the message to die")
        with Connection(uri) as conn, conn.SimpleQueue(Queue(dead_letter_queue_name("review"), no_declare=True),
                                                       no_ack=False) as dead:
            letter = dead.get(timeout=5)
            letter.ack()
    finally:
        review.close()
    assert outcomes == ["retry-scheduled", "dead-lettered"]
    assert letter.payload["id"] == event["id"] and letter.delivery_info["exchange"] == DEAD_LETTER_EXCHANGE
    assert letter.headers["x-reason"] == "RuntimeError: the database is down" and letter.headers["x-attempts"] == 2
