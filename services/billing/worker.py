"""Billing's nameko worker: event handlers, the sweeps that expire unpaid orders and send
approved refunds, and the outbox relay. Several may run at once.

Run: nameko run services.billing.worker:BillingWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.timer import timer

from shared.nameko_edge import Dependencies, EventWorker, check_entrypoints, event_handler

from .bootstrap import SERVICE, bootstrap
from .domain import invoices, orders, refunds
from .handlers import HANDLERS


class BillingWorker(EventWorker):
    name = SERVICE
    handlers = HANDLERS
    deps = Dependencies(bootstrap)

    # --- events ----------------------------------------------------------------------
    @event_handler("review", "PersonnelConfirmed")
    def on_personnel_confirmed(self, body):
        self.consume("PersonnelConfirmed", body)

    @event_handler("review", "ReuseLocked")
    def on_reuse_locked(self, body):
        self.consume("ReuseLocked", body)

    @event_handler("police", "BackgroundCheckFailed")
    def on_background_check_failed(self, body):
        self.consume("BackgroundCheckFailed", body)

    @event_handler("registration", "PersonnelCancelled")
    def on_personnel_cancelled(self, body):
        self.consume("PersonnelCancelled", body)

    @event_handler("review", "PersonnelUpgraded")
    def on_personnel_upgraded(self, body):
        self.consume("PersonnelUpgraded", body)

    @event_handler("review", "UnitDeleted")
    def on_unit_deleted(self, body):
        self.consume("UnitDeleted", body)

    @event_handler("registration", "TokensRevoked")
    def on_tokens_revoked(self, body):
        self.consume("TokensRevoked", body)

    @event_handler("review", "AdminTokensRevoked")
    def on_admin_tokens_revoked(self, body):
        self.consume("AdminTokensRevoked", body)

    # --- sweeps (several workers share them through SKIP LOCKED) --------------------------
    @timer(interval=30)
    def expire_unpaid_orders(self):
        orders.expire_due(self.deps)

    @timer(interval=2)
    def send_refunds(self):
        refunds.send_approved(self.deps)

    @timer(interval=30)
    def file_pending_invoices(self):
        """Invoices a crash or an unanswering platform left `issuing` (the invoice number is
        the platform's idempotency key, so two workers filing one is harmless)."""
        invoices.file_pending(self.deps)


check_entrypoints(BillingWorker)
