"""A service's runtime objects (settings, database, broker, outbox), built once per process."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from types import ModuleType

from .broker import Broker
from .config import Settings, load_settings
from .db import Database
from .inbox import EventConsumer, Handler
from .outbox import Outbox


@dataclass
class Runtime:
    settings: Settings
    db: Database
    broker: Broker
    outbox: Outbox
    models: ModuleType
    extras: dict[str, Any] = field(default_factory=dict)  # service-specific adapters

    @classmethod
    def build(cls, service: str, models: ModuleType) -> "Runtime":
        settings = load_settings(service)
        db = Database(settings.database_url)
        broker = Broker(settings.amqp_uri)
        return cls(settings, db, broker, Outbox(service, db, models.OutboxMessage, broker), models)

    def consumer(self, handlers: dict[str, Handler]) -> EventConsumer:
        return EventConsumer(self.outbox, self.models.InboxMessage, handlers)

    def health(self) -> dict:
        db_ok, broker_ok = self.db.ping(), self.broker.ping()
        return {"service": self.settings.service, "database": "ok" if db_ok else "unreachable",
                "broker": "ok" if broker_ok else "unreachable",
                "status": "ok" if db_ok and broker_ok else "degraded"}
