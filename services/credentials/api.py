"""Credentials HTTP API: the unit's and the delegation's views of checks, production and
distribution, card downloads, gate verification and the operations desk."""
from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from shared.db import utcnow
from shared.http import caller_unit_id, principal, require

from .bootstrap import bootstrap
from .domain import checks, gate, production, reporting
from .schemas import (
    BatchSchema, CountsSchema, CredentialSchema, GateAnswerSchema, GateQuerySchema, OverdueCheckSchema,
)

bp = Blueprint("credentials", __name__, description="Background checks and credentials")
UNIT = "unit_contact"
ADMINS = ("sub_delegation_admin", "delegation_secretariat", "organising_committee", "operations")
OPERATIONS = ("operations", "organising_committee")


def _card_scope() -> str | None:
    """A unit contact sees its own unit's cards; operations see every card."""
    return caller_unit_id() if principal().role == UNIT else None


@bp.route("/units/me/credentials", methods=["GET"])
@require(UNIT)
@bp.response(200, CredentialSchema(many=True))
def my_credentials():
    with bootstrap().uow() as (s, _):
        return production.unit_credentials(s, caller_unit_id())


@bp.route("/units/me/summary", methods=["GET"])
@require(UNIT)
@bp.response(200, CountsSchema)
def my_summary():
    """Counts only: the reason of a failed check is never shown to the unit."""
    with bootstrap().uow() as (s, _):
        return reporting.counts(s, unit_ids=[caller_unit_id()])


@bp.route("/delegations/<delegation_id>/summary", methods=["GET"])
@require(*ADMINS)
@bp.response(200, CountsSchema)
def delegation_summary(delegation_id):
    """Checks, production and distribution of the delegation's units (its sub-delegations too)."""
    with bootstrap().uow() as (s, _):
        return reporting.delegation_counts(s, delegation_id, principal().delegation_id)


@bp.route("/credentials/<credential_no>/card.pdf", methods=["GET"])
@require(UNIT, *OPERATIONS)
def card_pdf(credential_no):
    with bootstrap().uow() as (s, _):
        pdf = production.card_document(s, credential_no, _card_scope())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename={credential_no}.pdf"})


@bp.route("/credentials/<credential_no>/card.png", methods=["GET"])
@require(UNIT, *OPERATIONS)
def card_png(credential_no):
    deps = bootstrap()
    with deps.uow() as (s, _):
        png = production.card_image(s, credential_no, _card_scope(), deps.fair_name, deps.qr_secret)
    return Response(png, mimetype="image/png")


@bp.route("/gate/verify", methods=["GET"])
@bp.arguments(GateQuerySchema, location="query")
@bp.response(200, GateAnswerSchema)
def gate_verify(args):
    """Scan at the gate: valid / revoked / not_valid_today / unknown. No personal data."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return gate.verify_at_gate(s, args["reference"], deps.qr_secret, args["date"] or utcnow().date())


@bp.route("/operations/credentials/<credential_no>/hand-over", methods=["POST"])
@require(*OPERATIONS)
@bp.response(200, CredentialSchema)
def hand_over(credential_no):
    """Courier delivery confirmed, or collected at the on-site desk."""
    with bootstrap().uow() as (s, _):
        return production.hand_over(s, credential_no)


@bp.route("/operations/overdue-checks", methods=["GET"])
@require(*OPERATIONS)
@bp.response(200, OverdueCheckSchema(many=True))
def overdue_checks():
    """Checks the police never answered, after every re-send."""
    with bootstrap().uow() as (s, _):
        return checks.overdue_checks(s)


@bp.route("/operations/batches", methods=["GET"])
@require(*OPERATIONS)
@bp.response(200, BatchSchema(many=True))
def batches():
    with bootstrap().uow() as (s, _):
        return production.recent_batches(s)


@bp.route("/operations/batches/<batch_id>/sheet.pdf", methods=["GET"])
@require(*OPERATIONS)
def batch_sheet(batch_id):
    with bootstrap().uow() as (s, _):
        sheet = production.batch_sheet(s, batch_id)
    return Response(sheet, mimetype="application/pdf")
