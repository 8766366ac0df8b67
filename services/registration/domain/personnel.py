"""Personnel records: identity documents, entry dates, photos, save vs submit, edit, delete and
cancel (注销), the filtered list, and the forward-only status ladder events move people along."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from shared.crypto import FieldCipher
from shared.db import new_id, utcnow
from shared.images import CheckedImage, check_image
from shared.errors import Conflict, DomainError, NotFound
from shared.fair import FairProfile, fair
from shared.masking import mask_id_number
from shared.outbox import Emit

from ..models import Person, PersonPhoto, Unit
from .choices import id_types
from .identifiers import check_latin_name, is_valid_id_number
from .quotas import check_label_within_quota


def validate_identity(region_type: str, id_type: str, id_number: str, profile: FairProfile | None = None) -> None:
    accepted = id_types(region_type, profile)
    if not accepted:
        raise DomainError("invalid_region_type", f"{region_type!r} is not a region type of this fair", "region_type")
    if id_type not in accepted:
        raise DomainError("invalid_id_type", f"{region_type} personnel use {', '.join(accepted)}", "id_type")
    if not is_valid_id_number(id_type, id_number):
        raise DomainError("invalid_id_number", f"not a valid {id_type.replace('_', ' ')} number", "id_number")


def validate_name(region_type: str, name: str) -> None:
    """Foreigners' names are written in Latin letters, as in the passport the police check
    (境外人员须填写英文姓名)."""
    if region_type == "foreign":
        check_latin_name(name)


def fair_days(settings_value: str | None) -> list[dt.date]:
    start, end = (settings_value or "2026-11-05..2026-11-10").split("..")
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def validate_entry_dates(dates: list[dt.date], days: list[dt.date]) -> None:
    if not dates:
        raise DomainError("entry_dates_required", "choose at least one entry date", "entry_dates")
    for d in dates:
        if d not in days:
            raise DomainError("entry_date_outside_fair", f"{d.isoformat()} is not a day of the fair",
                           "entry_dates")


PHOTO_MAX_PIXELS = 24_000_000  # a decoding bound, whatever the fair


def size_text(n: int) -> str:
    """A byte count as a person reads it: 1 MB, 500 KB (a byte short of a unit rounds up:
    "smaller than 1 MB" is at most 1048575 bytes)."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        for whole in (n, n + 1):
            if whole >= size and whole % size == 0:
                return f"{whole // size} {unit}"
    return f"{n} bytes"


def check_photo(content: bytes, profile: FairProfile | None = None) -> tuple[int, int]:
    """The photo's width and height as displayed, if it follows the fair's photo rules."""
    photo = accept_photo(content, profile)
    return photo.width, photo.height


def accept_photo(content: bytes, profile: FairProfile | None = None) -> CheckedImage:
    """The photo as it will be kept (without its EXIF), if it follows the fair's photo rules
    (CIIE: JPG, 3:4, under 1 MB, at least 480×640; CIFTIS: JPG, exactly 600×800, 50-500 KB)."""
    rule = (profile or fair()).photo
    if not content:
        raise DomainError("photo_required", "upload a photo", "photo")
    max_bytes, min_bytes = rule["max_bytes"], rule["min_bytes"]
    if len(content) > max_bytes:
        limit = f"smaller than {size_text(max_bytes)}" if (max_bytes + 1) % 1024 == 0 else f"at most {size_text(max_bytes)}"
        raise DomainError("photo_too_large", f"the photo must be {limit}", "photo")
    if len(content) < min_bytes:
        raise DomainError("photo_file_too_small", f"the photo file must be at least {size_text(min_bytes)}", "photo")
    formats = tuple(rule["formats"])
    names = " or ".join("JPG" if f == "JPEG" else f for f in formats)
    photo = check_image(content, "photo", formats, PHOTO_MAX_PIXELS,
                        DomainError("photo_not_jpg", f"the photo must be a {names} file", "photo"))
    width, height = photo.width, photo.height
    min_w, min_h = rule["min_size"]
    if width < min_w or height < min_h:
        raise DomainError("photo_too_small", f"the photo must be at least {min_w}x{min_h} pixels", "photo")
    exact = rule.get("exact_size")
    if exact and (width, height) != (exact[0], exact[1]):
        raise DomainError("photo_wrong_size", f"the photo must be exactly {exact[0]}x{exact[1]} pixels "
                                              f"(this one is {width}x{height})", "photo")
    aw, ah = rule["aspect"]
    if abs(width * ah - height * aw) > 0.01 * height * aw:
        raise DomainError("photo_wrong_aspect", f"the photo must have a {aw}:{ah} width-to-height ratio", "photo")
    return photo


def requested_badge(unit: Unit, label: str | None, profile: FairProfile | None = None) -> str | None:
    """The badge type a person of the unit asks for: one its visitor kind may hold (CIFTIS:
    exhibitors 参展商, attendees 参会代表 or 采购商), the kind's first when none is named; none
    for an online-only unit (线上参展商), whose people use the online platform only."""
    profile = profile or fair()
    allowed = profile.badges_for(unit.visitor_kind)
    if label is None:
        return profile.default_badge(unit.visitor_kind)
    if label not in allowed:
        if not profile.has_badges(unit.visitor_kind):
            raise DomainError("badge_type_not_allowed", "an online-only registration gets no badge",
                              "requested_label")
        raise DomainError("badge_type_not_allowed",
                          f"this unit's people may ask for {', '.join(allowed)}", "requested_label")
    return label


def check_badges_allowed(unit: Unit, profile: FairProfile | None = None) -> None:
    """An online-only unit (CIFTIS 线上参展商) keeps its people's records but submits none of
    them for a badge (不能提交制证申请)."""
    if not (profile or fair()).has_badges(unit.visitor_kind):
        raise DomainError("online_only_no_badge",
                          "an online-only exhibitor cannot apply for badges (its people attend online)", "person_ids")


def identity_columns(cipher: FieldCipher, id_number: str) -> dict[str, str]:
    return {"id_number_enc": cipher.encrypt(id_number), "id_number_hash": cipher.lookup_hash(id_number),
            "id_number_masked": mask_id_number(id_number) or ""}


def _ensure_not_registered(session: Session, unit: Unit, id_hash: str, except_id: str | None = None) -> None:
    """One person, one registration per edition: across every unit of the edition."""
    query = (select(Person.unit_id).join(Unit, Unit.id == Person.unit_id)
             .where(Unit.edition == unit.edition, Person.id_number_hash == id_hash, Person.status != "cancelled"))
    if except_id:
        query = query.where(Person.id != except_id)
    # One answer whoever holds the record: naming another unit would tell a stranger who
    # attends and with whom.
    if session.scalar(query) is not None:
        raise Conflict("person_already_registered",
                       "this ID number is already registered for this edition; a person is registered once",
                       "id_number")


def add_person(session: Session, unit: Unit, data: dict[str, Any], days: list[dt.date],
               cipher: FieldCipher, member_id: str | None = None, profile: FairProfile | None = None) -> Person:
    profile = profile or fair()
    if unit.status == "rejected":
        raise Conflict("unit_rejected", "a rejected unit cannot add personnel")
    data = dict(data)
    consent = data.pop("privacy_consent", None)
    id_number = data.pop("id_number")
    validate_identity(data["region_type"], data["id_type"], id_number, profile)
    validate_name(data["region_type"], data["name"])
    data["requested_label"] = requested_badge(unit, data.get("requested_label"), profile)
    if data["requested_label"] is not None:
        check_label_within_quota(session, unit, data["requested_label"], profile=profile)
    validate_entry_dates(data["entry_dates"], days)
    columns = identity_columns(cipher, id_number)
    _ensure_not_registered(session, unit, columns["id_number_hash"])
    person = Person(id=new_id(), unit_id=unit.id, status="saved", created_at=utcnow(), has_photo=False,
                    created_by_member_id=member_id, privacy_consent_at=utcnow() if consent is True else None,
                    **columns,
                    **{**data, "entry_dates": [d.isoformat() for d in data["entry_dates"]]})
    session.add(person)
    session.flush()
    return person


def update_person(session: Session, unit: Unit, person: Person, changes: dict[str, Any], days: list[dt.date],
                  cipher: FieldCipher, profile: FairProfile | None = None) -> Person:
    """Saved records stay editable; submitted ones are locked. Entry dates may still
    change until the person is in an order (billing refuses them after that) — never for a
    reused credential (证件复用), whose card, entry dates included, stays as it was."""
    if person.reuse_credential_no and "entry_dates" in changes and \
            sorted(d.isoformat() for d in changes["entry_dates"]) != sorted(person.entry_dates or []):
        raise Conflict("reused_card_unchanged", "a reused credential keeps the entry dates printed on it", "entry_dates")
    changes = dict(changes)
    consent = changes.pop("privacy_consent", None)
    if person.status != "saved":
        if set(changes) == {"entry_dates"} and person.status in ("submitted", "awaiting_confirmation",
                                                                  "awaiting_payment") and not person.order_no:
            validate_entry_dates(changes["entry_dates"], days)
            person.entry_dates = [d.isoformat() for d in changes["entry_dates"]]
            person.updated_at = utcnow()
            return person
        raise Conflict("person_locked", f"a {person.status} record cannot be edited")
    if consent is True and person.privacy_consent_at is None:
        person.privacy_consent_at = utcnow()
    region_type = changes.get("region_type", person.region_type)
    id_type = changes.get("id_type", person.id_type)
    if "id_number" in changes or "region_type" in changes or "id_type" in changes:
        id_number = changes.pop("id_number", None) or cipher.decrypt(person.id_number_enc)
        validate_identity(region_type, id_type, id_number, profile)
        columns = identity_columns(cipher, id_number)
        _ensure_not_registered(session, unit, columns["id_number_hash"], except_id=person.id)
        for key, value in columns.items():
            setattr(person, key, value)
    if "name" in changes or "region_type" in changes:
        validate_name(region_type, changes.get("name", person.name))
    if changes.get("requested_label", person.requested_label) != person.requested_label:
        changes["requested_label"] = requested_badge(unit, changes["requested_label"], profile)
        if changes["requested_label"] is not None:
            check_label_within_quota(session, unit, changes["requested_label"], person.id, profile=profile)
    if "entry_dates" in changes:
        validate_entry_dates(changes["entry_dates"], days)
        changes["entry_dates"] = [d.isoformat() for d in changes["entry_dates"]]
    for key, value in changes.items():
        setattr(person, key, value)
    person.updated_at = utcnow()
    return person


def set_photo(session: Session, person: Person, content: bytes, profile: FairProfile | None = None) -> Person:
    if person.status != "saved":
        raise Conflict("person_locked", "the photo of a submitted record cannot change")
    checked = accept_photo(content, profile)
    photo = session.get(PersonPhoto, person.id) or PersonPhoto(person_id=person.id)
    photo.content, photo.width, photo.height = checked.content, checked.width, checked.height
    photo.sha256, photo.uploaded_at = hashlib.sha256(checked.content).hexdigest(), utcnow()
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
        session.flush()  # the photo first: no relationship tells the flush that order
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


def missing_person_fields(person: Person) -> list[str]:
    """What the seeds mark required (*) of a person, checked at submission (drafts may lack
    it): gender, the exhibition area printed on the badge, entry dates, a mobile for people
    from the mainland (mobile or email for the others), nationality for foreigners."""
    missing = [f for f in ("gender", "exhibition_area", "entry_dates") if not getattr(person, f)]
    if person.region_type == "mainland":
        if not person.mobile:
            missing.append("mobile")
    elif not (person.mobile or person.email):
        missing.append("mobile")
    if person.region_type == "foreign" and not person.nationality:
        missing.append("nationality")
    return missing


def submit_person(person: Person, emit: Emit, unit: Unit | None = None, profile: FairProfile | None = None) -> Person:
    """Submits the person for a badge (申请制证). With the unit, an online-only one is
    refused (without it, the caller has checked: check_badges_allowed)."""
    if unit is not None:
        check_badges_allowed(unit, profile)
    if person.status != "saved":
        raise Conflict("person_not_saved", f"only saved records can be submitted (this one is {person.status})")
    missing = missing_person_fields(person)
    if missing:
        raise DomainError("person_incomplete", f"{person.name}: fill in {', '.join(missing)} before submitting",
                          missing[0])
    if not person.has_photo:
        raise DomainError("photo_required", f"upload {person.name}'s photo before submitting", "photo")
    if person.privacy_consent_at is None:
        raise DomainError("privacy_consent_required",
                          f"{person.name}: confirm that the person accepts the privacy policy", "privacy_consent")
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


PERSON_STATUS_RANK = {
    "saved": 0, "submitted": 1, "pending_lock": 2, "awaiting_confirmation": 2, "awaiting_payment": 3, "awaiting_check": 4,
    "check_passed": 5, "check_failed": 5, "in_production": 6, "dispatched": 7, "delivered": 8,
    "rejected": 9,  # not approved by review (CIFTIS): nothing moves the person on
}


def advance(person: Person, status: str) -> bool:
    """Move a person forward only: events from different queues may arrive out of order,
    and a late event must not undo a later state. Cancelled is final."""
    if person.status == "cancelled" or PERSON_STATUS_RANK[status] <= PERSON_STATUS_RANK[person.status]:
        return False
    person.status = status
    return True


def photo_of(session: Session, person: Person) -> PersonPhoto:
    photo = session.get(PersonPhoto, person.id)
    if photo is None:
        raise NotFound("photo", "photo")
    return photo
