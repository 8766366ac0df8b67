"""Review's nameko worker: event handlers, the invitation-code RPC answer and the outbox relay.

Run: nameko run services.review.worker:ReviewWorker --broker $AMQP_URI
"""
from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from nameko.timer import timer

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
    def claim_invitation_code(self, code, unit_id, unit_name, uscc=None) -> dict[str, Any]:
        """Asked by registration at sign-up: {"ok": true} or the refusal to show
        (`conflict` tells registration whether to answer it as a Conflict). `uscc` (added
        later; older callers omit it) lets the same enterprise claim its code again."""
        with self.deps.uow() as (s, _):
            return invitation_codes.claim_answer(s, code, unit_id, unit_name, uscc)


check_entrypoints(ReviewWorker)
