"""Billing's nameko worker: event handlers and the outbox relay. Several may run at once.

Run: nameko run services.billing.worker:BillingWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.timer import timer

from shared.nameko_edge import build_worker

from .app import SERVICE, expire_orders, handlers, runtime, send_approved_refunds


class Sweeps:
    @timer(interval=30)
    def expire_unpaid_orders(self):
        expire_orders()

    @timer(interval=2)
    def send_refunds(self):
        send_approved_refunds()


BillingWorker = build_worker(SERVICE, handlers(), lambda: runtime().consumer(handlers()), base=Sweeps)
