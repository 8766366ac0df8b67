"""Publishing to RabbitMQ with kombu: persistent messages, publisher confirms, each
message stamped with the broker user that publishes it (`user_id`, which RabbitMQ
validates), and who is expected to publish each producer's events (`AMQP_USERS`)."""
from __future__ import annotations

import logging
import threading
from typing import Any

from amqp.exceptions import AMQPError
from kombu import Connection
from kombu.exceptions import OperationalError as KombuOperationalError

from .config import SERVICES, env
from .topology import declarations, producers, service_declarations

log = logging.getLogger(__name__)


# A failed handler is tried again after 30 s, 2, 10 and 30 minutes (each shortened by up to a
# quarter, at random), then dead-lettered: a service restarting or a database failing over
# is outlasted, and a message that always fails stops costing anything within the hour.
DEFAULT_RETRY_DELAYS_MS = (30_000, 120_000, 600_000, 1_800_000)


def retry_delays_ms() -> tuple[int, ...]:
    raw = env("RETRY_DELAYS_MS")
    if not raw:
        return DEFAULT_RETRY_DELAYS_MS
    delays = tuple(int(x) for x in raw.split(",") if x.strip())
    if not delays or any(d <= 0 for d in delays):
        raise ValueError(f"RETRY_DELAYS_MS must be positive milliseconds, comma-separated, not {raw!r}")
    return delays


def broker_user(amqp_uri: str) -> str:
    """The user an AMQP URI logs in as (kombu's default, guest, when it names none)."""
    return str(Connection(amqp_uri).info()["userid"])


def producer_users(own_user: str, spec: str | None = None) -> dict[str, str]:
    """The broker user of each service and of the police integration (who publishes each
    producer's events), from `AMQP_USERS` ("registration=accr-registration,police=police,...").
    One it does not name is expected to be `own_user`: on one machine every process shares
    one dev user."""
    users = {name: own_user for name in (*SERVICES, *producers())}
    raw = env("AMQP_USERS", "") if spec is None else spec
    for item in raw.split(","):
        if not item.strip():
            continue
        name, sep, user = (part.strip() for part in item.partition("="))
        if not sep or not user or name not in users:
            raise ValueError(f"AMQP_USERS: {item.strip()!r} is not <name>=<user> for one of {sorted(users)}")
        users[name] = user
    return users


class Broker:
    """One confirmed publishing channel per process, guarded by a lock (kombu objects are
    not thread-safe). Reconnects and re-declares after a broken connection.

    With a `service`, the broker user is that service's own and declares only the
    service's handler queues; without one (an administrator provisioning a broker) it
    declares the whole topology."""

    def __init__(self, amqp_uri: str, service: str | None = None):
        self.amqp_uri, self.service = amqp_uri, service
        self.user = broker_user(amqp_uri)
        self.producer_users = producer_users(self.user)
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._producer = None

    def user_of(self, producer: str) -> str:
        """The broker user whose messages may carry `producer`'s events."""
        return self.producer_users[producer]

    def _connect(self):
        if self._conn is None or not self._conn.connected:
            self.close()
            conn = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                              connect_timeout=5)
            conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
            channel = conn.default_channel
            entities = service_declarations(self.service) if self.service else declarations(retry_delays_ms())
            for entity in entities:
                entity.bind(channel).declare()
            self._conn, self._producer = conn, conn.Producer(channel)
        return self._producer

    def declare_topology(self) -> None:
        with self._lock:
            self._connect()

    def publish(self, exchange: str, routing_key: str, body: Any, headers: dict | None = None,
                message_id: str | None = None, correlation_id: str | None = None,
                expiration_ms: int | None = None) -> None:
        """Returns once the broker has confirmed the message; raises otherwise."""
        extra = {"expiration": expiration_ms / 1000} if expiration_ms is not None else {}  # kombu takes seconds
        with self._lock:
            for attempt in (1, 2):
                try:
                    producer = self._connect()
                    producer.publish(body, exchange=exchange, routing_key=routing_key, serializer="json",
                                     delivery_mode=2, headers=headers or {}, message_id=message_id,
                                     correlation_id=correlation_id, user_id=self.user, retry=False, **extra)
                    return
                except (OSError, AMQPError, KombuOperationalError):
                    # the kept connection died with a broker restart: once more on a fresh one
                    # (a message sent twice is told apart by its id downstream)
                    self.close()
                    if attempt == 2:
                        raise
                except Exception:
                    self.close()
                    raise

    def ping(self) -> bool:
        try:
            with Connection(self.amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:
                pass
        self._conn, self._producer = None, None
