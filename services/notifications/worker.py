"""Notifications' nameko worker: event handlers (asking registration for the unit's
contact over RPC), the delivery sweeper for retries, and the outbox relay.

Run: nameko run services.notifications.worker:NotificationsWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.rpc import rpc
from nameko.timer import timer

from shared.nameko_edge import build_worker

from . import domain
from .app import SERVICE, handlers, runtime


class DeliverySweeper:
    @timer(interval=2.0)
    def deliver_due_messages(self):
        runtime().extras["deliver"]()

    @rpc
    def send_sms_code(self, phone, code, purpose, language="zh"):
        """Asked by registration: the number and the code arrive point to point."""
        rt = runtime()
        return domain.send_sms_code(rt.db, rt.extras["senders"]["sms"], phone, code, purpose, language)

    @rpc
    def send_email(self, to, template, language, variables, unit_id=None, redact=()):
        """Asked by registration: one-click invitations and email verification codes."""
        rt = runtime()
        return domain.send_direct_email(rt.db, rt.extras["senders"]["email"], to, template, language, variables,
                                        unit_id, tuple(redact))


NotificationsWorker = build_worker(SERVICE, handlers(), lambda: runtime().consumer(handlers()),
                                   base=DeliverySweeper, rpc_targets=("registration",))
