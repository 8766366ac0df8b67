"""Review's nameko worker: event handlers and the outbox relay.

Run: nameko run services.review.worker:ReviewWorker --broker $AMQP_URI
"""
from __future__ import annotations

from nameko.rpc import rpc

from shared.errors import ApiError
from shared.nameko_edge import build_worker

from . import domain
from .app import SERVICE, runtime


class InvitationCodes:
    @rpc
    def claim_invitation_code(self, code, unit_id, unit_name):
        """Asked by registration at sign-up: {"ok": true} or the refusal to show."""
        try:
            with runtime().db.transaction() as s:
                row = domain.claim_invitation_code(s, code, unit_id, unit_name)
                return {"ok": True, "delegation_id": row.delegation_id}
        except ApiError as err:
            return {"ok": False, **err.to_dict(), "status": err.status}


ReviewWorker = build_worker(SERVICE, domain.HANDLERS, lambda: runtime().consumer(domain.HANDLERS),
                            base=InvitationCodes)
