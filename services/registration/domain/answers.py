"""Answers to other services over RPC: personal data travels point to point, never on events."""
from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.crypto import FieldCipher
from shared.masking import mask_email, mask_phone

from ..models import DeliveryAddress, Person, PersonPhoto, Unit, UnitDocument


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


def person_photo(session: Session, person_id: str) -> str | None:
    """The photo for the card face (base64 JPEG), or None."""
    photo = session.get(PersonPhoto, person_id)
    return base64.b64encode(photo.content).decode() if photo else None


def person_unit(session: Session, person_id: str) -> str | None:
    """The unit a person belongs to (ids only)."""
    person = session.get(Person, person_id)
    return person.unit_id if person else None


def person_name(session: Session, person_id: str) -> str | None:
    """A person's name, for a message to their own unit's contact (never on an event)."""
    person = session.get(Person, person_id)
    return person.name if person else None


# --- the back office's unit file (review asks, after checking the admin's scope) ----------------
FILE_PEOPLE_LIMIT = 2000  # a unit's personnel in one answer; more than any real unit has
SEARCH_LIMIT = 50


def _person_row(person: Person, unit: Unit | None = None) -> dict[str, Any]:
    """A person as the back office lists them: ID number masked, no phone or email."""
    row = {"person_id": person.id, "unit_id": person.unit_id, "name": person.name, "gender": person.gender,
           "region_type": person.region_type, "id_type": person.id_type, "id_number": person.id_number_masked,
           "position": person.position, "entry_dates": list(person.entry_dates or []),
           "exhibition_area": person.exhibition_area, "pickup_method": person.pickup_method,
           "requested_label": person.requested_label, "label": person.label, "payer": person.payer,
           "status": person.status, "has_photo": bool(person.has_photo), "credential_no": person.credential_no,
           "reuse_credential_no": person.reuse_credential_no,
           "submitted_at": person.submitted_at.isoformat() if person.submitted_at else None}
    if unit is not None:
        row["unit_name"] = unit.name
    return row


def unit_file(session: Session, unit_id: str) -> dict[str, Any] | None:
    """Everything the reviewer reads about a unit: its information, the qualification
    document's description (the image is asked for separately), delivery addresses with the
    recipient's phone masked, and its personnel with masked ID numbers. Contact details
    masked."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        return None
    document = session.get(UnitDocument, unit_id)
    addresses = session.scalars(select(DeliveryAddress).where(DeliveryAddress.unit_id == unit_id)
                                .order_by(DeliveryAddress.is_default.desc(), DeliveryAddress.created_at))
    people = session.scalars(select(Person).where(Person.unit_id == unit_id)
                             .order_by(Person.created_at, Person.id).limit(FILE_PEOPLE_LIMIT))
    return {
        "unit": {"unit_id": unit.id, "uscc": unit.uscc, "unit_code": unit.unit_code, "name": unit.name,
                 "visitor_kind": unit.visitor_kind, "region": unit.region, "category": unit.category,
                 "delegation_id": unit.delegation_id, "status": unit.status, "review_comment": unit.review_comment,
                 "contact_phone": mask_phone(unit.contact_phone), "contact_email": mask_email(unit.contact_email),
                 "info": dict(unit.info or {}), "created_at": unit.created_at.isoformat(),
                 "submitted_at": unit.submitted_at.isoformat() if unit.submitted_at else None},
        "document": None if document is None else {
            "kind": document.kind, "content_type": document.content_type, "size": document.size,
            "uploaded_at": document.uploaded_at.isoformat()},
        "addresses": [{"recipient": a.recipient, "phone": mask_phone(a.phone), "province": a.province,
                       "city": a.city, "district": a.district, "detail": a.detail, "postcode": a.postcode,
                       "is_default": bool(a.is_default)} for a in addresses],
        "personnel": [_person_row(p) for p in people],
    }


def unit_document_image(session: Session, unit_id: str) -> dict[str, Any] | None:
    """The qualification document's image (base64) and its content type, or None."""
    document = session.get(UnitDocument, unit_id)
    if document is None:
        return None
    return {"content_type": document.content_type, "content_b64": base64.b64encode(document.content).decode()}


def unit_person_photo(session: Session, unit_id: str, person_id: str) -> str | None:
    """A person's photo (base64 JPEG) only when the person belongs to that unit: the caller
    checked its scope on the unit."""
    person = session.get(Person, person_id)
    if person is None or person.unit_id != unit_id:
        return None
    return person_photo(session, person_id)


def people_details(session: Session, person_ids: list[str]) -> list[dict[str, Any]]:
    """The people of a back-office page (ids the caller took from its own scoped list)."""
    ids = [str(i) for i in person_ids[:500]]
    if not ids:
        return []
    rows = session.execute(select(Person, Unit).join(Unit, Unit.id == Person.unit_id).where(Person.id.in_(ids)))
    return [_person_row(person, unit) for person, unit in rows]


def find_people(session: Session, unit_ids: list[str], query: str, cipher: FieldCipher) -> list[dict[str, Any]]:
    """People of the given units (the caller's scope) by name (contains), by a whole ID
    number, or by a masked ID number as lists show it (or its last four characters)."""
    term = (query or "").strip()[:40]
    ids = [str(i) for i in unit_ids[:20000]]
    if not term or not ids:
        return []
    upper = term.upper()
    matches = [Person.name.contains(term, autoescape=True), Person.id_number_masked == upper,
               Person.id_number_hash == cipher.lookup_hash(upper)]
    if len(upper) >= 4 and "*" not in upper:
        matches.append(Person.id_number_masked.endswith(upper[-4:], autoescape=True) if len(upper) == 4
                       else Person.id_number_masked == upper)
    rows = session.execute(select(Person, Unit).join(Unit, Unit.id == Person.unit_id)
                           .where(Person.unit_id.in_(ids), or_(*matches))
                           .order_by(Person.name, Person.id).limit(SEARCH_LIMIT))
    return [_person_row(person, unit) for person, unit in rows]
