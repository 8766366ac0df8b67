"""Credentials' nameko worker: event handlers (asking registration for personal data over
RPC), production batches, re-sending unanswered checks, and the outbox relay.

Run: nameko run services.credentials.worker:CredentialsWorker --broker $AMQP_URI
"""
from __future__ import annotations

from types import SimpleNamespace

from nameko.timer import timer

from shared.nameko_edge import build_worker

from .app import SERVICE, dispatch_waiting, handlers, produce, resend_overdue, runtime


class Sweeps:
    @timer(interval=1.0)
    def produce_batch(self):
        produce(lambda unit_id: self.rpc_registration.default_address(unit_id=unit_id))

    @timer(interval=10.0)
    def dispatch_waiting_credentials(self):
        dispatch_waiting(lambda unit_id: self.rpc_registration.default_address(unit_id=unit_id))

    @timer(interval=30.0)
    def resend_unanswered_checks(self):
        resend_overdue(SimpleNamespace(registration=self.rpc_registration))


CredentialsWorker = build_worker(SERVICE, handlers(), lambda: runtime().consumer(handlers()), base=Sweeps,
                                 rpc_targets=("registration",))
