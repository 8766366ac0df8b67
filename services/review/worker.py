"""Review's nameko worker: event handlers, the invitation-code RPC answer and the outbox relay.

Run: nameko run services.review.worker:ReviewWorker --broker $AMQP_URI
"""
from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

from shared.errors import Conflict, DomainError
from shared.nameko_edge import Dependencies, EventWorker, check_entrypoints, event_handler

from .bootstrap import SERVICE, bootstrap
from .domain import invitation_codes, organisations
from .handlers import HANDLERS


class ReviewWorker(EventWorker):
    name = SERVICE
    handlers = HANDLERS
    deps = Dependencies(bootstrap)

    # --- events ----------------------------------------------------------------------
    @event_handler("registration", "UnitSubmitted")
    def on_unit_submitted(self, body):
        self.consume("UnitSubmitted", body)

    @event_handler("registration", "PersonnelSubmitted")
    def on_personnel_submitted(self, body):
        self.consume("PersonnelSubmitted", body)

    @event_handler("registration", "ReuseRequested")
    def on_reuse_requested(self, body):
        self.consume("ReuseRequested", body)

    @event_handler("registration", "PersonnelCancelled")
    def on_personnel_cancelled(self, body):
        self.consume("PersonnelCancelled", body)

    @event_handler("registration", "TokensRevoked")
    def on_tokens_revoked(self, body):
        self.consume("TokensRevoked", body)

    # --- sweeps ----------------------------------------------------------------------------
    @timer(interval=600)
    def announce_expired_retention(self):
        """PIPL: an edition whose retention period has ended is erased everywhere."""
        with self.deps.uow() as (s, emit):
            organisations.expire_retention(s, emit)

    # --- RPC answers ---------------------------------------------------------------------
    @rpc
    def claim_invitation_code(self, code, unit_id, unit_name) -> dict[str, Any]:
        """Asked by registration at sign-up: {"ok": true} or the refusal to show
        (`conflict` tells registration whether to answer it as a Conflict)."""
        try:
            with self.deps.uow() as (s, _):
                row = invitation_codes.claim_invitation_code(s, code, unit_id, unit_name)
                return {"ok": True, "delegation_id": row.delegation_id}
        except DomainError as err:
            return {"ok": False, **err.to_dict(), "conflict": isinstance(err, Conflict)}


check_entrypoints(ReviewWorker)
