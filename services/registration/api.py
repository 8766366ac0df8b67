"""Registration HTTP API: translates requests into domain calls."""
from __future__ import annotations

import datetime as dt

from flask import Response, g, request
from flask_smorest import Blueprint
from sqlalchemy import func, select

from shared.auth import issue_token, require, verify_token
from shared.db import utcnow
from shared.errors import ApiError, NotFound
from shared.http import current_runtime

from . import domain
from .models import Person, PersonPhoto, SmsCode, UnitDocument
from .schemas import (
    AddPersonSchema, AddressInSchema, AddressSchema, CarryOverSchema, CatalogueSchema, DelegationSchema,
    DocumentSchema, EmailCodeRequestSchema, ImportResultSchema, InvitationsSchema, InvitedSchema, JoinSchema,
    LoginSchema, MemberDecisionSchema, MemberLoginSchema, MemberQuerySchema, MemberSchema, PasswordResetSchema,
    PersonnelPageSchema, PersonnelQuerySchema, PersonSchema, PersonUpdateSchema, PointsSchema,
    PreviousEditionImportSchema, PreviousPersonSchema, PreviousUnitPreviewSchema, ProgressSchema, ReferralSchema,
    ReturningVerifiedSchema, ReturningVerifySchema, ReuseSchema, SignedUpSchema, SignUpSchema,
    SmsCodeRequestSchema, SmsCodeSentSchema, SmsLoginSchema, SubmitUnitSchema, TokenSchema, UnitInfoSchema,
    UnitSchema,
)

bp = Blueprint("registration", __name__, description="Units, accounts and personnel")
UNIT = "unit_contact"
MEMBER = "unit_member"  # a colleague: fills in their own personnel record only


def _days():
    return domain.fair_days(current_runtime().settings.get("FAIR_DAYS"))


def _cipher():
    return current_runtime().extras["cipher"]


def registration_open() -> None:
    domain.check_registration_open(domain.deadlines(current_runtime().settings).get("submission"))


def _upload(field: str) -> bytes:
    """The uploaded file (multipart field `field`), read with a hard size cap."""
    upload = request.files.get(field)
    if upload is None:
        raise ApiError(f"{field}_required", f"send the file as multipart field '{field}'", field)
    return upload.stream.read(4 * 1024 * 1024 + 1)


def client_ip() -> str | None:
    """The caller's address as our gateway saw it: the last X-Forwarded-For hop (earlier
    hops come from the client and prove nothing), else the socket's peer."""
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    ip = forwarded[-1] if forwarded else request.remote_addr
    return ip[:64] if ip else None


def verify_code(phone: str, purpose: str, code: str | None) -> None:
    """Check an SMS code in its own transaction, so that wrong tries count even though the
    request then fails."""
    with current_runtime().db.transaction() as s:
        error = domain.check_sms_code(s, _cipher(), phone, purpose, code)
    if error is not None:
        raise error


@bp.route("/sms-codes", methods=["POST"])
@bp.arguments(SmsCodeRequestSchema)
@bp.response(202, SmsCodeSentSchema)
def request_sms_code(data):
    """Sends a 6-digit code to the phone (valid 5 minutes; one a minute, ten a day)."""
    rt = current_runtime()
    with rt.db.transaction() as s:
        row, code = domain.issue_sms_code(
            s, _cipher(), data["phone"], data["purpose"], client_ip(),
            per_client_per_hour=int(rt.settings.get("SMS_MAX_PER_CLIENT_PER_HOUR", str(domain.SMS_MAX_PER_CLIENT_PER_HOUR))))
        row_id = row.id
    try:
        rt.extras["sms_codes"].send(data["phone"], code, data["purpose"], request.accept_languages.best_match(["zh", "en"]) or "zh")
    except Exception as exc:
        with rt.db.transaction() as s:  # never leave a code that nobody received
            s.get(SmsCode, row_id).used_at = utcnow()
        raise ApiError("sms_unavailable", "the SMS service is unavailable; try again shortly", None, status=503) from exc
    return {"expires_in": int(domain.SMS_CODE_TTL.total_seconds()),
            "resend_after": int(domain.SMS_RESEND_AFTER.total_seconds())}


@bp.route("/units", methods=["POST"])
@bp.arguments(SignUpSchema)
@bp.response(201, SignedUpSchema)
def sign_up(data):
    """Sign-up needs the phone's SMS code (purpose `signup`)."""
    rt = current_runtime()
    registration_open()
    domain.check_sign_up(data)
    returning, invitation = data.pop("returning_token"), data.pop("invitation_token")
    previous_unit_id = _returning_unit_id(returning) if returning else None
    verify_code(data["phone"], "signup", data.pop("sms_code"))
    unit_id = domain.new_id()
    host_code = data.pop("host_invitation_code")
    if host_code:  # single use: review lets exactly one enterprise claim it
        claim = rt.extras["invitation_codes"].claim(host_code.strip().upper(), unit_id, data["name"])
        if not claim["ok"]:
            raise ApiError(claim["code"], claim["message"], "host_invitation_code", status=claim["status"])
        data["delegation_id"] = claim["delegation_id"]
    with rt.outbox.transaction() as s:
        unit = domain.sign_up(s, rt.outbox.emitter(s), data, rt.settings.edition, unit_id=unit_id)
        if invitation:
            previous_unit_id = domain.previous_unit_by_invitation(s, invitation).id
        if previous_unit_id:  # 往届: last edition's unit info comes along
            domain.carry_over_into(unit, s.get(domain.PreviousUnit, previous_unit_id))
        return {"unit_id": unit.id, "unit_code": unit.unit_code, "status": unit.status}


RETURNING = "returning"  # a short-lived token proving control of a previous-edition account


def _returning_unit_id(token: str) -> str:
    principal = verify_token(token)
    if principal.role != RETURNING:
        raise ApiError("invalid_returning_token", "verify the previous account again", "returning_token")
    return principal.subject


def _unit_token(unit) -> dict:
    return {"token": issue_token(unit.id, UNIT, "registration", unit_id=unit.id, delegation_id=unit.delegation_id),
            "unit_id": unit.id}


@bp.route("/auth/login/sms", methods=["POST"])
@bp.arguments(SmsLoginSchema)
@bp.response(200, TokenSchema)
def login_by_sms(data):
    """Log in with the unit's verified phone and an SMS code (purpose `login`)."""
    rt = current_runtime()
    verify_code(data["phone"], "login", data["sms_code"])
    with rt.db.transaction() as s:
        units = domain.units_by_phone(s, rt.settings.edition, data["phone"])
        if data.get("uscc"):
            units = [u for u in units if u.uscc == data["uscc"].strip().upper()]
        if not units:
            raise domain.Unauthorized("no unit uses this phone")
        if len(units) > 1:
            raise domain.Conflict("several_units", "several units use this phone; give the USCC too", "uscc")
        return _unit_token(units[0])


@bp.route("/auth/password-reset", methods=["POST"])
@bp.arguments(PasswordResetSchema)
@bp.response(204)
def password_reset(data):
    """Reset the password with an SMS code sent to the unit's verified phone."""
    rt = current_runtime()
    domain.check_password_policy(data["new_password"])
    verify_code(data["phone"], "reset_password", data["sms_code"])
    with rt.db.transaction() as s:
        unit = s.scalar(select(domain.Unit).where(domain.Unit.edition == rt.settings.edition,
                                                  domain.Unit.uscc == data["uscc"]).with_for_update())
        if unit is None:
            raise NotFound("unit", "uscc")
        domain.reset_password(unit, data["phone"], data["new_password"])


@bp.route("/auth/login", methods=["POST"])
@bp.arguments(LoginSchema)
@bp.response(200, TokenSchema)
def login(data):
    rt = current_runtime()
    with rt.db.transaction() as s:
        unit = domain.authenticate(s, data["uscc"], data["password"], rt.settings.edition)
    return _unit_token(unit)


@bp.route("/units/me", methods=["GET"])
@require(UNIT)
@bp.response(200, UnitSchema)
def my_unit():
    with current_runtime().db.transaction() as s:
        return domain.get_unit(s, g.principal.unit_id)


@bp.route("/units/me/info", methods=["PATCH", "PUT"])
@require(UNIT)
@bp.arguments(UnitInfoSchema)
@bp.response(200, UnitSchema)
def save_info(changes):
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.save_unit_info(unit, UnitInfoSchema().dump(changes))


def _member_id() -> str | None:
    return g.principal.subject if g.principal.role == MEMBER else None


def _own_person(s, person_id: str, lock: bool = False):
    """The person, if the caller may see it: the unit contact sees all of the unit's
    records, a member only the ones they created."""
    unit = domain.get_unit(s, g.principal.unit_id)
    person = domain.get_person(s, unit, person_id, lock=lock)
    if _member_id() and person.created_by_member_id != _member_id():
        raise NotFound("person", "person_id")
    return unit, person


@bp.route("/units/me/personnel", methods=["POST"])
@require(UNIT, MEMBER)
@bp.arguments(AddPersonSchema)
@bp.response(201, PersonSchema)
def add_person(data):
    """Save a person (the unit contact may also submit at once; a member's records are
    submitted by the unit contact)."""
    rt = current_runtime()
    registration_open()
    submit = data.pop("submit")
    if submit and _member_id():
        raise domain.Forbidden("the unit contact submits personnel")
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        person = domain.add_person(s, unit, data, _days(), _cipher(), member_id=_member_id())
        if submit:
            domain.submit_person(person, rt.outbox.emitter(s))
        return person


@bp.route("/units/me/personnel", methods=["GET"])
@require(UNIT, MEMBER)
@bp.arguments(PersonnelQuerySchema, location="query")
@bp.response(200, PersonnelPageSchema)
def list_personnel(filters):
    """Filters: name, id_number (exact), region_type, entry_date, reuse, status; paginated.
    ID numbers are always masked. A member sees only their own records."""
    with current_runtime().db.transaction() as s:
        return domain.personnel_page(s, g.principal.unit_id, {**filters, "member_id": _member_id()}, _cipher())


@bp.route("/units/me/personnel/<person_id>", methods=["GET"])
@require(UNIT, MEMBER)
@bp.response(200, PersonSchema)
def get_person(person_id):
    with current_runtime().db.transaction() as s:
        return _own_person(s, person_id)[1]


@bp.route("/units/me/personnel/<person_id>", methods=["PATCH"])
@require(UNIT, MEMBER)
@bp.arguments(PersonUpdateSchema(partial=True))
@bp.response(200, PersonSchema)
def update_person(changes, person_id):
    with current_runtime().db.transaction() as s:
        unit, person = _own_person(s, person_id, lock=True)
        return domain.update_person(s, unit, person, changes, _days(), _cipher())


@bp.route("/units/me/personnel/<person_id>", methods=["DELETE"])
@require(UNIT)
@bp.response(204)
def delete_person(person_id):
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        domain.delete_saved_person(s, domain.get_person(s, unit, person_id, lock=True))


@bp.route("/units/me/personnel/<person_id>/cancel", methods=["POST"])
@require(UNIT)
@bp.response(200, PersonSchema)
def cancel_person(person_id):
    """注销: the person will not attend; a paid fee becomes refundable."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.cancel_person(domain.get_person(s, unit, person_id, lock=True), rt.outbox.emitter(s))


@bp.route("/units/me/personnel/<person_id>/photo", methods=["PUT"])
@require(UNIT, MEMBER)
@bp.response(200, PersonSchema)
def upload_photo(person_id):
    """Multipart field `photo`: JPG, 3:4, under 1 MB, at least 480x640 (decoded to check)."""
    content = _upload("photo")
    with current_runtime().db.transaction() as s:
        return domain.set_photo(s, _own_person(s, person_id, lock=True)[1], content)


@bp.route("/units/me/personnel/<person_id>/photo", methods=["GET"])
@require(UNIT, MEMBER)
def download_photo(person_id):
    with current_runtime().db.transaction() as s:
        _own_person(s, person_id)
        photo = s.get(PersonPhoto, person_id)
        if photo is None:
            raise NotFound("photo", "photo")
        return Response(photo.content, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


@bp.route("/units/me/document", methods=["PUT"])
@require(UNIT)
@bp.response(200, DocumentSchema)
def upload_document():
    """The qualification document for the unit's category (PNG/JPG/JPEG, at most 2 MB)."""
    content = _upload("document")
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        if unit.status not in ("draft", "returned"):
            raise domain.Conflict("unit_locked", f"the unit is {unit.status}")
        content_type = domain.check_document(unit.category, content)
        doc = s.get(UnitDocument, unit.id) or UnitDocument(unit_id=unit.id)
        doc.kind, doc.content_type, doc.content = domain.DOCUMENT_KINDS[unit.category], content_type, content
        doc.size, doc.uploaded_at = len(content), utcnow()
        s.add(doc)
        return doc


@bp.route("/units/me/document", methods=["GET"])
@require(UNIT)
@bp.response(200, DocumentSchema)
def get_document():
    """What was uploaded (kind, type, size, time), for the portal to show; 404 when nothing."""
    with current_runtime().db.transaction() as s:
        doc = s.get(UnitDocument, g.principal.unit_id)
        if doc is None:
            raise NotFound("document", "document")
        return doc


@bp.route("/units/me/document/image", methods=["GET"])
@require(UNIT)
def download_document():
    """The uploaded qualification document itself (for its preview in the portal)."""
    with current_runtime().db.transaction() as s:
        doc = s.get(UnitDocument, g.principal.unit_id)
        if doc is None:
            raise NotFound("document", "document")
        return Response(doc.content, mimetype=doc.content_type, headers={"Cache-Control": "private, no-store"})


@bp.route("/units/me/addresses", methods=["GET"])
@require(UNIT)
@bp.response(200, AddressSchema(many=True))
def list_addresses():
    with current_runtime().db.transaction() as s:
        return domain.addresses(s, g.principal.unit_id)


@bp.route("/units/me/addresses", methods=["POST"])
@require(UNIT)
@bp.arguments(AddressInSchema)
@bp.response(201, AddressSchema)
def add_address(data):
    with current_runtime().db.transaction() as s:
        return domain.add_address(s, domain.get_unit(s, g.principal.unit_id, lock=True), data)


@bp.route("/units/me/addresses/<address_id>", methods=["PATCH"])
@require(UNIT)
@bp.arguments(AddressInSchema(partial=True))
@bp.response(200, AddressSchema)
def update_address(changes, address_id):
    with current_runtime().db.transaction() as s:
        return domain.update_address(s, domain.get_unit(s, g.principal.unit_id, lock=True), address_id, changes)


@bp.route("/units/me/addresses/<address_id>", methods=["DELETE"])
@require(UNIT)
@bp.response(204)
def delete_address(address_id):
    with current_runtime().db.transaction() as s:
        domain.delete_address(s, domain.get_unit(s, g.principal.unit_id, lock=True), address_id)


@bp.route("/members/join", methods=["POST"])
@bp.arguments(JoinSchema)
@bp.response(201, MemberSchema)
def join(data):
    """A colleague asks to join a unit with its unit code (verified phone, purpose `join`)."""
    rt = current_runtime()
    domain.check_password_policy(data["password"])
    verify_code(data["phone"], "join", data.pop("sms_code"))
    with rt.db.transaction() as s:
        return domain.join_unit(s, _cipher(), rt.settings.edition, data)


@bp.route("/auth/member-login", methods=["POST"])
@bp.arguments(MemberLoginSchema)
@bp.response(200, TokenSchema)
def member_login(data):
    rt = current_runtime()
    with rt.db.transaction() as s:
        member = domain.authenticate_member(s, _cipher(), rt.settings.edition, data["unit_code"].strip().upper(),
                                            data["phone"], data["password"])
        unit = s.get(domain.Unit, member.unit_id)
    token = issue_token(member.id, MEMBER, "registration", unit_id=unit.id, delegation_id=unit.delegation_id)
    return {"token": token, "unit_id": unit.id}


@bp.route("/units/me/members", methods=["GET"])
@require(UNIT)
@bp.arguments(MemberQuerySchema, location="query")
@bp.response(200, MemberSchema(many=True))
def list_members(args):
    with current_runtime().db.transaction() as s:
        return domain.members(s, g.principal.unit_id, args["status"])


@bp.route("/units/me/members/approve", methods=["POST"])
@require(UNIT)
@bp.arguments(MemberDecisionSchema)
@bp.response(200, MemberSchema(many=True))
def approve_members(data):
    """Approve join requests: one, or a batch (all or nothing)."""
    with current_runtime().db.transaction() as s:
        return domain.decide_members(s, domain.get_unit(s, g.principal.unit_id), data["member_ids"], True)


@bp.route("/units/me/members/reject", methods=["POST"])
@require(UNIT)
@bp.arguments(MemberDecisionSchema)
@bp.response(200, MemberSchema(many=True))
def reject_members(data):
    with current_runtime().db.transaction() as s:
        return domain.decide_members(s, domain.get_unit(s, g.principal.unit_id), data["member_ids"], False)


ADMINS = ("organising_committee", "operations")


@bp.route("/admin/previous-editions/import", methods=["POST"])
@require(*ADMINS)
@bp.arguments(PreviousEditionImportSchema)
@bp.response(200, ImportResultSchema)
def import_previous_edition(data):
    """Load a previous edition's units and personnel, for returning units and reuse."""
    with current_runtime().db.transaction() as s:
        return domain.import_previous_edition(s, _cipher(), data["edition"], data["units"])


@bp.route("/admin/previous-editions/invitations", methods=["POST"])
@require(*ADMINS)
@bp.arguments(InvitationsSchema)
@bp.response(200, InvitedSchema)
def send_invitations(data):
    """One-click registration: email every previous unit not yet registered a link that
    opens a prefilled sign-up form."""
    rt = current_runtime()
    with rt.db.transaction() as s:
        invited = [(p.id, p.contact_email, p.name, p.invitation_token)
                   for p in domain.invite_previous_units(s, data["edition"], rt.settings.edition)]
    failed = 0
    for prev_id, email, name, token in invited:
        try:
            rt.extras["emails"].send(email, "registration_invitation", "zh", {
                "unit_name": name, "link": f"{rt.settings.public_base_url}/register?invitation={token}"})
        except Exception:
            failed += 1
            with rt.db.transaction() as s:  # not sent: it will be offered again next time
                prev = s.get(domain.PreviousUnit, prev_id)
                prev.invitation_token, prev.invited_at = None, None
    return {"invited": len(invited) - failed, "failed": failed}


@bp.route("/invitations/<token>", methods=["GET"])
@bp.response(200, PreviousUnitPreviewSchema)
def invitation_preview(token):
    """What the invitation link prefills (contact details masked)."""
    with current_runtime().db.transaction() as s:
        return domain.previous_unit_by_invitation(s, token)


@bp.route("/returning/email-codes", methods=["POST"])
@bp.arguments(EmailCodeRequestSchema)
@bp.response(202, SmsCodeSentSchema)
def returning_email_code(data):
    """Email a code to the previous edition's contact address (purpose `returning_email`)."""
    rt = current_runtime()
    with rt.db.transaction() as s:
        prev = domain.latest_previous_unit(s, data["uscc"].strip().upper())
        if prev is None:
            raise NotFound("previous account", "uscc")
        email, name = prev.contact_email, prev.name
        row, code = domain.issue_sms_code(s, _cipher(), email.lower(), "returning_email", client_ip())
        row_id = row.id
    try:
        rt.extras["emails"].send(email, "email_code", "zh", {"unit_name": name, "code": code}, redact=("code",))
    except Exception as exc:
        with rt.db.transaction() as s:
            s.get(SmsCode, row_id).used_at = utcnow()
        raise ApiError("email_unavailable", "the email service is unavailable; try again shortly", None,
                       status=503) from exc
    return {"expires_in": int(domain.SMS_CODE_TTL.total_seconds()),
            "resend_after": int(domain.SMS_RESEND_AFTER.total_seconds())}


@bp.route("/returning/verify", methods=["POST"])
@bp.arguments(ReturningVerifySchema)
@bp.response(200, ReturningVerifiedSchema)
def returning_verify(data):
    """往届验证: previous account + password, phone code or email code. The token it answers
    lets sign-up carry over last edition's unit info and personnel."""
    rt = current_runtime()
    uscc = data["uscc"]
    with rt.db.transaction() as s:
        if data["method"] == "password":
            prev = domain.verify_returning_by_password(s, uscc, data["password"] or "")
        elif data["method"] == "sms":
            if not data["phone"]:
                raise ApiError("phone_required", "give the previous contact phone", "phone")
            prev = domain.previous_unit_for_contact(s, uscc, phone=data["phone"])
        else:
            prev = domain.previous_unit_for_contact(s, uscc)
    if data["method"] == "sms":
        verify_code(data["phone"], "returning", data["sms_code"])
    elif data["method"] == "email":
        verify_code(prev.contact_email.lower(), "returning_email", data["email_code"])
    token = issue_token(prev.id, RETURNING, "registration", ttl=dt.timedelta(minutes=30))
    return {"returning_token": token, "previous": prev}


@bp.route("/units/me/previous-personnel", methods=["GET"])
@require(UNIT)
@bp.response(200, PreviousPersonSchema(many=True))
def list_previous_personnel():
    """Last edition's personnel of a returning unit, with whether each may reuse a credential."""
    rt = current_runtime()
    with rt.db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        rows = []
        for prev in domain.previous_personnel(s, unit):
            refusal = domain.reuse_refusal(unit, prev, rt.settings.edition, prev.label,
                                           sorted((prev.card_face or {}).get("entry_days", [])))
            prev.reusable, prev.reuse_refusal = refusal is None, refusal  # shown, not stored
            rows.append(prev)
        return rows


@bp.route("/units/me/previous-personnel/<previous_person_id>/carry-over", methods=["POST"])
@require(UNIT)
@bp.arguments(CarryOverSchema)
@bp.response(201, PersonSchema)
def carry_over_person(data, previous_person_id):
    """重新申办: a saved record prefilled from last edition (upload a current photo)."""
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        prev = domain.get_previous_person(s, unit, previous_person_id)
        return domain.carry_over_person(s, unit, prev, data, _days(), _cipher())


@bp.route("/units/me/previous-personnel/<previous_person_id>/reuse", methods=["POST"])
@require(UNIT)
@bp.arguments(ReuseSchema)
@bp.response(201, PersonSchema)
def request_reuse(data, previous_person_id):
    """证件复用: keep last edition's credential if its card face is unchanged; the record
    waits for the delegation to lock it (待锁定)."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        prev = domain.get_previous_person(s, unit, previous_person_id)
        return domain.request_reuse(s, unit, prev, data, _days(), _cipher(), rt.settings.edition,
                                    rt.outbox.emitter(s))


@bp.route("/delegations", methods=["GET"])
@bp.response(200, DelegationSchema(many=True))
def list_delegations():
    """The (sub-)delegations a unit may join, as review publishes them."""
    with current_runtime().db.transaction() as s:
        return domain.delegations(s)


@bp.route("/units/me/referral", methods=["GET"])
@require(UNIT)
@bp.response(200, ReferralSchema)
def my_referral():
    """The unit's referral link: approved invited units earn its approved people points."""
    rt = current_runtime()
    with rt.db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        invited = s.scalar(select(func.count()).select_from(domain.Unit).where(
            domain.Unit.referred_by_unit_id == unit.id))
        return {"code": unit.referral_code, "link": f"{rt.settings.public_base_url}/register?ref={unit.referral_code}",
                "invited_units": invited}


@bp.route("/units/me/points", methods=["GET"])
@require(UNIT)
@bp.response(200, PointsSchema)
def my_points():
    with current_runtime().db.transaction() as s:
        return domain.points(s, g.principal.unit_id)


@bp.route("/catalogue/procurement", methods=["GET"])
@bp.response(200, CatalogueSchema)
def procurement_catalogue():
    """Exhibition areas and the categories within each, for procurement intentions."""
    return {"areas": [{"area": a, "categories": c} for a, c in domain.PROCUREMENT_CATALOGUE.items()]}


@bp.route("/units/me/personnel/<person_id>/submit", methods=["POST"])
@require(UNIT)
@bp.response(200, PersonSchema)
def submit_person(person_id):
    rt = current_runtime()
    registration_open()
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.submit_person(domain.get_person(s, unit, person_id), rt.outbox.emitter(s))


@bp.route("/units/me/submit", methods=["POST"])
@require(UNIT)
@bp.arguments(SubmitUnitSchema)
@bp.response(200, UnitSchema)
def submit_unit(data):
    rt = current_runtime()
    registration_open()
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.submit_unit(s, unit, rt.outbox.emitter(s), data["person_ids"])


@bp.route("/units/me/progress", methods=["GET"])
@require(UNIT)
@bp.response(200, ProgressSchema)
def my_progress():
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        people = list(s.scalars(select(Person).where(Person.unit_id == unit.id)))
        return domain.progress(unit, people)
