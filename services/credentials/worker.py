"""Credentials' nameko worker: event handlers (asking registration for personal data over
RPC) and the outbox relay.

Run: nameko run services.credentials.worker:CredentialsWorker --broker $AMQP_URI
"""
from __future__ import annotations

from shared.nameko_edge import build_worker

from .app import SERVICE, handlers, runtime

CredentialsWorker = build_worker(SERVICE, handlers(), lambda: runtime().consumer(handlers()),
                                 rpc_targets=("registration",))
