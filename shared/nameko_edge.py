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
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import nameko.rpc
from amqp.exceptions import AMQPError, ChannelError
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Connection, Consumer, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.events import EventHandler
from nameko.exceptions import RpcTimeout, UnknownService, deserialize
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.messaging import Consumer as NamekoConsumer
from nameko.messaging import QueueConsumer as NamekoQueueConsumer
from nameko.rpc import Rpc
from nameko.timer import timer

from . import deadletters, heartbeat
from .config import env
from .events import LATEST
from .inbox import Handler
from .logsafe import describe
from .outbox import RELAY_MIN_AGE
from .service import ServiceDeps
from .topology import (RPC_CALLERS, SUBSCRIPTIONS, dead_letter_queue, durable_queue_arguments, handler_queue_name,
                       method_name)

log = logging.getLogger(__name__)
# nameko's RPC exchange, as nameko declares it (nameko.rpc.get_rpc_exchange), but only checked:
# it is provisioned, and a service's broker user may not configure it
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True, passive=True)
# reply queues are named as nameko's standalone proxies name theirs, which the broker's
# permissions expect: rpc.reply-standalone_rpc_proxy-<uuid>, answers routed by the uuid
STANDALONE_REPLY_PREFIX = "rpc.reply-standalone_rpc_proxy-"

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


def _settle_unless_connection_lost(settle: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """nameko's QueueConsumer acks and requeues only while the message's connection is alive,
    and ignores AMQP's ConnectionError; but a broker that has just gone away shows up as a
    socket error (ConnectionResetError, BrokenPipeError) from the ack, which kills the whole
    container while the process lives on, consuming nothing. The broker takes back every
    unacknowledged message of a lost connection and delivers it again, and the inbox makes
    the second delivery harmless: a lost ack is nothing to die for."""
    def settle_message(consumer: Any, message: Any) -> None:
        try:
            settle(consumer, message)
        except OSError as exc:
            log.warning("%s lost with its connection (%s); the broker delivers it again",
                        "ack" if settle is _nameko_ack else "requeue", describe(exc))
    return settle_message


def _send_response_unless_broker_away(responder: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
    """nameko's RPC answer whose publishing fails (the broker restarting) kills the container,
    and with it the worker process. The caller is waiting with a timeout and asks again (RPCs
    here are reads), so the answer is given up and the worker lives on."""
    try:
        return _nameko_send_response(responder, result, exc_info)
    except (OSError, KombuOperationalError) as exc:
        log.warning("an RPC answer was lost with the broker (%s); its caller times out", describe(exc))
        return result, exc_info


@contextmanager
def _establish_connection_soon(consumer: Any) -> Iterator[Any]:
    """kombu's consumers wait 2, 4, 6 ... up to 30 s between tries to reach a broker that went
    away, so a worker can stay deaf for half a minute after the broker is back; every second
    or two is cheap for a handful of processes and keeps a broker restart short."""
    with consumer.create_connection() as conn:
        conn.ensure_connection(consumer.on_connection_error, consumer.connect_max_retries,
                               interval_start=1, interval_step=1, interval_max=2)
        yield conn


NamekoQueueConsumer.establish_connection = _establish_connection_soon
_nameko_send_response = nameko.rpc.Responder.send_response
nameko.rpc.Responder.send_response = _send_response_unless_broker_away
_nameko_ack, _nameko_requeue = NamekoQueueConsumer.ack_message, NamekoQueueConsumer.requeue_message
NamekoQueueConsumer.ack_message = _settle_unless_connection_lost(_nameko_ack)
NamekoQueueConsumer.requeue_message = _settle_unless_connection_lost(_nameko_requeue)


class ProducerCheckedEventHandler(EventHandler):
    """nameko's event handler, with three changes: the producer's exchange is checked, not
    declared (it is the producer's, provisioned); the message's validated `user_id`
    reaches the worker so that the consumer can refuse an event its producer did not
    publish; and a message whose handling raised goes back to its queue instead of being
    acknowledged — the consumer raises only when it could not even schedule a retry (the
    broker away), and then the message must not be lost."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("requeue_on_error", True)
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.queue.exchange.passive = True
        self.queue.queue_arguments = durable_queue_arguments()  # as provisioned: quorum or classic

    def unpack_message_headers(self, message: Any) -> dict[str, Any]:
        data = super().unpack_message_headers(message)
        data[PUBLISHED_BY] = message.properties.get("user_id") or ""
        return data


event_handler = ProducerCheckedEventHandler.decorator


class DeadLetterConsumer(NamekoConsumer):
    """The worker's dead-letter queue (named for its service): each message is recorded, then
    acknowledged; one that cannot be recorded yet (the database is away) goes back to the
    queue, so the broker keeps it until the database has it."""

    def __init__(self, **kwargs: Any):
        super().__init__(queue=None, requeue_on_error=True, **kwargs)

    def setup(self) -> None:
        self.queue = dead_letter_queue(self.container.service_name, passive_exchange=True)
        super().setup()

    def unpack_message_headers(self, message: Any) -> dict[str, Any]:
        data = super().unpack_message_headers(message)
        data[PUBLISHED_BY] = message.properties.get("user_id") or ""
        return data


dead_letter_consumer = DeadLetterConsumer.decorator


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


class ReplayOf(DependencyProvider):
    """The dead letter a replayed message was (its row id), or None for an ordinary delivery."""

    def get_dependency(self, worker_ctx: Any) -> str | None:
        value = worker_ctx.context_data.get("x-replay-of")
        return value if isinstance(value, str) and value else None


class MessageHeaders(DependencyProvider):
    """The headers of the message being handled."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        return dict(worker_ctx.context_data)


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
    replay_of = ReplayOf()
    headers = MessageHeaders()
    DEAD_LETTER_PAUSE = 2.0  # seconds before a dead letter that could not be recorded is offered again

    def rpc_proxies(self) -> Any:
        """RPC proxies the handlers may use (`ctx.rpc.<service>.<method>(...)`)."""
        return None

    def consume(self, event_type: str, body: Any) -> None:
        queue = handler_queue_name(self.name, event_type)
        try:
            self.deps.consumer(self.handlers).process(queue, body, self.attempt, rpc=self.rpc_proxies(),
                                                      published_by=self.published_by,
                                                      replayed=self.replay_of is not None)
        except Exception as exc:  # no retry could be scheduled: the message goes back to its queue
            log.warning("%s back to its queue: %s", event_type, describe(exc))
            time.sleep(self.DEAD_LETTER_PAUSE)  # eventlet's, under nameko: only this worker waits
            raise

    @dead_letter_consumer
    def record_dead_letter(self, body: Any) -> None:
        headers = self.headers
        if self.published_by != self.deps.broker.user:  # kept as evidence, never replayed
            headers["x-reason"] = (f"forged producer: a dead letter published by {self.published_by!r}, not this "
                                   f"service; {headers.get('x-reason') or ''}")
        try:
            with self.deps.uow() as (session, _):
                deadletters.record(session, self.deps.dead_letter_model, body, headers)
        except Exception as exc:
            log.warning("could not record a dead letter yet: %s", describe(exc))
            time.sleep(self.DEAD_LETTER_PAUSE)  # eventlet's, under nameko: only this worker waits
            raise

    @timer(interval=1.0, eager=True)
    def relay_outbox(self) -> None:
        self.deps.outbox.publish_pending(min_age=RELAY_MIN_AGE)

    @timer(interval=heartbeat.HEARTBEAT_SECONDS, eager=True)
    def write_heartbeat(self) -> None:
        """For the liveness probe (deploy.heartbeat): the worker's event loop still turns."""
        heartbeat.beat(heartbeat.heartbeat_path(self.name), self.name)


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


def rpc_timeout() -> float:
    """RPC_TIMEOUT_SECONDS (default 10): how long a caller waits for another service."""
    value = float(env("RPC_TIMEOUT_SECONDS", "10") or 10)
    if not 0 < value <= 120:
        raise ValueError("RPC_TIMEOUT_SECONDS must be between 0 and 120")
    return value


class RemoteService(DependencyProvider):
    """Another service's RPC methods for a worker (`self.registration.unit_contact(unit_id)`),
    through this process's RpcClient: a timeout, requests that expire with it, one reply
    queue, instead of nameko's RpcProxy, which waits for ever."""

    def __init__(self, service: str, timeout: float | None = None):
        self.service, self.timeout = service, timeout

    def setup(self) -> None:
        self.client = RpcClient(self.container.config["AMQP_URI"], self.timeout)

    def stop(self) -> None:
        self.client.close()

    def get_dependency(self, worker_ctx: Any) -> Any:
        client, service = self.client, self.service

        class Methods:
            def __getattr__(self, method: str) -> Callable[..., Any]:
                return lambda *args, **kwargs: client.call(service, method, *args, **kwargs)
        return Methods()


class RpcClient:
    """Calls another service's nameko RPC method, from an HTTP view or a worker.
    Personal data that may not ride on events travels this way, point to point.

    It speaks nameko's RPC protocol over kombu: the request {"args", "kwargs"} goes to the
    `nameko-rpc` exchange under `<service>.<method>` with `reply_to` and `correlation_id`, and
    the answer {"result", "error"} comes back to our reply queue. Unlike nameko's standalone
    proxy (a connection and a reply queue that outlives it per call), a process keeps one
    publishing connection and one reply queue, exclusive and auto-deleted, so nothing is left
    behind when the process ends; and a request expires when its caller stops waiting (a
    message TTL equal to the timeout), so no worker ever works on a request nobody awaits.
    Thread-safe: callers publish in turn and whichever waits reads the replies for all."""

    def __init__(self, amqp_uri: str, timeout: float | None = None):
        self.amqp_uri, self.timeout = amqp_uri, timeout if timeout is not None else rpc_timeout()
        self._reset()

    def _reset(self) -> None:
        """Fresh state; also after a fork, whose copies of the parent's connections are not ours."""
        self._pid = os.getpid()
        self._publish_lock = threading.Lock()  # kombu connections are not thread-safe
        self._listen_lock = threading.Lock()   # held by the one thread reading replies
        self._answered = threading.Condition()
        self._answers: dict[str, dict[str, Any]] = {}
        self._awaited: set[str] = set()
        self._publisher: Any = None
        self._replies: _ReplyQueue | None = None

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._pid != os.getpid():
            self._reset()
        deadline = time.monotonic() + self.timeout
        for attempt in (1, 2):
            correlation_id = uuid.uuid4().hex
            replies = self._reply_queue()
            with self._answered:
                self._awaited.add(correlation_id)
            try:
                self._publish(service, method, list(args), kwargs, correlation_id, replies.routing_key)
                answer = self._await(correlation_id, replies, deadline)
                break
            except (OSError, AMQPError, KombuOperationalError):
                # the kept connections died with a broker restart; the first call to notice
                # asks once more on fresh ones (RPCs here are reads) rather than failing
                if attempt == 2 or time.monotonic() >= deadline:
                    raise
            finally:
                with self._answered:
                    self._awaited.discard(correlation_id)
                    self._answers.pop(correlation_id, None)
        if answer.get("error"):
            raise deserialize(answer["error"])
        return answer.get("result")

    def close(self) -> None:
        with self._publish_lock:
            self._close_publisher()
        with self._listen_lock:
            if self._replies is not None:
                self._replies.close()
                self._replies = None

    # --- publishing ------------------------------------------------------------------------
    def _publish(self, service: str, method: str, args: list[Any], kwargs: dict[str, Any], correlation_id: str,
                 reply_to: str) -> None:
        with self._publish_lock:
            for attempt in (1, 2):  # once more on a fresh connection if the kept one went stale
                try:
                    if self._publisher is None:
                        conn = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                                          connect_timeout=5)
                        RPC_EXCHANGE(conn.default_channel).declare()
                        self._publisher = conn.Producer(conn.default_channel)
                    # mandatory + confirms: a request no service queue takes fails at once
                    self._publisher.publish({"args": args, "kwargs": kwargs}, exchange=RPC_EXCHANGE.name,
                                            routing_key=f"{service}.{method}", serializer="json",
                                            reply_to=reply_to, correlation_id=correlation_id, mandatory=True,
                                            expiration=self.timeout, delivery_mode=1, retry=False)
                    return
                except ChannelError as exc:
                    self._close_publisher()
                    if "NO_ROUTE" in str(exc):
                        raise UnknownService(service) from None
                    raise
                except (OSError, AmqpConnectionError):
                    self._close_publisher()
                    if attempt == 2:
                        raise

    def _close_publisher(self) -> None:
        if self._publisher is not None:
            try:
                self._publisher.connection.release()
            except Exception:
                pass
        self._publisher = None

    # --- replies ---------------------------------------------------------------------------
    def _reply_queue(self) -> _ReplyQueue:
        replies = self._replies
        if replies is None:
            with self._listen_lock:
                if self._replies is None:
                    self._replies = _ReplyQueue(self.amqp_uri, self._on_answer)
                replies = self._replies
        return replies

    def _on_answer(self, body: Any, message: Any) -> None:
        correlation_id = message.properties.get("correlation_id")
        with self._answered:
            if correlation_id in self._awaited:  # a late answer to a call that gave up is dropped
                self._answers[correlation_id] = body if isinstance(body, dict) else {"result": body}
                self._answered.notify_all()

    def _await(self, correlation_id: str, replies: _ReplyQueue, deadline: float) -> dict[str, Any]:
        while True:
            with self._answered:
                if correlation_id in self._answers:
                    return self._answers.pop(correlation_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RpcTimeout(self.timeout)
            if replies is not self._replies:
                raise AmqpConnectionError("the reply queue was lost with its connection")
            if self._listen_lock.acquire(blocking=False):
                try:
                    if replies is self._replies:
                        replies.drain(min(remaining, 0.2))
                except Exception:
                    replies.close()
                    self._replies = None
                    raise
                finally:
                    self._listen_lock.release()
            else:
                with self._answered:  # another caller is reading; it wakes us when our answer is in
                    if correlation_id not in self._answers:
                        self._answered.wait(min(remaining, 0.05))


class _ReplyQueue:
    """A process's queue for RPC answers: exclusive and auto-deleted, so it ends with its
    connection, bound to the RPC exchange under a routing key of its own (the `reply_to`)."""

    def __init__(self, amqp_uri: str, on_answer: Callable[[Any, Any], None]):
        self.routing_key = str(uuid.uuid4())
        self.connection = Connection(amqp_uri, connect_timeout=5)
        channel = self.connection.channel()
        queue = Queue(STANDALONE_REPLY_PREFIX + self.routing_key, exchange=RPC_EXCHANGE, routing_key=self.routing_key,
                      durable=False, exclusive=True, auto_delete=True)
        self.consumer = Consumer(channel, queues=[queue], callbacks=[on_answer], no_ack=True, accept=["json"])
        self.consumer.consume()

    def drain(self, timeout: float) -> None:
        try:
            self.connection.drain_events(timeout=timeout)
        except socket.timeout:
            pass

    def close(self) -> None:
        try:
            self.connection.release()
        except Exception:
            pass
