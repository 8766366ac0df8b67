"""Who consumes what, who may call what, and the RabbitMQ topology derived from it.

nameko declares a handler's queue only when its worker starts, and publishes with
mandatory=False, so an event published earlier would be dropped. The whole topology
(exchanges, handler queues, retry and dead-letter queues, the police channel, the RPC
exchange) is therefore provisioned before any service runs: by the definitions
(deploy/rabbitmq.py) in production, by an administrator's `Broker(uri).declare_topology()`
on one machine and in tests. Each service's broker user may then configure only its own
queues: a service declares its handler queues again at start (`service_declarations`)
and only checks (passively) that the exchanges it uses exist. The queue names and
arguments match nameko's own declarations exactly.
"""
from __future__ import annotations

import re

from kombu import Exchange, Queue

from .config import env
from .events import LATEST, POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE

# The events each service handles. A service's worker must implement exactly these.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "registration": (
        "UnitApproved", "UnitReturned", "UnitRejected", "PersonnelConfirmed", "PersonnelUpgraded", "OrderCreated",
        "OrderCancelled", "PaymentConfirmed", "BackgroundCheckPassed", "BackgroundCheckFailed",
        "CredentialProduced", "CredentialDispatched", "DelegationChanged", "ReuseLocked", "UnitReassigned",
        "UnitDeleted", "UnitEdited", "AdminTokensRevoked", "RetentionExpired", "QuotaChanged",
        "PersonnelRejected",
    ),
    "review": ("UnitSubmitted", "PersonnelSubmitted", "ReuseRequested", "PersonnelCancelled", "TokensRevoked"),
    "billing": ("PersonnelConfirmed", "ReuseLocked", "BackgroundCheckFailed", "PersonnelCancelled",
                "PersonnelUpgraded", "UnitDeleted", "TokensRevoked", "AdminTokensRevoked"),
    "credentials": ("PaymentConfirmed", "PersonnelConfirmed", "BackgroundCheckPassed", "BackgroundCheckFailed",
                    "ReuseLocked", "PersonnelUpgraded", "PersonnelCancelled", "UnitDeleted", "DelegationChanged",
                    "TokensRevoked", "AdminTokensRevoked", "RetentionExpired"),
    "notifications": ("UnitApproved", "UnitReturned", "UnitRejected", "OrderCreated",
                      "PaymentConfirmed", "CredentialDispatched", "TransferRejected", "InvoiceIssued",
                      "InvoiceReversed", "RefundCompleted", "BackgroundCheckPassed", "BackgroundCheckFailed",
                      "ReminderDue", "TokensRevoked", "AdminTokensRevoked", "UnitDeleted", "RetentionExpired",
                      "PersonnelConfirmed", "ReuseLocked", "PersonnelUpgraded", "ReissueRequested",
                      "CredentialReissued", "InvoiceReversalRequested", "InvoiceReversalRejected"),
}

# Which service may call which RPC method; the broker lets no other user publish the call
# (topic permissions on the RPC exchange). A worker's @rpc methods must be exactly these.
RPC_CALLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "registration": {
        "unit_contact": ("notifications",), "person_unit": ("notifications",), "person_name": ("notifications",),
        "person_photo": ("credentials",), "default_address": ("credentials",),
        "person_dossier": ("credentials",),  # full ID numbers: for the card face only
        # the back office's unit file and personnel: masked, asked by review after its scope check
        "unit_file": ("review",), "unit_document_image": ("review",), "unit_person_photo": ("review",),
        "people_details": ("review",), "find_people": ("review",),
    },
    "review": {"claim_invitation_code": ("registration",)},
    "notifications": {"send_sms_code": ("registration",), "send_email": ("registration",)},
}
RPC_EXCHANGE = "nameko-rpc"  # nameko's default

REQUEUE_EXCHANGE = "accr.requeue"   # retry queues dead-letter back here, keyed by queue name
# Dead letters, keyed by the service that gave up on them (or "police" for a background-check
# request the police integration rejected), each into its own queue: the service's worker
# records them for operations to list and replay (shared.deadletters).
DEAD_LETTER_EXCHANGE = "accr.dead-letters"
POLICE_DEAD_LETTERS = "police"
QUEUE_TYPES = ("classic", "quorum")


def dead_letter_queue_name(owner: str) -> str:
    return f"accr.dead-letters.{owner}"


def queue_type() -> str:
    """QUEUE_TYPE: classic (one node) or quorum (replicated, for a RabbitMQ cluster)."""
    value = (env("QUEUE_TYPE", "classic") or "classic").strip().lower()
    if value not in QUEUE_TYPES:
        raise ValueError(f"QUEUE_TYPE must be one of {QUEUE_TYPES}, not {value!r}")
    return value


def durable_queue_arguments(kind: str | None = None) -> dict[str, str]:
    """The arguments of every durable queue of ours (handler, retry and dead-letter queues):
    with quorum, `x-queue-type` says so explicitly, which any RabbitMQ 3.8+ honours."""
    return {"x-queue-type": "quorum"} if (kind or queue_type()) == "quorum" else {}


def method_name(event_type: str) -> str:
    return "on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).lower()


def handler_queue_name(service: str, event_type: str) -> str:
    """nameko's SERVICE_POOL queue name: evt-{source}-{event}--{service}.{method}."""
    return f"evt-{LATEST[event_type].producer}-{event_type}--{service}.{method_name(event_type)}"


def event_exchange(producer: str, passive: bool = False) -> Exchange:
    # Same arguments as nameko.standalone.events.get_event_exchange.
    return Exchange(f"{producer}.events", type="topic", durable=True, delivery_mode=2, auto_delete=False,
                    passive=passive)


def retry_exchange_name(delay_ms: int) -> str:
    return f"accr.retry.{delay_ms}ms"


def rpc_exchange(passive: bool = False) -> Exchange:
    # Same arguments as nameko.rpc.get_rpc_exchange.
    return Exchange(RPC_EXCHANGE, type="topic", durable=True, passive=passive)


def producers() -> list[str]:
    """Everyone who publishes events: the five services and the police integration."""
    return sorted({spec.producer for spec in LATEST.values()})


def handler_queues(service: str, passive_exchanges: bool = False, kind: str | None = None) -> list[Queue]:
    """A service's handler queues, each bound to its producer's exchange (by event type)
    and to the requeue exchange (by queue name, for retries and replays)."""
    requeue = Exchange(REQUEUE_EXCHANGE, type="direct", durable=True, passive=passive_exchanges)
    arguments = durable_queue_arguments(kind)
    queues: list[Queue] = []
    for event_type in SUBSCRIPTIONS[service]:
        name = handler_queue_name(service, event_type)
        exchange = event_exchange(LATEST[event_type].producer, passive=passive_exchanges)
        queues.append(Queue(name, exchange=exchange, routing_key=event_type, durable=True,
                            auto_delete=False, exclusive=False, queue_arguments=arguments))
        queues.append(Queue(name, exchange=requeue, routing_key=name, durable=True,
                            auto_delete=False, exclusive=False, queue_arguments=arguments))
    return queues


def dead_letter_exchange(passive: bool = False) -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True, passive=passive)


def dead_letter_queue(owner: str, passive_exchange: bool = False, kind: str | None = None) -> Queue:
    return Queue(dead_letter_queue_name(owner), exchange=dead_letter_exchange(passive_exchange), routing_key=owner,
                 durable=True, auto_delete=False, exclusive=False, queue_arguments=durable_queue_arguments(kind))


def service_declarations(service: str) -> list:
    """What a service's processes declare at start with the service's own broker user: its
    handler queues and its dead-letter queue. The exchanges belong to the provisioning; they
    are only checked."""
    return [*handler_queues(service, passive_exchanges=True), dead_letter_queue(service, passive_exchange=True)]


def declarations(retry_delays_ms: tuple[int, ...], kind: str | None = None) -> list:
    """The whole topology, for provisioning (an administrator, or the definitions)."""
    kind = kind or queue_type()
    requeue = Exchange(REQUEUE_EXCHANGE, type="direct", durable=True)
    items: list = [requeue, dead_letter_exchange(), rpc_exchange()]
    for producer in producers():
        items.append(event_exchange(producer))
    for service in SUBSCRIPTIONS:
        items.extend(handler_queues(service, kind=kind))
        items.append(dead_letter_queue(service, kind=kind))
    items.append(dead_letter_queue(POLICE_DEAD_LETTERS, kind=kind))
    for delay in retry_delays_ms:
        ex = Exchange(retry_exchange_name(delay), type="fanout", durable=True)
        items.append(ex)
        # A message waits here its delay (or less: the consumer shortens it by a random
        # jitter with a per-message expiration), then goes back to its queue by name.
        items.append(Queue(retry_exchange_name(delay), exchange=ex, routing_key="#", durable=True,
                           queue_arguments={"x-message-ttl": delay, "x-dead-letter-exchange": REQUEUE_EXCHANGE,
                                            **durable_queue_arguments(kind)}))
    police = Exchange(POLICE_REQUEST_EXCHANGE, type="direct", durable=True)
    items.append(police)
    items.append(Queue(POLICE_REQUEST_QUEUE, exchange=police, routing_key="BackgroundCheckRequested",
                       durable=True, queue_arguments=durable_queue_arguments(kind)))
    return items
