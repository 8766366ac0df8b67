"""Review HTTP API: delegations and admins, the review queue and decisions, personnel
confirmation and labels, quotas, centralised payment, invitation codes, settings,
statistics and the audit log. Every admin action is scoped to the admin's delegation."""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import ADMIN_ROLES, issue_token
from shared.db import utcnow
from shared.errors import DomainError, NotFound
from shared.masking import mask_email, mask_phone
from shared.http import client_ip, current_principal, principal, require
from shared.throttle import guarded_login
from shared.outbox import Emit

from .bootstrap import bootstrap
from .domain import decisions, exports, host_organisations, invitation_codes, organisations, unit_files
from .domain import personnel as personnel_rules
from .domain import statistics as statistics_rules
from .domain.organisations import HOST_ADMIN, REVIEWER_ROLES, SECRETARIAT_ROLES, Actor
from .models import Admin, Delegation, LoginFailure, UnitReview
from .schemas import (
    AdminContactSchema, AdminProfileSchema, BatchDecisionSchema, BatchOutcomeSchema, FoundPersonSchema,
    DailyQuerySchema, DailyRowSchema, PersonSearchQuerySchema, PublicEditionSchema, QuotaLinesResultSchema, QuotaPageSchema, QuotaQuerySchema,
    UnitFileSchema,
    AdminActiveSchema, AdminInSchema, AdminLoginSchema, AdminSchema, AuditPageSchema, AuditQuerySchema, CentralisedPaymentSchema,
    CommentSchema, DelegationInSchema, HostInfoSchema, HostOrganisationPageSchema, HostOrganisationQuerySchema,
    HostOrganisationSchema, DelegationSchema, DelegationUpdateSchema, DeleteSchema,
    InvitationCodeQuerySchema, InvitationCodeSchema, InvitationCodesInSchema, LabelSchema, PayerDecisionSchema,
    PeoplePageSchema, PeopleQuerySchema, PersonIdsSchema, PersonRejectSchema, QueuePageSchema, QueueQuerySchema, QuotaImportResultSchema,
    QuotaInSchema, QuotaSchema, ReassignSchema, RegistryRecordSchema, RejectSchema, ReviewPersonSchema,
    SettingsSchema, StatisticsQuerySchema, StatisticsRowSchema, TokenSchema, UnitEditSchema, UnitReviewSchema,
    PasswordChangeSchema, UpgradeSchema,
)

bp = Blueprint("review", __name__, description="Delegation review")
# The sandboxes' own routes (what a phone or an outside party would do): registered only with
# ACCR_SANDBOX=1, never in production.
sandbox_bp = Blueprint("review-sandbox", __name__, description="Sandbox providers (ACCR_SANDBOX=1 only)")
REVIEWERS = REVIEWER_ROLES
SECRETARIAT = SECRETARIAT_ROLES
COMMITTEE = ("organising_committee",)


def actor() -> Actor:
    caller = principal()
    return Actor(caller.subject, caller.role, caller.delegation_id)


def caller_is_admin() -> bool:
    """An optional admin token (the route itself is public)."""
    try:
        return current_principal().is_admin
    except DomainError:
        return False


# --- organisations and admins ---------------------------------------------------------
@bp.route("/delegations", methods=["GET"])
@bp.response(200, DelegationSchema(many=True))
def delegations():
    """The (sub-)delegations, as a flat list with parent ids (a tree). Recommendation codes,
    targets and centralised-payment budgets are shown to admins only."""
    with bootstrap().uow() as (s, _):
        rows = organisations.active_delegations(s)
        if caller_is_admin():
            return rows
        return [{"id": d.id, "name": d.name, "parent_id": d.parent_id, "industry": bool(d.industry)} for d in rows]


@bp.route("/delegations", methods=["POST"])
@require(*SECRETARIAT)
@bp.arguments(DelegationInSchema)
@bp.response(201, DelegationSchema)
def create_delegation(data):
    with bootstrap().uow() as (s, emit):
        return organisations.create_delegation(s, emit, actor(), data)


@bp.route("/delegations/<delegation_id>", methods=["PATCH"])
@require(*SECRETARIAT)
@bp.arguments(DelegationUpdateSchema)
@bp.response(200, DelegationSchema)
def update_delegation(changes, delegation_id):
    """Name, purchaser target, one or two review levels, active."""
    with bootstrap().uow() as (s, emit):
        return organisations.update_delegation(s, emit, actor(), delegation_id, changes)


@bp.route("/delegations/<delegation_id>/centralised-payment", methods=["PUT"])
@require(*SECRETARIAT)
@bp.arguments(CentralisedPaymentSchema)
@bp.response(200, DelegationSchema)
def centralised_payment(data, delegation_id):
    """统付: on/off with an amount limit (fen) that confirmations never exceed."""
    with bootstrap().uow() as (s, _):
        return personnel_rules.set_centralised_payment(s, actor(), delegation_id, data["enabled"], data["limit_fen"])


@bp.route("/admin/login", methods=["POST"])
@bp.arguments(AdminLoginSchema)
@bp.response(200, TokenSchema)
def admin_login(data):
    """Repeated failures are throttled (429 with Retry-After)."""
    deps = bootstrap()
    admin = guarded_login(deps.uow, LoginFailure, f"admin:{data['username']}", client_ip(),
                          lambda s: organisations.authenticate_admin(s, data["username"], data["password"]))
    return _admin_token(admin)


def _admin_token(admin: Admin) -> dict:
    token = issue_token(admin.id, admin.role, "review", delegation_id=admin.delegation_id,
                        version=admin.token_version or 0)
    return {"token": token, "role": admin.role, "delegation_id": admin.delegation_id}


@bp.route("/admin/password", methods=["POST"])
@require()
@bp.arguments(PasswordChangeSchema)
@bp.response(200, TokenSchema)
def change_password(data):
    """An admin's own new password; other sessions end, this one goes on with a new token."""
    with bootstrap().uow() as (s, emit):
        admin = organisations.change_own_password(s, emit, actor(), data["current_password"], data["new_password"])
    return _admin_token(admin)


@bp.route("/admin/me", methods=["GET"])
@require(*ADMIN_ROLES)
@bp.response(200, AdminProfileSchema)
def admin_me():
    """The signed-in admin's own account (phone and email masked) and delegation name."""
    with bootstrap().uow() as (s, _):
        return _profile(s, organisations.own_admin(s, actor()))


@bp.route("/admin/me", methods=["PATCH"])
@require(*ADMIN_ROLES)
@bp.arguments(AdminContactSchema)
@bp.response(200, AdminProfileSchema)
def admin_contact(data):
    """An admin's own phone and email, with the current password (an empty value clears)."""
    current = data.pop("current_password")
    with bootstrap().uow() as (s, _):
        return _profile(s, organisations.change_own_contact(s, actor(), current, data))


def _profile(s: Session, admin: Admin) -> dict:
    delegation = s.get(Delegation, admin.delegation_id) if admin.delegation_id else None
    return {"id": admin.id, "username": admin.username, "role": admin.role, "delegation_id": admin.delegation_id,
            "delegation_name": delegation.name if delegation else None, "phone": mask_phone(admin.phone),
            "email": mask_email(admin.email)}


@bp.route("/admins/<admin_id>", methods=["PATCH"])
@require(*SECRETARIAT)
@bp.arguments(AdminActiveSchema)
@bp.response(200, AdminSchema)
def set_admin_active(data, admin_id):
    """Deactivate (or reactivate) an admin; a deactivated admin's sessions end at once."""
    with bootstrap().uow() as (s, emit):
        return organisations.set_admin_active(s, emit, actor(), admin_id, data["active"])


@bp.route("/admins", methods=["POST"])
@require(*SECRETARIAT)
@bp.arguments(AdminInSchema)
@bp.response(201, AdminSchema)
def create_admin(data):
    with bootstrap().uow() as (s, _):
        return organisations.create_admin(s, actor(), data)


@sandbox_bp.route("/sandbox/registry/<uscc>", methods=["PUT"])
@sandbox_bp.arguments(RegistryRecordSchema)
@sandbox_bp.response(200, RegistryRecordSchema)
def put_registry_record(data, uscc):
    """Sandbox business registry: set the record that automatic review matches against."""
    with bootstrap().uow() as (s, _):
        return decisions.set_registry_record(s, uscc.strip().upper(), data["name"])


# --- the review queue and decisions -----------------------------------------------------
@bp.route("/queue", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(QueueQuerySchema, location="query")
@bp.response(200, QueuePageSchema)
def queue(args):
    """Units in the admin's part of the tree; filters: status, delegation_id, category,
    q (name contains or exact USCC)."""
    with bootstrap().uow() as (s, _):
        return decisions.queue_page(s, actor(), args)


@bp.route("/units/<unit_id>", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, UnitReviewSchema)
def get_unit(unit_id):
    with bootstrap().uow() as (s, _):
        return decisions.get_review_in_scope(s, unit_id, actor())


@bp.route("/units/<unit_id>/file", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, UnitFileSchema)
def unit_file(unit_id):
    """The unit's full file for the back office: review's state and history with
    registration's information, document, addresses and personnel (masked). Review checks
    the admin's scope first; registration is asked after review's transaction has closed."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        scope = unit_files.file_scope(s, unit_id, actor())
    return unit_files.full_file(scope, deps.registration)


@bp.route("/units/<unit_id>/document", methods=["GET"])
@require(*REVIEWERS)
def unit_document(unit_id):
    """The qualification document's image, for a unit in the admin's scope."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        unit_files.review_in_scope(s, unit_id, actor())
    image = deps.registration.unit_document_image(unit_id)
    if not image:
        raise NotFound("document", "unit_id")
    return _private_image(base64.b64decode(image["content_b64"]), image["content_type"])


@bp.route("/units/<unit_id>/personnel/<person_id>/photo", methods=["GET"])
@require(*REVIEWERS)
def unit_person_photo(unit_id, person_id):
    """A person's photo, for a unit in the admin's scope (registration checks the person is
    the unit's)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        unit_files.review_in_scope(s, unit_id, actor())
    photo = deps.registration.unit_person_photo(unit_id, person_id)
    if not photo:
        raise NotFound("photo", "person_id")
    return _private_image(base64.b64decode(photo), "image/jpeg")


def _private_image(content: bytes, content_type: str) -> Response:
    allowed = content_type if content_type in ("image/jpeg", "image/png", "application/pdf") else \
        "application/octet-stream"
    return Response(content, mimetype=allowed, headers={"Cache-Control": "private, no-store",
                                                        "X-Content-Type-Options": "nosniff"})


@bp.route("/units/batch", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(BatchDecisionSchema)
@bp.response(200, BatchOutcomeSchema(many=True))
def decide_batch(data):
    """批量审核: approve, return or reject several units, each on its own; the answer says
    per unit whether it went through and, if not, why."""
    return decisions.decide_batch(bootstrap().uow, actor(), data["action"], data["unit_ids"], data["comment"])


def _decide(unit_id: str, action: Callable[[Session, Emit, UnitReview], object]) -> UnitReview:
    with bootstrap().uow() as (s, emit):
        review = decisions.get_review_in_scope(s, unit_id, actor())
        action(s, emit, review)
        return review


@bp.route("/units/<unit_id>/approve", methods=["POST"])
@require(*REVIEWERS)
@bp.response(200, UnitReviewSchema)
def approve(unit_id):
    """Approve; under two-level review a sub-delegation's approval waits for the secretariat."""
    return _decide(unit_id, lambda s, emit, r: decisions.approve(s, emit, r, actor()))


@bp.route("/units/<unit_id>/return", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(CommentSchema)
@bp.response(200, UnitReviewSchema)
def return_unit(data, unit_id):
    """退回修改 with a comment the unit sees."""
    return _decide(unit_id, lambda s, emit, r: decisions.return_for_modification(s, emit, r, data["comment"],
                                                                                 actor()))


@bp.route("/units/<unit_id>/reject", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(RejectSchema)
@bp.response(200, UnitReviewSchema)
def reject(data, unit_id):
    """审核不通过: the unit loses eligibility; needs `confirm: true`."""
    return _decide(unit_id, lambda s, emit, r: decisions.reject(s, emit, r, data["reason"], actor()))


@bp.route("/units/<unit_id>/reassign", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(ReassignSchema)
@bp.response(200, UnitReviewSchema)
def reassign(data, unit_id):
    return _decide(unit_id, lambda s, emit, r: decisions.reassign(s, emit, r, data["delegation_id"], actor()))


@bp.route("/units/<unit_id>", methods=["PATCH"])
@require(*REVIEWERS)
@bp.arguments(UnitEditSchema)
@bp.response(200, UnitReviewSchema)
def edit_unit(data, unit_id):
    """Correct the name or category of a directly attached unit (audited)."""
    return _decide(unit_id, lambda s, emit, r: decisions.edit_unit(s, emit, r, data, actor()))


@bp.route("/units/<unit_id>/delete", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(DeleteSchema)
@bp.response(200, UnitReviewSchema)
def delete_unit(data, unit_id):
    """Deletes the unit and its personnel everywhere. Cannot be undone; audited."""
    return _decide(unit_id, lambda s, emit, r: decisions.delete_unit(s, emit, r, actor()))


# --- personnel ------------------------------------------------------------------------
@bp.route("/personnel", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(PeopleQuerySchema, location="query")
@bp.response(200, PeoplePageSchema)
def personnel(args):
    """People of the admin's part of the tree; with details=true each with their name, masked
    ID number, unit name and whether a photo exists (asked of registration after the page
    is read)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        page = personnel_rules.personnel_page(s, actor(), args)
        page["items"] = [ReviewPersonSchema().dump(p) for p in page["items"]]
        delegation_of = dict(s.execute(select(UnitReview.unit_id, UnitReview.delegation_id).where(
            UnitReview.unit_id.in_({p["unit_id"] for p in page["items"]}))).all())
    if args["details"] and page["items"]:
        details = {d["person_id"]: d for d in deps.registration.people_details([p["person_id"] for p in page["items"]])}
        for item in page["items"]:
            found = details.get(item["person_id"], {})
            item.update(name=found.get("name"), id_number=found.get("id_number"), unit_name=found.get("unit_name"),
                        has_photo=found.get("has_photo"), delegation_id=delegation_of.get(item["unit_id"]))
    return page


@bp.route("/personnel/search", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(PersonSearchQuerySchema, location="query")
@bp.response(200, FoundPersonSchema(many=True))
def search_people(args):
    """Anyone in the admin's part of the tree by name, whole ID number or masked ID number
    (as lists show it, or its last four characters); at most 50."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        unit_ids = unit_files.scoped_unit_ids(s, actor(), args["delegation_id"])
    rows = deps.registration.find_people(unit_ids, args["q"]) if unit_ids else []
    with deps.uow() as (s, _):
        return unit_files.people_in_view(s, actor(), rows)


@bp.route("/personnel/confirm", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(PayerDecisionSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def confirm_payer(data):
    """确认代付 (delegation_pays: true) or 取消代付 (false), one or a batch; final."""
    with bootstrap().uow() as (s, emit):
        return personnel_rules.confirm_payer(s, emit, data["person_ids"], data["delegation_pays"], actor())


@bp.route("/personnel/approve", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(PersonIdsSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def approve_personnel(data):
    """Where the fair reviews people (CIFTIS): the host organisation's approval
    (first_approved), then the organising committee's (confirmed, free)."""
    with bootstrap().uow() as (s, emit):
        return personnel_rules.approve_personnel(s, emit, data["person_ids"], actor())


@bp.route("/personnel/reject", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(PersonRejectSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def reject_personnel(data):
    """Where the fair reviews people: 审核不通过, with the reason the unit reads."""
    with bootstrap().uow() as (s, emit):
        return personnel_rules.reject_personnel(s, emit, data["person_ids"], data["reason"], actor())


@bp.route("/personnel/label", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(LabelSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def label(data):
    """Label people VIP or staff (free, within quota) or professional visitor."""
    with bootstrap().uow() as (s, emit):
        return personnel_rules.grant_label(s, emit, data["person_ids"], data["label"], actor())


@bp.route("/personnel/<person_id>/upgrade", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(UpgradeSchema)
@bp.response(200, ReviewPersonSchema)
def upgrade(data, person_id):
    with bootstrap().uow() as (s, emit):
        return personnel_rules.upgrade(s, emit, person_id, data["label"], actor())


@bp.route("/personnel/lock", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(PersonIdsSchema)
@bp.response(200, ReviewPersonSchema(many=True))
def lock_reuse(data):
    """锁定提交 of credential reuse requests."""
    with bootstrap().uow() as (s, emit):
        return personnel_rules.lock_reuse(s, emit, data["person_ids"], actor())


# --- quotas ---------------------------------------------------------------------------
@bp.route("/quotas/<uscc>", methods=["PUT"])
@require(*SECRETARIAT)
@bp.arguments(QuotaInSchema)
@bp.response(200, QuotaSchema)
def put_quota(data, uscc):
    """VIP and staff quota of a unit, by USCC (the unit need not have registered yet)."""
    deps = bootstrap()
    with deps.uow() as (s, emit):
        return personnel_rules.set_quota(s, emit, actor(), deps.settings.edition, uscc.strip().upper(),
                                   data["vip"], data["staff"])


@bp.route("/quotas/<uscc>", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, QuotaSchema)
def get_quota(uscc):
    deps = bootstrap()
    with deps.uow() as (s, _):
        return personnel_rules.get_quota(s, deps.settings.edition, uscc.strip().upper(), actor())


@bp.route("/quotas/import", methods=["POST"])
@require(*SECRETARIAT)
@bp.response(200, QuotaImportResultSchema)
def import_quotas():
    """Multipart field `file`: the template (CSV or XLSX) with columns uscc, vip, staff.
    All rows or none."""
    upload = request.files.get("file")
    content = upload.stream.read(personnel_rules.QUOTA_FILE_LIMIT) if upload is not None else None
    deps = bootstrap()
    with deps.uow() as (s, emit):
        imported = personnel_rules.import_quotas(s, emit, actor(), deps.settings.edition,
                                           upload.filename if upload is not None else None, content)
    return {"imported": imported}


@bp.route("/quotas", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(QuotaQuerySchema, location="query")
@bp.response(200, QuotaPageSchema)
def list_quotas(args):
    """The quotas of the admin's part of the tree (a unit's where review has it, one set
    before the unit registered where the delegation that set it is)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return personnel_rules.list_quotas(s, actor(), deps.settings.edition, args)


@bp.route("/quotas/template.xlsx", methods=["GET"])
@require(*SECRETARIAT)
def quota_template():
    """The XLSX template for the quota import (columns uscc, vip, staff, and how to fill them)."""
    return _xlsx(personnel_rules.quota_template(), "quota-template.xlsx")


@bp.route("/quotas/import/lines", methods=["POST"])
@require(*SECRETARIAT)
@bp.response(200, QuotaLinesResultSchema)
def import_quota_lines():
    """Multipart field `file` (XLSX or CSV template): every line checked and reported; all
    lines imported, or — if any is refused — none (`imported` 0, each line says why)."""
    upload = request.files.get("file")
    content = upload.stream.read(personnel_rules.QUOTA_FILE_LIMIT) if upload is not None else None
    deps = bootstrap()
    try:
        with deps.uow() as (s, emit):
            return personnel_rules.import_quota_lines(s, emit, actor(), deps.settings.edition,
                                                      upload.filename if upload is not None else None, content)
    except personnel_rules.QuotaImportRefused as refused:
        return {"imported": 0, "lines": refused.lines}


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(content, mimetype=exports.XLSX_MIME, headers={
        "Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "private, no-store"})


# --- CIFTIS invitation codes ------------------------------------------------------------
@bp.route("/delegations/<delegation_id>/invitation-codes", methods=["POST"])
@require(*REVIEWERS)
@bp.arguments(InvitationCodesInSchema)
@bp.response(201, InvitationCodeSchema(many=True))
def issue_codes(data, delegation_id):
    """A host organisation issues single-use invitation codes."""
    with bootstrap().uow() as (s, _):
        return invitation_codes.issue_invitation_codes(s, actor(), delegation_id, data["count"])


@bp.route("/delegations/<delegation_id>/invitation-codes", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(InvitationCodeQuerySchema, location="query")
@bp.response(200, InvitationCodeSchema(many=True))
def list_codes(args, delegation_id):
    """Unused and used codes, with the enterprise that used each."""
    with bootstrap().uow() as (s, _):
        return invitation_codes.list_invitation_codes(s, actor(), delegation_id, args["used"])


@bp.route("/delegations/<delegation_id>/invitation-codes.xlsx", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(InvitationCodeQuerySchema, location="query")
def export_codes(args, delegation_id):
    """The host organisation's codes as XLSX: code, used, the enterprise that used it, when."""
    with bootstrap().uow() as (s, _):
        codes = invitation_codes.list_invitation_codes(s, actor(), delegation_id, args["used"])
        rows = [(c.code, "yes" if c.used_by_unit_id else "no", c.used_by_name, c.used_by_uscc, c.used_at,
                 c.created_at) for c in codes]
    return _xlsx(exports.workbook("invitation codes", ("code", "used", "used_by", "used_by_uscc", "used_at_utc",
                                                       "created_at_utc"), rows),
                 f"invitation-codes-{delegation_id}.xlsx")


# --- host organisations (承办机构) ---------------------------------------------------------------
@bp.route("/host-organisation", methods=["GET"])
@require(HOST_ADMIN)
@bp.response(200, HostOrganisationSchema)
def own_host_organisation():
    """The host admin's own organisation: its information, status, the committee's comment
    and whether it may issue invitation codes yet."""
    with bootstrap().uow() as (s, _):
        return host_organisations.view(host_organisations.own_application(s, actor()))


@bp.route("/host-organisation", methods=["PUT"])
@require(HOST_ADMIN)
@bp.arguments(HostInfoSchema)
@bp.response(200, HostOrganisationSchema)
def put_host_organisation(data):
    """承办机构信息登记: editable before submission and after a return (409
    host_organisation_locked otherwise)."""
    with bootstrap().uow() as (s, _):
        return host_organisations.view(host_organisations.update_info(s, actor(), data))


@bp.route("/host-organisation/licence", methods=["PUT"])
@require(HOST_ADMIN)
@bp.response(200, HostOrganisationSchema)
def put_host_licence():
    """Multipart field `licence`: 营业执照扫描 (the fair's formats and size, JPG/PNG ≤ 300 KB)."""
    upload = request.files.get("licence")
    content = upload.stream.read(host_organisations.LICENCE_READ_LIMIT) if upload is not None else None
    with bootstrap().uow() as (s, _):
        return host_organisations.view(host_organisations.store_licence(s, actor(), content))


@bp.route("/host-organisation/licence", methods=["GET"])
@require(HOST_ADMIN)
def own_host_licence():
    with bootstrap().uow() as (s, _):
        application = host_organisations.own_application(s, actor())
        return _licence(application)


@bp.route("/host-organisation/submit", methods=["POST"])
@require(HOST_ADMIN)
@bp.response(200, HostOrganisationSchema)
def submit_host_organisation():
    """提交组委会审核: every field and the licence needed (host_info_incomplete names the
    first missing field; licence_required)."""
    with bootstrap().uow() as (s, _):
        return host_organisations.view(host_organisations.submit(s, actor()))


@bp.route("/host-organisations", methods=["GET"])
@require(*COMMITTEE)
@bp.arguments(HostOrganisationQuerySchema, location="query")
@bp.response(200, HostOrganisationPageSchema)
def host_organisation_list(args):
    """The host organisations, by status (pending: those waiting for the committee)."""
    with bootstrap().uow() as (s, _):
        return host_organisations.applications_page(s, actor(), args)


@bp.route("/host-organisations/<delegation_id>", methods=["GET"])
@require(*COMMITTEE)
@bp.response(200, HostOrganisationSchema)
def host_organisation(delegation_id):
    with bootstrap().uow() as (s, _):
        return host_organisations.view(host_organisations.application_for_committee(s, actor(), delegation_id))


@bp.route("/host-organisations/<delegation_id>/licence", methods=["GET"])
@require(*COMMITTEE)
def host_organisation_licence(delegation_id):
    with bootstrap().uow() as (s, _):
        return _licence(host_organisations.application_for_committee(s, actor(), delegation_id))


@bp.route("/host-organisations/<delegation_id>/approve", methods=["POST"])
@require(*COMMITTEE)
@bp.response(200, HostOrganisationSchema)
def approve_host_organisation(delegation_id):
    with bootstrap().uow() as (s, emit):
        return host_organisations.view(host_organisations.approve(s, emit, actor(), delegation_id))


@bp.route("/host-organisations/<delegation_id>/return", methods=["POST"])
@require(*COMMITTEE)
@bp.arguments(CommentSchema)
@bp.response(200, HostOrganisationSchema)
def return_host_organisation(data, delegation_id):
    """退回 with the comment the organisation reads."""
    with bootstrap().uow() as (s, _):
        return host_organisations.view(host_organisations.return_for_modification(s, actor(), delegation_id,
                                                                                  data["comment"]))


def _licence(application) -> Response:
    if application.licence is None:
        raise NotFound("licence", "licence")
    return _private_image(application.licence, application.licence_type or "application/octet-stream")


# --- settings, statistics, audit -----------------------------------------------------------
@bp.route("/edition", methods=["GET"])
@bp.response(200, PublicEditionSchema)
def public_edition():
    """Public: the fee a badge costs this edition (one source: review's setting)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return organisations.settings_for(s, deps.settings.edition)


@bp.route("/settings", methods=["GET"])
@require(*REVIEWERS)
@bp.response(200, SettingsSchema)
def get_settings():
    deps = bootstrap()
    with deps.uow() as (s, _):
        return organisations.settings_for(s, deps.settings.edition)


@bp.route("/settings", methods=["PUT"])
@require(*COMMITTEE)
@bp.arguments(SettingsSchema(partial=True))
@bp.response(200, SettingsSchema)
def put_settings(changes):
    """Edition deadlines (UTC) for review, labelling and locking, and the fee."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return organisations.update_settings(s, actor(), deps.settings.edition, changes)


@bp.route("/statistics", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
@bp.response(200, StatisticsRowSchema(many=True))
def statistics(args):
    """Per (sub-)delegation: target, units and people by status."""
    with bootstrap().uow() as (s, _):
        return statistics_rules.statistics(s, actor(), args["delegation_id"])


@bp.route("/reports/weekly.csv", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
def weekly_report(args):
    """The weekly progress report of the admin's part of the tree, as CSV."""
    with bootstrap().uow() as (s, _):
        rows = statistics_rules.statistics(s, actor(), args["delegation_id"])
    return Response(statistics_rules.weekly_report_csv(rows, utcnow()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=weekly-report.csv"})


@bp.route("/statistics/daily", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(DailyQuerySchema, location="query")
@bp.response(200, DailyRowSchema(many=True))
def daily_statistics(args):
    """Units registered per Beijing day (their first submission) in the admin's part of the
    tree; by default the last 30 days."""
    last = args["to"] or (utcnow() + statistics_rules.BEIJING).date()
    first = args["from_"] or last - dt.timedelta(days=29)
    with bootstrap().uow() as (s, _):
        return statistics_rules.daily_registrations(s, actor(), args["delegation_id"], first, last)


@bp.route("/reports/weekly.xlsx", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
def weekly_report_xlsx(args):
    """The weekly progress report as XLSX (the same columns as the CSV)."""
    with bootstrap().uow() as (s, _):
        rows = statistics_rules.statistics(s, actor(), args["delegation_id"])
    return _xlsx(exports.workbook("weekly report", statistics_rules.WEEKLY_HEADER, statistics_rules.weekly_rows(rows)),
                 "weekly-report.xlsx")


@bp.route("/exports/units.xlsx", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
def export_units(args):
    """Every unit of the admin's part of the tree (or of one delegation in it) as XLSX."""
    with bootstrap().uow() as (s, _):
        names = {d.id: d.name for d in organisations.active_delegations(s)}
        rows = [(u.uscc, u.name, u.category, u.region, u.delegation_id, names.get(u.delegation_id or "", ""),
                 u.status, "yes" if u.automatic else "no", u.submissions, u.submitted_at, u.decided_at, u.comment)
                for u in statistics_rules.units_in_scope(s, actor(), args["delegation_id"])]
    return _xlsx(exports.workbook("units", ("uscc", "name", "category", "region", "delegation_id", "delegation",
                                            "status", "automatic", "submissions", "submitted_at_utc",
                                            "decided_at_utc", "comment"), rows), "units.xlsx")


@bp.route("/exports/personnel.xlsx", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(StatisticsQuerySchema, location="query")
def export_personnel(args):
    """Every person of the admin's part of the tree as XLSX, ID numbers masked; names are
    asked of registration (in pages of 500) after review's transaction has closed."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        names = {d.id: d.name for d in organisations.active_delegations(s)}
        people = [(p.person_id, p.requested_label, p.label, p.payer, p.status, u.uscc, u.name, u.delegation_id)
                  for p, u in statistics_rules.people_in_scope(s, actor(), args["delegation_id"])]
    details: dict[str, dict] = {}
    for start in range(0, len(people), 500):
        ids = [p[0] for p in people[start:start + 500]]
        details.update({d["person_id"]: d for d in deps.registration.people_details(ids)})
    rows = [(details.get(pid, {}).get("name"), details.get(pid, {}).get("id_type"),
             details.get(pid, {}).get("id_number"), uname, uscc, delegation_id, names.get(delegation_id or "", ""),
             requested, label, payer, status, ", ".join(details.get(pid, {}).get("entry_dates") or []))
            for pid, requested, label, payer, status, uscc, uname, delegation_id in people]
    return _xlsx(exports.workbook("personnel", ("name", "id_type", "id_number_masked", "unit", "uscc",
                                                "delegation_id", "delegation", "requested_label", "label", "payer",
                                                "status", "entry_dates"), rows), "personnel.xlsx")


@bp.route("/audit", methods=["GET"])
@require(*REVIEWERS)
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, AuditPageSchema)
def audit_log(args):
    """Admin actions within the admin's part of the tree."""
    with bootstrap().uow() as (s, _):
        return organisations.audit_page(s, actor(), args)
