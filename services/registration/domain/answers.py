"""Answers to other services over RPC: personal data travels point to point, never on events."""
from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.orm import Session

from shared.crypto import FieldCipher

from ..models import Person, PersonPhoto, Unit


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
