"""Account management: the contact's phone and email change with a code sent to the new
one; privacy consent is recorded at sign-up and for each person; what the seeds mark
required is required at submission."""
import pytest

from services.registration.domain import accounts, personnel, unit_info, verification
from services.registration.models import CIPHER
from services.registration.schemas import SignUpSchema
from shared.errors import DomainError
from tests.unit.test_registration_rules import DAYS, complete_info, person_data, sign_up


def test_the_contact_phone_and_email_change(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    with pytest.raises(DomainError) as err:
        accounts.change_contact_phone(unit, unit.contact_phone)
    assert err.value.code == "same_phone"
    accounts.change_contact_phone(unit, "13700137000")
    assert accounts.unit_for_phone_login(s, unit.edition, "13700137000", None) is unit  # SMS login by the new one
    assert accounts.units_by_phone(s, unit.edition, "13800138000") == []
    accounts.change_contact_email(unit, "new@example.cn")
    assert unit.contact_email == "new@example.cn"
    with pytest.raises(DomainError):
        accounts.change_contact_email(unit, "NEW@example.cn")
    assert "change_phone" in verification.SMS_PURPOSES


def test_privacy_consent_is_recorded_at_sign_up_and_required(session_for, emit):
    s = session_for("registration")
    with pytest.raises(DomainError) as err:
        sign_up(s, emit, privacy_consent=False)
    assert (err.value.code, err.value.field) == ("privacy_consent_required", "privacy_consent")
    unit = sign_up(s, emit, privacy_consent=True)
    assert unit.privacy_consent_at is not None and unit.privacy_policy_version == accounts.PRIVACY_POLICY_VERSION
    assert "privacy_consent" in SignUpSchema().validate({"uscc": "91350100M000100Y43", "password": "x",
                                                         "name": "Ex", "phone": "13800138000",
                                                         "email": "a@example.cn", "sms_code": "123456"})


def test_a_person_is_submitted_only_with_consent_and_the_required_fields(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    person = personnel.add_person(s, unit, person_data(privacy_consent=None, mobile=None, exhibition_area=None,
                                                       gender=None), DAYS, CIPHER.cipher)
    person.has_photo = True
    with pytest.raises(DomainError) as err:
        personnel.submit_person(person, emit)
    assert (err.value.code, err.value.field) == ("person_incomplete", "gender")
    assert personnel.missing_person_fields(person) == ["gender", "exhibition_area", "mobile"]
    personnel.update_person(s, unit, person, {"gender": "female", "mobile": "13900139000",
                                              "exhibition_area": "automobile"}, DAYS, CIPHER.cipher)
    with pytest.raises(DomainError) as err:
        personnel.submit_person(person, emit)
    assert err.value.code == "privacy_consent_required"
    personnel.update_person(s, unit, person, {"privacy_consent": True}, DAYS, CIPHER.cipher)
    assert personnel.submit_person(person, emit).status == "submitted"
    foreign = personnel.add_person(s, unit, person_data(name="Jane Doe", region_type="foreign", id_type="passport",
                                                        id_number="E87654321", nationality=None, mobile=None,
                                                        email="jane@example.com"), DAYS, CIPHER.cipher)
    assert personnel.missing_person_fields(foreign) == ["nationality"]  # an email will do for a foreigner


@pytest.mark.parametrize("field", unit_info.REQUIRED_UNIT_INFO)
def test_every_field_the_seeds_mark_required_is_required_at_submission(session_for, emit, field):
    s = session_for("registration")
    unit = sign_up(s, emit)
    complete_info(unit, s)
    unit.info = {**unit.info, field: [] if isinstance(unit.info[field], list) else ""}
    person = personnel.add_person(s, unit, person_data(), DAYS, CIPHER.cipher)
    person.has_photo = True
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [person.id])
    assert (err.value.code, err.value.field) == ("unit_info_incomplete", field)


def test_an_individual_gives_the_info_that_fits_a_person(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit, uscc=None, visitor_kind="individual", identifier_type="resident_id",
                   identifier="11010519491231002X", name="张三")
    unit_info.save_unit_info(unit, {"contact_name": "张三", "contact_mobile": "13800138000", "purposes": ["learn"],
                                    "procurement_intentions": [{"area": "automobile", "categories": ["parts"]}]})
    assert unit_info.missing_unit_info(unit) == [] and not unit_info.needs_document(unit)
