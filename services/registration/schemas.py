"""Request and response schemas of the registration API."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from shared.events import LABELS
from shared.fair import FairProfile, fair
from shared.masking import mask_email, mask_phone
from shared.schemas import Int, Strict, page_of

from .domain.identifiers import IDENTIFIER_TYPES
from .domain.quotas import quota_labels
from .domain.choices import all_id_types, choice_metadata, exhibition_areas, profile_choice, region_types, regions, visitor_kinds
from .domain.verification import SMS_PURPOSES

AMOUNT_MAX = Decimal("1e12")


def Amount() -> fields.Decimal:
    """A non-negative amount (10k CNY or 10k USD), up to 1e12, sent and answered as a string.
    The bounds are checked by a plain validator and described as numbers in the OpenAPI
    document (a Range validator would describe them as strings there)."""
    def in_range(value: Decimal) -> None:
        if not (0 <= value <= AMOUNT_MAX):
            raise ValidationError(f"must be between 0 and {AMOUNT_MAX:f}")
    return fields.Decimal(as_string=True, allow_nan=False, validate=in_range,
                          metadata={"minimum": 0, "maximum": float(AMOUNT_MAX)})


PHONE = validate.Regexp(r"^\+?[0-9]{6,15}$", error="not a valid phone number")


def FairChoice(choices, **kwargs) -> fields.String:
    """A string that is one of the active fair profile's `choices` (asked at load time: the
    schemas are built at import, the profile is the deployment's)."""
    return fields.String(validate=profile_choice(choices), metadata=choice_metadata(choices), **kwargs)


def _default_visitor_kind() -> str:
    return fair().default_visitor_kind()


def _badge_types(profile: FairProfile) -> tuple[str, ...]:
    return profile.badge_ids()


VISITOR_KIND, REGION, REGION_TYPE, ID_TYPE, AREA, BADGE = (visitor_kinds, regions, region_types, all_id_types,
                                                           exhibition_areas, _badge_types)


class SignUpSchema(Strict):
    """A mainland unit gives its `uscc`; a Hong Kong/Macao/Taiwan or overseas unit its
    registration number, an individual visitor (`visitor_kind` individual) their ID
    document, in `identifier` with `identifier_type` saying which. `visitor_kind` and
    `category` are the fair profile's (CIFTIS: exhibitor_onsite, exhibitor_online,
    attendee_invited with the host organisation's `host_invitation_code`; attendee_open
    without one)."""
    identifier_type = fields.String(load_default="uscc", validate=validate.OneOf(IDENTIFIER_TYPES))
    uscc = fields.String(load_default=None, validate=validate.Length(equal=18, error="USCC has 18 characters"))
    identifier = fields.String(load_default=None, validate=validate.Length(min=4, max=40))
    password = fields.String(required=True, load_only=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    visitor_kind = FairChoice(VISITOR_KIND, load_default=_default_visitor_kind)
    region = FairChoice(REGION, load_default="mainland")
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))  # not for individuals
    delegation_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    recommendation_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    referral_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))
    returning_token = fields.String(load_default=None, allow_none=True)  # from /returning/verify
    invitation_token = fields.String(load_default=None, allow_none=True)  # from a one-click invitation
    host_invitation_code = fields.String(load_default=None, allow_none=True,  # CIFTIS host organisation code
                                         validate=validate.Length(min=4, max=16))
    phone = fields.String(required=True, validate=PHONE)
    email = fields.Email(required=True)
    language = fields.String(load_default="zh", validate=validate.OneOf(("zh", "en")))
    sms_code = fields.String(required=True, load_only=True, validate=validate.Regexp(r"^[0-9]{6}$"))
    privacy_consent = fields.Boolean(required=True, load_only=True)  # 本人已阅读并同意隐私条款

    @pre_load
    def normalise(self, data, **_):
        for key in ("uscc", "identifier"):
            if isinstance(data, dict) and isinstance(data.get(key), str):
                data = {**data, key: data[key].strip().upper()}
        return data

    @validates_schema
    def identified(self, data, **_):
        if data.get("identifier_type", "uscc") == "uscc":
            if not (data.get("uscc") or data.get("identifier")):
                raise ValidationError("Missing data for required field.", "uscc")
        elif not data.get("identifier"):
            raise ValidationError("Missing data for required field.", "identifier")


class SmsCodeRequestSchema(Strict):
    phone = fields.String(required=True, validate=PHONE)
    purpose = fields.String(required=True, validate=validate.OneOf(SMS_PURPOSES))


class SmsCodeSentSchema(Strict):
    expires_in = Int()
    resend_after = Int()


class SmsLoginSchema(Strict):
    phone = fields.String(required=True, validate=PHONE)
    sms_code = fields.String(required=True, load_only=True)
    uscc = fields.String(load_default=None)
    edition = fields.String(load_default=None, validate=validate.Length(max=32))  # as LoginSchema's


class PasswordResetSchema(Strict):
    uscc = fields.String(required=True)
    phone = fields.String(required=True, validate=PHONE)
    sms_code = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True)

    @pre_load
    def normalise(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("uscc"), str):
            data = {**data, "uscc": data["uscc"].strip().upper()}
        return data


class SignedUpSchema(Strict):
    unit_id = fields.String()
    unit_code = fields.String()
    status = fields.String()


class LoginSchema(Strict):
    uscc = fields.String(required=True, validate=validate.Length(min=1, max=40))  # or a registration / ID number
    password = fields.String(required=True, load_only=True)
    # a previous edition of the fair profile: its records, read-only (default: the active edition)
    edition = fields.String(load_default=None, validate=validate.Length(max=32))

    @pre_load
    def normalise(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("uscc"), str):
            data = {**data, "uscc": data["uscc"].strip().upper()}
        return data


class TokenSchema(Strict):
    token = fields.String()
    unit_id = fields.String()
    edition = fields.String()  # the edition the session reads
    read_only = fields.Boolean()  # a previous edition's session: it may read, not change (409 edition_closed)


def _company_types(profile: FairProfile) -> tuple[str, ...]:
    return tuple(profile.data["unit_fields"]["company_types"])


class UnitInfoSchema(Strict):
    """单位信息 draft: every field optional until submission."""
    MULTILINE = Strict.MULTILINE | {"exhibition_content", "exhibition_needs"}
    name_en = fields.String(validate=validate.Length(max=300))
    registered_address = fields.String(validate=validate.Length(max=300))
    registered_capital_10k_cny = Amount()
    nature = fields.String(validate=validate.Length(max=60))
    industry = fields.String(validate=validate.Length(max=60))
    turnover_last_year_10k_usd = Amount()
    import_last_year_10k_usd = Amount()
    import_three_years_10k_usd = Amount()
    import_modes = fields.List(fields.String(validate=validate.OneOf(
        ("general_trade", "processing_trade", "cross_border_ecommerce", "bonded", "other"))))
    contact_name = fields.String(validate=validate.Length(max=60))
    contact_mobile = fields.String(validate=PHONE)
    purposes = fields.List(fields.String(validate=validate.OneOf(
        ("procure", "learn", "attract_investment", "find_partners", "learn_foreign_suppliers",
         "side_events", "government_requirement", "keep_relationships", "other"))))
    procurement_intentions = fields.List(fields.Dict())
    # CIFTIS 企业信息 / 参展信息 (asked when the fair's profile does: unit_fields, required_info)
    contact_position = fields.String(validate=validate.Length(max=60))
    contact_email = fields.Email(validate=validate.Length(max=200))
    company_type = FairChoice(_company_types)  # 公司类型
    fortune500 = fields.Boolean()  # 是否为财富世界500强企业
    fortune500_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    website = fields.Url(allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=200))
    introduction = fields.String(validate=validate.Length(max=5000))  # 单位简介: the profile's bounds in the domain
    exhibition_content = fields.String(validate=validate.Length(max=1000))  # 参展内容
    exhibition_needs = fields.String(validate=validate.Length(max=1000))  # 参展需求


class UnitSchema(Strict):
    id = fields.String()
    uscc = fields.String()  # the login key (an individual's is a pseudonym)
    identifier_type = fields.String()
    identifier = fields.Function(lambda u: u.identifier_masked or u.uscc)  # an individual's document, masked
    unit_code = fields.String()
    name = fields.String()
    visitor_kind = fields.String()
    region = fields.String()
    category = fields.String()
    delegation_id = fields.String(allow_none=True)
    status = fields.String()
    review_comment = fields.String(allow_none=True)
    referral_code = fields.String(allow_none=True)
    contact_phone = fields.Function(lambda u: mask_phone(u.contact_phone))
    contact_email = fields.Function(lambda u: mask_email(u.contact_email))
    privacy_consent_at = fields.DateTime(allow_none=True)
    info = fields.Dict()


class UnitQuotaLabelSchema(Strict):
    label = fields.String(metadata=choice_metadata(quota_labels))  # the fair's quota badges (CIIE: vip, staff)
    quota = Int()  # given by the delegation
    applied = Int()  # people of the unit asking for or holding it
    remaining = Int()


class UnitQuotaSchema(Strict):
    labels = fields.List(fields.Nested(UnitQuotaLabelSchema))


class PersonInSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("male", "female")))
    region_type = FairChoice(REGION_TYPE, required=True)
    id_type = FairChoice(ID_TYPE, required=True)
    id_number = fields.String(required=True, validate=validate.Length(min=5, max=40))
    nationality = fields.String(load_default=None, allow_none=True)
    mobile = fields.String(load_default=None, allow_none=True, validate=PHONE)
    email = fields.Email(load_default=None, allow_none=True)
    position = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    entry_dates = fields.List(fields.Date(), required=True)
    exhibition_area = FairChoice(AREA, load_default=None, allow_none=True)
    pickup_method = fields.String(load_default="courier", validate=validate.OneOf(("courier", "onsite")))
    # a badge type of the fair; none: the unit's visitor kind's first (CIIE 专业观众)
    requested_label = FairChoice(BADGE, load_default=None, allow_none=True)
    # 勾选承诺信息: the person accepts the privacy policy; needed before the record is submitted
    privacy_consent = fields.Boolean(load_default=None, allow_none=True, load_only=True)

    @pre_load
    def normalise(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("id_number"), str):
            data = {**data, "id_number": data["id_number"].strip().upper()}
        return data


class AddPersonSchema(PersonInSchema):
    submit = fields.Boolean(load_default=False)


class PersonSchema(Strict):
    """Personnel as the unit sees them: ID number and phone always masked."""
    id = fields.String()
    name = fields.String()
    region_type = fields.String()
    id_type = fields.String()
    id_number = fields.String(attribute="id_number_masked")
    mobile = fields.Function(lambda p: mask_phone(p.mobile))
    gender = fields.String(allow_none=True)
    nationality = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    email = fields.Function(lambda p: mask_email(p.email))
    entry_dates = fields.List(fields.String())
    exhibition_area = fields.String(allow_none=True)
    pickup_method = fields.String()
    requested_label = fields.String()
    label = fields.String(allow_none=True)
    payer = fields.String(allow_none=True)
    status = fields.String()
    order_no = fields.String(allow_none=True)
    credential_no = fields.String(allow_none=True)
    tracking_no = fields.String(allow_none=True)
    has_photo = fields.Boolean()
    privacy_consent = fields.Function(lambda p: p.privacy_consent_at is not None)
    reuse_credential_no = fields.String(allow_none=True)
    review_comment = fields.String(allow_none=True)  # why the person was not approved (CIFTIS)


class PersonUpdateSchema(PersonInSchema):
    class Meta:
        ordered = True


class PersonnelQuerySchema(Strict):
    name = fields.String(load_default=None, validate=validate.Length(max=100))
    id_number = fields.String(load_default=None, validate=validate.Length(max=40))
    region_type = FairChoice(REGION_TYPE, load_default=None)
    entry_date = fields.Date(load_default=None)
    reuse = fields.Boolean(load_default=None)
    status = fields.String(load_default=None)
    page = Int(load_default=1, validate=validate.Range(min=1))
    per_page = Int(load_default=20, validate=validate.Range(min=1, max=200))


PersonnelPageSchema = page_of(PersonSchema, "PersonnelPageSchema")


class AddressInSchema(Strict):
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=60))
    phone = fields.String(required=True, validate=PHONE)
    province = fields.String(required=True, validate=validate.Length(min=1, max=40))
    city = fields.String(required=True, validate=validate.Length(min=1, max=40))
    district = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    detail = fields.String(required=True, validate=validate.Length(min=1, max=200))
    postcode = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9]{6}$"))
    is_default = fields.Boolean(load_default=False)


class AddressSchema(Strict):
    id = fields.String()
    recipient = fields.String()
    phone = fields.Function(lambda a: mask_phone(a.phone))
    province = fields.String()
    city = fields.String()
    district = fields.String(allow_none=True)
    detail = fields.String()
    postcode = fields.String(allow_none=True)
    is_default = fields.Boolean()


class JoinSchema(Strict):
    unit_code = fields.String(required=True, validate=validate.Regexp(r"^T[0-9]{8}$", error="a unit code is T and 8 digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    phone = fields.String(required=True, validate=PHONE)
    sms_code = fields.String(required=True, load_only=True)
    password = fields.String(required=True, load_only=True)


class MemberLoginSchema(Strict):
    unit_code = fields.String(required=True)
    phone = fields.String(required=True, validate=PHONE)
    password = fields.String(required=True, load_only=True)
    edition = fields.String(load_default=None, validate=validate.Length(max=32))  # as LoginSchema's


class MemberSchema(Strict):
    id = fields.String()
    name = fields.String()
    phone = fields.String(attribute="phone_masked")
    status = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class MemberCreateSchema(Strict):
    """子用户: a colleague's account, created by the unit contact (approved at once)."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))  # 对外显示名
    phone = fields.String(required=True, validate=PHONE)
    # 8-20 characters with letters and digits; none: one is generated (8 characters)
    password = fields.String(load_default=None, allow_none=True, load_only=True, validate=validate.Length(max=64))


class MemberCreatedSchema(MemberSchema):
    initial_password = fields.String()  # shown once, to the unit contact who created the account


class MemberQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("pending", "approved", "rejected")))


class MemberDecisionSchema(Strict):
    member_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))


class PreviousPersonInSchema(Strict):
    id_number = fields.String(required=True)
    name = fields.String(required=True)
    gender = fields.String(load_default=None, allow_none=True)
    region_type = FairChoice(REGION_TYPE, required=True)
    id_type = fields.String(required=True)
    label = fields.String(load_default="visitor", validate=validate.OneOf(LABELS))
    credential_no = fields.String(load_default=None, allow_none=True)
    check_passed = fields.Boolean(load_default=False)
    lost_or_damaged = fields.Boolean(load_default=False)
    card_face = fields.Dict(load_default=dict)


class PreviousOrderSchema(Strict):
    """A fee order of a previous edition (往届证件费订单)."""
    order_no = fields.String(required=True, validate=validate.Length(min=1, max=32))
    amount_fen = Int(required=True, validate=validate.Range(min=0, max=10**11))
    status = fields.String(required=True, validate=validate.OneOf(("paid", "refunded", "partly_refunded", "cancelled")))
    paid_at = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", error="a date: YYYY-MM-DD"))
    people = Int(load_default=1, validate=validate.Range(min=0, max=100000))
    invoice_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    edition = fields.String(dump_only=True)


class PreviousUnitInSchema(Strict):
    uscc = fields.String(required=True, validate=validate.Length(equal=18))
    name = fields.String(required=True)
    category = fields.String(required=True)
    region = FairChoice(REGION, load_default="mainland")
    delegation_id = fields.String(load_default=None, allow_none=True)
    password = fields.String(load_default=None, allow_none=True, load_only=True)
    password_hash = fields.String(load_default=None, allow_none=True, load_only=True)
    contact_phone = fields.String(required=True, validate=PHONE)
    contact_email = fields.Email(required=True)
    info = fields.Dict(load_default=dict)
    personnel = fields.List(fields.Nested(PreviousPersonInSchema), load_default=list)
    orders = fields.List(fields.Nested(PreviousOrderSchema), load_default=list)


class PreviousEditionImportSchema(Strict):
    edition = fields.String(required=True, validate=validate.Regexp(r".*[0-9]{4}.*", error="name the edition's year"))
    units = fields.List(fields.Nested(PreviousUnitInSchema), required=True, validate=validate.Length(min=1, max=20000))


class PersonImportRowSchema(Strict):
    row = Int()  # the line in the workbook
    ok = fields.Boolean()
    person_id = fields.String()
    name = fields.String()
    code = fields.String()
    field = fields.String(allow_none=True)
    message = fields.String()


class PersonImportResultSchema(Strict):
    saved = Int()
    failed = Int()
    rows = fields.List(fields.Nested(PersonImportRowSchema))


class ImportResultSchema(Strict):
    units = Int()
    personnel = Int()
    skipped = Int()


class InvitationsSchema(Strict):
    edition = fields.String(required=True)


class InvitedSchema(Strict):
    invited = Int()
    failed = Int()


class PreviousUnitPreviewSchema(Strict):
    uscc = fields.String()
    name = fields.String()
    edition = fields.String()
    category = fields.String()
    region = fields.String()
    delegation_id = fields.String(allow_none=True)
    contact_email = fields.Function(lambda p: mask_email(p.contact_email))
    contact_phone = fields.Function(lambda p: mask_phone(p.contact_phone))
    info = fields.Dict()


class ContactPhoneSchema(Strict):
    phone = fields.String(required=True, validate=PHONE)
    sms_code = fields.String(required=True, load_only=True, validate=validate.Regexp(r"^[0-9]{6}$"))


class ContactEmailCodeSchema(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=200))


class ContactEmailSchema(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=200))
    email_code = fields.String(required=True, load_only=True, validate=validate.Regexp(r"^[0-9]{6}$"))


class EmailCodeRequestSchema(Strict):
    uscc = fields.String(required=True)


class ReturningVerifySchema(Strict):
    method = fields.String(required=True, validate=validate.OneOf(("password", "sms", "email")))
    uscc = fields.String(required=True)
    password = fields.String(load_default=None, load_only=True)
    phone = fields.String(load_default=None, validate=PHONE)
    sms_code = fields.String(load_default=None, load_only=True)
    email_code = fields.String(load_default=None, load_only=True)

    @pre_load
    def normalise(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("uscc"), str):
            data = {**data, "uscc": data["uscc"].strip().upper()}
        return data


class ReturningVerifiedSchema(Strict):
    returning_token = fields.String()
    previous = fields.Nested(PreviousUnitPreviewSchema)


class PreviousPersonSchema(Strict):
    id = fields.String()
    edition = fields.String()
    name = fields.String()
    gender = fields.String(allow_none=True)
    region_type = fields.String()
    id_number = fields.String(attribute="id_number_masked")
    label = fields.String()
    credential_no = fields.String(allow_none=True)
    reusable = fields.Boolean()
    reuse_refusal = fields.String(allow_none=True)


class CarryOverSchema(Strict):
    entry_dates = fields.List(fields.Date(), required=True)
    exhibition_area = FairChoice(AREA, load_default=None, allow_none=True)
    pickup_method = fields.String(load_default="courier", validate=validate.OneOf(("courier", "onsite")))
    nationality = fields.String(load_default=None, allow_none=True)


class ReuseSchema(CarryOverSchema):
    label = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LABELS))


class DelegationSchema(Strict):
    id = fields.String()
    name = fields.String()
    parent_id = fields.String(allow_none=True)
    industry = fields.Boolean()


class ReferralSchema(Strict):
    code = fields.String()
    link = fields.String()
    invited_units = Int()


class PointsEntrySchema(Strict):
    points = Int()
    reason = fields.String()
    person_id = fields.String(allow_none=True)
    source_id = fields.String()
    created_at = fields.DateTime()


class PointsSchema(Strict):
    balance = Int()
    entries = fields.List(fields.Nested(PointsEntrySchema))


class CatalogueSchema(Strict):
    areas = fields.List(fields.Dict())


class DocumentSchema(Strict):
    kind = fields.String()
    content_type = fields.String()
    size = Int()
    uploaded_at = fields.DateTime()


class SubmitUnitSchema(Strict):
    person_ids = fields.List(fields.String(), load_default=list)


class ProgressSchema(Strict):
    unit_id = fields.String()
    status = fields.String()
    review_comment = fields.String(allow_none=True)
    steps = fields.List(fields.Dict())
