"""Notifications' nameko worker: event handlers (asking registration for the unit's
contact over RPC), the delivery sweeper for retries, and the outbox relay.

Run: nameko run services.notifications.worker:NotificationsWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.timer import timer

from shared.nameko_edge import build_worker

from .app import SERVICE, handlers, runtime


class DeliverySweeper:
    @timer(interval=2.0)
    def deliver_due_messages(self):
        runtime().extras["deliver"]()


NotificationsWorker = build_worker(SERVICE, handlers(), lambda: runtime().consumer(handlers()),
                                   base=DeliverySweeper, rpc_targets=("registration",))
