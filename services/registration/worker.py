"""Registration's nameko worker: event handlers, RPC answers (personal data goes to other
services only this way, never on events), deadline reminders and the outbox relay.

Run: nameko run services.registration.worker:RegistrationWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.rpc import rpc
from nameko.timer import timer

from shared.nameko_edge import Dependencies, EventWorker, check_entrypoints, event_handler

from .bootstrap import SERVICE, bootstrap
from .domain import addresses, answers, deadlines
from .handlers import HANDLERS


class RegistrationWorker(EventWorker):
    name = SERVICE
    handlers = HANDLERS
    deps = Dependencies(bootstrap)

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

    @event_handler("review", "PersonnelConfirmed")
    def on_personnel_confirmed(self, body):
        self.consume("PersonnelConfirmed", body)

    @event_handler("review", "QuotaChanged")
    def on_quota_changed(self, body):
        self.consume("QuotaChanged", body)

    @event_handler("review", "PersonnelRejected")
    def on_personnel_rejected(self, body):
        self.consume("PersonnelRejected", body)

    @event_handler("review", "PersonnelUpgraded")
    def on_personnel_upgraded(self, body):
        self.consume("PersonnelUpgraded", body)

    @event_handler("billing", "OrderCreated")
    def on_order_created(self, body):
        self.consume("OrderCreated", body)

    @event_handler("billing", "OrderCancelled")
    def on_order_cancelled(self, body):
        self.consume("OrderCancelled", body)

    @event_handler("billing", "PaymentConfirmed")
    def on_payment_confirmed(self, body):
        self.consume("PaymentConfirmed", body)

    @event_handler("police", "BackgroundCheckPassed")
    def on_background_check_passed(self, body):
        self.consume("BackgroundCheckPassed", body)

    @event_handler("police", "BackgroundCheckFailed")
    def on_background_check_failed(self, body):
        self.consume("BackgroundCheckFailed", body)

    @event_handler("credentials", "CredentialProduced")
    def on_credential_produced(self, body):
        self.consume("CredentialProduced", body)

    @event_handler("credentials", "CredentialDispatched")
    def on_credential_dispatched(self, body):
        self.consume("CredentialDispatched", body)

    @event_handler("review", "DelegationChanged")
    def on_delegation_changed(self, body):
        self.consume("DelegationChanged", body)

    @event_handler("review", "ReuseLocked")
    def on_reuse_locked(self, body):
        self.consume("ReuseLocked", body)

    @event_handler("review", "UnitReassigned")
    def on_unit_reassigned(self, body):
        self.consume("UnitReassigned", body)

    @event_handler("review", "UnitDeleted")
    def on_unit_deleted(self, body):
        self.consume("UnitDeleted", body)

    @event_handler("review", "UnitEdited")
    def on_unit_edited(self, body):
        self.consume("UnitEdited", body)

    @event_handler("review", "AdminTokensRevoked")
    def on_admin_tokens_revoked(self, body):
        self.consume("AdminTokensRevoked", body)

    @event_handler("review", "RetentionExpired")
    def on_retention_expired(self, body):
        self.consume("RetentionExpired", body)

    # --- RPC answers -------------------------------------------------------------------
    @rpc
    def unit_contact(self, unit_id):
        with self.deps.uow() as (s, _):
            return answers.unit_contact(s, unit_id)

    @rpc
    def person_photo(self, person_id):
        """The photo for the card face (base64 JPEG), or None."""
        with self.deps.uow() as (s, _):
            return answers.person_photo(s, person_id)

    @rpc
    def default_address(self, unit_id):
        """Where the courier takes the unit's credentials."""
        with self.deps.uow() as (s, _):
            return addresses.default_address(s, unit_id)

    @rpc
    def person_unit(self, person_id):
        """The unit a person belongs to (ids only)."""
        with self.deps.uow() as (s, _):
            return answers.person_unit(s, person_id)

    @rpc
    def person_name(self, person_id):
        """A person's name, for a message to their unit's contact (the check result)."""
        with self.deps.uow() as (s, _):
            return answers.person_name(s, person_id)

    @rpc
    def person_dossier(self, person_id):
        with self.deps.uow() as (s, _):
            return answers.person_dossier(s, person_id, self.deps.cipher)

    # the back office's reads, asked by review once it has checked the admin's scope
    @rpc
    def unit_file(self, unit_id):
        with self.deps.uow() as (s, _):
            return answers.unit_file(s, unit_id)

    @rpc
    def unit_document_image(self, unit_id):
        with self.deps.uow() as (s, _):
            return answers.unit_document_image(s, unit_id)

    @rpc
    def unit_person_photo(self, unit_id, person_id):
        with self.deps.uow() as (s, _):
            return answers.unit_person_photo(s, unit_id, person_id)

    @rpc
    def people_details(self, person_ids):
        with self.deps.uow() as (s, _):
            return answers.people_details(s, list(person_ids or []))

    @rpc
    def find_people(self, unit_ids, query):
        with self.deps.uow() as (s, _):
            return answers.find_people(s, list(unit_ids or []), str(query or ""), self.deps.cipher)

    # --- sweeps ----------------------------------------------------------------------
    @timer(interval=600)
    def send_due_reminders(self):
        """Deadline reminders: N days before each deadline, once per unit, kind and day."""
        with self.deps.uow() as (s, emit):
            deadlines.queue_reminders(s, emit, self.deps.deadlines, self.deps.reminder_days)


check_entrypoints(RegistrationWorker)
