"""Review's event handlers: registration's submissions and cancellations become review
rows (event name → handler). The worker declares one entrypoint per row;
`check_entrypoints` keeps them in step."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.revocation import on_tokens_revoked
from shared.inbox import Handler, HandlerContext

from .bootstrap import ReviewDeps
from .domain.decisions import approve, may_auto_approve, registry_matches
from .domain.personnel import confirm_ready_people, release
from .models import ReviewPerson, UnitReview, UnitSubmission


def locked_unit(session: Session, unit_id: str) -> UnitReview:
    """The unit's review row, created if needed, locked for this transaction. The unit's
    events arrive on different queues and are handled concurrently; the lock makes each
    handler see what the other committed (otherwise a person submitted at the same
    moment as the unit would be confirmed by neither)."""
    if session.get(UnitReview, unit_id) is None:
        try:
            with session.begin_nested():
                session.add(UnitReview(unit_id=unit_id, status="not_submitted", automatic=False, submissions=0))
        except IntegrityError:
            pass  # another handler created it first
    return session.scalars(select(UnitReview).where(UnitReview.unit_id == unit_id)
                           .with_for_update().execution_options(populate_existing=True)).one()


def on_unit_submitted(ctx: HandlerContext[ReviewDeps]) -> None:
    p: dict[str, Any] = ctx.payload
    review = locked_unit(ctx.session, p["unit_id"])
    if review.status in ("deleted", "rejected"):
        return
    review.edition, review.uscc, review.name = p["edition"], p["uscc"], p["name"]
    review.category, review.region = p["category"], p["region"]
    if review.status == "not_submitted":
        review.delegation_id = p["delegation_id"]  # later moves are review's own (reassign)
    review.status, review.comment, review.submitted_at, review.automatic = "pending", None, utcnow(), False
    review.submissions = (review.submissions or 0) + 1
    ctx.session.add(UnitSubmission(id=new_id(), unit_id=review.unit_id, number=review.submissions,
                                   at=review.submitted_at))
    ctx.session.flush()
    # 无感审核 where the fair has it (CIIE); otherwise an admin decides
    if may_auto_approve(review, registry_matches(ctx.session, p["uscc"], p["name"])):
        approve(ctx.session, ctx.emit, review, actor=None)


def on_personnel_submitted(ctx: HandlerContext[ReviewDeps]) -> None:
    p = ctx.payload
    review = locked_unit(ctx.session, p["unit_id"])
    if ctx.session.get(ReviewPerson, p["person_id"]) is not None or review.status == "deleted":
        return
    ctx.session.add(ReviewPerson(person_id=p["person_id"], unit_id=p["unit_id"],
                                 requested_label=p["requested_label"], status="submitted", fee_fen=0))
    ctx.session.flush()
    if review.status == "approved":  # added after approval
        confirm_ready_people(ctx.session, ctx.emit, review)


def on_reuse_requested(ctx: HandlerContext[ReviewDeps]) -> None:
    p = ctx.payload
    locked_unit(ctx.session, p["unit_id"])
    if ctx.session.get(ReviewPerson, p["person_id"]) is not None:
        return
    ctx.session.add(ReviewPerson(person_id=p["person_id"], unit_id=p["unit_id"], requested_label=p["label"],
                                 status="pending_lock", fee_fen=0, previous_credential_no=p["previous_credential_no"],
                                 reused_label=p["label"]))


def on_personnel_cancelled(ctx: HandlerContext[ReviewDeps]) -> None:
    review = locked_unit(ctx.session, ctx.payload["unit_id"])
    person = ctx.session.get(ReviewPerson, ctx.payload["person_id"], with_for_update=True)
    if person is not None and person.status not in ("cancelled", "deleted"):
        release(ctx.session, review, person)
        person.status = "cancelled"


HANDLERS: Mapping[str, Handler[ReviewDeps]] = {
    "UnitSubmitted": on_unit_submitted,
    "PersonnelSubmitted": on_personnel_submitted,
    "ReuseRequested": on_reuse_requested,
    "PersonnelCancelled": on_personnel_cancelled,
    "TokensRevoked": on_tokens_revoked,
}
