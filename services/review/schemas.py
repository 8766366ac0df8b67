"""Request and response schemas of the review API."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from shared.auth import ADMIN_ROLES
from shared.events import LABELS
from shared.schemas import Int, Strict, page_of

class DelegationSchema(Strict):
    id = fields.String()
    name = fields.String()
    parent_id = fields.String(allow_none=True)
    recommendation_code = fields.String(allow_none=True)
    target = Int()
    centralised_payment = fields.Boolean()
    centralised_limit_fen = Int()
    centralised_spent_fen = Int()
    two_level = fields.Boolean()
    industry = fields.Boolean()
    rollup_delegation_id = fields.String(allow_none=True)


class DelegationInSchema(Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9-]{2,64}$", error="use A-Z, 0-9 and -"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_id = fields.String(load_default=None, allow_none=True)
    recommendation_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    target = Int(load_default=0, validate=validate.Range(min=0))
    two_level = fields.Boolean(load_default=False)
    industry = fields.Boolean(load_default=False)
    rollup_delegation_id = fields.String(load_default=None, allow_none=True)


class DelegationUpdateSchema(Strict):
    name = fields.String(validate=validate.Length(min=1, max=200))
    target = Int(validate=validate.Range(min=0))
    two_level = fields.Boolean()
    active = fields.Boolean()


class CentralisedPaymentSchema(Strict):
    enabled = fields.Boolean(required=True)
    limit_fen = Int(required=True, validate=validate.Range(min=0))


class AdminLoginSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True)


class AdminInSchema(Strict):
    username = fields.String(required=True, validate=validate.Regexp(r"^[a-zA-Z0-9_.-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=128))
    role = fields.String(required=True, validate=validate.OneOf(ADMIN_ROLES))
    delegation_id = fields.String(load_default=None, allow_none=True)


class AdminSchema(Strict):
    id = fields.String()
    username = fields.String()
    role = fields.String()
    delegation_id = fields.String(allow_none=True)
    active = fields.Boolean()


class AdminActiveSchema(Strict):
    active = fields.Boolean(required=True)


class PasswordChangeSchema(Strict):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=128))


PHONE = validate.Regexp(r"^(\+?[0-9]{6,15})?$", error="not a valid phone number")
EMAIL = validate.Email(error="Not a valid email address.")


def email_or_empty(value: str) -> None:
    """An empty value clears the email."""
    if value:
        EMAIL(value)


class AdminContactSchema(Strict):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=128))
    phone = fields.String(validate=PHONE)
    email = fields.String(validate=[validate.Length(max=254), email_or_empty])


class AdminProfileSchema(Strict):
    """The signed-in admin's own account; phone and email masked."""
    id = fields.String()
    username = fields.String()
    role = fields.String()
    delegation_id = fields.String(allow_none=True)
    delegation_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)  # masked
    email = fields.String(allow_none=True)  # masked


class TokenSchema(Strict):
    token = fields.String()
    role = fields.String()
    delegation_id = fields.String(allow_none=True)


class RegistryRecordSchema(Strict):
    uscc = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UnitReviewSchema(Strict):
    unit_id = fields.String()
    uscc = fields.String()
    name = fields.String()
    category = fields.String()
    region = fields.String()
    delegation_id = fields.String(allow_none=True)
    status = fields.String()
    automatic = fields.Boolean()
    comment = fields.String(allow_none=True)
    submissions = Int()
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class QueueQuerySchema(Strict):
    status = fields.String(load_default="pending", validate=validate.OneOf(
        ("pending", "first_approved", "approved", "returned", "rejected", "all")))
    delegation_id = fields.String(load_default=None, validate=validate.Length(max=64))
    category = fields.String(load_default=None, validate=validate.Length(max=40))
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    submitted_from = fields.Date(load_default=None)  # Beijing dates, inclusive
    submitted_to = fields.Date(load_default=None)
    page = Int(load_default=1, validate=validate.Range(min=1))
    per_page = Int(load_default=20, validate=validate.Range(min=1, max=200))


QueuePageSchema = page_of(UnitReviewSchema, "QueuePageSchema")


class UnitFileSchema(Strict):
    """A unit's full file: review's decision state and history, registration's information,
    document description, addresses and personnel (ID numbers and phones masked)."""
    review = fields.Dict()
    unit = fields.Dict()
    document = fields.Dict(allow_none=True)
    addresses = fields.List(fields.Dict())
    personnel = fields.List(fields.Dict())
    history = fields.List(fields.Dict())


class PersonSearchQuerySchema(Strict):
    q = fields.String(required=True, validate=validate.Length(min=1, max=40))
    delegation_id = fields.String(load_default=None, validate=validate.Length(max=64))


class FoundPersonSchema(Strict):
    person_id = fields.String()
    unit_id = fields.String()
    unit_name = fields.String(allow_none=True)
    delegation_id = fields.String(allow_none=True)
    name = fields.String()
    id_type = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)  # masked
    has_photo = fields.Boolean()
    status = fields.String(allow_none=True)  # registration's
    review_status = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    payer = fields.String(allow_none=True)
    requested_label = fields.String(allow_none=True)


class BatchDecisionSchema(Strict):
    action = fields.String(required=True, validate=validate.OneOf(("approve", "return", "reject")))
    unit_ids = fields.List(fields.String(validate=validate.Length(max=64)), required=True,
                           validate=validate.Length(min=1, max=200, error="select between 1 and 200 units"))
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))  # the return's or rejection's


class BatchOutcomeSchema(Strict):
    unit_id = fields.String()
    ok = fields.Boolean()
    status = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class CommentSchema(Strict):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RejectSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    confirm = fields.Boolean(required=True, validate=validate.Equal(True, error="confirm the rejection"))


class ReassignSchema(Strict):
    delegation_id = fields.String(required=True)


class UnitEditSchema(Strict):
    name = fields.String(load_default=None, validate=validate.Length(min=2, max=200))
    category = fields.String(load_default=None)


class DeleteSchema(Strict):
    confirm = fields.Boolean(required=True, validate=validate.Equal(True, error="deletion cannot be undone: confirm it"))


class ReviewPersonSchema(Strict):
    person_id = fields.String()
    unit_id = fields.String()
    requested_label = fields.String()
    status = fields.String()
    label = fields.String(allow_none=True)
    payer = fields.String(allow_none=True)
    previous_credential_no = fields.String(allow_none=True)
    # with details=true: what registration keeps (ID number masked), asked after the scope check
    name = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    unit_name = fields.String(allow_none=True)
    has_photo = fields.Boolean(allow_none=True)
    delegation_id = fields.String(allow_none=True)


class PeopleQuerySchema(Strict):
    status = fields.String(load_default="awaiting_confirmation", validate=validate.Length(max=30))
    unit_id = fields.String(load_default=None, validate=validate.Length(max=64))
    delegation_id = fields.String(load_default=None, validate=validate.Length(max=64))
    requested_label = fields.String(load_default=None, validate=validate.OneOf(LABELS))
    details = fields.Boolean(load_default=False)
    page = Int(load_default=1, validate=validate.Range(min=1))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=500))


PeoplePageSchema = page_of(ReviewPersonSchema, "PeoplePageSchema")


class PersonIdsSchema(Strict):
    person_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=1000))


class PayerDecisionSchema(PersonIdsSchema):
    delegation_pays = fields.Boolean(required=True)


class LabelSchema(PersonIdsSchema):
    label = fields.String(required=True, validate=validate.OneOf(LABELS))


def quota_badge(value: str) -> None:
    """An upgrade goes to a badge granted within quota (CIIE: staff, VIP)."""
    from .domain.fair_rules import profile_of
    badges = profile_of().quota_badges()
    if value not in badges:
        raise ValidationError(f"Must be one of: {', '.join(badges)}.")


class UpgradeSchema(Strict):
    label = fields.String(required=True, validate=quota_badge)


class PersonRejectSchema(PersonIdsSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class QuotaInSchema(Strict):
    vip = Int(required=True, validate=validate.Range(min=0, max=10000))
    staff = Int(required=True, validate=validate.Range(min=0, max=10000))


class QuotaSchema(Strict):
    uscc = fields.String()
    vip = Int()
    staff = Int()
    vip_used = Int()
    staff_used = Int()


class QuotaImportResultSchema(Strict):
    imported = Int()


class QuotaLineSchema(Strict):
    row = Int()
    uscc = fields.String(allow_none=True)
    vip = Int(allow_none=True)
    staff = Int(allow_none=True)
    ok = fields.Boolean()
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)  # the quota the line replaces, if any
    duplicate_of = Int(allow_none=True)  # the earlier row with the same USCC


class QuotaLinesResultSchema(Strict):
    imported = Int()
    lines = fields.List(fields.Nested(QuotaLineSchema))


class QuotaQuerySchema(Strict):
    uscc = fields.String(load_default=None, validate=validate.Length(max=18))
    page = Int(load_default=1, validate=validate.Range(min=1))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=500))


class QuotaListItemSchema(QuotaSchema):
    unit_name = fields.String(allow_none=True)
    delegation_id = fields.String(allow_none=True)


QuotaPageSchema = page_of(QuotaListItemSchema, "QuotaPageSchema")


class InvitationCodesInSchema(Strict):
    count = Int(required=True, validate=validate.Range(min=1, max=1000))


class InvitationCodeSchema(Strict):
    code = fields.String()
    delegation_id = fields.String()
    used = fields.Function(lambda c: c.used_by_unit_id is not None)
    used_by_unit_id = fields.String(allow_none=True)
    used_by_name = fields.String(allow_none=True)
    used_at = fields.DateTime(allow_none=True)


class InvitationCodeQuerySchema(Strict):
    used = fields.Boolean(load_default=None)


class SettingsSchema(Strict):
    edition = fields.String(dump_only=True)
    review_deadline = fields.DateTime(allow_none=True)
    labelling_deadline = fields.DateTime(allow_none=True)
    locking_deadline = fields.DateTime(allow_none=True)
    fee_fen = Int(validate=validate.Range(min=0))
    personal_data_retained_until = fields.DateTime(allow_none=True)
    personal_data_purged_at = fields.DateTime(dump_only=True, allow_none=True)


class PublicEditionSchema(Strict):
    """What anyone may know of the edition: the fee and review's deadlines (the home page)."""
    edition = fields.String(dump_only=True)
    fee_fen = Int(dump_only=True)
    review_deadline = fields.DateTime(dump_only=True, allow_none=True)
    labelling_deadline = fields.DateTime(dump_only=True, allow_none=True)


class StatisticsQuerySchema(Strict):
    delegation_id = fields.String(load_default=None)


class DailyQuerySchema(Strict):
    delegation_id = fields.String(load_default=None, validate=validate.Length(max=64))
    from_ = fields.Date(load_default=None, data_key="from")  # Beijing days, inclusive
    to = fields.Date(load_default=None)


class DailyRowSchema(Strict):
    date = fields.String()
    units = Int()


class StatisticsRowSchema(Strict):
    delegation_id = fields.String()
    name = fields.String()
    parent_id = fields.String(allow_none=True)
    industry = fields.Boolean()
    rolls_up_to = fields.String(allow_none=True)  # an industry delegation's figures count there too
    target = Int()
    units = Int()
    approved_units = Int()
    completion = fields.Float(allow_none=True)
    units_by_status = fields.Dict()
    people = Int()
    people_by_status = fields.Dict()


class AuditQuerySchema(Strict):
    target_id = fields.String(load_default=None, validate=validate.Length(max=64))
    action = fields.String(load_default=None, validate=validate.Length(max=60))
    admin_id = fields.String(load_default=None, validate=validate.Length(max=64))
    actor = fields.String(load_default=None, validate=validate.Length(max=64))  # an admin's username
    target = fields.String(load_default=None, validate=validate.Length(max=200))  # id, USCC, unit name, username
    role = fields.String(load_default=None, validate=validate.Length(max=40))
    since = fields.DateTime(load_default=None)  # with an offset, or UTC
    until = fields.DateTime(load_default=None)  # exclusive
    page = Int(load_default=1, validate=validate.Range(min=1))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=500))


class AuditEntrySchema(Strict):
    id = fields.String()
    admin_id = fields.String()
    admin_username = fields.String(allow_none=True)
    target_name = fields.String(allow_none=True)  # a unit's name
    role = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    delegation_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    at = fields.DateTime()


AuditPageSchema = page_of(AuditEntrySchema, "AuditPageSchema")


# --- host organisations (承办机构) -------------------------------------------------------------
HOST_STATUSES = ("awaiting_info", "pending", "approved", "returned")


class HostInfoSchema(Strict):
    """承办机构基本信息; a field left out stays as it is, an empty one is cleared."""
    name = fields.String(allow_none=True, validate=validate.Length(max=200))  # 机构名称
    name_en = fields.String(allow_none=True, validate=validate.Length(max=200))  # 机构英文名称
    field = fields.String(allow_none=True, validate=validate.Length(max=100))  # 所属领域
    industry = fields.String(allow_none=True, validate=validate.Length(max=100))  # 行业类别
    uscc = fields.String(allow_none=True, validate=validate.Length(max=18))  # 18 characters, or n/a
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    postcode = fields.String(allow_none=True, validate=validate.Length(max=12))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    website = fields.String(allow_none=True, validate=validate.Length(max=200))


class HostOrganisationSchema(Strict):
    id = fields.String()
    name = fields.String(allow_none=True)
    status = fields.String()
    comment = fields.String(allow_none=True)  # the committee's, on a return
    info = fields.Nested(HostInfoSchema)
    has_licence = fields.Boolean()
    codes_allowed = fields.Boolean()
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class HostOrganisationRowSchema(Strict):
    id = fields.String()
    name = fields.String(allow_none=True)
    status = fields.String()
    submitted_at = fields.DateTime(allow_none=True)


class HostOrganisationQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(HOST_STATUSES + ("all",)))
    page = Int(load_default=1, validate=validate.Range(min=1))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=200))


HostOrganisationPageSchema = page_of(HostOrganisationRowSchema, "HostOrganisationPageSchema")
