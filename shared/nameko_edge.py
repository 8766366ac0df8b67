"""The only place (with each service's worker.py) that knows nameko.

A service's worker is a class deriving from `EventWorker` whose event entrypoints are
written out (`@event_handler("review", "UnitApproved") def on_unit_approved(...)`), so
that grep finds them; each calls `self.consume(event_type, body)`, which hands the
message to the service's consumer (inbox, handler table, retries, dead letters).
`check_entrypoints` refuses, at import, a worker whose entrypoints, handler table and
subscriptions disagree.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.timer import timer

from .events import LATEST
from .inbox import Handler
from .service import ServiceDeps
from .topology import SUBSCRIPTIONS, handler_queue_name, method_name

log = logging.getLogger(__name__)


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


class EventWorker:
    """Base of every service's nameko worker: consuming through the handler table, and
    the outbox relay. Subclasses set `name`, `handlers` and `deps = Dependencies(...)`."""
    name: str
    handlers: Mapping[str, Handler[Any]]
    deps: Any  # the service's deps class, given by its Dependencies provider
    attempt = Attempt()

    def rpc_proxies(self) -> Any:
        """RPC proxies the handlers may use (`ctx.rpc.<service>.<method>(...)`)."""
        return None

    def consume(self, event_type: str, body: Any) -> None:
        queue = handler_queue_name(self.name, event_type)
        self.deps.consumer(self.handlers).process(queue, body, self.attempt, rpc=self.rpc_proxies())

    @timer(interval=1.0, eager=True)
    def relay_outbox(self) -> None:
        self.deps.outbox.publish_pending()


def check_entrypoints(worker: type[EventWorker]) -> None:
    """The worker handles exactly the events its service subscribes to, each with an
    `@event_handler` on the producer's exchange under the method name the topology's
    queue names expect, and each backed by the handler table."""
    service = worker.name
    expected = set(SUBSCRIPTIONS[service])
    if set(worker.handlers) != expected:
        raise RuntimeError(f"{service} handler table {sorted(worker.handlers)} != subscriptions {sorted(expected)}")
    declared: dict[str, tuple[str, str]] = {}
    for attr in dir(worker):
        for ext in getattr(getattr(worker, attr, None), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, EventHandler):
                declared[attr] = (ext.source_service, ext.event_type)
    wanted = {method_name(t): (LATEST[t].producer, t) for t in expected}
    if declared != wanted:
        missing = sorted(set(wanted.items()) - set(declared.items()))
        extra = sorted(set(declared.items()) - set(wanted.items()))
        raise RuntimeError(f"{service} worker entrypoints differ from its subscriptions: missing {missing}, "
                           f"unexpected {extra}")


class RpcClient:
    """Calls another service's nameko RPC method from outside a worker (e.g. an HTTP view).
    Personal data that may not ride on events travels this way, point to point."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0):
        self.amqp_uri, self.timeout = amqp_uri, timeout

    def call(self, service: str, method: str, **kwargs: Any) -> Any:
        from nameko.standalone.rpc import ClusterRpcProxy
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=self.timeout) as proxy:
            return getattr(getattr(proxy, service), method)(**kwargs)
