"""Who consumes what, and the RabbitMQ topology derived from it.

nameko declares a handler's queue only when its worker starts, and publishes with
mandatory=False, so an event published earlier would be dropped. Every process
therefore declares the whole topology (exchanges, handler queues, retry and
dead-letter queues, the police channel) before it publishes or consumes. The queue
names and arguments match nameko's own declarations exactly.
"""
from __future__ import annotations

import re

from kombu import Exchange, Queue

from .events import LATEST, POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE

# The events each service handles. A service's worker must implement exactly these.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "registration": (
        "UnitApproved", "UnitReturned", "UnitRejected", "PersonnelConfirmed", "OrderCreated",
        "OrderCancelled", "PaymentConfirmed", "BackgroundCheckPassed", "BackgroundCheckFailed",
        "CredentialProduced", "CredentialDispatched", "DelegationChanged", "ReuseLocked", "UnitReassigned",
        "UnitDeleted", "UnitEdited", "AdminTokensRevoked",
    ),
    "review": ("UnitSubmitted", "PersonnelSubmitted", "ReuseRequested", "PersonnelCancelled", "TokensRevoked"),
    "billing": ("PersonnelConfirmed", "ReuseLocked", "BackgroundCheckFailed", "PersonnelCancelled",
                "PersonnelUpgraded", "UnitDeleted", "TokensRevoked", "AdminTokensRevoked"),
    "credentials": ("PaymentConfirmed", "PersonnelConfirmed", "BackgroundCheckPassed", "BackgroundCheckFailed",
                    "ReuseLocked", "PersonnelUpgraded", "PersonnelCancelled", "UnitDeleted", "DelegationChanged",
                    "TokensRevoked", "AdminTokensRevoked"),
    "notifications": ("UnitApproved", "UnitReturned", "UnitRejected", "OrderCreated",
                      "PaymentConfirmed", "CredentialDispatched", "TransferRejected", "InvoiceIssued",
                      "InvoiceReversed", "RefundCompleted", "BackgroundCheckPassed", "BackgroundCheckFailed",
                      "ReminderDue", "TokensRevoked", "AdminTokensRevoked"),
}

REQUEUE_EXCHANGE = "accr.requeue"   # retry queues dead-letter back here, keyed by queue name
DEAD_LETTER_EXCHANGE = "accr.dead"
DEAD_LETTER_QUEUE = "accr.dead-letters"


def method_name(event_type: str) -> str:
    return "on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).lower()


def handler_queue_name(service: str, event_type: str) -> str:
    """nameko's SERVICE_POOL queue name: evt-{source}-{event}--{service}.{method}."""
    return f"evt-{LATEST[event_type].producer}-{event_type}--{service}.{method_name(event_type)}"


def event_exchange(producer: str) -> Exchange:
    # Same arguments as nameko.standalone.events.get_event_exchange.
    return Exchange(f"{producer}.events", type="topic", durable=True, delivery_mode=2, auto_delete=False)


def retry_exchange_name(delay_ms: int) -> str:
    return f"accr.retry.{delay_ms}ms"


def declarations(retry_delays_ms: tuple[int, ...], include_police_queue: bool = True) -> list:
    """Everything to declare. With the production definitions loaded, the services' user
    may not touch the police queue: they run with DECLARE_POLICE_QUEUE=0."""
    requeue = Exchange(REQUEUE_EXCHANGE, type="direct", durable=True)
    dead = Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
    items: list = [requeue, dead, Queue(DEAD_LETTER_QUEUE, exchange=dead, routing_key="#", durable=True)]
    for producer in sorted({spec.producer for spec in LATEST.values()}):
        items.append(event_exchange(producer))
    for service, types in SUBSCRIPTIONS.items():
        for event_type in types:
            name = handler_queue_name(service, event_type)
            exchange = event_exchange(LATEST[event_type].producer)
            items.append(Queue(name, exchange=exchange, routing_key=event_type, durable=True,
                               auto_delete=False, exclusive=False))
            items.append(Queue(name, exchange=requeue, routing_key=name, durable=True,
                               auto_delete=False, exclusive=False))
    for delay in retry_delays_ms:
        ex = Exchange(retry_exchange_name(delay), type="fanout", durable=True)
        items.append(ex)
        items.append(Queue(retry_exchange_name(delay), exchange=ex, routing_key="#", durable=True,
                           queue_arguments={"x-message-ttl": delay,
                                            "x-dead-letter-exchange": REQUEUE_EXCHANGE}))
    police = Exchange(POLICE_REQUEST_EXCHANGE, type="direct", durable=True)
    items.append(police)
    if include_police_queue:
        items.append(Queue(POLICE_REQUEST_QUEUE, exchange=police, routing_key="BackgroundCheckRequested",
                           durable=True))
    return items
