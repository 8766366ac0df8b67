"""What every service is built from: settings, its database, the broker, the outbox, and
one unit of work. Each service's `bootstrap.py` extends `ServiceDeps` with its own typed
dependencies (ciphers, providers, RPC clients) and builds it once per process."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Self

from sqlalchemy.orm import Session

from .auth import Principal
from .broker import Broker
from .config import Settings, load_settings
from .db import Database
from .inbox import EventConsumer, Handler
from .outbox import Emit, Outbox
from .revocation import RevocationCache

HEALTH_CACHE_SECONDS = 2.0


@dataclass
class ServiceDeps:
    settings: Settings
    db: Database
    broker: Broker
    outbox: Outbox
    inbox_model: type
    revocation_model: type
    dead_letter_model: type
    # the last health report and when it was made (see `health`)
    _last_health: tuple[float, dict[str, str]] | None = field(default=None, init=False, repr=False, compare=False)
    _revocations: RevocationCache | None = field(default=None, init=False, repr=False, compare=False)

    @staticmethod
    def infrastructure(service: str, models: ModuleType) -> dict[str, Any]:
        """The common parts, as keyword arguments for a service's deps class. `models` is the
        service's models module, with the tables every service has (OutboxMessage,
        InboxMessage, TokenRevocation, DeadLetter)."""
        settings = load_settings(service)
        db = Database(settings.database_url)
        broker = Broker(settings.amqp_uri, service)
        return {"settings": settings, "db": db, "broker": broker,
                "outbox": Outbox(service, db, models.OutboxMessage, broker), "inbox_model": models.InboxMessage,
                "revocation_model": models.TokenRevocation, "dead_letter_model": models.DeadLetter}

    @property
    def service(self) -> str:
        return self.settings.service

    @contextlib.contextmanager
    def uow(self, correlation_id: str | None = None) -> Iterator[tuple[Session, Emit]]:
        """The one way into a transaction, for views, handlers and sweeps alike:
        `with deps.uow() as (session, emit):` — rows and emitted events commit together."""
        with self.outbox.unit_of_work(correlation_id) as (session, emit):
            yield session, emit

    def consumer(self, handlers: Mapping[str, Handler[Self]]) -> EventConsumer[Self]:
        return EventConsumer(self.outbox, self.inbox_model, handlers, self)

    def token_revoked(self, principal: Principal) -> bool:
        """Asked on every authenticated request: remembered per process until it changes."""
        if self._revocations is None:
            self._revocations = RevocationCache(self.db, self.revocation_model)
        return self._revocations.revoked(principal)

    def health(self) -> dict[str, str]:
        """Whether the database and the broker answer. Asked again at most every
        HEALTH_CACHE_SECONDS: probes from every gateway and kubelet then cost one database
        query and one broker connection per period, not one per probe."""
        now = time.monotonic()
        if self._last_health is not None and now - self._last_health[0] < HEALTH_CACHE_SECONDS:
            return self._last_health[1]
        db_ok, broker_ok = self.db.ping(), self.broker.ping()
        report = {"service": self.service, "database": "ok" if db_ok else "unreachable",
                  "broker": "ok" if broker_ok else "unreachable",
                  "status": "ok" if db_ok and broker_ok else "degraded"}
        self._last_health = (now, report)
        return report
