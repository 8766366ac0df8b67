"""Credentials HTTP API: the unit's view of checks, production and distribution."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import require
from shared.http import current_runtime

from .models import BackgroundCheck, Credential
from .schemas import CheckSummarySchema, CredentialSchema

bp = Blueprint("credentials", __name__, description="Background checks and credentials")
UNIT = "unit_contact"


@bp.route("/units/me/credentials", methods=["GET"])
@require(UNIT)
@bp.response(200, CredentialSchema(many=True))
def my_credentials():
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(Credential).where(Credential.unit_id == g.principal.unit_id)
                              .order_by(Credential.produced_at)))


@bp.route("/units/me/summary", methods=["GET"])
@require(UNIT)
@bp.response(200, CheckSummarySchema)
def my_summary():
    """Counts only: the reason of a failed check is never shown to the unit."""
    with current_runtime().db.transaction() as s:
        checks = list(s.scalars(select(BackgroundCheck.status).where(BackgroundCheck.unit_id == g.principal.unit_id)))
        creds = list(s.scalars(select(Credential.status).where(Credential.unit_id == g.principal.unit_id)))
    return {"requested": len(checks), "passed": checks.count("passed"), "failed": checks.count("failed"),
            "produced": len(creds), "dispatched": sum(1 for c in creds if c in ("dispatched", "delivered", "collected"))}
