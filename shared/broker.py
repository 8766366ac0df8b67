"""Publishing to RabbitMQ with kombu: persistent messages, publisher confirms, topology first."""
from __future__ import annotations

import logging
import threading
from typing import Any

from kombu import Connection

from .config import env
from .topology import declarations

log = logging.getLogger(__name__)


def retry_delays_ms() -> tuple[int, ...]:
    raw = env("RETRY_DELAYS_MS", "1000,5000,30000")
    return tuple(int(x) for x in raw.split(",") if x.strip())


class Broker:
    """One confirmed publishing channel per process, guarded by a lock (kombu objects are
    not thread-safe). Reconnects and re-declares after a broken connection."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._producer = None

    def _connect(self):
        if self._conn is None or not self._conn.connected:
            self.close()
            conn = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                              connect_timeout=5)
            conn.ensure_connection(max_retries=3, interval_start=0.2, interval_step=0.5)
            channel = conn.default_channel
            police_queue = env("DECLARE_POLICE_QUEUE", "1") != "0"
            for entity in declarations(retry_delays_ms(), include_police_queue=police_queue):
                entity.bind(channel).declare()
            self._conn, self._producer = conn, conn.Producer(channel)
        return self._producer

    def declare_topology(self) -> None:
        with self._lock:
            self._connect()

    def publish(self, exchange: str, routing_key: str, body: Any, headers: dict | None = None,
                message_id: str | None = None, correlation_id: str | None = None) -> None:
        """Returns once the broker has confirmed the message; raises otherwise."""
        with self._lock:
            try:
                producer = self._connect()
                producer.publish(body, exchange=exchange, routing_key=routing_key, serializer="json",
                                 delivery_mode=2, headers=headers or {}, message_id=message_id,
                                 correlation_id=correlation_id, retry=False)
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
