"""Credentials' nameko worker: event handlers (asking registration for personal data over
RPC), production batches, dispatching credentials that waited for an address, re-sending
unanswered checks, and the outbox relay.

Run: nameko run services.credentials.worker:CredentialsWorker --broker $AMQP_URI
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nameko.timer import timer

from shared.nameko_edge import Dependencies, EventWorker, RemoteService, check_entrypoints, event_handler

from .bootstrap import SERVICE, bootstrap
from .domain import checks, production
from .handlers import HANDLERS


class CredentialsWorker(EventWorker):
    name = SERVICE
    handlers = HANDLERS
    deps = Dependencies(bootstrap)
    registration = RemoteService("registration")

    def rpc_proxies(self) -> Any:
        return SimpleNamespace(registration=self.registration)

    def address_of(self, unit_id: str) -> dict[str, Any] | None:
        """The unit's default address, where the courier takes its credentials."""
        return self.registration.default_address(unit_id=unit_id)

    # --- events ----------------------------------------------------------------------
    @event_handler("billing", "PaymentConfirmed")
    def on_payment_confirmed(self, body):
        self.consume("PaymentConfirmed", body)

    @event_handler("review", "PersonnelConfirmed")
    def on_personnel_confirmed(self, body):
        self.consume("PersonnelConfirmed", body)

    @event_handler("review", "ReuseLocked")
    def on_reuse_locked(self, body):
        self.consume("ReuseLocked", body)

    @event_handler("police", "BackgroundCheckPassed")
    def on_background_check_passed(self, body):
        self.consume("BackgroundCheckPassed", body)

    @event_handler("police", "BackgroundCheckFailed")
    def on_background_check_failed(self, body):
        self.consume("BackgroundCheckFailed", body)

    @event_handler("review", "PersonnelUpgraded")
    def on_personnel_upgraded(self, body):
        self.consume("PersonnelUpgraded", body)

    @event_handler("registration", "PersonnelCancelled")
    def on_personnel_cancelled(self, body):
        self.consume("PersonnelCancelled", body)

    @event_handler("review", "UnitDeleted")
    def on_unit_deleted(self, body):
        self.consume("UnitDeleted", body)

    @event_handler("review", "DelegationChanged")
    def on_delegation_changed(self, body):
        self.consume("DelegationChanged", body)

    @event_handler("registration", "TokensRevoked")
    def on_tokens_revoked(self, body):
        self.consume("TokensRevoked", body)

    @event_handler("review", "AdminTokensRevoked")
    def on_admin_tokens_revoked(self, body):
        self.consume("AdminTokensRevoked", body)

    @event_handler("review", "RetentionExpired")
    def on_retention_expired(self, body):
        self.consume("RetentionExpired", body)

    # --- sweeps ------------------------------------------------------------------------
    @timer(interval=1.0)
    def produce_batch(self):
        production.produce(self.deps, self.address_of)

    @timer(interval=10.0)
    def dispatch_waiting_credentials(self):
        production.dispatch_waiting(self.deps, self.address_of)

    @timer(interval=30.0)
    def resend_unanswered_checks(self):
        checks.resend_overdue(self.deps, self.rpc_proxies())


check_entrypoints(CredentialsWorker)
