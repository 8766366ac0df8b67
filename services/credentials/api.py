"""Credentials HTTP API: the unit's and the delegation's views of checks, production and
distribution, card downloads, gate verification and the operations desk."""
from __future__ import annotations

from flask import Response, g
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import require
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import current_runtime

from . import cards, domain
from .models import BackgroundCheck, Credential, ProductionBatch
from .schemas import (
    BatchSchema, CountsSchema, CredentialSchema, GateAnswerSchema, GateQuerySchema, OverdueCheckSchema,
)

bp = Blueprint("credentials", __name__, description="Background checks and credentials")
UNIT = "unit_contact"
ADMINS = ("sub_delegation_admin", "delegation_secretariat", "organising_committee", "operations")
OPERATIONS = ("operations", "organising_committee")


@bp.route("/units/me/credentials", methods=["GET"])
@require(UNIT)
@bp.response(200, CredentialSchema(many=True))
def my_credentials():
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(Credential).where(Credential.unit_id == g.principal.unit_id)
                              .order_by(Credential.queued_at)))


@bp.route("/units/me/summary", methods=["GET"])
@require(UNIT)
@bp.response(200, CountsSchema)
def my_summary():
    """Counts only: the reason of a failed check is never shown to the unit."""
    with current_runtime().db.transaction() as s:
        return domain.counts(s, unit_ids=[g.principal.unit_id])


@bp.route("/delegations/<delegation_id>/summary", methods=["GET"])
@require(*ADMINS)
@bp.response(200, CountsSchema)
def delegation_summary(delegation_id):
    """Checks, production and distribution of the delegation's units (its sub-delegations too)."""
    with current_runtime().db.transaction() as s:
        scope = g.principal.delegation_id
        if scope is not None and delegation_id not in domain.subtree(s, scope):
            raise NotFound("delegation", "delegation_id")
        return domain.counts(s, delegation_ids=domain.subtree(s, delegation_id))


def _own_credential(s, credential_no: str) -> Credential:
    credential = s.scalar(select(Credential).where(Credential.credential_no == credential_no))
    if credential is None or (g.principal.role == UNIT and credential.unit_id != g.principal.unit_id):
        raise NotFound("credential", "credential_no")
    return credential


@bp.route("/credentials/<credential_no>/card.pdf", methods=["GET"])
@require(UNIT, *OPERATIONS)
def card_pdf(credential_no):
    with current_runtime().db.transaction() as s:
        credential = _own_credential(s, credential_no)
        if credential.card_pdf is None:
            raise NotFound("produced card", "credential_no")
        return Response(credential.card_pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f"inline; filename={credential_no}.pdf"})


@bp.route("/credentials/<credential_no>/card.png", methods=["GET"])
@require(UNIT, *OPERATIONS)
def card_png(credential_no):
    rt = current_runtime()
    with rt.db.transaction() as s:
        credential = _own_credential(s, credential_no)
        if credential.status == "revoked":
            raise NotFound("valid card", "credential_no")
        face = {**credential.card, "credential_no": credential.credential_no,
                "fair": rt.settings.edition.replace("-", " ")}
        png = cards.card_png(face, credential.photo, cards.qr_reference(credential_no, rt.extras["qr_secret"]))
        return Response(png, mimetype="image/png")


@bp.route("/gate/verify", methods=["GET"])
@bp.arguments(GateQuerySchema, location="query")
@bp.response(200, GateAnswerSchema)
def gate_verify(args):
    """Scan at the gate: valid / revoked / not_valid_today / unknown. No personal data."""
    rt = current_runtime()
    with rt.db.transaction() as s:
        return domain.verify_at_gate(s, args["reference"], rt.extras["qr_secret"], args["date"] or utcnow().date())


@bp.route("/operations/credentials/<credential_no>/hand-over", methods=["POST"])
@require(*OPERATIONS)
@bp.response(200, CredentialSchema)
def hand_over(credential_no):
    """Courier delivery confirmed, or collected at the on-site desk."""
    with current_runtime().db.transaction() as s:
        return domain.hand_over(s, credential_no)


@bp.route("/operations/overdue-checks", methods=["GET"])
@require(*OPERATIONS)
@bp.response(200, OverdueCheckSchema(many=True))
def overdue_checks():
    """Checks the police never answered, after every re-send."""
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(BackgroundCheck).where(BackgroundCheck.status == "overdue")
                              .order_by(BackgroundCheck.requested_at)))


@bp.route("/operations/batches", methods=["GET"])
@require(*OPERATIONS)
@bp.response(200, BatchSchema(many=True))
def batches():
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(ProductionBatch).order_by(ProductionBatch.produced_at.desc()).limit(100)))


@bp.route("/operations/batches/<batch_id>/sheet.pdf", methods=["GET"])
@require(*OPERATIONS)
def batch_sheet(batch_id):
    with current_runtime().db.transaction() as s:
        batch = s.get(ProductionBatch, batch_id)
        if batch is None:
            raise NotFound("batch", "batch_id")
        return Response(batch.sheet_pdf, mimetype="application/pdf")
