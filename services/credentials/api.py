"""Credentials HTTP API: the unit's and the delegation's views of checks, production and
distribution, card downloads, the gate (scans by gate staff, the scan log) and the
operations desk."""
from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from shared.http import caller_unit_id, principal, require

from .bootstrap import bootstrap
from .domain import checks, gate, pickup, production, reissue_requests, reporting, revocation
from .schemas import (
    BatchSchema, CountsSchema, CredentialSchema, DeskCardDetailSchema, DeskCardSchema, DeskHandOverSchema,
    DispatchQuerySchema, DispatchRowSchema, GateAnswerSchema, GateScanInSchema, GateScanPageSchema, GateScanQuerySchema,
    OverdueCheckSchema, PickupQuerySchema, ReissueDecisionSchema, ReissueRequestInSchema, ReissueRequestQuerySchema,
    ReissueRequestSchema, ReissueSchema,
)

bp = Blueprint("credentials", __name__, description="Background checks and credentials")
UNIT = "unit_contact"
ADMINS = ("sub_delegation_admin", "delegation_secretariat", "organising_committee", "operations")
OPERATIONS = ("operations", "organising_committee")
GATE_STAFF = "gate_staff"


def _card_scope() -> str | None:
    """A unit contact sees its own unit's cards; operations see every card."""
    return caller_unit_id() if principal().role == UNIT else None


@bp.route("/units/me/credentials", methods=["GET"])
@require(UNIT)
@bp.response(200, CredentialSchema(many=True))
def my_credentials():
    with bootstrap().uow() as (s, _):
        return production.unit_credentials(s, caller_unit_id())


@bp.route("/units/me/credentials/<credential_no>/reissue-requests", methods=["POST"])
@require(UNIT)
@bp.arguments(ReissueRequestInSchema)
@bp.response(201, ReissueRequestSchema)
def request_reissue(data, credential_no):
    """A lost or damaged card (补证): operations reissue it and the old card is void."""
    with bootstrap().uow() as (s, emit):
        return reissue_requests.request_reissue(s, emit, caller_unit_id(), credential_no, data["reason"],
                                                data["remarks"])


@bp.route("/units/me/reissue-requests", methods=["GET"])
@require(UNIT)
@bp.response(200, ReissueRequestSchema(many=True))
def my_reissue_requests():
    with bootstrap().uow() as (s, _):
        return reissue_requests.requests(s, unit_id=caller_unit_id())


@bp.route("/operations/reissue-requests", methods=["GET"])
@require(*OPERATIONS)
@bp.arguments(ReissueRequestQuerySchema, location="query")
@bp.response(200, ReissueRequestSchema(many=True))
def reissue_request_list(query):
    with bootstrap().uow() as (s, _):
        return reissue_requests.requests(s, status=query["status"])


@bp.route("/operations/reissue-requests/<request_id>/reissue", methods=["POST"])
@require(*OPERATIONS)
@bp.response(200, ReissueRequestSchema)
def reissue_requested_card(request_id):
    """Reissue the card a unit asked for: the next issue is printed, the old card is void."""
    deps = bootstrap()
    with deps.uow() as (s, emit):
        return reissue_requests.reissue(s, emit, request_id, principal().subject, deps.qr_secret, deps.fair_name)


@bp.route("/operations/reissue-requests/<request_id>/reject", methods=["POST"])
@require(*OPERATIONS)
@bp.arguments(ReissueDecisionSchema)
@bp.response(200, ReissueRequestSchema)
def reject_reissue_request(data, request_id):
    with bootstrap().uow() as (s, _):
        return reissue_requests.reject(s, request_id, principal().subject, data["note"])


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


@bp.route("/gate/scans", methods=["POST"])
@require(GATE_STAFF)
@bp.arguments(GateScanInSchema)
@bp.response(201, GateAnswerSchema, headers={"Cache-Control": {"description": "no-store: the answer holds a photo",
                                                                "schema": {"type": "string"}}})
def gate_scan(data):
    """One scan at a gate: the verdict, and for a genuine card the holder's name and photo to
    compare. Recorded whatever the verdict; "today" is the fair's day (Asia/Shanghai)."""
    deps = bootstrap()
    scan = gate.Scan(payload=data["payload"], gate=data["gate"], direction=data["direction"],
                     staff_id=principal().subject[:64])
    with deps.uow() as (s, _):
        answer = gate.scan_at_gate(s, scan, deps.qr_secret, deps.fair_timezone, deps.clock,
                                   deps.settings.edition)
    return answer, 201, {"Cache-Control": "no-store"}


@bp.route("/gate/scans", methods=["GET"])
@require(*OPERATIONS)
@bp.arguments(GateScanQuerySchema, location="query")
@bp.response(200, GateScanPageSchema)
def gate_scan_log(filters):
    """Every scan, newest first: who, where, when, which way, the verdict (no names or photos)."""
    with bootstrap().uow() as (s, _):
        return gate.scan_log(s, filters)


@bp.route("/operations/credentials/<credential_no>/reissue", methods=["POST"])
@require(*OPERATIONS)
@bp.arguments(ReissueSchema)
@bp.response(200, CredentialSchema)
def reissue(data, credential_no):
    """A lost or damaged card: the next issue is printed (card.pdf) and the old card is void."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return revocation.reissue(s, credential_no, data["reason"], deps.qr_secret, deps.fair_name)


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


@bp.route("/operations/pickup", methods=["GET"])
@require(*OPERATIONS)
@bp.arguments(PickupQuerySchema, location="query")
@bp.response(200, DeskCardSchema(many=True))
def pickup_search(args):
    """The pick-up desk's search: a badge number, or part of the holder's name or unit name."""
    with bootstrap().uow() as (s, _):
        return pickup.search(s, args["q"])


@bp.route("/operations/pickup/<credential_no>", methods=["GET"])
@require(*OPERATIONS)
@bp.response(200, DeskCardDetailSchema, headers={"Cache-Control": {"description": "no-store: holds a photo",
                                                                   "schema": {"type": "string"}}})
def pickup_card(credential_no):
    """One card with its holder's photo, and the unit's other cards waiting at the desk."""
    with bootstrap().uow() as (s, _):
        card = pickup.card_at_desk(s, credential_no)
    return card, 200, {"Cache-Control": "no-store"}


@bp.route("/operations/pickup/<credential_no>/hand-over", methods=["POST"])
@require(*OPERATIONS)
@bp.arguments(DeskHandOverSchema)
@bp.response(200, DeskCardSchema)
def pickup_hand_over(data, credential_no):
    """Hand a waiting card to its holder, or to a colleague of the same unit with a valid
    badge of their own (代领); recorded with the staff member."""
    with bootstrap().uow() as (s, _):
        return pickup.hand_over_at_desk(s, credential_no, data["collector"], data["proxy_credential_no"],
                                        principal().subject)


@bp.route("/operations/dispatch", methods=["GET"])
@require(*OPERATIONS)
@bp.arguments(DispatchQuerySchema, location="query")
@bp.response(200, DispatchRowSchema(many=True))
def dispatch_list(args):
    """Produced cards on their way: courier with tracking, or waiting at the desk (newest 500)."""
    with bootstrap().uow() as (s, _):
        return production.distribution(s, args["status"], args["q"])
