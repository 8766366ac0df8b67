"""Personal data erased (PIPL): an edition's once its retention period has ended, a unit's
when its delegation deletes it. What stays is what the fair's records need without
identifying a person: ids, names of units, statuses, counts."""
from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import DeliveryAddress, Member, Person, PersonPhoto, PreviousPerson, PreviousUnit, SmsCode, Unit

log = logging.getLogger(__name__)
ERASED = ""
CONTACT_INFO = ("contact_name", "contact_mobile")  # unit info fields that name or reach a person


def erase_person(session: Session, person: Person) -> None:
    person.id_number_enc, person.id_number_hash = ERASED, f"erased:{person.id}"
    person.id_number_masked, person.mobile, person.email = ERASED, None, None
    session.execute(delete(PersonPhoto).where(PersonPhoto.person_id == person.id))
    person.has_photo = False


def erase_unit_contacts(session: Session, unit: Unit) -> None:
    unit.contact_phone, unit.contact_email = ERASED, ERASED
    unit.info = {k: v for k, v in (unit.info or {}).items() if k not in CONTACT_INFO}
    session.execute(delete(DeliveryAddress).where(DeliveryAddress.unit_id == unit.id))
    for member in session.scalars(select(Member).where(Member.unit_id == unit.id)):
        member.phone_enc, member.phone_hash, member.phone_masked = ERASED, f"erased:{member.id}", ERASED


def erase_unit(session: Session, unit: Unit) -> None:
    """A deleted unit: its personnel are gone already; its contacts go too."""
    erase_unit_contacts(session, unit)


def erase_edition(session: Session, edition: str) -> dict[str, int]:
    """Everything personal of `edition`, this edition's units and last editions' imports alike.
    Returns what was erased, for the log (counts only)."""
    counts = {"units": 0, "personnel": 0, "previous_units": 0, "previous_personnel": 0}
    for unit in session.scalars(select(Unit).where(Unit.edition == edition).with_for_update()):
        erase_unit_contacts(session, unit)
        counts["units"] += 1
        for person in session.scalars(select(Person).where(Person.unit_id == unit.id).with_for_update()):
            erase_person(session, person)
            counts["personnel"] += 1
    for prev in session.scalars(select(PreviousUnit).where(PreviousUnit.edition == edition).with_for_update()):
        prev.contact_phone, prev.contact_email, prev.password_hash, prev.invitation_token = ERASED, ERASED, None, None
        counts["previous_units"] += 1
    for old in session.scalars(select(PreviousPerson).where(PreviousPerson.edition == edition).with_for_update()):
        old.id_number_enc, old.id_number_hash, old.id_number_masked = ERASED, f"erased:{old.id}", ERASED
        counts["previous_personnel"] += 1
    session.execute(delete(SmsCode))  # codes live minutes; none outlives an edition
    log.info("personal data of %s erased: %s", edition, counts)
    return counts
