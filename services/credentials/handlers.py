"""Credentials' event handlers (event name → handler): confirmed and paid people go to
the police check, a passed check queues the card, upgrades reissue it, cancellations and
deleted units revoke it. The worker declares one entrypoint per row; `check_entrypoints`
keeps them in step."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.revocation import on_tokens_revoked
from shared.inbox import Answers, Handler, HandlerContext, ask, prefetching

from .bootstrap import CredentialsDeps
from .domain import checks, privacy, production, reporting, revocation

Context = HandlerContext[CredentialsDeps]


# The personal data a handler needs comes from registration over RPC: asked before the
# handler's transaction opens (see shared.inbox.prefetching), never while rows are locked.
def dossiers(person_ids: list[str]) -> Callable[[dict[str, Any], Any], Answers]:
    return lambda payload, rpc: ask(rpc, *[("registration", "person_dossier", p) for p in person_ids])


def card_data(payload: dict[str, Any], rpc: Any) -> Answers:
    person_id = payload["person_id"]
    return ask(rpc, ("registration", "person_dossier", person_id), ("registration", "person_photo", person_id))


def dossier_unless_the_unit_pays(payload: dict[str, Any], rpc: Any) -> Answers:
    return dossiers([payload["person_id"]])(payload, rpc) if payload["payer"] != "unit" else {}


# --- who needs a check ----------------------------------------------------------------------
@prefetching(lambda payload, rpc: dossiers(payload["person_ids"])(payload, rpc))
def on_payment_confirmed(ctx: Context) -> None:
    for person_id in ctx.payload["person_ids"]:
        checks.request_check(ctx.session, ctx.emit, ctx.rpc, person_id, ctx.payload["unit_id"])


@prefetching(dossier_unless_the_unit_pays)
def on_personnel_confirmed(ctx: Context) -> None:
    checks.record_holder(ctx.session, ctx.payload)
    if ctx.payload["payer"] != "unit":  # free labels and 代付 people need no payment first
        checks.request_check(ctx.session, ctx.emit, ctx.rpc, ctx.payload["person_id"], ctx.payload["unit_id"])


@prefetching(dossier_unless_the_unit_pays)
def on_reuse_locked(ctx: Context) -> None:
    checks.record_holder(ctx.session, ctx.payload, reuse_no=ctx.payload["previous_credential_no"])
    if ctx.payload["payer"] != "unit":
        checks.request_check(ctx.session, ctx.emit, ctx.rpc, ctx.payload["person_id"], ctx.payload["unit_id"])


# --- answers ----------------------------------------------------------------------------------
@prefetching(card_data)
def on_background_check_passed(ctx: Context) -> None:
    check = checks.record_answer(ctx.session, ctx.payload["check_id"], ctx.payload["person_id"], "passed")
    if check is None or checks.holder_cancelled(ctx.session, check.person_id):
        return
    production.queue_credential(ctx.session, ctx.emit, ctx.rpc, check.person_id, ctx.deps.settings.edition)


def on_background_check_failed(ctx: Context) -> None:
    # billing makes the fee refundable
    checks.record_answer(ctx.session, ctx.payload["check_id"], ctx.payload["person_id"], "failed")


# --- revocation and reissue -------------------------------------------------------------------
@prefetching(card_data)
def on_personnel_upgraded(ctx: Context) -> None:
    revocation.upgrade(ctx.session, ctx.emit, ctx.rpc, ctx.payload["person_id"], ctx.payload["unit_id"],
                       ctx.payload["to_label"], ctx.deps.settings.edition)


def on_personnel_cancelled(ctx: Context) -> None:
    revocation.cancel_person(ctx.session, ctx.emit, ctx.payload["person_id"], ctx.payload["unit_id"])


def on_unit_deleted(ctx: Context) -> None:
    revocation.delete_unit(ctx.session, ctx.emit, ctx.payload["unit_id"])
    privacy.erase_unit(ctx.session, ctx.payload["unit_id"])


def on_retention_expired(ctx: Context) -> None:
    """PIPL: the edition's retention period has ended."""
    privacy.erase_edition(ctx.session, ctx.payload["edition"])


# --- views ------------------------------------------------------------------------------------
def on_delegation_changed(ctx: Context) -> None:
    reporting.record_delegation(ctx.session, ctx.payload["delegation_id"], ctx.payload["parent_id"])


HANDLERS: Mapping[str, Handler[CredentialsDeps]] = {
    "PaymentConfirmed": on_payment_confirmed,
    "PersonnelConfirmed": on_personnel_confirmed,
    "ReuseLocked": on_reuse_locked,
    "BackgroundCheckPassed": on_background_check_passed,
    "BackgroundCheckFailed": on_background_check_failed,
    "PersonnelUpgraded": on_personnel_upgraded,
    "PersonnelCancelled": on_personnel_cancelled,
    "UnitDeleted": on_unit_deleted,
    "DelegationChanged": on_delegation_changed,
    "TokensRevoked": on_tokens_revoked,
    "AdminTokensRevoked": on_tokens_revoked,
    "RetentionExpired": on_retention_expired,
}
