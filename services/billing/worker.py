"""Billing's nameko worker: event handlers and the outbox relay. Several may run at once.

Run: nameko run services.billing.worker:BillingWorker --broker $AMQP_URI
"""
from __future__ import annotations

from shared.nameko_edge import build_worker

from .app import SERVICE, handlers, runtime

BillingWorker = build_worker(SERVICE, handlers(), lambda: runtime().consumer(handlers()))
