"""Registration's nameko worker: event handlers, RPC answers and the outbox relay.

Run: nameko run services.registration.worker:RegistrationWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.rpc import rpc

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
    def person_dossier(self, person_id):
        with runtime().db.transaction() as s:
            return domain.person_dossier(s, person_id, runtime().extras["cipher"])


RegistrationWorker = build_worker(SERVICE, domain.HANDLERS, lambda: runtime().consumer(domain.HANDLERS),
                                  base=RpcAnswers)
