"""Review HTTP API: delegations and admins, the review queue and decisions, personnel
confirmation and labels, quotas, centralised payment, invitation codes, settings,
statistics and the audit log. Every admin action is scoped to the admin's delegation."""
from __future__ import annotations

from flask import Response, g, request
from flask_smorest import Blueprint
from sqlalchemy import func, select

from shared.auth import issue_token, require
from shared.db import utcnow
from shared.errors import ApiError, Forbidden, NotFound
from shared.http import current_runtime
from shared.validators import is_valid_uscc

from . import domain
from .models import Delegation, InvitationCode, ReviewPerson, UnitReview
from .schemas import (
    AdminInSchema, AdminLoginSchema, AdminSchema, AuditPageSchema, AuditQuerySchema, CentralisedPaymentSchema,
    CommentSchema, DelegationInSchema, DelegationSchema, DelegationUpdateSchema, DeleteSchema,
    InvitationCodeQuerySchema, InvitationCodeSchema, InvitationCodesInSchema, LabelSchema, PayerDecisionSchema,
    PeoplePageSchema, PeopleQuerySchema, PersonIdsSchema, QueuePageSchema, QueueQuerySchema, QuotaImportResultSchema,
    QuotaInSchema, QuotaSchema, ReassignSchema, RegistryRecordSchema, RejectSchema, ReviewPersonSchema,
    SettingsSchema, StatisticsQuerySchema, StatisticsRowSchema, TokenSchema, UnitEditSchema, UnitReviewSchema,
    UpgradeSchema,
)

bp = Blueprint("review", __name__, description="Delegation review")
REVIEWERS = domain.REVIEWER_ROLES
SECRETARIAT = domain.SECRETARIAT_ROLES
COMMITTEE = ("organising_committee",)


def actor() -> domain.Actor:
    return domain.Actor(g.principal.subject, g.principal.role, g.principal.delegation_id)


def edition() -> str:
    return current_runtime().settings.edition


# --- organisations and admins ---------------------------------------------------------
@bp.route("/delegations", methods=["GET"])
@bp.response(200, DelegationSchema(many=True))
def delegations():
    """The (sub-)delegations, as a flat list with parent ids (a tree)."""
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(Delegation).where(Delegation.active.is_(True)).order_by(Delegation.id)))


@bp.route("/delegations", methods=["POST"])
@require(*SECRETARIAT)
@bp.arguments(DelegationInSchema)
@bp.response(201, DelegationSchema)
def create_delegation(data):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        if s.get(Delegation, data["id"]) is not None:
            raise domain.Conflict("delegation_exists", "this id is taken", "id")
        parent = data["parent_id"]
        if parent is None and g.principal.role != "organising_committee":
            raise Forbidden("only the organising committee creates delegations")
        if parent is not None and (s.get(Delegation, parent) is None or
                                   not domain.in_scope(s, parent, g.principal.delegation_id)):
            raise ApiError("unknown_delegation", "no such parent delegation in your scope", "parent_id")
        if data["industry"] and not data["recommendation_code"]:
            raise ApiError("recommendation_code_required", "an industry delegation is joined by its code",
                           "recommendation_code")
        delegation = Delegation(**data, centralised_payment=False, centralised_limit_fen=0, centralised_spent_fen=0,
                                active=True)
        s.add(delegation)
        s.flush()
        domain.announce_delegation(rt.outbox.emitter(s), delegation)
        domain.audit(s, actor(), "delegation.create", "delegation", delegation.id, delegation.id, None, data)
        return delegation


@bp.route("/delegations/<delegation_id>", methods=["PATCH"])
@require(*SECRETARIAT)
@bp.arguments(DelegationUpdateSchema)
@bp.response(200, DelegationSchema)
def update_delegation(changes, delegation_id):
    """Name, purchaser target, one or two review levels, active."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        delegation = s.get(Delegation, delegation_id, with_for_update=True)
        if delegation is None or not domain.in_scope(s, delegation_id, g.principal.delegation_id):
            raise NotFound("delegation", "delegation_id")
        before = {k: getattr(delegation, k) for k in changes}
        for key, value in changes.items():
            setattr(delegation, key, value)
        domain.announce_delegation(rt.outbox.emitter(s), delegation)
        domain.audit(s, actor(), "delegation.update", "delegation", delegation_id, delegation_id, before, changes)
        return delegation


@bp.route("/delegations/<delegation_id>/centralised-payment", methods=["PUT"])
@require(*SECRETARIAT)
@bp.arguments(CentralisedPaymentSchema)
@bp.response(200, DelegationSchema)
def centralised_payment(data, delegation_id):
    """统付: on/off with an amount limit (fen) that confirmations never exceed."""
    with current_runtime().db.transaction() as s:
        return domain.set_centralised_payment(s, actor(), delegation_id, data["enabled"], data["limit_fen"])


@bp.route("/admin/login", methods=["POST"])
@bp.arguments(AdminLoginSchema)
@bp.response(200, TokenSchema)
def admin_login(data):
    with current_runtime().db.transaction() as s:
        admin = domain.authenticate_admin(s, data["username"], data["password"])
    token = issue_token(admin.id, admin.role, "review", delegation_id=admin.delegation_id)
    return {"token": token, "role": admin.role, "delegation_id": admin.delegation_id}


@bp.route("/admins", methods=["POST"])
@require(*SECRETARIAT)
@bp.arguments(AdminInSchema)
@bp.response(201, AdminSchema)
def create_admin(data):
    with current_runtime().db.transaction() as s:
        return domain.create_admin(s, actor(), data)


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


# --- the review queue and decisions -----------------------------------------------------
@bp.route("/queue", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(QueueQuerySchema, location="query")
@bp.response(200, QueuePageSchema)
def queue(args):
    """Units in the admin's part of the tree; filters: status, delegation_id, category,
    q (name contains or exact USCC)."""
    with current_runtime().db.transaction() as s:
        return domain.queue_page(s, actor(), args)


@bp.route("/units/<unit_id>", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, UnitReviewSchema)
def get_unit(unit_id):
    with current_runtime().db.transaction() as s:
        return domain.get_review_in_scope(s, unit_id, actor())


def _decide(unit_id, action):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        review = domain.get_review_in_scope(s, unit_id, actor())
        action(s, rt.outbox.emitter(s), review)
        return review


@bp.route("/units/<unit_id>/approve", methods=["POST"])
@require(*REVIEWERS)
@bp.response(200, UnitReviewSchema)
def approve(unit_id):
    """Approve; under two-level review a sub-delegation's approval waits for the secretariat."""
    return _decide(unit_id, lambda s, emit, r: domain.approve(s, emit, r, actor()))


@bp.route("/units/<unit_id>/return", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(CommentSchema)
@bp.response(200, UnitReviewSchema)
def return_unit(data, unit_id):
    """退回修改 with a comment the unit sees."""
    return _decide(unit_id, lambda s, emit, r: domain.return_for_modification(s, emit, r, data["comment"], actor()))


@bp.route("/units/<unit_id>/reject", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(RejectSchema)
@bp.response(200, UnitReviewSchema)
def reject(data, unit_id):
    """审核不通过: the unit loses eligibility; needs `confirm: true`."""
    return _decide(unit_id, lambda s, emit, r: domain.reject(s, emit, r, data["reason"], actor()))


@bp.route("/units/<unit_id>/reassign", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(ReassignSchema)
@bp.response(200, UnitReviewSchema)
def reassign(data, unit_id):
    return _decide(unit_id, lambda s, emit, r: domain.reassign(s, emit, r, data["delegation_id"], actor()))


@bp.route("/units/<unit_id>", methods=["PATCH"])
@require(*REVIEWERS)
@bp.arguments(UnitEditSchema)
@bp.response(200, UnitReviewSchema)
def edit_unit(data, unit_id):
    """Correct the name or category of a directly attached unit (audited)."""
    return _decide(unit_id, lambda s, emit, r: domain.edit_unit(s, emit, r, data, actor()))


@bp.route("/units/<unit_id>/delete", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(DeleteSchema)
@bp.response(200, UnitReviewSchema)
def delete_unit(data, unit_id):
    """Deletes the unit and its personnel everywhere. Cannot be undone; audited."""
    return _decide(unit_id, lambda s, emit, r: domain.delete_unit(s, emit, r, actor()))


# --- personnel ------------------------------------------------------------------------
@bp.route("/personnel", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(PeopleQuerySchema, location="query")
@bp.response(200, PeoplePageSchema)
def personnel(args):
    with current_runtime().db.transaction() as s:
        query = select(ReviewPerson).join(UnitReview, UnitReview.unit_id == ReviewPerson.unit_id)
        if g.principal.delegation_id is not None:
            query = query.where(UnitReview.delegation_id.in_(domain.subtree(s, g.principal.delegation_id)))
        if args["status"] != "all":
            query = query.where(ReviewPerson.status == args["status"])
        if args["unit_id"]:
            query = query.where(ReviewPerson.unit_id == args["unit_id"])
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        items = list(s.scalars(query.order_by(ReviewPerson.person_id).offset((args["page"] - 1) * args["per_page"])
                               .limit(args["per_page"])))
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def _people_action(action):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        return action(s, rt.outbox.emitter(s))


@bp.route("/personnel/confirm", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(PayerDecisionSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def confirm_payer(data):
    """确认代付 (delegation_pays: true) or 取消代付 (false), one or a batch; final."""
    return _people_action(lambda s, emit: domain.confirm_payer(s, emit, data["person_ids"], data["delegation_pays"],
                                                               actor()))


@bp.route("/personnel/label", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(LabelSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def label(data):
    """Label people VIP or staff (free, within quota) or professional visitor."""
    return _people_action(lambda s, emit: domain.grant_label(s, emit, data["person_ids"], data["label"], actor()))


@bp.route("/personnel/<person_id>/upgrade", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(UpgradeSchema)
@bp.response(200, ReviewPersonSchema)
def upgrade(data, person_id):
    return _people_action(lambda s, emit: domain.upgrade(s, emit, person_id, data["label"], actor()))


@bp.route("/personnel/lock", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(PersonIdsSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def lock_reuse(data):
    """锁定提交 of credential reuse requests."""
    return _people_action(lambda s, emit: domain.lock_reuse(s, emit, data["person_ids"], actor()))


# --- quotas ---------------------------------------------------------------------------
@bp.route("/quotas/<uscc>", methods=["PUT"])
@require(*SECRETARIAT)
@bp.arguments(QuotaInSchema)
@bp.response(200, QuotaSchema)
def put_quota(data, uscc):
    """VIP and staff quota of a unit, by USCC (the unit need not have registered yet)."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        return domain.set_quota(s, rt.outbox.emitter(s), actor(), edition(), uscc.strip().upper(),
                                data["vip"], data["staff"])


@bp.route("/quotas/<uscc>", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, QuotaSchema)
def get_quota(uscc):
    with current_runtime().db.transaction() as s:
        quota = domain.quota_for(s, edition(), uscc.strip().upper(), lock=False)
        if quota is None:
            raise NotFound("quota", "uscc")
        return quota


@bp.route("/quotas/import", methods=["POST"])
@require(*SECRETARIAT)
@bp.response(200, QuotaImportResultSchema)
def import_quotas():
    """Multipart field `file`: the template (CSV or XLSX) with columns uscc, vip, staff.
    All rows or none."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError("file_required", "send the template as multipart field 'file'", "file")
    rows = domain.parse_quota_file(upload.filename or "", upload.stream.read(5 * 1024 * 1024))
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        for row in rows:
            domain.set_quota(s, rt.outbox.emitter(s), actor(), edition(), row["uscc"], row["vip"], row["staff"])
    return {"imported": len(rows)}


# --- CIFTIS invitation codes ------------------------------------------------------------
@bp.route("/delegations/<delegation_id>/invitation-codes", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(InvitationCodesInSchema)
@bp.response(201, InvitationCodeSchema(many=True))
def issue_codes(data, delegation_id):
    """A host organisation issues single-use invitation codes."""
    with current_runtime().db.transaction() as s:
        return domain.issue_invitation_codes(s, actor(), delegation_id, data["count"])


@bp.route("/delegations/<delegation_id>/invitation-codes", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(InvitationCodeQuerySchema, location="query")
@bp.response(200, InvitationCodeSchema(many=True))
def list_codes(args, delegation_id):
    """Unused and used codes, with the enterprise that used each."""
    with current_runtime().db.transaction() as s:
        if not domain.in_scope(s, delegation_id, g.principal.delegation_id):
            raise NotFound("host organisation", "delegation_id")
        query = select(InvitationCode).where(InvitationCode.delegation_id == delegation_id)
        if args["used"] is not None:
            query = query.where(InvitationCode.used_by_unit_id.is_not(None) if args["used"]
                                else InvitationCode.used_by_unit_id.is_(None))
        return list(s.scalars(query.order_by(InvitationCode.created_at, InvitationCode.code)))


# --- settings, statistics, audit -----------------------------------------------------------
@bp.route("/settings", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, SettingsSchema)
def get_settings():
    with current_runtime().db.transaction() as s:
        return domain.settings_for(s, edition())


@bp.route("/settings", methods=["PUT"])
@require(*COMMITTEE)
@bp.arguments(SettingsSchema(partial=True))
@bp.response(200, SettingsSchema)
def put_settings(changes):
    """Edition deadlines (UTC) for review, labelling and locking, and the fee."""
    with current_runtime().db.transaction() as s:
        settings = domain.settings_for(s, edition())
        before = {k: str(getattr(settings, k)) for k in changes}
        for key, value in changes.items():
            setattr(settings, key, value.replace(tzinfo=None) if hasattr(value, "tzinfo") and value.tzinfo else value)
        domain.audit(s, actor(), "settings.update", "edition", edition(), None, before,
                     {k: str(v) for k, v in changes.items()})
        return settings


@bp.route("/statistics", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
@bp.response(200, StatisticsRowSchema(many=True))
def statistics(args):
    """Per (sub-)delegation: target, units and people by status."""
    with current_runtime().db.transaction() as s:
        return domain.statistics(s, actor(), args["delegation_id"])


@bp.route("/reports/weekly.csv", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
def weekly_report(args):
    """The weekly progress report of the admin's part of the tree, as CSV."""
    with current_runtime().db.transaction() as s:
        rows = domain.statistics(s, actor(), args["delegation_id"])
    return Response(domain.weekly_report_csv(rows, utcnow()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=weekly-report.csv"})


@bp.route("/audit", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, AuditPageSchema)
def audit_log(args):
    """Admin actions within the admin's part of the tree."""
    with current_runtime().db.transaction() as s:
        return domain.audit_page(s, actor(), args)
