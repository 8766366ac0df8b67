"""Registration's nameko worker: event handlers, RPC answers and the outbox relay.

Run: nameko run services.registration.worker:RegistrationWorker --broker $AMQP_URI
"""
from __future__ import annotations

import base64

from nameko.rpc import rpc
from nameko.timer import timer

from shared.nameko_edge import build_worker

from . import domain
from .app import SERVICE, runtime


class RpcAnswers:
    """Personal data goes to other services only as RPC answers, never on events."""

    @rpc
    def unit_contact(self, unit_id):
        with runtime().db.transaction() as s:
            return domain.unit_contact(s, unit_id)

    @rpc
    def person_photo(self, person_id):
        """The photo for the card face (base64 JPEG), or None."""
        with runtime().db.transaction() as s:
            photo = s.get(domain.PersonPhoto, person_id)
            return base64.b64encode(photo.content).decode() if photo else None

    @rpc
    def default_address(self, unit_id):
        """Where the courier takes the unit's credentials."""
        with runtime().db.transaction() as s:
            return domain.default_address(s, unit_id)

    @rpc
    def person_unit(self, person_id):
        """The unit a person belongs to (ids only)."""
        with runtime().db.transaction() as s:
            person = s.get(domain.Person, person_id)
            return person.unit_id if person else None

    @timer(interval=600)
    def send_due_reminders(self):
        """Deadline reminders: N days before each deadline, once per unit, kind and day."""
        rt = runtime()
        with rt.outbox.transaction() as s:
            domain.queue_reminders(s, rt.outbox.emitter(s), domain.deadlines(rt.settings), domain.reminder_days(rt.settings))

    @rpc
    def person_dossier(self, person_id):
        with runtime().db.transaction() as s:
            return domain.person_dossier(s, person_id, runtime().extras["cipher"])


RegistrationWorker = build_worker(SERVICE, domain.HANDLERS, lambda: runtime().consumer(domain.HANDLERS),
                                  base=RpcAnswers)
