"""Billing's event handlers (event name → handler): confirmed people become payable items
(billed to the unit, or to the delegation under 统付), and people who will not attend
become refundable or leave their unpaid orders. Handlers lock the item they change: events
about one person arrive on several queues."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from shared.db import utcnow
from shared.fair import fair
from shared.revocation import on_tokens_revoked
from shared.inbox import Handler, HandlerContext

from .bootstrap import BillingDeps
from .domain.orders import fee_for
from .domain.refunds import make_refundable
from .models import PayableItem

Ctx = HandlerContext[BillingDeps]


def _item(ctx: Ctx) -> PayableItem | None:
    return ctx.session.get(PayableItem, ctx.payload["person_id"], with_for_update=True)


# --- payable items --------------------------------------------------------------------
def on_personnel_confirmed(ctx: Ctx) -> None:
    p = ctx.payload
    if p["payer"] == "free" or ctx.session.get(PayableItem, p["person_id"]) is not None:
        return  # free labels owe nothing
    # 统付: a delegation-paid person is billed to the delegation's centralised payment
    # (review keeps the total within the delegation's limit); the unit owes nothing.
    ctx.session.add(PayableItem(person_id=p["person_id"], unit_id=p["unit_id"], label=p["label"],
                                payer=p["payer"], fee_fen=fee_for(p["label"], p["payer"], p["fee_fen"]),
                                delegation_id=p["delegation_id"] if p["payer"] == "delegation" else None,
                                status="awaiting_payment" if p["payer"] == "unit" else "delegation_billed",
                                created_at=utcnow()))


def on_reuse_locked(ctx: Ctx) -> None:
    """A reused credential still pays the fee unless its label is free."""
    p = ctx.payload
    if p["payer"] != "unit" or ctx.session.get(PayableItem, p["person_id"]) is not None:
        return
    ctx.session.add(PayableItem(person_id=p["person_id"], unit_id=p["unit_id"], label=p["label"], payer="unit",
                                fee_fen=fee_for(p["label"], "unit", p["fee_fen"]),
                                status="awaiting_payment", created_at=utcnow()))


# --- who is refundable, from other services' events -----------------------------------------
def on_background_check_failed(ctx: Ctx) -> None:
    item = _item(ctx)
    if item is not None:
        make_refundable(ctx.session, ctx.emit, item, "check_failed")


def on_personnel_cancelled(ctx: Ctx) -> None:
    item = _item(ctx)
    if item is not None:
        make_refundable(ctx.session, ctx.emit, item, "cancelled")


def on_personnel_upgraded(ctx: Ctx) -> None:
    """Upgraded to a free label: whatever was paid comes back."""
    item = _item(ctx)
    if item is not None and ctx.payload["to_label"] in fair().free_badges():
        make_refundable(ctx.session, ctx.emit, item, "upgraded")


def on_unit_deleted(ctx: Ctx) -> None:
    for item in ctx.session.scalars(select(PayableItem).where(PayableItem.unit_id == ctx.payload["unit_id"])
                                    .order_by(PayableItem.person_id).with_for_update()):
        make_refundable(ctx.session, ctx.emit, item, "unit_deleted")


HANDLERS: Mapping[str, Handler[BillingDeps]] = {
    "PersonnelConfirmed": on_personnel_confirmed,
    "ReuseLocked": on_reuse_locked,
    "BackgroundCheckFailed": on_background_check_failed,
    "PersonnelCancelled": on_personnel_cancelled,
    "PersonnelUpgraded": on_personnel_upgraded,
    "UnitDeleted": on_unit_deleted,
    "TokensRevoked": on_tokens_revoked,
    "AdminTokensRevoked": on_tokens_revoked,
}
