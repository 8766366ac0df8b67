"""Registration rules: sign-up, login, unit info, personnel, submission, progress.

Plain functions over a SQLAlchemy session; `emit` adds an event to the same transaction.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import ApiError, Conflict, NotFound, Unauthorized
from shared.inbox import HandlerContext
from shared.outbox import Emit
from shared.crypto import FieldCipher
from shared.masking import mask_id_number, mask_phone
from shared.validators import is_valid_resident_id, is_valid_uscc

from .models import (
    DelegationView, DeliveryAddress, Member, Person, PersonPhoto, PointsEntry, PreviousPerson, PreviousUnit,
    ReminderSent, SmsCode, Unit, UnitDocument,
)

VISITOR_KINDS = ("unit", "individual")
REGIONS = ("mainland", "hk_macao_taiwan", "overseas")
DOMESTIC_CATEGORIES = ("enterprise", "government", "public_institution", "social_organisation")
OVERSEAS_CATEGORIES = ("enterprise", "government", "social_organisation", "other")
REGION_TYPES = ("mainland", "hk_macao", "taiwan", "foreign", "overseas_chinese")
ID_TYPES = {  # region type -> accepted ID document types
    "mainland": ("resident_id",),
    "hk_macao": ("hk_macao_permit",),
    "taiwan": ("taiwan_permit",),
    "foreign": ("passport",),
    "overseas_chinese": ("passport",),
}
EXHIBITION_AREAS = ("food_agriculture", "automobile", "technical_equipment", "consumer_goods",
                    "medical_healthcare", "trade_in_services", "innovation_incubation")
REQUIRED_UNIT_INFO = ("name_en", "registered_address", "industry", "contact_name", "contact_mobile",
                      "purposes")
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)

_hasher = PasswordHasher()


# --- accounts -------------------------------------------------------------------------
def check_password_policy(password: str) -> None:
    if len(password) < 8 or len(password) > 64:
        raise ApiError("weak_password", "password must be 8 to 64 characters", "password")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ApiError("weak_password", "password must contain letters and digits", "password")


def _new_unit_code(session: Session) -> str:
    while True:
        code = "T" + "".join(secrets.choice("0123456789") for _ in range(8))
        if session.scalar(select(Unit.id).where(Unit.unit_code == code)) is None:
            return code


def check_sign_up(data: dict[str, Any]) -> None:
    """The checks that need no database, answered before an SMS code is spent."""
    if not is_valid_uscc(data["uscc"]):
        raise ApiError("invalid_uscc", "USCC check character does not match (GB 32100-2015)", "uscc")
    allowed = DOMESTIC_CATEGORIES if data["region"] == "mainland" else OVERSEAS_CATEGORIES
    if data["category"] not in allowed:
        raise ApiError("invalid_category", f"category must be one of {', '.join(allowed)}", "category")
    check_password_policy(data["password"])


def choose_delegation(session: Session, region: str, delegation_id: str | None,
                      recommendation_code: str | None) -> str | None:
    """Every domestic unit joins exactly one (sub-)delegation from the list review
    publishes. Industry delegations admit units only through their recommendation code."""
    by_code = None
    if recommendation_code:
        by_code = session.scalar(select(DelegationView).where(
            DelegationView.recommendation_code == recommendation_code, DelegationView.active.is_(True)))
        if by_code is None:
            raise ApiError("unknown_recommendation_code", "no delegation has this recommendation code",
                           "recommendation_code")
    if delegation_id is None:
        if region == "mainland":
            raise ApiError("delegation_required", "choose your (sub-)delegation", "delegation_id")
        return by_code.id if by_code else None
    chosen = session.get(DelegationView, delegation_id)
    if chosen is None or not chosen.active:
        raise ApiError("unknown_delegation", "choose a delegation from the list", "delegation_id")
    if chosen.industry and (by_code is None or by_code.id != chosen.id):
        raise ApiError("recommendation_code_required", "an industry delegation is joined with its recommendation code",
                       "recommendation_code")
    return chosen.id


def _new_referral_code(session: Session) -> str:
    while True:
        code = "R" + "".join(secrets.choice("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for _ in range(7))
        if session.scalar(select(Unit.id).where(Unit.referral_code == code)) is None:
            return code


def sign_up(session: Session, emit: Emit, data: dict[str, Any], edition: str, unit_id: str | None = None) -> Unit:
    uscc = data["uscc"]
    check_sign_up(data)
    if session.scalar(select(Unit.id).where(Unit.edition == edition, Unit.uscc == uscc)):
        raise Conflict("uscc_taken", "this USCC is already registered for this edition", "uscc")
    delegation_id = choose_delegation(session, data["region"], data.get("delegation_id"),
                                      data.get("recommendation_code"))
    referrer = None
    if data.get("referral_code"):
        referrer = session.scalar(select(Unit).where(Unit.referral_code == data["referral_code"],
                                                     Unit.edition == edition))
        if referrer is None:
            raise ApiError("unknown_referral_code", "this referral link is not valid", "referral_code")
    unit = Unit(
        id=unit_id or new_id(), edition=edition, uscc=uscc, unit_code=_new_unit_code(session), phone_verified=True,
        password_hash=_hasher.hash(data["password"]), name=data["name"],
        visitor_kind=data["visitor_kind"], region=data["region"], category=data["category"],
        delegation_id=delegation_id, recommendation_code=data.get("recommendation_code"),
        referral_code=_new_referral_code(session), referred_by_unit_id=referrer.id if referrer else None,
        contact_phone=data["phone"], contact_email=data["email"], language=data.get("language", "zh"),
        info={}, status="draft", failed_logins=0, created_at=utcnow(),
    )
    session.add(unit)
    session.flush()
    emit("UnitRegistered", {"unit_id": unit.id, "edition": edition, "delegation_id": unit.delegation_id,
                            "visitor_kind": unit.visitor_kind, "region": unit.region,
                            "category": unit.category, "referrer_unit_id": unit.referred_by_unit_id})
    award_points(session, unit.id, None, REGISTRATION_POINTS, "registration", unit.id)
    return unit


def authenticate(session: Session, uscc: str, password: str, edition: str,
                 now: dt.datetime | None = None) -> Unit:
    now = now or utcnow()
    unit = session.scalar(select(Unit).where(Unit.edition == edition, Unit.uscc == uscc).with_for_update())
    if unit is None:
        _hasher.hash(password)  # same cost either way: no account enumeration by timing
        raise Unauthorized("wrong USCC or password")
    if unit.status == "deleted":
        raise Unauthorized("this unit was deleted by its delegation")
    if unit.locked_until and unit.locked_until > now:
        raise ApiError("account_locked", "too many failed logins; try again later", None, status=423)
    try:
        _hasher.verify(unit.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        unit.failed_logins += 1
        if unit.failed_logins >= MAX_FAILED_LOGINS:
            unit.locked_until, unit.failed_logins = now + LOCKOUT, 0
        raise Unauthorized("wrong USCC or password") from None
    unit.failed_logins, unit.locked_until = 0, None
    return unit


def get_unit(session: Session, unit_id: str, lock: bool = False) -> Unit:
    unit = session.get(Unit, unit_id, with_for_update=lock)
    if unit is None:
        raise NotFound("unit")
    return unit


# --- SMS verification codes -------------------------------------------------------------
SMS_PURPOSES = ("signup", "login", "reset_password", "returning", "join")
SMS_CODE_TTL = dt.timedelta(minutes=5)
SMS_RESEND_AFTER = dt.timedelta(seconds=60)
SMS_MAX_PER_PHONE_PER_DAY = 10
SMS_MAX_PER_CLIENT_PER_HOUR = 30
SMS_MAX_TRIES = 5


def _code_hash(cipher: FieldCipher, code_id: str, code: str) -> str:
    return cipher.lookup_hash(f"sms:{code_id}:{code}")


def issue_sms_code(session: Session, cipher: FieldCipher, phone: str, purpose: str, client_ip: str | None,
                   now: dt.datetime | None = None,
                   per_client_per_hour: int = SMS_MAX_PER_CLIENT_PER_HOUR) -> tuple[SmsCode, str]:
    """A new 6-digit code, unless the phone or the client asks too often."""
    now = now or utcnow()
    phone_hash = cipher.lookup_hash(phone)
    recent = list(session.scalars(select(SmsCode.created_at).where(
        SmsCode.phone_hash == phone_hash, SmsCode.created_at > now - dt.timedelta(days=1))))
    if any(created > now - SMS_RESEND_AFTER for created in recent):
        raise ApiError("sms_too_soon", "wait a minute before asking for another code", "phone", status=429)
    if len(recent) >= SMS_MAX_PER_PHONE_PER_DAY:
        raise ApiError("sms_daily_limit", "too many codes for this phone today", "phone", status=429)
    if client_ip:
        per_client = session.scalar(select(func.count()).select_from(SmsCode).where(
            SmsCode.client_ip == client_ip, SmsCode.created_at > now - dt.timedelta(hours=1)))
        if per_client >= per_client_per_hour:
            raise ApiError("sms_client_limit", "too many codes requested from this address", None, status=429)
    code = "".join(secrets.choice("0123456789") for _ in range(6))
    row = SmsCode(id=new_id(), phone_hash=phone_hash, purpose=purpose, client_ip=client_ip, attempts=0,
                  expires_at=now + SMS_CODE_TTL, created_at=now)
    row.code_hash = _code_hash(cipher, row.id, code)
    session.add(row)
    return row, code


def check_sms_code(session: Session, cipher: FieldCipher, phone: str, purpose: str, code: str | None,
                   now: dt.datetime | None = None) -> ApiError | None:
    """None when `code` is the phone's current code for `purpose` (it is then used up);
    otherwise the error to answer. Wrong tries are counted (the caller commits before it
    answers the error) and void the code after SMS_MAX_TRIES."""
    now = now or utcnow()
    row = session.scalar(select(SmsCode).where(
        SmsCode.phone_hash == cipher.lookup_hash(phone), SmsCode.purpose == purpose, SmsCode.used_at.is_(None))
        .order_by(SmsCode.created_at.desc()).limit(1).with_for_update())
    if row is None or row.expires_at <= now or row.attempts >= SMS_MAX_TRIES:
        return ApiError("sms_code_expired", "the code has expired or was used; ask for a new one", "sms_code")
    if not code or not hmac.compare_digest(row.code_hash, _code_hash(cipher, row.id, code)):
        row.attempts += 1
        if row.attempts >= SMS_MAX_TRIES:
            return ApiError("sms_code_voided", "too many wrong codes; ask for a new one", "sms_code")
        return ApiError("sms_code_wrong", "the code is not right", "sms_code")
    row.used_at = now
    return None


def units_by_phone(session: Session, edition: str, phone: str) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.edition == edition, Unit.contact_phone == phone)))


def reset_password(unit: Unit, phone: str, new_password: str) -> None:
    if unit.contact_phone != phone:
        raise ApiError("phone_mismatch", "this phone is not the unit's verified phone", "phone")
    check_password_policy(new_password)
    unit.password_hash = _hasher.hash(new_password)
    unit.failed_logins, unit.locked_until = 0, None


# --- unit info ------------------------------------------------------------------------
def save_unit_info(unit: Unit, changes: dict[str, Any]) -> Unit:
    """Drafts: any subset of fields is accepted; required ones are checked at submission."""
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_locked", f"unit info is locked while the unit is {unit.status}")
    if "procurement_intentions" in changes:
        check_procurement_intentions(changes["procurement_intentions"])
    unit.info = {**(unit.info or {}), **changes}
    return unit


def missing_unit_info(unit: Unit) -> list[str]:
    info = unit.info or {}
    return [f for f in REQUIRED_UNIT_INFO if info.get(f) in (None, "", [])]


# --- personnel ------------------------------------------------------------------------
def validate_identity(region_type: str, id_type: str, id_number: str) -> None:
    if id_type not in ID_TYPES[region_type]:
        raise ApiError("invalid_id_type", f"{region_type} personnel use {', '.join(ID_TYPES[region_type])}",
                       "id_type")
    ok = {
        "resident_id": is_valid_resident_id,
        "hk_macao_permit": lambda n: re.fullmatch(r"[HM]\d{8}(\d{2})?", n) is not None,
        "taiwan_permit": lambda n: re.fullmatch(r"\d{8}(\d{2})?", n) is not None,
        "passport": lambda n: re.fullmatch(r"[A-Z0-9]{5,20}", n) is not None,
    }[id_type](id_number)
    if not ok:
        raise ApiError("invalid_id_number", f"not a valid {id_type.replace('_', ' ')} number", "id_number")


def fair_days(settings_value: str | None) -> list[dt.date]:
    start, end = (settings_value or "2026-11-05..2026-11-10").split("..")
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def validate_entry_dates(dates: list[dt.date], days: list[dt.date]) -> None:
    if not dates:
        raise ApiError("entry_dates_required", "choose at least one entry date", "entry_dates")
    for d in dates:
        if d not in days:
            raise ApiError("entry_date_outside_fair", f"{d.isoformat()} is not a day of the fair",
                           "entry_dates")


PHOTO_MAX_BYTES = 1024 * 1024  # CIIE: JPG only, 3:4, under 1 MB, at least 480x640
PHOTO_MIN_SIZE = (480, 640)
DOCUMENT_MAX_BYTES = 2 * 1024 * 1024
DOCUMENT_KINDS = {  # qualification document per category; government bodies need none
    "enterprise": "business_licence", "social_organisation": "social_organisation_certificate",
    "public_institution": "public_institution_certificate", "other": "registration_certificate",
}


def decode_image(content: bytes, field: str) -> Any:
    """Decode for real (never trust an extension or a content type)."""
    from PIL import Image, UnidentifiedImageError
    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError("not_an_image", "the file is not a readable image", field) from None
    return image


def check_photo(content: bytes) -> tuple[int, int]:
    if not content:
        raise ApiError("photo_required", "upload a photo", "photo")
    if len(content) >= PHOTO_MAX_BYTES:
        raise ApiError("photo_too_large", "the photo must be smaller than 1 MB", "photo")
    image = decode_image(content, "photo")
    if image.format != "JPEG":
        raise ApiError("photo_not_jpg", "the photo must be a JPG file", "photo")
    width, height = image.size
    if width < PHOTO_MIN_SIZE[0] or height < PHOTO_MIN_SIZE[1]:
        raise ApiError("photo_too_small", "the photo must be at least 480x640 pixels", "photo")
    if abs(width * 4 - height * 3) > 0.01 * height * 3:
        raise ApiError("photo_wrong_aspect", "the photo must have a 3:4 width-to-height ratio", "photo")
    return width, height


def check_document(category: str, content: bytes) -> str:
    """The qualification document: PNG/JPG/JPEG up to 2 MB; returns its content type."""
    if category == "government":
        raise ApiError("document_not_needed", "government bodies need no qualification document", "document")
    if not content:
        raise ApiError("document_required", "upload the qualification document", "document")
    if len(content) > DOCUMENT_MAX_BYTES:
        raise ApiError("document_too_large", "the document must be at most 2 MB", "document")
    image = decode_image(content, "document")
    if image.format not in ("PNG", "JPEG"):
        raise ApiError("document_wrong_type", "the document must be a PNG or JPG image", "document")
    return "image/png" if image.format == "PNG" else "image/jpeg"


def needs_document(unit: Unit) -> bool:
    return unit.category != "government"


def _identity_columns(cipher: FieldCipher, id_number: str) -> dict[str, str]:
    return {"id_number_enc": cipher.encrypt(id_number), "id_number_hash": cipher.lookup_hash(id_number),
            "id_number_masked": mask_id_number(id_number) or ""}


def _ensure_not_registered(session: Session, unit: Unit, id_hash: str, except_id: str | None = None) -> None:
    """One person, one registration per edition: across every unit of the edition."""
    query = (select(Person.unit_id).join(Unit, Unit.id == Person.unit_id)
             .where(Unit.edition == unit.edition, Person.id_number_hash == id_hash, Person.status != "cancelled"))
    if except_id:
        query = query.where(Person.id != except_id)
    owner = session.scalar(query)
    if owner == unit.id:
        raise Conflict("person_exists", "this person is already registered for the unit", "id_number")
    if owner is not None:
        raise Conflict("person_registered_elsewhere", "this person is already registered by another unit",
                       "id_number")


def add_person(session: Session, unit: Unit, data: dict[str, Any], days: list[dt.date],
               cipher: FieldCipher, member_id: str | None = None) -> Person:
    if unit.status == "rejected":
        raise Conflict("unit_rejected", "a rejected unit cannot add personnel")
    data = dict(data)
    id_number = data.pop("id_number")
    validate_identity(data["region_type"], data["id_type"], id_number)
    validate_entry_dates(data["entry_dates"], days)
    columns = _identity_columns(cipher, id_number)
    _ensure_not_registered(session, unit, columns["id_number_hash"])
    person = Person(id=new_id(), unit_id=unit.id, status="saved", created_at=utcnow(), has_photo=False,
                    created_by_member_id=member_id, **columns,
                    **{**data, "entry_dates": [d.isoformat() for d in data["entry_dates"]]})
    session.add(person)
    session.flush()
    return person


def update_person(session: Session, unit: Unit, person: Person, changes: dict[str, Any], days: list[dt.date],
                  cipher: FieldCipher) -> Person:
    """Saved records stay editable; submitted ones are locked. Entry dates may still
    change until the person is in an order (billing refuses them after that)."""
    if person.status != "saved":
        if set(changes) == {"entry_dates"} and person.status in ("submitted", "awaiting_confirmation",
                                                                  "awaiting_payment") and not person.order_no:
            validate_entry_dates(changes["entry_dates"], days)
            person.entry_dates = [d.isoformat() for d in changes["entry_dates"]]
            person.updated_at = utcnow()
            return person
        raise Conflict("person_locked", f"a {person.status} record cannot be edited")
    changes = dict(changes)
    region_type = changes.get("region_type", person.region_type)
    id_type = changes.get("id_type", person.id_type)
    if "id_number" in changes or "region_type" in changes or "id_type" in changes:
        id_number = changes.pop("id_number", None) or cipher.decrypt(person.id_number_enc)
        validate_identity(region_type, id_type, id_number)
        columns = _identity_columns(cipher, id_number)
        _ensure_not_registered(session, unit, columns["id_number_hash"], except_id=person.id)
        for key, value in columns.items():
            setattr(person, key, value)
    if "entry_dates" in changes:
        validate_entry_dates(changes["entry_dates"], days)
        changes["entry_dates"] = [d.isoformat() for d in changes["entry_dates"]]
    for key, value in changes.items():
        setattr(person, key, value)
    person.updated_at = utcnow()
    return person


def set_photo(session: Session, person: Person, content: bytes) -> Person:
    if person.status != "saved":
        raise Conflict("person_locked", "the photo of a submitted record cannot change")
    width, height = check_photo(content)
    photo = session.get(PersonPhoto, person.id) or PersonPhoto(person_id=person.id)
    photo.content, photo.width, photo.height = content, width, height
    photo.sha256, photo.uploaded_at = hashlib.sha256(content).hexdigest(), utcnow()
    session.add(photo)
    person.has_photo = True
    return person


def get_person(session: Session, unit: Unit, person_id: str, lock: bool = False) -> Person:
    person = session.get(Person, person_id, with_for_update=lock)
    if person is None or person.unit_id != unit.id:
        raise NotFound("person", "person_id")
    return person


def delete_saved_person(session: Session, person: Person) -> None:
    if person.status != "saved":
        raise Conflict("person_submitted", "a submitted record cannot be deleted; cancel it instead")
    photo = session.get(PersonPhoto, person.id)
    if photo is not None:
        session.delete(photo)
    session.delete(person)


def cancel_person(person: Person, emit: Emit) -> Person:
    """注销: any state before dispatch; a paid fee becomes refundable in billing."""
    if person.status == "cancelled":
        raise Conflict("already_cancelled", "the person is already cancelled")
    if person.status == "saved":
        raise Conflict("person_not_submitted", "a saved record is deleted, not cancelled")
    if person.status in ("dispatched", "delivered"):
        raise Conflict("credential_dispatched", "the credential is already dispatched")
    person.status, person.cancelled_at = "cancelled", utcnow()
    emit("PersonnelCancelled", {"person_id": person.id, "unit_id": person.unit_id})
    return person


def submit_person(person: Person, emit: Emit) -> Person:
    if person.status != "saved":
        raise Conflict("person_not_saved", f"only saved records can be submitted (this one is {person.status})")
    if not person.has_photo:
        raise ApiError("photo_required", f"upload {person.name}'s photo before submitting", "photo")
    person.status, person.submitted_at = "submitted", utcnow()
    emit("PersonnelSubmitted", {
        "person_id": person.id, "unit_id": person.unit_id, "requested_label": person.requested_label,
        "region_type": person.region_type, "entry_dates": person.entry_dates,
        "exhibition_area": person.exhibition_area, "pickup_method": person.pickup_method})
    return person


def personnel_page(session: Session, unit_id: str, filters: dict[str, Any], cipher: FieldCipher) -> dict[str, Any]:
    """The unit's personnel list with filters (name, ID number, region type, entry date,
    reuse, status) and pagination. ID numbers are searched by their keyed hash."""
    query = select(Person).where(Person.unit_id == unit_id)
    if filters.get("member_id"):
        query = query.where(Person.created_by_member_id == filters["member_id"])
    if filters.get("name"):
        query = query.where(Person.name.contains(filters["name"], autoescape=True))
    if filters.get("id_number"):
        query = query.where(Person.id_number_hash == cipher.lookup_hash(filters["id_number"].strip().upper()))
    if filters.get("region_type"):
        query = query.where(Person.region_type == filters["region_type"])
    if filters.get("status"):
        query = query.where(Person.status == filters["status"])
    if filters.get("reuse") is not None:
        query = query.where(Person.reuse_credential_no.is_not(None) if filters["reuse"]
                            else Person.reuse_credential_no.is_(None))
    if filters.get("entry_date"):
        query = query.where(cast(Person.entry_dates, String).contains(filters["entry_date"].isoformat()))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 20)
    items = session.scalars(query.order_by(Person.created_at, Person.id).offset((page - 1) * per_page)
                            .limit(per_page)).all()
    return {"items": list(items), "total": total, "page": page, "per_page": per_page}


# --- delivery addresses (at most 5, exactly one default) ----------------------------------
MAX_ADDRESSES = 5


def addresses(session: Session, unit_id: str) -> list[DeliveryAddress]:
    return list(session.scalars(select(DeliveryAddress).where(DeliveryAddress.unit_id == unit_id)
                                .order_by(DeliveryAddress.created_at, DeliveryAddress.id)))


def add_address(session: Session, unit: Unit, data: dict[str, Any]) -> DeliveryAddress:
    existing = addresses(session, unit.id)
    if len(existing) >= MAX_ADDRESSES:
        raise Conflict("too_many_addresses", f"at most {MAX_ADDRESSES} delivery addresses")
    make_default = bool(data.pop("is_default", False)) or not existing
    address = DeliveryAddress(id=new_id(), unit_id=unit.id, created_at=utcnow(), is_default=False, **data)
    session.add(address)
    if make_default:
        _set_default(existing + [address], address)
    return address


def default_address(session: Session, unit_id: str) -> dict[str, Any] | None:
    address = session.scalar(select(DeliveryAddress).where(DeliveryAddress.unit_id == unit_id,
                                                           DeliveryAddress.is_default.is_(True)))
    if address is None:
        return None
    return {"recipient": address.recipient, "phone": address.phone, "province": address.province,
            "city": address.city, "district": address.district, "detail": address.detail,
            "postcode": address.postcode}


def _set_default(all_addresses: list[DeliveryAddress], chosen: DeliveryAddress) -> None:
    for a in all_addresses:
        a.is_default = a is chosen


def update_address(session: Session, unit: Unit, address_id: str, changes: dict[str, Any]) -> DeliveryAddress:
    all_addresses = addresses(session, unit.id)
    address = next((a for a in all_addresses if a.id == address_id), None)
    if address is None:
        raise NotFound("address", "address_id")
    make_default = changes.pop("is_default", None)
    for key, value in changes.items():
        setattr(address, key, value)
    if make_default:
        _set_default(all_addresses, address)
    elif make_default is False and address.is_default:
        raise ApiError("default_required", "choose another default address instead", "is_default")
    return address


def delete_address(session: Session, unit: Unit, address_id: str) -> None:
    all_addresses = addresses(session, unit.id)
    address = next((a for a in all_addresses if a.id == address_id), None)
    if address is None:
        raise NotFound("address", "address_id")
    session.delete(address)
    rest = [a for a in all_addresses if a is not address]
    if address.is_default and rest:
        _set_default(rest, rest[0])


# --- procurement catalogue -------------------------------------------------------------
PROCUREMENT_CATALOGUE = {
    "food_agriculture": ["dairy", "meat", "seafood", "fruit_vegetables", "wine_spirits", "grain_oil", "snacks"],
    "automobile": ["vehicles", "new_energy", "parts", "smart_mobility"],
    "technical_equipment": ["industrial_automation", "integrated_circuits", "energy_equipment", "machine_tools",
                            "digital_technology"],
    "consumer_goods": ["cosmetics", "apparel", "home_goods", "jewellery", "sports_goods", "maternal_infant"],
    "medical_healthcare": ["medical_devices", "pharmaceuticals", "elderly_care", "health_products"],
    "trade_in_services": ["finance", "logistics", "consulting", "tourism", "culture_education"],
    "innovation_incubation": ["startups", "research_results"],
}


def check_procurement_intentions(intentions: list[dict[str, Any]]) -> None:
    seen = set()
    for i, entry in enumerate(intentions):
        area = entry.get("area")
        if area not in PROCUREMENT_CATALOGUE:
            raise ApiError("unknown_area", f"unknown exhibition area {area!r}", f"procurement_intentions.{i}.area")
        if area in seen:
            raise ApiError("duplicate_area", f"{area} is listed twice", f"procurement_intentions.{i}.area")
        seen.add(area)
        unknown = [c for c in entry.get("categories", []) if c not in PROCUREMENT_CATALOGUE[area]]
        if unknown or not entry.get("categories"):
            raise ApiError("unknown_category", f"choose categories of {area}: {', '.join(PROCUREMENT_CATALOGUE[area])}",
                           f"procurement_intentions.{i}.categories")


def submit_unit(session: Session, unit: Unit, emit: Emit, person_ids: list[str]) -> Unit:
    """确认提交: needs complete unit info and one person submitted now or before."""
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_not_editable", f"the unit is already {unit.status}")
    missing = missing_unit_info(unit)
    if missing:
        raise ApiError("unit_info_incomplete", f"missing unit info: {', '.join(missing)}", missing[0])
    if needs_document(unit) and session.get(UnitDocument, unit.id) is None:
        raise ApiError("document_required", f"upload the {DOCUMENT_KINDS[unit.category].replace('_', ' ')}",
                       "document")
    for pid in person_ids:
        person = get_person(session, unit, pid)
        if person.status == "saved":
            submit_person(person, emit)
    submitted = session.scalar(select(Person.id).where(Person.unit_id == unit.id,
                                                       Person.status.not_in(("saved", "cancelled"))))
    if submitted is None:
        raise ApiError("no_personnel_submitted", "submit at least one person with the unit", "person_ids")
    resubmission = unit.status == "returned"
    unit.status, unit.submitted_at, unit.review_comment = "submitted", utcnow(), None
    emit("UnitSubmitted", {"unit_id": unit.id, "edition": unit.edition, "delegation_id": unit.delegation_id,
                           "uscc": unit.uscc, "name": unit.name, "category": unit.category,
                           "region": unit.region, "resubmission": resubmission})
    return unit


# --- progress (8 steps) ---------------------------------------------------------------
CHECKED = {"check_passed", "in_production", "dispatched", "delivered"}
PRODUCED = {"in_production", "dispatched", "delivered"}
DISTRIBUTED = {"dispatched", "delivered"}
PAID_OR_FREE = {"awaiting_check", "check_passed", "check_failed"} | PRODUCED


def progress(unit: Unit, people: list[Person]) -> dict[str, Any]:
    active = [p for p in people if p.status != "cancelled"]
    submitted = [p for p in active if p.status != "saved"]

    def count(states: set[str]) -> int:
        return sum(1 for p in active if p.status in states)

    steps = [
        {"step": 1, "name": "account", "done": True},
        {"step": 2, "name": "unit_info", "done": not missing_unit_info(unit)},
        {"step": 3, "name": "personnel", "done": bool(submitted), "count": len(submitted), "total": len(active)},
        {"step": 4, "name": "delegation_review", "done": unit.status == "approved", "status": unit.status},
        {"step": 5, "name": "payment", "done": bool(active) and count(PAID_OR_FREE) == len(submitted) > 0,
         "count": count(PAID_OR_FREE), "total": len(submitted),
         "awaiting_payment": count({"awaiting_payment"})},
        {"step": 6, "name": "personnel_check", "done": bool(submitted) and count(CHECKED) == len(submitted),
         "count": count(CHECKED), "total": len(submitted), "failed": count({"check_failed"})},
        {"step": 7, "name": "production", "done": bool(submitted) and count(PRODUCED) == len(submitted),
         "count": count(PRODUCED), "total": len(submitted)},
        {"step": 8, "name": "distribution", "done": bool(submitted) and count(DISTRIBUTED) == len(submitted),
         "count": count(DISTRIBUTED), "total": len(submitted)},
    ]
    return {"unit_id": unit.id, "status": unit.status, "review_comment": unit.review_comment, "steps": steps}


# --- event handlers -------------------------------------------------------------------
# Handlers lock the rows they change: events about one person arrive on several queues
# and are handled concurrently, and a late writer must not overwrite a newer state.
def _unit_of(ctx: HandlerContext) -> Unit | None:
    return ctx.session.get(Unit, ctx.payload["unit_id"], with_for_update=True)


def _person_of(ctx: HandlerContext) -> Person | None:
    return ctx.session.get(Person, ctx.payload["person_id"], with_for_update=True)


def _people(ctx: HandlerContext) -> list[Person]:
    ids = ctx.payload["person_ids"]
    return list(ctx.session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)
                                    .with_for_update()))


PERSON_STATUS_RANK = {
    "saved": 0, "submitted": 1, "pending_lock": 2, "awaiting_confirmation": 2, "awaiting_payment": 3, "awaiting_check": 4,
    "check_passed": 5, "check_failed": 5, "in_production": 6, "dispatched": 7, "delivered": 8,
}


def advance(person: Person, status: str) -> bool:
    """Move a person forward only: events from different queues may arrive out of order,
    and a late event must not undo a later state. Cancelled is final."""
    if person.status == "cancelled" or PERSON_STATUS_RANK[status] <= PERSON_STATUS_RANK[person.status]:
        return False
    person.status = status
    return True


def on_unit_approved(ctx: HandlerContext) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        first_approval = unit.status != "approved"
        unit.status, unit.review_comment = "approved", None
        if first_approval:
            award_referral_points(ctx.session, unit)
        for person in ctx.session.scalars(select(Person).where(Person.unit_id == unit.id,
                                                               Person.status == "submitted")
                                          .order_by(Person.id).with_for_update()):
            advance(person, "awaiting_confirmation")


def on_unit_returned(ctx: HandlerContext) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.status, unit.review_comment = "returned", ctx.payload["comment"]


def on_unit_rejected(ctx: HandlerContext) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.status, unit.review_comment = "rejected", ctx.payload["reason"]


def on_personnel_confirmed(ctx: HandlerContext) -> None:
    person = _person_of(ctx)
    if person is not None:
        person.label, person.payer = ctx.payload["label"], ctx.payload["payer"]
        advance(person, "awaiting_payment" if person.payer == "unit" else "awaiting_check")


def on_reuse_locked(ctx: HandlerContext) -> None:
    person = _person_of(ctx)
    if person is not None:
        person.label, person.payer = ctx.payload["label"], ctx.payload["payer"]
        advance(person, "awaiting_payment" if person.payer == "unit" else "awaiting_check")


def on_unit_reassigned(ctx: HandlerContext) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.delegation_id = ctx.payload["to_delegation_id"]


def on_unit_edited(ctx: HandlerContext) -> None:
    unit = _unit_of(ctx)
    if unit is not None:
        unit.name = ctx.payload.get("name") or unit.name
        unit.category = ctx.payload.get("category") or unit.category


def on_unit_deleted(ctx: HandlerContext) -> None:
    """The delegation deleted the unit: its personnel go with it, for good."""
    unit = _unit_of(ctx)
    if unit is None:
        return
    for person in ctx.session.scalars(select(Person).where(Person.unit_id == unit.id).with_for_update()):
        photo = ctx.session.get(PersonPhoto, person.id)
        if photo is not None:
            ctx.session.delete(photo)
        ctx.session.delete(person)
    unit.status = "deleted"


def on_order_created(ctx: HandlerContext) -> None:
    for person in _people(ctx):
        person.order_no = ctx.payload["order_no"]


def on_order_cancelled(ctx: HandlerContext) -> None:
    for person in _people(ctx):
        if person.order_no == ctx.payload["order_no"]:
            person.order_no = None


def on_payment_confirmed(ctx: HandlerContext) -> None:
    for person in _people(ctx):
        person.order_no = ctx.payload["order_no"]
        advance(person, "awaiting_check")


def on_background_check_passed(ctx: HandlerContext) -> None:
    person = _person_of(ctx)
    if person is not None:
        advance(person, "check_passed")


def on_background_check_failed(ctx: HandlerContext) -> None:
    person = _person_of(ctx)
    if person is not None:
        advance(person, "check_failed")


def on_credential_produced(ctx: HandlerContext) -> None:
    person = _person_of(ctx)
    if person is not None:
        person.credential_no = ctx.payload["credential_no"]
        advance(person, "in_production")


def on_credential_dispatched(ctx: HandlerContext) -> None:
    person = _person_of(ctx)
    if person is not None:
        person.credential_no, person.tracking_no = ctx.payload["credential_no"], ctx.payload["tracking_no"]
        advance(person, "dispatched")


def on_delegation_changed(ctx: HandlerContext) -> None:
    p = ctx.payload
    view = ctx.session.get(DelegationView, p["delegation_id"], with_for_update=True)
    if view is None:
        view = DelegationView(id=p["delegation_id"])
        ctx.session.add(view)
    view.name, view.parent_id, view.recommendation_code = p["name"], p["parent_id"], p["recommendation_code"]
    view.industry, view.active = p["industry"], p["active"]


def delegations(session: Session) -> list[DelegationView]:
    return list(session.scalars(select(DelegationView).where(DelegationView.active.is_(True))
                                .order_by(DelegationView.id)))


# --- colleagues (unit members) ----------------------------------------------------------
def join_unit(session: Session, cipher: FieldCipher, edition: str, data: dict[str, Any]) -> Member:
    """A colleague joins with the unit code (注册码) and waits for the unit's approval."""
    unit = session.scalar(select(Unit).where(Unit.unit_code == data["unit_code"], Unit.edition == edition))
    if unit is None:
        raise ApiError("unknown_unit_code", "no unit has this unit code", "unit_code")
    if unit.status == "rejected":
        raise Conflict("unit_rejected", "this unit was not approved and takes no members", "unit_code")
    check_password_policy(data["password"])
    phone_hash = cipher.lookup_hash(data["phone"])
    if session.scalar(select(Member.id).where(Member.unit_id == unit.id, Member.phone_hash == phone_hash)):
        raise Conflict("already_joined", "this phone has already asked to join the unit", "phone")
    member = Member(id=new_id(), unit_id=unit.id, name=data["name"], phone_enc=cipher.encrypt(data["phone"]),
                    phone_hash=phone_hash, phone_masked=mask_phone(data["phone"]) or "",
                    password_hash=_hasher.hash(data["password"]), status="pending", created_at=utcnow())
    session.add(member)
    session.flush()
    return member


def authenticate_member(session: Session, cipher: FieldCipher, edition: str, unit_code: str, phone: str,
                        password: str) -> Member:
    unit = session.scalar(select(Unit).where(Unit.unit_code == unit_code, Unit.edition == edition))
    member = unit and session.scalar(select(Member).where(Member.unit_id == unit.id,
                                                          Member.phone_hash == cipher.lookup_hash(phone)))
    if not member:
        _hasher.hash(password)
        raise Unauthorized("wrong unit code, phone or password")
    try:
        _hasher.verify(member.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("wrong unit code, phone or password") from None
    if member.status == "pending":
        raise ApiError("member_pending", "the unit has not approved your request yet", None, status=403)
    if member.status != "approved":
        raise ApiError("member_rejected", "the unit declined your request", None, status=403)
    return member


def decide_members(session: Session, unit: Unit, member_ids: list[str], approve: bool) -> list[Member]:
    """Approve or reject join requests, one or a batch: all or nothing."""
    if not member_ids:
        raise ApiError("no_members", "choose at least one request", "member_ids")
    members = list(session.scalars(select(Member).where(Member.id.in_(member_ids), Member.unit_id == unit.id)
                                   .with_for_update()))
    found = {m.id for m in members}
    missing = [m for m in member_ids if m not in found]
    if missing:
        raise NotFound(f"join request {missing[0]}", "member_ids")
    for m in members:
        if m.status != "pending":
            raise Conflict("member_decided", f"{m.name}'s request is already {m.status}", "member_ids")
    now = utcnow()
    for m in members:
        m.status, m.decided_at = ("approved" if approve else "rejected"), now
    return members


def members(session: Session, unit_id: str, status: str | None = None) -> list[Member]:
    query = select(Member).where(Member.unit_id == unit_id)
    if status:
        query = query.where(Member.status == status)
    return list(session.scalars(query.order_by(Member.created_at)))


# --- returning units (往届观众) and credential reuse (证件复用) -----------------------------
def edition_year(edition: str) -> int | None:
    digits = re.findall(r"\d{4}", edition)
    return int(digits[-1]) if digits else None


def import_previous_edition(session: Session, cipher: FieldCipher, edition: str,
                            units: list[dict[str, Any]]) -> dict[str, int]:
    """Load a previous edition's units and personnel (idempotent per edition and USCC)."""
    counts = {"units": 0, "personnel": 0, "skipped": 0}
    for u in units:
        if not is_valid_uscc(u["uscc"]):
            raise ApiError("invalid_uscc", f"{u['uscc']}: USCC check character does not match", "units.uscc")
        if session.scalar(select(PreviousUnit.id).where(PreviousUnit.edition == edition,
                                                        PreviousUnit.uscc == u["uscc"])):
            counts["skipped"] += 1
            continue
        password_hash = u.get("password_hash") or (_hasher.hash(u["password"]) if u.get("password") else None)
        prev = PreviousUnit(id=new_id(), edition=edition, uscc=u["uscc"], name=u["name"], category=u["category"],
                            region=u.get("region", "mainland"), delegation_id=u.get("delegation_id"),
                            password_hash=password_hash, contact_phone=u["contact_phone"],
                            contact_email=u["contact_email"], info=u.get("info") or {})
        session.add(prev)
        session.flush()
        counts["units"] += 1
        for p in u.get("personnel", []):
            session.add(PreviousPerson(
                id=new_id(), previous_unit_id=prev.id, edition=edition, name=p["name"], gender=p.get("gender"),
                region_type=p["region_type"], id_type=p["id_type"], label=p.get("label", "visitor"),
                credential_no=p.get("credential_no"), check_passed=bool(p.get("check_passed")),
                lost_or_damaged=bool(p.get("lost_or_damaged")), card_face=p.get("card_face") or {},
                **_identity_columns(cipher, p["id_number"])))
            counts["personnel"] += 1
    return counts


def latest_previous_unit(session: Session, uscc: str) -> PreviousUnit | None:
    rows = list(session.scalars(select(PreviousUnit).where(PreviousUnit.uscc == uscc)))
    return max(rows, key=lambda r: edition_year(r.edition) or 0) if rows else None


def verify_returning_by_password(session: Session, uscc: str, password: str) -> PreviousUnit:
    prev = latest_previous_unit(session, uscc)
    try:
        if prev is None or not prev.password_hash:
            raise VerifyMismatchError()
        _hasher.verify(prev.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("no previous account matches this USCC and password") from None
    return prev


def previous_unit_for_contact(session: Session, uscc: str, phone: str | None = None,
                              email: str | None = None) -> PreviousUnit:
    prev = latest_previous_unit(session, uscc)
    if prev is None or (phone is not None and prev.contact_phone != phone) or (
            email is not None and prev.contact_email.lower() != email.lower()):
        raise Unauthorized("no previous account matches these details")
    return prev


def carry_over_into(unit: Unit, prev: PreviousUnit) -> None:
    """Last edition's unit info comes along; the unit reviews it before submitting."""
    if prev.uscc != unit.uscc:
        raise ApiError("uscc_mismatch", "the previous account belongs to another USCC", "uscc")
    unit.previous_unit_id = prev.id
    unit.info = {**(prev.info or {}), **(unit.info or {})}


def previous_personnel(session: Session, unit: Unit) -> list[PreviousPerson]:
    if not unit.previous_unit_id:
        return []
    return list(session.scalars(select(PreviousPerson).where(PreviousPerson.previous_unit_id == unit.previous_unit_id)
                                .order_by(PreviousPerson.name, PreviousPerson.id)))


def get_previous_person(session: Session, unit: Unit, previous_person_id: str) -> PreviousPerson:
    prev = session.get(PreviousPerson, previous_person_id)
    if prev is None or not unit.previous_unit_id or prev.previous_unit_id != unit.previous_unit_id:
        raise NotFound("previous person", "previous_person_id")
    return prev


def carry_over_person(session: Session, unit: Unit, prev: PreviousPerson, data: dict[str, Any],
                      days: list[dt.date], cipher: FieldCipher) -> Person:
    """重新申办: a new (saved) record prefilled from last edition; it needs a current photo."""
    return add_person(session, unit, {
        "name": prev.name, "gender": prev.gender, "region_type": prev.region_type, "id_type": prev.id_type,
        "id_number": cipher.decrypt(prev.id_number_enc), "nationality": data.get("nationality"),
        "mobile": None, "email": None, "position": None, "entry_dates": data["entry_dates"],
        "exhibition_area": data.get("exhibition_area"), "pickup_method": data.get("pickup_method", "courier"),
        "requested_label": prev.label}, days, cipher)


def fair_day_numbers(dates: list[dt.date], days: list[dt.date]) -> list[int]:
    return sorted(days.index(d) + 1 for d in dates)


def reuse_refusal(unit: Unit, prev: PreviousPerson, current_edition: str, label: str,
                  entry_day_numbers: list[int]) -> str | None:
    """Why a previous credential cannot be reused, or None when it can: one of the two
    previous editions, check passed, card not lost or damaged, card face unchanged
    (name, unit, delegation, label, photo, entry dates)."""
    current, previous = edition_year(current_edition), edition_year(prev.edition)
    if current is None or previous is None or not (current - 2 <= previous <= current - 1):
        return "only credentials of the two previous editions can be reused"
    if not prev.credential_no or not prev.check_passed:
        return "the previous credential did not pass its check"
    if prev.lost_or_damaged:
        return "a lost or damaged credential cannot be reused"
    face = prev.card_face or {}
    if face.get("name", prev.name) != prev.name or face.get("unit_name") != unit.name:
        return "the unit name on the card has changed"
    if face.get("delegation_id") != unit.delegation_id:
        return "the delegation on the card has changed"
    if face.get("label", prev.label) != label:
        return "the label on the card would change"
    if sorted(face.get("entry_days", [])) != entry_day_numbers:
        return "the entry dates on the card would change"
    return None


def request_reuse(session: Session, unit: Unit, prev: PreviousPerson, data: dict[str, Any], days: list[dt.date],
                  cipher: FieldCipher, current_edition: str, emit: Emit) -> Person:
    validate_entry_dates(data["entry_dates"], days)
    label = data.get("label") or prev.label
    refusal = reuse_refusal(unit, prev, current_edition, label, fair_day_numbers(data["entry_dates"], days))
    if refusal:
        raise ApiError("reuse_not_allowed", refusal, "previous_person_id")
    person = carry_over_person(session, unit, prev, data, days, cipher)
    person.requested_label, person.reuse_credential_no = label, prev.credential_no
    person.status, person.submitted_at = "pending_lock", utcnow()  # 待锁定: the delegation locks it
    emit("ReuseRequested", {"person_id": person.id, "unit_id": unit.id, "previous_credential_no": prev.credential_no,
                            "label": label})
    return person


def invite_previous_units(session: Session, edition: str, current_edition: str) -> list[PreviousUnit]:
    """One-click registration: previous units not registered yet get an invitation token."""
    registered = set(session.scalars(select(Unit.uscc).where(Unit.edition == current_edition)))
    invited = []
    for prev in session.scalars(select(PreviousUnit).where(PreviousUnit.edition == edition,
                                                           PreviousUnit.invited_at.is_(None))):
        if prev.uscc in registered or not prev.contact_email:
            continue
        prev.invitation_token, prev.invited_at = secrets.token_urlsafe(24), utcnow()
        invited.append(prev)
    return invited


def previous_unit_by_invitation(session: Session, token: str) -> PreviousUnit:
    prev = session.scalar(select(PreviousUnit).where(PreviousUnit.invitation_token == token))
    if prev is None:
        raise NotFound("invitation", "invitation_token")
    return prev


# --- deadline reminders -----------------------------------------------------------------
def deadlines(settings: Any) -> dict[str, dt.datetime]:
    """Configured edition deadlines (UTC): REGISTRATION_DEADLINE and PAYMENT_DEADLINE (ISO)."""
    found = {}
    for kind, name in (("submission", "REGISTRATION_DEADLINE"), ("payment", "PAYMENT_DEADLINE")):
        value = settings.get(name)
        if value:
            found[kind] = dt.datetime.fromisoformat(value).replace(tzinfo=None)
    return found


def check_registration_open(deadline: dt.datetime | None, now: dt.datetime | None = None) -> None:
    """Sign-up, personnel and submission close at the registration deadline."""
    if deadline is not None and (now or utcnow()) > deadline:
        raise ApiError("deadline_passed", f"registration closed on {deadline.isoformat(timespec='minutes')} UTC", None,
                       status=409)


def reminder_days(settings: Any) -> list[int]:
    return sorted({int(d) for d in (settings.get("REMINDER_DAYS", "3,1") or "").split(",") if d.strip()}, reverse=True)


def queue_reminders(session: Session, emit: Emit, deadlines_by_kind: dict[str, dt.datetime], days: list[int],
                    now: dt.datetime | None = None) -> int:
    """For each deadline within the largest reminder window: units with people still to
    submit (saved records) or to pay for get one ReminderDue per reminder day."""
    now = now or utcnow()
    sent = 0
    for kind, deadline in deadlines_by_kind.items():
        if now >= deadline:
            continue
        days_left = (deadline - now).days
        due = [d for d in days if d >= days_left]
        if not due:
            continue
        day = min(due)
        status = "saved" if kind == "submission" else "awaiting_payment"
        counts = session.execute(select(Person.unit_id, func.count()).join(Unit, Unit.id == Person.unit_id)
                                 .where(Person.status == status, Unit.status != "deleted").group_by(Person.unit_id))
        for unit_id, people in counts:
            if session.get(ReminderSent, (unit_id, kind, day)) is not None:
                continue
            session.add(ReminderSent(unit_id=unit_id, kind=kind, days_before=day, sent_at=now))
            emit("ReminderDue", {"unit_id": unit_id, "kind": kind, "deadline": deadline.isoformat(),
                                 "people": people, "days_before": day})
            sent += 1
    return sent


# --- referrals and points ---------------------------------------------------------------
REGISTRATION_POINTS = 5
REFERRAL_POINTS_PER_PERSON = 10
APPROVED_PERSON_STATES = ("awaiting_confirmation", "awaiting_payment", "awaiting_check", "check_passed",
                          "in_production", "dispatched", "delivered")


def award_points(session: Session, unit_id: str, person_id: str | None, points: int, reason: str,
                 source_id: str) -> bool:
    """One ledger line per (reason, source, person); a repeat is ignored."""
    exists = session.scalar(select(PointsEntry.id).where(
        PointsEntry.reason == reason, PointsEntry.source_id == source_id,
        PointsEntry.person_id.is_(None) if person_id is None else PointsEntry.person_id == person_id))
    if exists:
        return False
    session.add(PointsEntry(id=new_id(), unit_id=unit_id, person_id=person_id, points=points, reason=reason,
                            source_id=source_id, created_at=utcnow()))
    return True


def award_referral_points(session: Session, invited: Unit) -> int:
    """When an invited unit is approved, each approved person of the inviter earns points."""
    if not invited.referred_by_unit_id:
        return 0
    people = session.scalars(select(Person).where(Person.unit_id == invited.referred_by_unit_id,
                                                  Person.status.in_(APPROVED_PERSON_STATES)))
    return sum(award_points(session, invited.referred_by_unit_id, p.id, REFERRAL_POINTS_PER_PERSON, "referral",
                            invited.id) for p in people)


def points(session: Session, unit_id: str) -> dict[str, Any]:
    entries = list(session.scalars(select(PointsEntry).where(PointsEntry.unit_id == unit_id)
                                   .order_by(PointsEntry.created_at, PointsEntry.id)))
    return {"balance": sum(e.points for e in entries), "entries": entries}


HANDLERS = {
    "UnitApproved": on_unit_approved, "UnitReturned": on_unit_returned, "UnitRejected": on_unit_rejected,
    "PersonnelConfirmed": on_personnel_confirmed, "OrderCreated": on_order_created,
    "OrderCancelled": on_order_cancelled, "PaymentConfirmed": on_payment_confirmed,
    "BackgroundCheckPassed": on_background_check_passed, "BackgroundCheckFailed": on_background_check_failed,
    "CredentialProduced": on_credential_produced, "CredentialDispatched": on_credential_dispatched,
    "DelegationChanged": on_delegation_changed, "ReuseLocked": on_reuse_locked,
    "UnitReassigned": on_unit_reassigned, "UnitDeleted": on_unit_deleted, "UnitEdited": on_unit_edited,
}


# --- answers to other services over RPC (personal data never rides on events) ------------
def unit_contact(session: Session, unit_id: str) -> dict[str, Any] | None:
    unit = session.get(Unit, unit_id)
    if unit is None:
        return None
    return {"unit_id": unit.id, "unit_name": unit.name, "email": unit.contact_email,
            "phone": unit.contact_phone, "language": unit.language,
            "contact_name": (unit.info or {}).get("contact_name")}


def person_dossier(session: Session, person_id: str, cipher: FieldCipher) -> dict[str, Any] | None:
    person = session.get(Person, person_id)
    if person is None:
        return None
    unit = session.get(Unit, person.unit_id)
    return {"person_id": person.id, "unit_id": person.unit_id, "unit_name": unit.name if unit else "",
            "name": person.name, "gender": person.gender, "id_type": person.id_type,
            "id_number": cipher.decrypt(person.id_number_enc), "nationality": person.nationality,
            "entry_dates": person.entry_dates, "exhibition_area": person.exhibition_area,
            "pickup_method": person.pickup_method, "delegation_id": unit.delegation_id if unit else None}
