"""Review's nameko worker: event handlers and the outbox relay.

Run: nameko run services.review.worker:ReviewWorker --broker $AMQP_URI
"""
from __future__ import annotations

from shared.nameko_edge import build_worker

from . import domain
from .app import SERVICE, runtime

ReviewWorker = build_worker(SERVICE, domain.HANDLERS, lambda: runtime().consumer(domain.HANDLERS))
