"""PIPL: when an edition's retention period ends (or a unit is deleted) every service erases
the personal data it keeps: ID numbers, photos, phones, emails, card files."""
from __future__ import annotations

import datetime as dt

import pytest

from services.credentials.domain import privacy as credential_privacy, production
from services.credentials.models import Credential, ProductionBatch
from services.notifications import domain as notifications
from services.notifications.models import Message
from services.registration.domain import addresses, personnel, privacy, returning
from services.registration.models import DeliveryAddress, Person, PersonPhoto, PreviousPerson, PreviousUnit, Unit
from services.review.domain import organisations
from services.review.models import AuditEntry
from shared.errors import Conflict, DomainError
from tests.journey import photo_jpeg
from tests.unit.test_credentials_rules import SECRET, address, confirmed, paid, passed
from tests.unit.test_registration_rules import CIPHER, DAYS, EDITION, person_data, sign_up


def test_registration_erases_an_editions_people_contacts_and_previous_editions(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    unit.info = {"contact_name": "李雷", "contact_mobile": "13900000000", "industry": "retail"}
    person = personnel.add_person(s, unit, person_data(mobile="13700000000", email="p@example.cn"), DAYS, CIPHER)
    personnel.set_photo(s, person, photo_jpeg())
    addresses.add_address(s, unit, {"recipient": "李雷", "phone": "13900000000", "province": "广东", "city": "广州",
                                    "district": "天河", "detail": "1 号", "postcode": "510000"})
    returning.import_previous_edition(s, CIPHER, EDITION, [{
        "uscc": "91110000802100433B", "name": "Old Co", "category": "enterprise", "contact_phone": "13600000000",
        "contact_email": "old@example.cn", "password": "Old-passw0rd", "personnel": [{
            "name": "王五", "region_type": "mainland", "id_type": "resident_id", "id_number": "11010519491231002X"}]}])
    s.flush()
    counts = privacy.erase_edition(s, EDITION)
    s.flush()
    assert counts == {"units": 1, "personnel": 1, "previous_units": 1, "previous_personnel": 1}
    assert (person.id_number_enc, person.id_number_masked, person.mobile, person.email) == ("", "", None, None)
    assert s.get(PersonPhoto, person.id) is None and not person.has_photo
    assert (unit.contact_phone, unit.contact_email) == ("", "") and unit.info == {"industry": "retail"}
    assert s.query(DeliveryAddress).count() == 0
    prev = s.query(PreviousUnit).one()
    assert (prev.contact_phone, prev.password_hash) == ("", None)
    assert s.query(PreviousPerson).one().id_number_enc == ""
    assert s.query(Person).one().name == person.name  # the record stays, without what identifies the person


def test_a_deleted_units_contacts_are_erased(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    privacy.erase_unit(s, unit)
    s.flush()
    reread = s.get(Unit, unit.id)
    assert (reread.contact_phone, reread.contact_email) == ("", "")


def test_credentials_erases_card_files_photos_and_faces(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit)
    paid(s, emit)
    passed(s, emit, emit.events[0][1]["check_id"])
    production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    [credential] = s.query(Credential).all()
    assert credential.card_pdf and credential.photo and credential.card["name"] == "张三"
    assert credential_privacy.erase_edition(s, "CIIE-2025") == 0  # another edition's numbers
    assert credential_privacy.erase_edition(s, "CIIE-2026") == 1
    s.flush()
    assert (credential.card_pdf, credential.photo, credential.gate_photo, credential.ship_to) == (None, None, None, None)
    assert credential.card == {"erased": True} and s.query(ProductionBatch).one().sheet_pdf == b""
    assert credential.credential_no.startswith("2026") and credential.status == "dispatched"  # the record stays


def test_notifications_keeps_that_a_message_went_not_to_whom_or_what_it_said(session_for):
    s = session_for("notifications")
    contact = {"unit_name": "Example Co", "email": "a@example.cn", "phone": "13800138000", "language": "en"}
    sent, queued = notifications.queue_messages(s, "e1", "u1", contact, "unit_approved", {"portal_url": "x"})
    sent.status = "sent"
    notifications.queue_messages(s, "e2", "u2", contact, "unit_approved", {"portal_url": "x"})
    s.flush()
    assert notifications.erase_messages(s, unit_id="u1") == 2
    assert queued.status == "dead" and queued.recipient is None and queued.body == notifications.ERASED
    assert sent.status == "sent" and sent.recipient_masked == notifications.ERASED
    assert s.query(Message).filter_by(unit_id="u2", recipient="a@example.cn").count() == 1  # others untouched


def test_review_announces_an_expired_retention_once_and_audits_it(session_for, emit):
    s = session_for("review")
    committee = organisations.Actor("a", "organising_committee", None)
    with pytest.raises(DomainError) as refused:
        organisations.update_settings(s, committee, EDITION, {"personal_data_retained_until": dt.datetime.utcnow()})
    assert refused.value.field == "personal_data_retained_until"
    until = dt.datetime.utcnow() + dt.timedelta(days=90)
    organisations.update_settings(s, committee, EDITION, {"personal_data_retained_until": until})
    s.flush()
    assert organisations.expire_retention(s, emit, now=until - dt.timedelta(minutes=1)) == []
    assert organisations.expire_retention(s, emit, now=until + dt.timedelta(minutes=1)) == [EDITION]
    assert organisations.expire_retention(s, emit, now=until + dt.timedelta(days=1)) == []
    assert emit.events == [("RetentionExpired", {"edition": EDITION})]
    s.flush()
    assert s.query(AuditEntry).filter_by(action="edition.personal_data_purge", target_id=EDITION).count() == 1
    with pytest.raises(Conflict):  # erased is erased
        organisations.update_settings(s, committee, EDITION, {"personal_data_retained_until": until})
