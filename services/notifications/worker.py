"""Notifications' nameko worker: event handlers (asking registration for the unit's
contact over RPC), the delivery sweeper for retries, RPC answers and the outbox relay.

Run: nameko run services.notifications.worker:NotificationsWorker --broker $AMQP_URI
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from shared.nameko_edge import Dependencies, EventWorker, RemoteService, check_entrypoints, event_handler

from . import domain
from .bootstrap import SERVICE, bootstrap
from .handlers import HANDLERS


class NotificationsWorker(EventWorker):
    name = SERVICE
    handlers = HANDLERS
    deps = Dependencies(bootstrap)
    registration = RemoteService("registration")

    def rpc_proxies(self) -> Any:
        return SimpleNamespace(registration=self.registration)

    # --- events ----------------------------------------------------------------------
    @event_handler("review", "UnitApproved")
    def on_unit_approved(self, body):
        self.consume("UnitApproved", body)

    @event_handler("review", "UnitReturned")
    def on_unit_returned(self, body):
        self.consume("UnitReturned", body)

    @event_handler("review", "UnitRejected")
    def on_unit_rejected(self, body):
        self.consume("UnitRejected", body)

    @event_handler("billing", "OrderCreated")
    def on_order_created(self, body):
        self.consume("OrderCreated", body)

    @event_handler("billing", "PaymentConfirmed")
    def on_payment_confirmed(self, body):
        self.consume("PaymentConfirmed", body)

    @event_handler("billing", "TransferRejected")
    def on_transfer_rejected(self, body):
        self.consume("TransferRejected", body)

    @event_handler("billing", "InvoiceIssued")
    def on_invoice_issued(self, body):
        self.consume("InvoiceIssued", body)

    @event_handler("billing", "InvoiceReversed")
    def on_invoice_reversed(self, body):
        self.consume("InvoiceReversed", body)

    @event_handler("billing", "InvoiceReversalRequested")
    def on_invoice_reversal_requested(self, body):
        self.consume("InvoiceReversalRequested", body)

    @event_handler("billing", "InvoiceReversalRejected")
    def on_invoice_reversal_rejected(self, body):
        self.consume("InvoiceReversalRejected", body)

    @event_handler("billing", "RefundCompleted")
    def on_refund_completed(self, body):
        self.consume("RefundCompleted", body)

    @event_handler("credentials", "CredentialDispatched")
    def on_credential_dispatched(self, body):
        self.consume("CredentialDispatched", body)

    @event_handler("police", "BackgroundCheckPassed")
    def on_background_check_passed(self, body):
        self.consume("BackgroundCheckPassed", body)

    @event_handler("police", "BackgroundCheckFailed")
    def on_background_check_failed(self, body):
        self.consume("BackgroundCheckFailed", body)

    @event_handler("review", "PersonnelConfirmed")
    def on_personnel_confirmed(self, body):
        self.consume("PersonnelConfirmed", body)

    @event_handler("review", "ReuseLocked")
    def on_reuse_locked(self, body):
        self.consume("ReuseLocked", body)

    @event_handler("review", "PersonnelUpgraded")
    def on_personnel_upgraded(self, body):
        self.consume("PersonnelUpgraded", body)

    @event_handler("credentials", "ReissueRequested")
    def on_reissue_requested(self, body):
        self.consume("ReissueRequested", body)

    @event_handler("credentials", "CredentialReissued")
    def on_credential_reissued(self, body):
        self.consume("CredentialReissued", body)

    @event_handler("registration", "ReminderDue")
    def on_reminder_due(self, body):
        self.consume("ReminderDue", body)

    @event_handler("registration", "TokensRevoked")
    def on_tokens_revoked(self, body):
        self.consume("TokensRevoked", body)

    @event_handler("review", "AdminTokensRevoked")
    def on_admin_tokens_revoked(self, body):
        self.consume("AdminTokensRevoked", body)

    @event_handler("review", "UnitDeleted")
    def on_unit_deleted(self, body):
        self.consume("UnitDeleted", body)

    @event_handler("review", "RetentionExpired")
    def on_retention_expired(self, body):
        self.consume("RetentionExpired", body)

    # --- sweeps and RPC answers ---------------------------------------------------------
    @timer(interval=2.0)
    def deliver_due_messages(self):
        domain.deliver(self.deps)

    @rpc
    def send_sms_code(self, phone, code, purpose, language="zh"):
        """Asked by registration: the number and the code arrive point to point."""
        return domain.send_sms_code(self.deps, phone, code, purpose, language)

    @rpc
    def send_email(self, to, template, language, variables, unit_id=None, redact=()):
        """Asked by registration: one-click invitations and email verification codes."""
        return domain.send_direct_email(self.deps, to, template, language, variables, unit_id, tuple(redact))


check_entrypoints(NotificationsWorker)
