"""Registration HTTP API: translates requests into domain calls."""
from __future__ import annotations

import datetime as dt

from flask import Response, request
from flask_smorest import Blueprint

from shared.auth import issue_token, verify_token
from shared.errors import DomainError, Forbidden, NotFound, Unavailable
from shared.fair import PublicFairSchema, fair
from shared.http import caller_unit_id, client_ip, principal, require
from shared.throttle import guarded_login

from .bootstrap import bootstrap
from .domain import (
    accounts, addresses, bulk_import, colleagues, deadlines, delegations, identifiers, personnel, progress, quotas, referrals,
    returning, signup,
    unit_info, verification,
)
from .models import LoginFailure, Unit
from .schemas import (
    AddPersonSchema, AddressInSchema, AddressSchema, CarryOverSchema, CatalogueSchema, ContactEmailCodeSchema,
    ContactEmailSchema, ContactPhoneSchema, DelegationSchema, DocumentSchema, EmailCodeRequestSchema,
    ImportResultSchema, InvitationsSchema, InvitedSchema, JoinSchema, LoginSchema, MemberDecisionSchema,
    MemberCreateSchema, MemberCreatedSchema, MemberLoginSchema, MemberQuerySchema, MemberSchema, PasswordResetSchema, PersonImportResultSchema, PersonInSchema,
    PersonSchema, PersonUpdateSchema, PersonnelPageSchema, PersonnelQuerySchema, PointsSchema,
    PreviousEditionImportSchema, PreviousOrderSchema, PreviousPersonSchema, PreviousUnitPreviewSchema, ProgressSchema,
    ReferralSchema, ReturningVerifiedSchema, ReturningVerifySchema, ReuseSchema, SignUpSchema, SignedUpSchema,
    SmsCodeRequestSchema, SmsCodeSentSchema, SmsLoginSchema, SubmitUnitSchema, TokenSchema, UnitInfoSchema,
    UnitQuotaSchema, UnitSchema,
)

bp = Blueprint("registration", __name__, description="Units, accounts and personnel")
UNIT = "unit_contact"
MEMBER = "unit_member"  # a colleague: fills in their own personnel record only
ADMINS = ("organising_committee", "operations")
RETURNING = "returning"  # a short-lived token proving control of a previous-edition account


def registration_open() -> None:
    deadlines.check_registration_open(bootstrap().deadlines.get("submission"))


def _upload(field: str) -> bytes:
    """The uploaded file (multipart field `field`), read with a hard size cap."""
    upload = request.files.get(field)
    if upload is None:
        raise DomainError(f"{field}_required", f"send the file as multipart field '{field}'", field)
    return upload.stream.read(4 * 1024 * 1024 + 1)


def language() -> str:
    return request.accept_languages.best_match(["zh", "en"]) or "zh"


def code_sent() -> dict[str, int]:
    return {"expires_in": int(verification.SMS_CODE_TTL.total_seconds()),
            "resend_after": int(verification.SMS_RESEND_AFTER.total_seconds())}


def member_id() -> str | None:
    return principal().subject if principal().role == MEMBER else None


def _own_person(s, person_id: str, lock: bool = False):
    """The person, if the caller may see it: the unit contact sees all of the unit's
    records, a member only the ones they created."""
    unit = accounts.get_unit(s, caller_unit_id())
    person = personnel.get_person(s, unit, person_id, lock=lock)
    if member_id() and person.created_by_member_id != member_id():
        raise NotFound("person", "person_id")
    return unit, person


def _unit_token(unit: Unit) -> dict:
    return {"token": issue_token(unit.id, UNIT, "registration", unit_id=unit.id, delegation_id=unit.delegation_id,
                                 version=unit.token_version or 0),
            "unit_id": unit.id}


def _returning_unit_id(token: str) -> str:
    claims = verify_token(token)
    if claims.role != RETURNING:
        raise DomainError("invalid_returning_token", "verify the previous account again", "returning_token")
    return claims.subject


# --- accounts -------------------------------------------------------------------------
@bp.route("/sms-codes", methods=["POST"])
@bp.arguments(SmsCodeRequestSchema)
@bp.response(202, SmsCodeSentSchema)
def request_sms_code(data):
    """Sends a 6-digit code to the phone (valid 5 minutes; one a minute, ten a day)."""
    deps = bootstrap()
    lang = language()
    verification.send_code(
        deps, data["phone"], data["purpose"], client_ip(),
        lambda code: deps.sms_codes.send(data["phone"], code, data["purpose"], lang),
        Unavailable("sms_unavailable", "the SMS service is unavailable; try again shortly"))
    return code_sent()


@bp.route("/units", methods=["POST"])
@bp.arguments(SignUpSchema)
@bp.response(201, SignedUpSchema)
def sign_up(data):
    """Sign-up needs the phone's SMS code (purpose `signup`)."""
    returning_token, invitation = data.pop("returning_token"), data.pop("invitation_token")
    previous_unit_id = _returning_unit_id(returning_token) if returning_token else None
    unit = signup.register(bootstrap(), data, previous_unit_id, invitation)
    return {"unit_id": unit.id, "unit_code": unit.unit_code, "status": unit.status}


@bp.route("/auth/login/sms", methods=["POST"])
@bp.arguments(SmsLoginSchema)
@bp.response(200, TokenSchema)
def login_by_sms(data):
    """Log in with the unit's verified phone and an SMS code (purpose `login`)."""
    deps = bootstrap()
    verification.verify_code(deps, data["phone"], "login", data["sms_code"])
    with deps.uow() as (s, _):
        return _unit_token(accounts.unit_for_phone_login(s, deps.edition, data["phone"], data.get("uscc")))


@bp.route("/auth/password-reset", methods=["POST"])
@bp.arguments(PasswordResetSchema)
@bp.response(204)
def password_reset(data):
    """Reset the password with an SMS code sent to the unit's verified phone."""
    deps = bootstrap()
    accounts.check_password_policy(data["new_password"])
    verification.verify_code(deps, data["phone"], "reset_password", data["sms_code"])
    with deps.uow() as (s, emit):
        accounts.reset_password_of(s, emit, deps.edition, data["uscc"], data["phone"], data["new_password"])


@bp.route("/auth/login", methods=["POST"])
@bp.arguments(LoginSchema)
@bp.response(200, TokenSchema)
def login(data):
    """Password login; repeated failures are throttled (429 with Retry-After)."""
    deps = bootstrap()
    unit = guarded_login(deps.uow, LoginFailure, identifiers.throttle_account(deps.cipher.lookup_hash, data["uscc"]),
                         client_ip(),
                         lambda s: accounts.authenticate(s, data["uscc"], data["password"], deps.edition))
    return _unit_token(unit)


# --- the unit and its information -----------------------------------------------------------
@bp.route("/units/me", methods=["GET"])
@require(UNIT)
@bp.response(200, UnitSchema)
def my_unit():
    with bootstrap().uow() as (s, _):
        return accounts.get_unit(s, caller_unit_id())


@bp.route("/units/me/info", methods=["PATCH", "PUT"])
@require(UNIT)
@bp.arguments(UnitInfoSchema)
@bp.response(200, UnitSchema)
def save_info(changes):
    with bootstrap().uow() as (s, _):
        unit = accounts.get_unit(s, caller_unit_id())
        return unit_info.save_unit_info(unit, UnitInfoSchema().dump(changes))


@bp.route("/units/me/document", methods=["PUT"])
@require(UNIT)
@bp.response(200, DocumentSchema)
def upload_document():
    """The qualification document for the unit's category, as the fair's profile says (CIIE:
    PNG/JPG/JPEG, at most 2 MB; none for a category without a document rule)."""
    content = _upload("document")
    with bootstrap().uow() as (s, _):
        return unit_info.store_document(s, accounts.get_unit(s, caller_unit_id()), content)


@bp.route("/units/me/submit", methods=["POST"])
@require(UNIT)
@bp.arguments(SubmitUnitSchema)
@bp.response(200, UnitSchema)
def submit_unit(data):
    registration_open()
    with bootstrap().uow() as (s, emit):
        unit = accounts.get_unit(s, caller_unit_id())
        return unit_info.submit_unit(s, unit, emit, data["person_ids"])


@bp.route("/units/me/progress", methods=["GET"])
@require(UNIT)
@bp.response(200, ProgressSchema)
def my_progress():
    with bootstrap().uow() as (s, _):
        return progress.unit_progress(s, accounts.get_unit(s, caller_unit_id()))


@bp.route("/units/me/contact-phone", methods=["PUT"])
@require(UNIT)
@bp.arguments(ContactPhoneSchema)
@bp.response(200, UnitSchema)
def change_contact_phone(data):
    """The contact's new mobile, with the SMS code sent to it (POST sms-codes, purpose
    `change_phone`): SMS logins and password resets then use it."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        unit = accounts.get_unit(s, caller_unit_id())
        if data["phone"] == unit.contact_phone:
            raise DomainError("same_phone", "this is already the unit's phone", "phone")
    verification.verify_code(deps, data["phone"], "change_phone", data["sms_code"], consume=False)
    with deps.uow() as (s, _):
        verification.use_code(s, deps.cipher, data["phone"], "change_phone", data["sms_code"])
        return accounts.change_contact_phone(accounts.get_unit(s, caller_unit_id(), lock=True), data["phone"])


@bp.route("/units/me/email-codes", methods=["POST"])
@require(UNIT)
@bp.arguments(ContactEmailCodeSchema)
@bp.response(202, SmsCodeSentSchema)
def contact_email_code(data):
    """Email a code to the unit's new contact address (then PUT units/me/contact-email)."""
    deps = bootstrap()
    email = data["email"]
    with deps.uow() as (s, _):
        unit = accounts.get_unit(s, caller_unit_id())
        name, lang = unit.name, unit.language or "zh"
    verification.send_code(
        deps, email.lower(), "change_email", client_ip(),
        lambda code: deps.emails.send(email, "email_code", lang, {"unit_name": name, "code": code}, redact=("code",)),
        Unavailable("email_unavailable", "the email service is unavailable; try again shortly"),
        per_client_per_hour=verification.SMS_MAX_PER_CLIENT_PER_HOUR)
    return code_sent()


@bp.route("/units/me/contact-email", methods=["PUT"])
@require(UNIT)
@bp.arguments(ContactEmailSchema)
@bp.response(200, UnitSchema)
def change_contact_email(data):
    deps = bootstrap()
    verification.verify_code(deps, data["email"].lower(), "change_email", data["email_code"], consume=False)
    with deps.uow() as (s, _):
        verification.use_code(s, deps.cipher, data["email"].lower(), "change_email", data["email_code"])
        return accounts.change_contact_email(accounts.get_unit(s, caller_unit_id(), lock=True), data["email"])


@bp.route("/units/me/quota", methods=["GET"])
@require(UNIT, MEMBER)
@bp.response(200, UnitQuotaSchema)
def my_quota():
    """The unit's VIP and staff quotas: given by the delegation, applied for, remaining."""
    with bootstrap().uow() as (s, _):
        return quotas.unit_quota(s, accounts.get_unit(s, caller_unit_id()))


@bp.route("/fair", methods=["GET"])
@bp.response(200, PublicFairSchema)
def fair_profile():
    """The fair this deployment serves (its profile's public part): name, edition and its days,
    visitor kinds, photo and document rules, badge types and who may hold them, notices."""
    return fair().public(bootstrap().edition)


@bp.route("/catalogue/procurement", methods=["GET"])
@bp.response(200, CatalogueSchema)
def procurement_catalogue():
    """Exhibition areas and the categories within each, for procurement intentions."""
    return {"areas": [{"area": a, "categories": c} for a, c in unit_info.procurement_catalogue().items()]}


@bp.route("/delegations", methods=["GET"])
@bp.response(200, DelegationSchema(many=True))
def list_delegations():
    """The (sub-)delegations a unit may join, as review publishes them."""
    with bootstrap().uow() as (s, _):
        return delegations.delegations(s)


# --- personnel ------------------------------------------------------------------------
@bp.route("/units/me/personnel", methods=["POST"])
@require(UNIT, MEMBER)
@bp.arguments(AddPersonSchema)
@bp.response(201, PersonSchema)
def add_person(data):
    """Save a person (the unit contact may also submit at once; a member's records are
    submitted by the unit contact)."""
    deps = bootstrap()
    registration_open()
    submit = data.pop("submit")
    if submit and member_id():
        raise Forbidden("the unit contact submits personnel")
    with deps.uow() as (s, emit):
        unit = accounts.get_unit(s, caller_unit_id())
        person = personnel.add_person(s, unit, data, deps.fair_days, deps.cipher, member_id=member_id())
        if submit:
            personnel.submit_person(person, emit, unit)
        return person


@bp.route("/units/me/personnel/template.xlsx", methods=["GET"])
@require(UNIT, MEMBER)
def personnel_template():
    """The XLSX template for the bulk import (a header row, an example line, a sheet of notes)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        visitor_kind = accounts.get_unit(s, caller_unit_id()).visitor_kind
    content = bulk_import.template(deps.fair_days, visitor_kind)
    return Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=personnel-template.xlsx"})


@bp.route("/units/me/personnel/import", methods=["POST"])
@require(UNIT, MEMBER)
@bp.response(200, PersonImportResultSchema)
def import_personnel():
    """批量导入: multipart field `file`, the filled-in template (at most 500 people, 2 MB).
    Each line has the checks of one person added alone and is saved (not submitted) or
    answered with its line number, field and reason."""
    deps = bootstrap()
    registration_open()
    content = _upload("file")
    with deps.uow() as (s, _):
        unit = accounts.get_unit(s, caller_unit_id())
        return bulk_import.import_people(s, unit, content, PersonInSchema(), deps.fair_days, deps.cipher,
                                         member_id=member_id())


@bp.route("/units/me/previous-orders", methods=["GET"])
@require(UNIT)
@bp.response(200, PreviousOrderSchema(many=True))
def my_previous_orders():
    """往届订单查询: fee orders of the unit's previous editions."""
    with bootstrap().uow() as (s, _):
        return returning.previous_orders(s, accounts.get_unit(s, caller_unit_id()))


@bp.route("/units/me/personnel", methods=["GET"])
@require(UNIT, MEMBER)
@bp.arguments(PersonnelQuerySchema, location="query")
@bp.response(200, PersonnelPageSchema)
def list_personnel(filters):
    """Filters: name, id_number (exact), region_type, entry_date, reuse, status; paginated.
    ID numbers are always masked. A member sees only their own records."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return personnel.personnel_page(s, caller_unit_id(), {**filters, "member_id": member_id()}, deps.cipher)


@bp.route("/units/me/personnel/<person_id>", methods=["GET"])
@require(UNIT, MEMBER)
@bp.response(200, PersonSchema)
def get_person(person_id):
    with bootstrap().uow() as (s, _):
        return _own_person(s, person_id)[1]


@bp.route("/units/me/personnel/<person_id>", methods=["PATCH"])
@require(UNIT, MEMBER)
@bp.arguments(PersonUpdateSchema(partial=True))
@bp.response(200, PersonSchema)
def update_person(changes, person_id):
    deps = bootstrap()
    with deps.uow() as (s, _):
        unit, person = _own_person(s, person_id, lock=True)
        return personnel.update_person(s, unit, person, changes, deps.fair_days, deps.cipher)


@bp.route("/units/me/personnel/<person_id>", methods=["DELETE"])
@require(UNIT)
@bp.response(204)
def delete_person(person_id):
    with bootstrap().uow() as (s, _):
        unit = accounts.get_unit(s, caller_unit_id())
        personnel.delete_saved_person(s, personnel.get_person(s, unit, person_id, lock=True))


@bp.route("/units/me/personnel/<person_id>/cancel", methods=["POST"])
@require(UNIT)
@bp.response(200, PersonSchema)
def cancel_person(person_id):
    """注销: the person will not attend; a paid fee becomes refundable."""
    with bootstrap().uow() as (s, emit):
        unit = accounts.get_unit(s, caller_unit_id())
        return personnel.cancel_person(personnel.get_person(s, unit, person_id, lock=True), emit)


@bp.route("/units/me/personnel/<person_id>/submit", methods=["POST"])
@require(UNIT)
@bp.response(200, PersonSchema)
def submit_person(person_id):
    registration_open()
    with bootstrap().uow() as (s, emit):
        unit = accounts.get_unit(s, caller_unit_id())
        return personnel.submit_person(personnel.get_person(s, unit, person_id), emit, unit)


@bp.route("/units/me/personnel/<person_id>/photo", methods=["PUT"])
@require(UNIT, MEMBER)
@bp.response(200, PersonSchema)
def upload_photo(person_id):
    """Multipart field `photo`, as the fair's photo rule says (CIIE: JPG, 3:4, under 1 MB, at
    least 480x640; CIFTIS: JPG, 600x800, 50-500 KB), decoded to check."""
    content = _upload("photo")
    with bootstrap().uow() as (s, _):
        return personnel.set_photo(s, _own_person(s, person_id, lock=True)[1], content)


@bp.route("/units/me/personnel/<person_id>/photo", methods=["GET"])
@require(UNIT, MEMBER)
def download_photo(person_id):
    with bootstrap().uow() as (s, _):
        photo = personnel.photo_of(s, _own_person(s, person_id)[1])
        return Response(photo.content, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


@bp.route("/units/me/document", methods=["GET"])
@require(UNIT)
@bp.response(200, DocumentSchema)
def get_document():
    """What was uploaded (kind, type, size, time), for the portal to show; 404 when nothing."""
    with bootstrap().uow() as (s, _):
        return unit_info.document_of(s, caller_unit_id())


@bp.route("/units/me/document/image", methods=["GET"])
@require(UNIT)
def download_document():
    """The uploaded qualification document itself (for its preview in the portal)."""
    with bootstrap().uow() as (s, _):
        doc = unit_info.document_of(s, caller_unit_id())
        return Response(doc.content, mimetype=doc.content_type, headers={"Cache-Control": "private, no-store"})


# --- delivery addresses -----------------------------------------------------------------
@bp.route("/units/me/addresses", methods=["GET"])
@require(UNIT)
@bp.response(200, AddressSchema(many=True))
def list_addresses():
    with bootstrap().uow() as (s, _):
        return addresses.addresses(s, caller_unit_id())


@bp.route("/units/me/addresses", methods=["POST"])
@require(UNIT)
@bp.arguments(AddressInSchema)
@bp.response(201, AddressSchema)
def add_address(data):
    with bootstrap().uow() as (s, _):
        return addresses.add_address(s, accounts.get_unit(s, caller_unit_id(), lock=True), data)


@bp.route("/units/me/addresses/<address_id>", methods=["PATCH"])
@require(UNIT)
@bp.arguments(AddressInSchema(partial=True))
@bp.response(200, AddressSchema)
def update_address(changes, address_id):
    with bootstrap().uow() as (s, _):
        return addresses.update_address(s, accounts.get_unit(s, caller_unit_id(), lock=True), address_id, changes)


@bp.route("/units/me/addresses/<address_id>", methods=["DELETE"])
@require(UNIT)
@bp.response(204)
def delete_address(address_id):
    with bootstrap().uow() as (s, _):
        addresses.delete_address(s, accounts.get_unit(s, caller_unit_id(), lock=True), address_id)


# --- colleagues -----------------------------------------------------------------------
@bp.route("/members/join", methods=["POST"])
@bp.arguments(JoinSchema)
@bp.response(201, MemberSchema)
def join(data):
    """A colleague asks to join a unit with its unit code (verified phone, purpose `join`)."""
    deps = bootstrap()
    accounts.check_password_policy(data["password"])
    verification.verify_code(deps, data["phone"], "join", data.pop("sms_code"))
    with deps.uow() as (s, _):
        return colleagues.join_unit(s, deps.cipher, deps.edition, data)


@bp.route("/auth/member-login", methods=["POST"])
@bp.arguments(MemberLoginSchema)
@bp.response(200, TokenSchema)
def member_login(data):
    deps = bootstrap()
    unit_code = data["unit_code"].strip().upper()

    def attempt(s):
        member = colleagues.authenticate_member(s, deps.cipher, deps.edition, unit_code, data["phone"],
                                                data["password"])
        return member, accounts.get_unit(s, member.unit_id)
    account = f"member:{unit_code}:{deps.cipher.lookup_hash(data['phone'])[:24]}"
    member, unit = guarded_login(deps.uow, LoginFailure, account, client_ip(), attempt)
    token = issue_token(member.id, MEMBER, "registration", unit_id=unit.id, delegation_id=unit.delegation_id,
                        version=member.token_version or 0)
    return {"token": token, "unit_id": unit.id}


@bp.route("/units/me/members", methods=["GET"])
@require(UNIT)
@bp.arguments(MemberQuerySchema, location="query")
@bp.response(200, MemberSchema(many=True))
def list_members(args):
    with bootstrap().uow() as (s, _):
        return colleagues.members(s, caller_unit_id(), args["status"])


@bp.route("/units/me/members", methods=["POST"])
@require(UNIT)
@bp.arguments(MemberCreateSchema)
@bp.response(201, MemberCreatedSchema)
def create_member(data):
    """子用户: the unit contact creates a colleague's account, approved at once; they log in
    with the unit code, their phone and the password, shown in this answer only (given, or
    generated when none is sent)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        member, password = colleagues.create_member(s, deps.cipher, accounts.get_unit(s, caller_unit_id()), data)
        answer = {**{k: getattr(member, k) for k in ("id", "name", "phone_masked", "status", "created_at",
                                                    "decided_at")}, "initial_password": password}
    return answer, {"Cache-Control": "no-store"}


@bp.route("/units/me/members/<member_id>/reset-password", methods=["POST"])
@require(UNIT)
@bp.response(204)
def reset_member_password(member_id):
    """重置密码: a new generated password, sent by SMS to the colleague (to nobody else); their
    open sessions end. Nothing changes when the SMS cannot be sent."""
    deps = bootstrap()
    with deps.uow() as (s, emit):
        unit = accounts.get_unit(s, caller_unit_id())
        _, password, phone = colleagues.reset_member_password(s, emit, deps.cipher, unit, member_id)
        try:
            deps.sms_codes.send(phone, password, "member_password", unit.language or "zh")
        except Exception as exc:  # rolls the new password back: the old one still works
            raise Unavailable("sms_unavailable", "the SMS service is unavailable; try again shortly") from exc


@bp.route("/units/me/members/approve", methods=["POST"])
@require(UNIT)
@bp.arguments(MemberDecisionSchema)
@bp.response(200, MemberSchema(many=True))
def approve_members(data):
    """Approve join requests: one, or a batch (all or nothing)."""
    with bootstrap().uow() as (s, _):
        return colleagues.decide_members(s, accounts.get_unit(s, caller_unit_id()), data["member_ids"], True)


@bp.route("/units/me/members/<member_id>", methods=["DELETE"])
@require(UNIT)
@bp.response(200, MemberSchema)
def remove_member(member_id):
    """A colleague who has left: their records stay, their sessions end at once."""
    with bootstrap().uow() as (s, emit):
        return colleagues.remove_member(s, emit, accounts.get_unit(s, caller_unit_id()), member_id)


@bp.route("/units/me/members/reject", methods=["POST"])
@require(UNIT)
@bp.arguments(MemberDecisionSchema)
@bp.response(200, MemberSchema(many=True))
def reject_members(data):
    with bootstrap().uow() as (s, _):
        return colleagues.decide_members(s, accounts.get_unit(s, caller_unit_id()), data["member_ids"], False)


# --- returning units and reuse ------------------------------------------------------------
@bp.route("/admin/previous-editions/import", methods=["POST"])
@require(*ADMINS)
@bp.arguments(PreviousEditionImportSchema)
@bp.response(200, ImportResultSchema)
def import_previous_edition(data):
    """Load a previous edition's units and personnel, for returning units and reuse."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return returning.import_previous_edition(s, deps.cipher, data["edition"], data["units"])


@bp.route("/admin/previous-editions/invitations", methods=["POST"])
@require(*ADMINS)
@bp.arguments(InvitationsSchema)
@bp.response(200, InvitedSchema)
def send_invitations(data):
    """One-click registration: email every previous unit not yet registered a link that
    opens a prefilled sign-up form."""
    return returning.send_invitations(bootstrap(), data["edition"])


@bp.route("/invitations/<token>", methods=["GET"])
@bp.response(200, PreviousUnitPreviewSchema)
def invitation_preview(token):
    """What the invitation link prefills (contact details masked)."""
    with bootstrap().uow() as (s, _):
        return returning.previous_unit_by_invitation(s, token)


@bp.route("/returning/email-codes", methods=["POST"])
@bp.arguments(EmailCodeRequestSchema)
@bp.response(202, SmsCodeSentSchema)
def returning_email_code(data):
    """Email a code to the previous edition's contact address (purpose `returning_email`)."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        prev = returning.latest_previous_unit(s, data["uscc"].strip().upper())
        if prev is None:
            raise NotFound("previous account", "uscc")
        email, name = prev.contact_email, prev.name
    verification.send_code(
        deps, email.lower(), "returning_email", client_ip(),
        lambda code: deps.emails.send(email, "email_code", "zh", {"unit_name": name, "code": code}, redact=("code",)),
        Unavailable("email_unavailable", "the email service is unavailable; try again shortly"),
        per_client_per_hour=verification.SMS_MAX_PER_CLIENT_PER_HOUR)
    return code_sent()


@bp.route("/returning/verify", methods=["POST"])
@bp.arguments(ReturningVerifySchema)
@bp.response(200, ReturningVerifiedSchema)
def returning_verify(data):
    """往届验证: previous account + password, phone code or email code. The token it answers
    lets sign-up carry over last edition's unit info and personnel."""
    deps = bootstrap()
    prev = guarded_login(deps.uow, LoginFailure, f"returning:{data['uscc'].strip().upper()}", client_ip(),
                         lambda s: returning.previous_account(s, data["uscc"], data["method"], data["password"],
                                                              data["phone"]))
    if data["method"] == "sms":
        verification.verify_code(deps, data["phone"], "returning", data["sms_code"])
    elif data["method"] == "email":
        verification.verify_code(deps, prev.contact_email.lower(), "returning_email", data["email_code"])
    token = issue_token(prev.id, RETURNING, "registration", ttl=dt.timedelta(minutes=30))
    return {"returning_token": token, "previous": prev}


@bp.route("/units/me/previous-personnel", methods=["GET"])
@require(UNIT)
@bp.response(200, PreviousPersonSchema(many=True))
def list_previous_personnel():
    """Last edition's personnel of a returning unit, with whether each may reuse a credential."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return returning.previous_personnel_with_reuse(s, accounts.get_unit(s, caller_unit_id()), deps.edition)


@bp.route("/units/me/previous-personnel/<previous_person_id>/carry-over", methods=["POST"])
@require(UNIT)
@bp.arguments(CarryOverSchema)
@bp.response(201, PersonSchema)
def carry_over_person(data, previous_person_id):
    """重新申办: a saved record prefilled from last edition (upload a current photo)."""
    deps = bootstrap()
    registration_open()
    with deps.uow() as (s, _):
        unit = accounts.get_unit(s, caller_unit_id())
        prev = returning.get_previous_person(s, unit, previous_person_id)
        return returning.carry_over_person(s, unit, prev, data, deps.fair_days, deps.cipher)


@bp.route("/units/me/previous-personnel/<previous_person_id>/reuse", methods=["POST"])
@require(UNIT)
@bp.arguments(ReuseSchema)
@bp.response(201, PersonSchema)
def request_reuse(data, previous_person_id):
    """证件复用: keep last edition's credential if its card face is unchanged; the record
    waits for the delegation to lock it (待锁定)."""
    deps = bootstrap()
    registration_open()
    with deps.uow() as (s, emit):
        unit = accounts.get_unit(s, caller_unit_id())
        prev = returning.get_previous_person(s, unit, previous_person_id)
        return returning.request_reuse(s, unit, prev, data, deps.fair_days, deps.cipher, deps.edition, emit)


# --- referrals and points ---------------------------------------------------------------
@bp.route("/units/me/referral", methods=["GET"])
@require(UNIT)
@bp.response(200, ReferralSchema)
def my_referral():
    """The unit's referral link: approved invited units earn its approved people points."""
    deps = bootstrap()
    with deps.uow() as (s, _):
        return referrals.referral(s, accounts.get_unit(s, caller_unit_id()), deps.settings.public_base_url)


@bp.route("/units/me/points", methods=["GET"])
@require(UNIT)
@bp.response(200, PointsSchema)
def my_points():
    with bootstrap().uow() as (s, _):
        return referrals.points(s, caller_unit_id())
