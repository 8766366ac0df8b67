"""The only place (with each service's worker.py) that knows nameko.

A service's worker is a class deriving from `EventWorker` whose event entrypoints are
written out (`@event_handler("review", "UnitApproved") def on_unit_approved(...)`, with
this module's `event_handler`), so that grep finds them; each calls
`self.consume(event_type, body)`, which hands the message and the broker user that
published it to the service's consumer (publisher check, inbox, handler table, retries,
dead letters). `check_entrypoints` refuses, at import, a worker whose entrypoints,
handler table, subscriptions and RPC table disagree.

Exchanges are provisioned, never declared by a service (its broker user may not
configure them): the event handlers and nameko's RPC only check that they exist.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import nameko.rpc
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.rpc import Rpc
from nameko.timer import timer

from .events import LATEST
from .inbox import Handler
from .service import ServiceDeps
from .topology import RPC_CALLERS, SUBSCRIPTIONS, handler_queue_name, method_name

log = logging.getLogger(__name__)

# The context key for a message's validated publisher; set from the message's `user_id`
# property after the headers are read, so no header can stand in for it.
PUBLISHED_BY = "accr.published_by"


def _provisioned_rpc_exchange(config: Any) -> Any:
    """nameko declares its RPC exchange wherever RPC calls or replies are consumed, which
    needs `configure` on it — and whoever may configure it may delete it and put a
    fanout in its place, which topic permissions do not guard. The exchange is
    provisioned; services only check that it exists."""
    exchange = _nameko_rpc_exchange(config)
    exchange.passive = True
    return exchange


_nameko_rpc_exchange = nameko.rpc.get_rpc_exchange
nameko.rpc.get_rpc_exchange = _provisioned_rpc_exchange  # RpcConsumer, ReplyListener and standalone proxies


class ProducerCheckedEventHandler(EventHandler):
    """nameko's event handler, with two changes: the producer's exchange is checked, not
    declared (it is the producer's, provisioned), and the message's validated `user_id`
    reaches the worker so that the consumer can refuse an event its producer did not
    publish."""

    def setup(self) -> None:
        super().setup()
        self.queue.exchange.passive = True

    def unpack_message_headers(self, message: Any) -> dict[str, Any]:
        data = super().unpack_message_headers(message)
        data[PUBLISHED_BY] = message.properties.get("user_id") or ""
        return data


event_handler = ProducerCheckedEventHandler.decorator


class Dependencies(DependencyProvider):
    """The service's dependencies (built once per process by its bootstrap), with the
    broker topology declared before the worker consumes or publishes anything."""

    def __init__(self, bootstrap: Callable[[], ServiceDeps]):
        self.bootstrap = bootstrap

    def setup(self) -> None:
        self.deps = self.bootstrap()
        self.deps.broker.declare_topology()

    def get_dependency(self, worker_ctx: Any) -> ServiceDeps:
        return self.deps


class Attempt(DependencyProvider):
    """The delivery attempt of the message being handled (1 for the first delivery)."""

    def get_dependency(self, worker_ctx: Any) -> int:
        try:
            return int(worker_ctx.context_data.get("x-attempt", 1))
        except (TypeError, ValueError):
            return 1


class PublishedBy(DependencyProvider):
    """The broker user that published the message being handled (its validated
    `user_id`), or None when the message carries none."""

    def get_dependency(self, worker_ctx: Any) -> str | None:
        return worker_ctx.context_data.get(PUBLISHED_BY) or None


class EventWorker:
    """Base of every service's nameko worker: consuming through the handler table, and
    the outbox relay. Subclasses set `name`, `handlers` and `deps = Dependencies(...)`."""
    name: str
    handlers: Mapping[str, Handler[Any]]
    deps: Any  # the service's deps class, given by its Dependencies provider
    attempt = Attempt()
    published_by = PublishedBy()

    def rpc_proxies(self) -> Any:
        """RPC proxies the handlers may use (`ctx.rpc.<service>.<method>(...)`)."""
        return None

    def consume(self, event_type: str, body: Any) -> None:
        queue = handler_queue_name(self.name, event_type)
        self.deps.consumer(self.handlers).process(queue, body, self.attempt, rpc=self.rpc_proxies(),
                                                  published_by=self.published_by)

    @timer(interval=1.0, eager=True)
    def relay_outbox(self) -> None:
        self.deps.outbox.publish_pending()


def check_entrypoints(worker: type[EventWorker]) -> None:
    """The worker handles exactly the events its service subscribes to, each with this
    module's `@event_handler` on the producer's exchange under the method name the
    topology's queue names expect, and each backed by the handler table; its `@rpc`
    methods are exactly those the RPC table lets someone call."""
    service = worker.name
    expected = set(SUBSCRIPTIONS[service])
    if set(worker.handlers) != expected:
        raise RuntimeError(f"{service} handler table {sorted(worker.handlers)} != subscriptions {sorted(expected)}")
    declared: dict[str, tuple[str, str]] = {}
    answered: set[str] = set()
    for attr in dir(worker):
        for ext in getattr(getattr(worker, attr, None), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, EventHandler):
                if not isinstance(ext, ProducerCheckedEventHandler):
                    raise RuntimeError(f"{service}.{attr} uses nameko's event_handler; use shared.nameko_edge's, "
                                       "which checks who published the event")
                declared[attr] = (ext.source_service, ext.event_type)
            elif isinstance(ext, Rpc):
                answered.add(attr)
    wanted = {method_name(t): (LATEST[t].producer, t) for t in expected}
    if declared != wanted:
        missing = sorted(set(wanted.items()) - set(declared.items()))
        extra = sorted(set(declared.items()) - set(wanted.items()))
        raise RuntimeError(f"{service} worker entrypoints differ from its subscriptions: missing {missing}, "
                           f"unexpected {extra}")
    if answered != set(RPC_CALLERS.get(service, {})):
        raise RuntimeError(f"{service} @rpc methods {sorted(answered)} != the RPC table's "
                           f"{sorted(RPC_CALLERS.get(service, {}))} (topology.RPC_CALLERS)")


class RpcClient:
    """Calls another service's nameko RPC method from outside a worker (e.g. an HTTP view).
    Personal data that may not ride on events travels this way, point to point."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0):
        self.amqp_uri, self.timeout = amqp_uri, timeout

    def call(self, service: str, method: str, **kwargs: Any) -> Any:
        from nameko.standalone.rpc import ClusterRpcProxy
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=self.timeout) as proxy:
            return getattr(getattr(proxy, service), method)(**kwargs)
