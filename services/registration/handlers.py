"""Registration's event handlers (event name → handler): what review, billing, credentials and the
police tell registration moves units and people along. Handlers lock the rows they change:
events about one person arrive on several queues and are handled concurrently, and a late
writer must not overwrite a newer state."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from shared.fair import fair
from shared.revocation import EVERY_VERSION, on_tokens_revoked
from shared.inbox import Handler, HandlerContext

from .bootstrap import RegistrationDeps
from .domain import privacy
from .domain.accounts import end_sessions
from .domain.personnel import advance
from .domain.quotas import record_quota
from .domain.referrals import award_referral_points
from .models import DelegationView, Person, PersonPhoto, Unit

Ctx = HandlerContext[RegistrationDeps]


def _unit_of(ctx: Ctx) -> Unit | None:
    return ctx.session.get(Unit, ctx.payload["unit_id"], with_for_update=True)


def _person_of(ctx: Ctx) -> Person | None:
    return ctx.session.get(Person, ctx.payload["person_id"], with_for_update=True)


def _people(ctx: Ctx) -> list[Person]:
    ids = ctx.payload["person_ids"]
    return list(ctx.session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)
                                    .with_for_update()))


def on_unit_approved(ctx: Ctx) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        first_approval = unit.status != "approved"
        unit.status, unit.review_comment = "approved", None
        if first_approval:
            award_referral_points(ctx.session, unit)
        for person in ctx.session.scalars(select(Person).where(Person.unit_id == unit.id,
                                                               Person.status == "submitted")
                                          .order_by(Person.id).with_for_update()):
            advance(person, "awaiting_confirmation")


def on_unit_returned(ctx: Ctx) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.status, unit.review_comment = "returned", ctx.payload["comment"]


def on_unit_rejected(ctx: Ctx) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.status, unit.review_comment = "rejected", ctx.payload["reason"]


def _confirmed(person: Person, label: str, payer: str) -> None:
    """Review's label and payer, unless an upgrade was heard first (the events come on
    different queues): an upgrade is never undone by the older confirmation."""
    if fair().badge_rank(person.label or "") > fair().badge_rank(label):
        return
    person.label, person.payer = label, payer
    advance(person, "awaiting_payment" if payer == "unit" else "awaiting_check")


def on_personnel_confirmed(ctx: Ctx) -> None:
    person = _person_of(ctx)
    if person is not None:
        _confirmed(person, ctx.payload["label"], ctx.payload["payer"])


def on_reuse_locked(ctx: Ctx) -> None:
    person = _person_of(ctx)
    if person is not None:
        _confirmed(person, ctx.payload["label"], ctx.payload["payer"])


def on_personnel_upgraded(ctx: Ctx) -> None:
    """Upgraded to staff or VIP: free, so a person still awaiting payment owes nothing and
    goes on to the police check (billing drops their fee, credentials checks them)."""
    person = _person_of(ctx)
    if person is not None and person.status != "cancelled":
        person.label, person.payer = ctx.payload["to_label"], "free"
        advance(person, "awaiting_check")


def on_personnel_rejected(ctx: Ctx) -> None:
    """Not approved by review (where the fair reviews people): the unit reads why."""
    person = _person_of(ctx)
    if person is not None and person.status != "cancelled":
        person.status, person.review_comment = "rejected", ctx.payload["reason"]


def on_unit_reassigned(ctx: Ctx) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.delegation_id = ctx.payload["to_delegation_id"]


def on_unit_edited(ctx: Ctx) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.name = ctx.payload.get("name") or unit.name
        unit.category = ctx.payload.get("category") or unit.category


def on_unit_deleted(ctx: Ctx) -> None:
    """The delegation deleted the unit: its personnel go with it, for good."""
    unit = _unit_of(ctx)
    if unit is None:
        return
    for person in ctx.session.scalars(select(Person).where(Person.unit_id == unit.id).with_for_update()):
        photo = ctx.session.get(PersonPhoto, person.id)
        if photo is not None:
            ctx.session.delete(photo)
            ctx.session.flush()  # the photo first: no relationship tells the flush that order
        ctx.session.delete(person)
    unit.status = "deleted"
    privacy.erase_unit(ctx.session, unit)
    end_sessions(ctx.session, ctx.emit, unit.id, EVERY_VERSION, "unit_deleted")  # its members' too


def on_retention_expired(ctx: Ctx) -> None:
    """PIPL: the edition's retention period has ended."""
    privacy.erase_edition(ctx.session, ctx.payload["edition"])


def on_order_created(ctx: Ctx) -> None:
    for person in _people(ctx):
        person.order_no = ctx.payload["order_no"]


def on_order_cancelled(ctx: Ctx) -> None:
    for person in _people(ctx):
        if person.order_no == ctx.payload["order_no"]:
            person.order_no = None


def on_payment_confirmed(ctx: Ctx) -> None:
    for person in _people(ctx):
        person.order_no = ctx.payload["order_no"]
        advance(person, "awaiting_check")


def on_background_check_passed(ctx: Ctx) -> None:
    person = _person_of(ctx)
    if person is not None:
        advance(person, "check_passed")


def on_background_check_failed(ctx: Ctx) -> None:
    person = _person_of(ctx)
    if person is not None:
        advance(person, "check_failed")


def on_credential_produced(ctx: Ctx) -> None:
    person = _person_of(ctx)
    if person is not None:
        person.credential_no = ctx.payload["credential_no"]
        advance(person, "in_production")


def on_credential_dispatched(ctx: Ctx) -> None:
    person = _person_of(ctx)
    if person is not None:
        person.credential_no, person.tracking_no = ctx.payload["credential_no"], ctx.payload["tracking_no"]
        advance(person, "dispatched")


def on_delegation_changed(ctx: Ctx) -> None:
    p = ctx.payload
    view = ctx.session.get(DelegationView, p["delegation_id"], with_for_update=True)
    if view is None:
        view = DelegationView(id=p["delegation_id"])
        ctx.session.add(view)
    view.name, view.parent_id, view.recommendation_code = p["name"], p["parent_id"], p["recommendation_code"]
    view.industry, view.active = p["industry"], p["active"]


def on_quota_changed(ctx: Ctx) -> None:
    p = ctx.payload
    record_quota(ctx.session, p["uscc"], p["vip"], p["staff"])


HANDLERS: Mapping[str, Handler[RegistrationDeps]] = {
    "UnitApproved": on_unit_approved, "UnitReturned": on_unit_returned, "UnitRejected": on_unit_rejected,
    "PersonnelConfirmed": on_personnel_confirmed, "PersonnelUpgraded": on_personnel_upgraded,
    "OrderCreated": on_order_created,
    "OrderCancelled": on_order_cancelled, "PaymentConfirmed": on_payment_confirmed,
    "BackgroundCheckPassed": on_background_check_passed, "BackgroundCheckFailed": on_background_check_failed,
    "CredentialProduced": on_credential_produced, "CredentialDispatched": on_credential_dispatched,
    "DelegationChanged": on_delegation_changed, "ReuseLocked": on_reuse_locked,
    "UnitReassigned": on_unit_reassigned, "UnitDeleted": on_unit_deleted, "UnitEdited": on_unit_edited,
    "AdminTokensRevoked": on_tokens_revoked,
    "RetentionExpired": on_retention_expired, "QuotaChanged": on_quota_changed,
    "PersonnelRejected": on_personnel_rejected,
}
