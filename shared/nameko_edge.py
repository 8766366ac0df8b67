"""The only place (with each service's worker.py) that knows nameko.

`build_worker` turns a service's handler table into a nameko service class: one
`@event_handler` per subscribed event (queue names as the topology declares them), a
timer that relays the outbox, and a dependency that reads the retry attempt header.
"""
from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, Callable

from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.timer import timer

from .events import LATEST
from .inbox import EventConsumer, Handler
from .topology import SUBSCRIPTIONS, handler_queue_name, method_name

log = logging.getLogger(__name__)


class Attempt(DependencyProvider):
    """The delivery attempt of the message being handled (1 for the first delivery)."""

    def get_dependency(self, worker_ctx):
        try:
            return int(worker_ctx.context_data.get("x-attempt", 1))
        except (TypeError, ValueError):
            return 1


def build_worker(service: str, handlers: dict[str, Handler],
                 consumer_factory: Callable[[], EventConsumer], relay_interval: float = 1.0,
                 base: type = object, rpc_targets: tuple[str, ...] = ()) -> type:
    expected = set(SUBSCRIPTIONS[service])
    if set(handlers) != expected:
        raise RuntimeError(f"{service} handlers {sorted(handlers)} != subscriptions {sorted(expected)}")

    state: dict[str, EventConsumer] = {}

    def consumer() -> EventConsumer:
        if "consumer" not in state:
            state["consumer"] = consumer_factory()
            state["consumer"].outbox.broker.declare_topology()
        return state["consumer"]

    attrs: dict[str, Any] = {"name": service, "attempt": Attempt()}
    for target in rpc_targets:
        attrs[f"rpc_{target}"] = RpcProxy(target)

    def rpc_clients(self) -> SimpleNamespace:
        return SimpleNamespace(**{t: getattr(self, f"rpc_{t}") for t in rpc_targets})

    for event_type in sorted(expected):
        queue = handler_queue_name(service, event_type)

        def handle(self, body, _queue=queue):
            consumer().process(_queue, body, self.attempt, rpc=rpc_clients(self))

        handle.__name__ = method_name(event_type)
        attrs[method_name(event_type)] = event_handler(LATEST[event_type].producer, event_type)(handle)

    def relay_outbox(self):
        consumer().outbox.publish_pending()

    attrs["relay_outbox"] = timer(interval=relay_interval, eager=True)(relay_outbox)
    attrs["consumer"] = staticmethod(consumer)
    return type(f"{service.title()}Worker", (base,), attrs)


class RpcClient:
    """Calls another service's nameko RPC method from outside a worker (e.g. an HTTP view).
    Personal data that may not ride on events travels this way, point to point."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0):
        self.amqp_uri, self.timeout = amqp_uri, timeout

    def call(self, service: str, method: str, **kwargs):
        from nameko.standalone.rpc import ClusterRpcProxy
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=self.timeout) as proxy:
            return getattr(getattr(proxy, service), method)(**kwargs)
