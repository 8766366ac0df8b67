"""Review HTTP API: delegations, admin login, the review queue and decisions."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import issue_token, require
from shared.errors import ApiError
from shared.http import current_runtime
from shared.validators import is_valid_uscc

from . import domain
from .models import Delegation, UnitReview
from .schemas import (
    AdminLoginSchema, CommentSchema, DelegationSchema, QueuePageSchema, QueueQuerySchema,
    RegistryRecordSchema, RejectSchema, TokenSchema, UnitReviewSchema,
)

bp = Blueprint("review", __name__, description="Delegation review")
REVIEWERS = ("sub_delegation_admin", "delegation_secretariat", "organising_committee")


@bp.route("/delegations", methods=["GET"])
@bp.response(200, DelegationSchema(many=True))
def delegations():
    """The (sub-)delegations a unit may choose at sign-up."""
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(Delegation).order_by(Delegation.id)))


@bp.route("/admin/login", methods=["POST"])
@bp.arguments(AdminLoginSchema)
@bp.response(200, TokenSchema)
def admin_login(data):
    with current_runtime().db.transaction() as s:
        admin = domain.authenticate_admin(s, data["username"], data["password"])
    token = issue_token(admin.id, admin.role, "review", delegation_id=admin.delegation_id)
    return {"token": token, "role": admin.role, "delegation_id": admin.delegation_id}


@bp.route("/sandbox/registry/<uscc>", methods=["PUT"])
@bp.arguments(RegistryRecordSchema)
@bp.response(200, RegistryRecordSchema)
def put_registry_record(data, uscc):
    """Sandbox business registry: set the record that automatic review matches against."""
    uscc = uscc.strip().upper()
    if not is_valid_uscc(uscc):
        raise ApiError("invalid_uscc", "USCC check character does not match (GB 32100-2015)", "uscc")
    with current_runtime().db.transaction() as s:
        return domain.set_registry_record(s, uscc, data["name"])


@bp.route("/queue", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(QueueQuerySchema, location="query")
@bp.response(200, QueuePageSchema)
def queue(args):
    with current_runtime().db.transaction() as s:
        query = select(UnitReview).where(UnitReview.status != "not_submitted")
        if args["status"] != "all":
            query = query.where(UnitReview.status == args["status"])
        scope = g.principal.delegation_id
        items = [r for r in s.scalars(query.order_by(UnitReview.submitted_at))
                 if domain.in_scope(s, r.delegation_id, scope)]
        start = (args["page"] - 1) * args["per_page"]
        return {"items": items[start:start + args["per_page"]], "total": len(items),
                "page": args["page"], "per_page": args["per_page"]}


def _decide(unit_id, action):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        review = domain.get_review_in_scope(s, unit_id, g.principal.delegation_id)
        action(s, rt.outbox.emitter(s), review)
        return review


@bp.route("/units/<unit_id>/approve", methods=["POST"])
@require(*REVIEWERS)
@bp.response(200, UnitReviewSchema)
def approve(unit_id):
    return _decide(unit_id, lambda s, emit, r: domain.approve(s, emit, r, False, g.principal.subject))


@bp.route("/units/<unit_id>/return", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(CommentSchema)
@bp.response(200, UnitReviewSchema)
def return_unit(data, unit_id):
    return _decide(unit_id, lambda s, emit, r: domain.return_for_modification(
        emit, r, data["comment"], g.principal.subject))


@bp.route("/units/<unit_id>/reject", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(RejectSchema)
@bp.response(200, UnitReviewSchema)
def reject(data, unit_id):
    return _decide(unit_id, lambda s, emit, r: domain.reject(emit, r, data["reason"], g.principal.subject))
