"""Units without a USCC: Hong Kong, Macao, Taiwan and overseas units register with their
registration number, individual visitors (个人) with their own ID document; foreigners'
names are in Latin letters."""
import pytest

from services.registration.domain import accounts, identifiers, personnel
from services.registration.models import Unit
from services.registration.schemas import SignUpSchema, UnitSchema
from shared.errors import Conflict, DomainError, Unauthorized
from tests.unit.test_registration_rules import EDITION, person_data, sign_up


@pytest.mark.parametrize("kind,region,id_type,number,ok", [
    ("unit", "hk_macao_taiwan", "registration_no", "12345678", True),  # HK business registration
    ("unit", "overseas", "registration_no", "HRB-12345", True),
    ("unit", "overseas", "registration_no", "AB", False),
    ("unit", "overseas", "registration_no", "-ABC123", False),
    ("unit", "overseas", "uscc", "91350100M000100Y43", False),  # overseas units have no USCC
    ("unit", "mainland", "registration_no", "12345678", False),  # mainland units do
    ("individual", "mainland", "resident_id", "11010519491231002X", True),
    ("individual", "mainland", "resident_id", "110105194912310021", False),
    ("individual", "hk_macao_taiwan", "hk_macao_permit", "H12345678", True),
    ("individual", "hk_macao_taiwan", "taiwan_permit", "12345678", True),
    ("individual", "hk_macao_taiwan", "passport", "E12345678", False),
    ("individual", "overseas", "passport", "E12345678", True),
    ("individual", "overseas", "passport", "E1-2345", False),
])
def test_identifier_rules_per_visitor_kind_and_region(kind, region, id_type, number, ok):
    if ok:
        identifiers.check_identifier(kind, region, id_type, number)
    else:
        with pytest.raises(DomainError):
            identifiers.check_identifier(kind, region, id_type, number)


def test_an_overseas_unit_registers_and_logs_in_with_its_registration_number(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit, uscc=None, identifier_type="registration_no", identifier="hrb-98765",
                   region="overseas", category="enterprise", delegation_id=None)
    assert (unit.uscc, unit.identifier_type, unit.identifier_masked) == ("HRB-98765", "registration_no", None)
    assert accounts.authenticate(s, "hrb-98765", "Passw0rd1", EDITION) is unit
    with pytest.raises(Conflict):
        sign_up(s, emit, uscc=None, identifier_type="registration_no", identifier="HRB-98765",
                region="overseas", category="enterprise", delegation_id=None)


def test_an_individual_registers_with_a_passport_kept_only_as_a_pseudonym(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit, uscc=None, visitor_kind="individual", identifier_type="passport",
                   identifier="E12345678", region="overseas", category="", name="Anna-Maria O'Neil",
                   delegation_id=None)
    assert unit.category == "individual" and unit.identifier_type == "passport"
    assert unit.uscc.startswith("P") and len(unit.uscc) == 18 and "12345678" not in unit.uscc
    assert unit.identifier_masked == "E12**5678"
    assert UnitSchema().dump(unit)["identifier"] == "E12**5678"
    assert accounts.authenticate(s, "e12345678", "Passw0rd1", EDITION) is unit
    with pytest.raises(Unauthorized):
        accounts.authenticate(s, "E12345679", "Passw0rd1", EDITION)
    # the same passport again is the same account
    with pytest.raises(Conflict):
        sign_up(s, emit, uscc=None, visitor_kind="individual", identifier_type="passport", identifier="E12345678",
                region="overseas", category="", name="Anna Maria", delegation_id=None)
    # nothing identifying the person leaves on the event
    assert all("E12345678" not in str(payload) for _, payload in emit.events)
    assert s.query(Unit).count() == 1


def test_an_overseas_individual_writes_the_name_in_latin_letters(session_for, emit):
    s = session_for("registration")
    with pytest.raises(DomainError) as err:
        sign_up(s, emit, uscc=None, visitor_kind="individual", identifier_type="passport", identifier="E12345678",
                region="overseas", category="", name="安娜", delegation_id=None)
    assert (err.value.code, err.value.field) == ("name_not_latin", "name")
    mainland = sign_up(s, emit, uscc=None, visitor_kind="individual", identifier_type="resident_id",
                       identifier="11010519491231002X", region="mainland", category="", name="张三")
    assert mainland.category == "individual"


def test_a_foreign_persons_name_is_in_latin_letters(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    with pytest.raises(DomainError) as err:
        personnel.add_person(s, unit, person_data(name="约翰", region_type="foreign", id_type="passport",
                                                  id_number="E12345678"), personnel.fair_days(None),
                             accounts.CIPHER.cipher)
    assert err.value.code == "name_not_latin"
    person = personnel.add_person(s, unit, person_data(name="John Smith-Jones", region_type="foreign",
                                                       id_type="passport", id_number="E12345678"),
                                  personnel.fair_days(None), accounts.CIPHER.cipher)
    with pytest.raises(DomainError):
        personnel.update_person(s, unit, person, {"name": "约翰"}, personnel.fair_days(None), accounts.CIPHER.cipher)


def test_the_sign_up_schema_asks_for_the_identifier_its_type_needs():
    schema = SignUpSchema()
    base = {"password": "Passw0rd1", "name": "Example", "category": "enterprise", "phone": "13800138000",
            "email": "a@example.cn", "sms_code": "123456", "privacy_consent": True}
    assert "uscc" in schema.validate(base)
    assert "identifier" in schema.validate({**base, "identifier_type": "passport"})
    assert schema.validate({**base, "identifier_type": "passport", "identifier": "e1234567"}) == {}
    assert schema.load({**base, "uscc": " 91350100m000100y43 "})["uscc"] == "91350100M000100Y43"


def test_login_throttling_never_keys_on_a_document_number():
    key = identifiers.throttle_account(accounts.CIPHER.cipher.lookup_hash, "E12345678")
    assert "E12345678" not in key
    assert identifiers.throttle_account(accounts.CIPHER.cipher.lookup_hash, "91350100M000100Y43") == \
        "unit:91350100M000100Y43"
