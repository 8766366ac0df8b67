import datetime as dt
import os

import pytest

from services.registration.domain import (
    accounts,
    addresses,
    colleagues,
    deadlines,
    personnel,
    progress,
    referrals,
    returning,
    unit_info,
    verification,
)
from services.registration.models import Person
from shared.crypto import FieldCipher
from shared.errors import Conflict, DomainError, NotFound, Unauthorized
from shared.http import status_of
from tests.journey import photo_jpeg, random_resident_id

CIPHER = FieldCipher(os.urandom(32))

EDITION = "CIIE-2026"
DAYS = personnel.fair_days("2026-11-05..2026-11-10")


def delegations(session):
    from services.registration.models import DelegationView
    if session.get(DelegationView, "GD-GZ") is None:
        session.add_all([
            DelegationView(id="GD", name="广东交易团", parent_id=None, recommendation_code="Q2021089", industry=False,
                           active=True),
            DelegationView(id="GD-GZ", name="广州交易分团", parent_id="GD", recommendation_code=None, industry=False,
                           active=True),
            DelegationView(id="MED", name="医药行业交易团", parent_id=None, recommendation_code="Q2021500",
                           industry=True, active=True),
        ])
        session.flush()


def sign_up(session, emit, **over):
    delegations(session)
    data = {"uscc": "91350100M000100Y43", "password": "Passw0rd1", "name": "Example Co", "visitor_kind": "unit",
            "region": "mainland", "category": "enterprise", "phone": "13800138000", "email": "a@example.cn",
            "delegation_id": "GD-GZ", **over}
    return accounts.sign_up(session, emit, data, EDITION)


def person_data(**over):
    return {"name": "张三", "gender": "male", "region_type": "mainland", "id_type": "resident_id",
            "id_number": random_resident_id(), "nationality": "CN", "mobile": "13900139000", "email": None,
            "position": None, "entry_dates": [dt.date(2026, 11, 6)], "exhibition_area": "consumer_goods",
            "pickup_method": "courier", "requested_label": "visitor", "privacy_consent": True, **over}


def complete_info(unit, session=None):
    if session is not None and unit_info.needs_document(unit):
        from services.registration.models import UnitDocument
        session.add(UnitDocument(unit_id=unit.id, kind="business_licence", content_type="image/png",
                                 content=photo_jpeg(fmt="PNG"), size=1, uploaded_at=dt.datetime(2026, 9, 1)))
    unit_info.save_unit_info(unit, {"name_en": "Example", "registered_address": "Guangzhou", "industry": "retail",
                                 "contact_name": "Li", "contact_mobile": "13800138000", "purposes": ["procure"],
                                 "registered_capital_10k_cny": "500", "nature": "private",
                                 "turnover_last_year_10k_usd": "120", "import_modes": ["general_trade"],
                                 "import_last_year_10k_usd": "30", "import_three_years_10k_usd": "80",
                                 "procurement_intentions": [{"area": "food_agriculture", "categories": ["dairy"]}]})


@pytest.mark.parametrize("password,ok", [("short1", False), ("lettersonly", False), ("12345678", False),
                                         ("Passw0rd1", True)])
def test_password_policy(password, ok):
    if ok:
        accounts.check_password_policy(password)
    else:
        with pytest.raises(DomainError) as err:
            accounts.check_password_policy(password)
        assert err.value.field == "password"


def test_sign_up_validates_uscc_and_category_and_uniqueness(session_for, emit):
    s = session_for("registration")
    with pytest.raises(DomainError) as err:
        sign_up(s, emit, uscc="91350100M000100Y44")
    assert (err.value.code, err.value.field) == ("invalid_uscc", "uscc")
    with pytest.raises(DomainError) as err:
        sign_up(s, emit, region="overseas", category="public_institution")
    assert err.value.field == "category"
    unit = sign_up(s, emit)
    assert unit.unit_code.startswith("T") and len(unit.unit_code) == 9 and unit.unit_code[1:].isdigit()
    assert emit.types() == ["UnitRegistered"]
    with pytest.raises(Conflict):
        sign_up(s, emit)


def test_login_checks_the_password_and_refuses_a_deleted_unit(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    with pytest.raises(Unauthorized):
        accounts.authenticate(s, "91350100M000100Y43", "wrong-pass1", EDITION)
    with pytest.raises(Unauthorized):
        accounts.authenticate(s, "91110000802100433B", "Passw0rd1", EDITION)  # no such unit: same answer
    assert accounts.authenticate(s, "91350100M000100Y43", "Passw0rd1", EDITION) is unit
    unit.status = "deleted"
    with pytest.raises(Unauthorized):
        accounts.authenticate(s, "91350100M000100Y43", "Passw0rd1", EDITION)


def test_a_password_reset_ends_earlier_sessions(session_for, emit):
    from services.registration.models import TokenRevocation
    s = session_for("registration")
    unit = sign_up(s, emit)
    accounts.reset_password_of(s, emit, EDITION, unit.uscc, unit.contact_phone, "N3w-passw0rd")
    assert unit.token_version == 1 and s.get(TokenRevocation, unit.id).min_version == 1
    assert emit.events[-1] == ("TokensRevoked", {"subject_id": unit.id, "min_version": 1, "reason": "password_reset"})


@pytest.mark.parametrize("region_type,id_type,number,ok", [
    ("mainland", "resident_id", "11010519491231002X", True),
    ("mainland", "resident_id", "110105194912310021", False),
    ("mainland", "passport", "E12345678", False),
    ("hk_macao", "hk_macao_permit", "H12345678", True),
    ("hk_macao", "hk_macao_permit", "12345678", False),
    ("taiwan", "taiwan_permit", "12345678", True),
    ("foreign", "passport", "E12345678", True),
    ("foreign", "passport", "E1-2345", False),
])
def test_identity_rules_per_region_type(region_type, id_type, number, ok):
    if ok:
        personnel.validate_identity(region_type, id_type, number)
    else:
        with pytest.raises(DomainError):
            personnel.validate_identity(region_type, id_type, number)


def test_entry_dates_must_be_fair_days():
    personnel.validate_entry_dates([dt.date(2026, 11, 5)], DAYS)
    with pytest.raises(DomainError) as err:
        personnel.validate_entry_dates([dt.date(2026, 11, 11)], DAYS)
    assert err.value.field == "entry_dates"
    with pytest.raises(DomainError):
        personnel.validate_entry_dates([], DAYS)


def test_unit_submission_needs_info_and_a_submitted_person(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [])
    assert err.value.code == "unit_info_incomplete"
    complete_info(unit)
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [])
    assert (err.value.code, err.value.field) == ("document_required", "document")
    complete_info(unit, s)
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [])
    assert err.value.code == "no_personnel_submitted"
    person = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [person.id])
    assert err.value.code == "photo_required"
    personnel.set_photo(s, person, photo_jpeg())
    unit_info.submit_unit(s, unit, emit, [person.id])  # submitted together with the unit
    assert unit.status == "submitted" and person.status == "submitted"
    assert emit.types()[-2:] == ["PersonnelSubmitted", "UnitSubmitted"]
    with pytest.raises(Conflict):  # unit info is locked after submission
        unit_info.save_unit_info(unit, {"industry": "other"})
    personnel.add_person(s, unit, person_data(), DAYS, CIPHER)  # personnel can still be added


def test_same_person_twice_in_a_unit_is_refused(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    data = person_data()
    personnel.add_person(s, unit, data, DAYS, CIPHER)
    with pytest.raises(Conflict):
        personnel.add_person(s, unit, dict(data), DAYS, CIPHER)


def test_person_states_only_move_forward():
    p = Person(status="awaiting_check")
    assert not personnel.advance(p, "awaiting_payment") and p.status == "awaiting_check"
    assert personnel.advance(p, "check_passed") and p.status == "check_passed"
    p.status = "cancelled"
    assert not personnel.advance(p, "dispatched")


def test_progress_counts(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    complete_info(unit, s)
    a = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    b = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    personnel.set_photo(s, a, photo_jpeg())
    personnel.set_photo(s, b, photo_jpeg())
    unit_info.submit_unit(s, unit, emit, [a.id, b.id])
    a.status, b.status = "dispatched", "awaiting_payment"
    steps = progress.progress(unit, [a, b])["steps"]
    assert steps[2]["count"] == 2 and steps[4]["awaiting_payment"] == 1
    assert (steps[5]["count"], steps[7]["count"], steps[7]["total"]) == (1, 1, 2)
    assert not steps[7]["done"]


def test_id_numbers_are_stored_encrypted_with_a_lookup_hash(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    data = person_data(id_number="11010519491231002X")
    person = personnel.add_person(s, unit, data, DAYS, CIPHER)
    assert "11010519491231002X" not in person.id_number_enc
    assert CIPHER.decrypt(person.id_number_enc) == "11010519491231002X"
    assert person.id_number_masked == "110***********002X"
    page = personnel.personnel_page(s, unit.id, {"id_number": "11010519491231002x"}, CIPHER)
    assert [p.id for p in page["items"]] == [person.id]


def test_one_registration_per_person_per_edition(session_for, emit):
    s = session_for("registration")
    first = sign_up(s, emit)
    other = sign_up(s, emit, uscc="91110000802100433B")
    data = person_data()
    personnel.add_person(s, first, data, DAYS, CIPHER)
    with pytest.raises(Conflict) as err:
        personnel.add_person(s, other, dict(data), DAYS, CIPHER)
    assert err.value.code == "person_already_registered" and "another unit" not in err.value.message


@pytest.mark.parametrize("size,fmt,code", [
    ((480, 640), "PNG", "photo_not_jpg"),
    ((300, 400), "JPEG", "photo_too_small"),
    ((600, 700), "JPEG", "photo_wrong_aspect"),
])
def test_photo_rules(size, fmt, code):
    with pytest.raises(DomainError) as err:
        personnel.check_photo(photo_jpeg(*size, fmt=fmt))
    assert err.value.code == code and err.value.field == "photo"


def test_photo_is_decoded_not_trusted():
    with pytest.raises(DomainError) as err:
        personnel.check_photo(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    assert err.value.code == "not_an_image"
    with pytest.raises(DomainError) as err:
        personnel.check_photo(photo_jpeg()[:-1] + b"x" * (1024 * 1024))
    assert err.value.code == "photo_too_large"
    assert personnel.check_photo(photo_jpeg(600, 800)) == (600, 800)


def test_qualification_document_rules():
    assert unit_info.check_document("enterprise", photo_jpeg(800, 600, fmt="PNG")) == "image/png"
    with pytest.raises(DomainError) as err:
        unit_info.check_document("government", photo_jpeg())
    assert err.value.code == "document_not_needed"
    with pytest.raises(DomainError) as err:
        unit_info.check_document("enterprise", b"%PDF-1.4 not an image")
    assert err.value.code == "not_an_image"


def test_saved_records_are_editable_and_submitted_ones_locked(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    person = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    personnel.update_person(s, unit, person, {"name": "李四", "entry_dates": [dt.date(2026, 11, 7)]}, DAYS, CIPHER)
    assert person.name == "李四" and person.entry_dates == ["2026-11-07"]
    personnel.set_photo(s, person, photo_jpeg())
    personnel.submit_person(person, emit)
    with pytest.raises(Conflict):
        personnel.update_person(s, unit, person, {"name": "王五"}, DAYS, CIPHER)
    # entry dates may still change until the person is in an order
    personnel.update_person(s, unit, person, {"entry_dates": [dt.date(2026, 11, 8)]}, DAYS, CIPHER)
    person.order_no = "V1"
    with pytest.raises(Conflict):
        personnel.update_person(s, unit, person, {"entry_dates": [dt.date(2026, 11, 9)]}, DAYS, CIPHER)
    with pytest.raises(Conflict):
        personnel.delete_saved_person(s, person)


def test_cancellation(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    person = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    with pytest.raises(Conflict):
        personnel.cancel_person(person, emit)  # saved: delete instead
    personnel.set_photo(s, person, photo_jpeg())
    personnel.submit_person(person, emit)
    personnel.cancel_person(person, emit)
    assert person.status == "cancelled" and emit.types()[-1] == "PersonnelCancelled"
    with pytest.raises(Conflict):
        personnel.cancel_person(person, emit)
    person.status = "dispatched"
    with pytest.raises(Conflict):
        personnel.cancel_person(person, emit)


def test_addresses_at_most_five_exactly_one_default(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    addr = lambda: {"recipient": "Li", "phone": "13800138000", "province": "广东", "city": "广州",
                    "district": None, "detail": "1 Road", "postcode": None}
    first = addresses.add_address(s, unit, addr())
    s.flush()
    second = addresses.add_address(s, unit, {**addr(), "is_default": True})
    s.flush()
    assert second.is_default and not first.is_default
    for _ in range(3):
        addresses.add_address(s, unit, addr())
        s.flush()
    with pytest.raises(Conflict):
        addresses.add_address(s, unit, addr())
    with pytest.raises(DomainError):
        addresses.update_address(s, unit, second.id, {"is_default": False})
    addresses.delete_address(s, unit, second.id)
    s.flush()
    remaining = addresses.addresses(s, unit.id)
    assert len(remaining) == 4 and sum(a.is_default for a in remaining) == 1


def test_procurement_intentions_come_from_the_catalogue():
    unit_info.check_procurement_intentions([{"area": "automobile", "categories": ["parts"]}])
    for bad in ([{"area": "space", "categories": ["x"]}], [{"area": "automobile", "categories": ["dairy"]}],
                [{"area": "automobile", "categories": []}]):
        with pytest.raises(DomainError) as err:
            unit_info.check_procurement_intentions(bad)
        assert err.value.field.startswith("procurement_intentions.0")


def test_sms_codes_expire_count_tries_and_are_rate_limited(session_for):
    s = session_for("registration")
    t0 = dt.datetime(2026, 9, 1, 9, 0)
    row, code = verification.issue_sms_code(s, CIPHER, "13800138000", "login", "1.2.3.4", now=t0)
    assert len(code) == 6 and code not in row.code_hash
    with pytest.raises(DomainError) as err:  # one a minute
        verification.issue_sms_code(s, CIPHER, "13800138000", "login", "1.2.3.4", now=t0 + dt.timedelta(seconds=30))
    assert err.value.code == "sms_too_soon" and status_of(err.value) == 429
    wrong = "000000" if code != "000000" else "111111"
    assert verification.check_sms_code(s, CIPHER, "13800138000", "signup", code, now=t0).code == "sms_code_expired"
    assert verification.check_sms_code(s, CIPHER, "13800138000", "login", wrong, now=t0).code == "sms_code_wrong"
    late = t0 + verification.SMS_CODE_TTL + dt.timedelta(seconds=1)
    assert verification.check_sms_code(s, CIPHER, "13800138000", "login", code, now=late).code == "sms_code_expired"
    assert verification.check_sms_code(s, CIPHER, "13800138000", "login", code, now=t0) is None
    assert verification.check_sms_code(s, CIPHER, "13800138000", "login", code, now=t0).code == "sms_code_expired"

    t1 = t0 + dt.timedelta(minutes=2)
    _, code = verification.issue_sms_code(s, CIPHER, "13800138000", "login", None, now=t1)
    for _ in range(verification.SMS_MAX_TRIES - 1):
        assert verification.check_sms_code(s, CIPHER, "13800138000", "login", wrong, now=t1).code == "sms_code_wrong"
    assert verification.check_sms_code(s, CIPHER, "13800138000", "login", wrong, now=t1).code == "sms_code_voided"
    assert verification.check_sms_code(s, CIPHER, "13800138000", "login", code, now=t1).code == "sms_code_expired"


def test_sms_daily_and_per_client_limits(session_for):
    s = session_for("registration")
    t0 = dt.datetime(2026, 9, 1, 0, 0)
    for i in range(verification.SMS_MAX_PER_PHONE_PER_DAY):
        verification.issue_sms_code(s, CIPHER, "13800138000", "login", None, now=t0 + dt.timedelta(minutes=2 * i))
    with pytest.raises(DomainError) as err:
        verification.issue_sms_code(s, CIPHER, "13800138000", "login", None, now=t0 + dt.timedelta(hours=1))
    assert err.value.code == "sms_daily_limit"
    for i in range(3):
        verification.issue_sms_code(s, CIPHER, f"1390000000{i}", "signup", "9.9.9.9", now=t0, per_client_per_hour=3)
    with pytest.raises(DomainError) as err:
        verification.issue_sms_code(s, CIPHER, "13900000009", "signup", "9.9.9.9", now=t0, per_client_per_hour=3)
    assert err.value.code == "sms_client_limit"


def test_password_reset_needs_the_units_phone_and_a_good_password(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    with pytest.raises(DomainError):
        accounts.reset_password(unit, "13900000000", "N3w-password")
    with pytest.raises(DomainError):
        accounts.reset_password(unit, "13800138000", "short")
    accounts.reset_password(unit, "13800138000", "N3w-password")
    assert accounts.authenticate(s, unit.uscc, "N3w-password", EDITION).id == unit.id


def test_delegation_choice(session_for):
    s = session_for("registration")
    delegations(s)
    assert accounts.choose_delegation(s, "mainland", "GD-GZ", None) == "GD-GZ"
    assert accounts.choose_delegation(s, "mainland", "GD-GZ", "Q2021089") == "GD-GZ"
    assert accounts.choose_delegation(s, "overseas", None, None) is None
    for args, field in ((("mainland", None, None), "delegation_id"), (("mainland", "XX", None), "delegation_id"),
                        (("mainland", "GD-GZ", "Q0000000"), "recommendation_code"),
                        (("mainland", "MED", None), "recommendation_code")):
        with pytest.raises(DomainError) as err:
            accounts.choose_delegation(s, *args)
        assert err.value.field == field
    assert accounts.choose_delegation(s, "mainland", "MED", "Q2021500") == "MED"


def test_referral_points_go_to_the_inviters_approved_people(session_for, emit):
    s = session_for("registration")
    inviter = sign_up(s, emit)
    approved = personnel.add_person(s, inviter, person_data(), DAYS, CIPHER)
    approved.status = "awaiting_payment"
    saved = personnel.add_person(s, inviter, person_data(), DAYS, CIPHER)
    with pytest.raises(DomainError):
        sign_up(s, emit, uscc="91110000802100433B", referral_code="RNOPE")
    invited = sign_up(s, emit, uscc="91110000802100433B", referral_code=inviter.referral_code)
    assert invited.referred_by_unit_id == inviter.id and emit.events[-1][1]["referrer_unit_id"] == inviter.id
    assert referrals.award_referral_points(s, invited) == 1
    s.flush()
    assert referrals.award_referral_points(s, invited) == 0  # once per invited unit and person
    ledger = referrals.points(s, inviter.id)
    assert ledger["balance"] == referrals.REGISTRATION_POINTS + referrals.REFERRAL_POINTS_PER_PERSON
    assert {e.person_id for e in ledger["entries"]} == {None, approved.id} and saved.id not in {
        e.person_id for e in ledger["entries"]}


def test_referral_links_open_the_portal_sign_up_page_with_the_code(session_for, emit):
    """The portal serves the sign-up page at /register and reads `ref` (a referring unit's
    code) and `invitation` (a one-click invitation's token): links are absolute, from the
    configured base however it is written."""
    from urllib.parse import parse_qs, urlsplit

    from services.registration.domain.links import sign_up_link
    s = session_for("registration")
    inviter = sign_up(s, emit)
    for base in ("https://visitors.example.cn/ciie", "https://visitors.example.cn/ciie/"):
        link = urlsplit(referrals.referral(s, inviter, base)["link"])
        assert (link.scheme, link.netloc, link.path) == ("https", "visitors.example.cn", "/ciie/register")
        assert parse_qs(link.query) == {"ref": [inviter.referral_code]}
    invited = sign_up(s, emit, uscc="91110000802100433B", referral_code=parse_qs(link.query)["ref"][0])
    assert invited.referred_by_unit_id == inviter.id
    token = "a-Token_with+odd/chars="  # whatever a token holds arrives intact
    link = urlsplit(sign_up_link("http://127.0.0.1:8080/", invitation=token))
    assert (link.netloc, link.path, parse_qs(link.query)) == ("127.0.0.1:8080", "/register", {"invitation": [token]})


def test_colleagues_join_with_the_unit_code_and_wait_for_approval(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    data = {"unit_code": unit.unit_code, "name": "王五", "phone": "13700000001", "password": "Passw0rd1"}
    with pytest.raises(DomainError) as err:
        colleagues.join_unit(s, CIPHER, EDITION, {**data, "unit_code": "T00000000"})
    assert err.value.field == "unit_code"
    member = colleagues.join_unit(s, CIPHER, EDITION, data)
    assert member.status == "pending" and member.phone_masked == "137****0001"
    with pytest.raises(Conflict):
        colleagues.join_unit(s, CIPHER, EDITION, data)
    with pytest.raises(DomainError) as err:  # pending members cannot log in yet
        colleagues.authenticate_member(s, CIPHER, EDITION, unit.unit_code, "13700000001", "Passw0rd1")
    assert err.value.code == "member_pending"
    other = colleagues.join_unit(s, CIPHER, EDITION, {**data, "phone": "13700000002"})
    with pytest.raises(NotFound):  # a batch is all or nothing
        colleagues.decide_members(s, unit, [member.id, "nope"], True)
    colleagues.decide_members(s, unit, [member.id, other.id], True)
    assert member.status == other.status == "approved"
    with pytest.raises(Conflict):
        colleagues.decide_members(s, unit, [member.id], False)
    assert colleagues.authenticate_member(s, CIPHER, EDITION, unit.unit_code, "13700000001", "Passw0rd1").id == member.id
    with pytest.raises(Unauthorized):
        colleagues.authenticate_member(s, CIPHER, EDITION, unit.unit_code, "13700000001", "wrong-pass1")


def previous_edition(s, unit_name="Example Co", delegation="GD-GZ", **person_over):
    person = {"id_number": random_resident_id(), "name": "赵六", "gender": "female", "region_type": "mainland",
              "id_type": "resident_id", "label": "visitor", "credential_no": "202500001234", "check_passed": True,
              "lost_or_damaged": False, "card_face": {"name": "赵六", "unit_name": unit_name,
                                                      "delegation_id": delegation, "label": "visitor",
                                                      "entry_days": [2, 3]}, **person_over}
    return returning.import_previous_edition(s, CIPHER, "CIIE-2025", [{
        "uscc": "91350100M000100Y43", "name": unit_name, "category": "enterprise", "region": "mainland",
        "delegation_id": delegation, "password": "Old-passw0rd", "contact_phone": "13800138000",
        "contact_email": "old@example.cn", "info": {"name_en": "Example", "industry": "retail"},
        "personnel": [person]}])


def test_previous_edition_import_is_idempotent_and_verifiable(session_for):
    s = session_for("registration")
    assert previous_edition(s) == {"units": 1, "personnel": 1, "skipped": 0}
    assert previous_edition(s) == {"units": 0, "personnel": 0, "skipped": 1}
    prev = returning.verify_returning_by_password(s, "91350100M000100Y43", "Old-passw0rd")
    assert prev.name == "Example Co"
    with pytest.raises(Unauthorized):
        returning.verify_returning_by_password(s, "91350100M000100Y43", "wrong")
    assert returning.previous_unit_for_contact(s, "91350100M000100Y43", phone="13800138000").id == prev.id
    with pytest.raises(Unauthorized):
        returning.previous_unit_for_contact(s, "91350100M000100Y43", email="someone@else.cn")


def test_returning_unit_carries_over_info_and_personnel(session_for, emit):
    s = session_for("registration")
    previous_edition(s)
    prev = returning.latest_previous_unit(s, "91350100M000100Y43")
    unit = sign_up(s, emit)
    returning.carry_over_into(unit, prev)
    assert unit.info["name_en"] == "Example" and unit.previous_unit_id == prev.id
    [old] = returning.previous_personnel(s, unit)
    person = returning.carry_over_person(s, unit, old, {"entry_dates": [dt.date(2026, 11, 6)]}, DAYS, CIPHER)
    assert person.name == "赵六" and person.status == "saved" and person.id_number_hash == old.id_number_hash
    other = sign_up(s, emit, uscc="91110000802100433B")
    with pytest.raises(DomainError):
        returning.carry_over_into(other, prev)  # another company's history


def test_credential_reuse_rules(session_for, emit):
    s = session_for("registration")
    previous_edition(s)
    unit = sign_up(s, emit)
    returning.carry_over_into(unit, returning.latest_previous_unit(s, unit.uscc))
    [old] = returning.previous_personnel(s, unit)
    same_days = [2, 3]
    assert returning.reuse_refusal(unit, old, "CIIE-2026", "visitor", same_days) is None
    assert "entry dates" in returning.reuse_refusal(unit, old, "CIIE-2026", "visitor", [1])
    assert "label" in returning.reuse_refusal(unit, old, "CIIE-2026", "vip", same_days)
    assert "two previous" in returning.reuse_refusal(unit, old, "CIIE-2028", "visitor", same_days)
    old.lost_or_damaged = True
    assert "lost" in returning.reuse_refusal(unit, old, "CIIE-2026", "visitor", same_days)
    old.lost_or_damaged, old.check_passed = False, False
    assert "check" in returning.reuse_refusal(unit, old, "CIIE-2026", "visitor", same_days)
    old.check_passed = True
    unit.name = "Renamed Co"
    assert "unit name" in returning.reuse_refusal(unit, old, "CIIE-2026", "visitor", same_days)
    unit.name = "Example Co"
    person = returning.request_reuse(s, unit, old, {"entry_dates": [DAYS[1], DAYS[2]]}, DAYS, CIPHER, "CIIE-2026", emit)
    assert person.status == "pending_lock" and person.reuse_credential_no == "202500001234"
    assert emit.events[-1] == ("ReuseRequested", {"person_id": person.id, "unit_id": unit.id,
                                                  "previous_credential_no": "202500001234", "label": "visitor"})
    with pytest.raises(DomainError) as err:
        returning.request_reuse(s, unit, old, {"entry_dates": [DAYS[0]]}, DAYS, CIPHER, "CIIE-2026", emit)
    assert err.value.code == "reuse_not_allowed"


def test_a_reused_credential_keeps_its_entry_dates(session_for, emit):
    """Reuse means the card stays as it was: its entry dates cannot change afterwards."""
    s = session_for("registration")
    previous_edition(s)
    unit = sign_up(s, emit)
    returning.carry_over_into(unit, returning.latest_previous_unit(s, unit.uscc))
    [old] = returning.previous_personnel(s, unit)
    person = returning.request_reuse(s, unit, old, {"entry_dates": [DAYS[1], DAYS[2]]}, DAYS, CIPHER, "CIIE-2026",
                                     emit)
    person.status = "awaiting_payment"  # locked by the delegation, the unit pays; no order yet
    with pytest.raises(Conflict) as err:
        personnel.update_person(s, unit, person, {"entry_dates": [DAYS[1]]}, DAYS, CIPHER)
    assert (err.value.code, err.value.field, status_of(err.value)) == ("reused_card_unchanged", "entry_dates", 409)
    assert person.entry_dates == ["2026-11-06", "2026-11-07"]
    personnel.update_person(s, unit, person, {"entry_dates": [DAYS[2], DAYS[1]]}, DAYS, CIPHER)  # the same days
    fresh = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)  # not reused: may still change
    fresh.status = "awaiting_payment"
    personnel.update_person(s, unit, fresh, {"entry_dates": [DAYS[3]]}, DAYS, CIPHER)
    assert fresh.entry_dates == ["2026-11-08"]


def test_one_click_invitations_skip_registered_units(session_for, emit):
    s = session_for("registration")
    previous_edition(s)
    returning.import_previous_edition(s, CIPHER, "CIIE-2025", [{
        "uscc": "91110000802100433B", "name": "Other Co", "category": "enterprise", "contact_phone": "13900000000",
        "contact_email": "other@example.cn", "personnel": []}])
    sign_up(s, emit)  # 91350100M000100Y43 already registered this edition
    invited = returning.invite_previous_units(s, "CIIE-2025", EDITION)
    assert [p.uscc for p in invited] == ["91110000802100433B"] and invited[0].invitation_token
    assert returning.invite_previous_units(s, "CIIE-2025", EDITION) == []  # once
    assert returning.previous_unit_by_invitation(s, invited[0].invitation_token).name == "Other Co"


def test_invitation_links_expire(session_for, emit):
    s = session_for("registration")
    returning.import_previous_edition(s, CIPHER, "CIIE-2025", [{
        "uscc": "91110000802100433B", "name": "Other Co", "category": "enterprise", "contact_phone": "13900000000",
        "contact_email": "other@example.cn", "personnel": []}])
    [invited] = returning.invite_previous_units(s, "CIIE-2025", EDITION)
    later = invited.invited_at + returning.INVITATION_VALID_FOR + dt.timedelta(minutes=1)
    with pytest.raises(Conflict) as err:
        returning.previous_unit_by_invitation(s, invited.invitation_token, now=later)
    assert (err.value.code, err.value.field) == ("invitation_expired", "invitation_token")


def test_deadline_reminders_once_per_unit_kind_and_day(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    personnel.add_person(s, unit, person_data(), DAYS, CIPHER)  # saved: awaiting submission
    deadline = {"submission": dt.datetime(2026, 10, 15, 16, 0)}
    assert deadlines.queue_reminders(s, emit, deadline, [3, 1], now=dt.datetime(2026, 10, 10)) == 0  # too early
    assert deadlines.queue_reminders(s, emit, deadline, [3, 1], now=dt.datetime(2026, 10, 12, 17)) == 1
    s.flush()
    assert emit.events[-1][1] == {"unit_id": unit.id, "kind": "submission", "deadline": "2026-10-15T16:00:00",
                                  "people": 1, "days_before": 3}
    assert deadlines.queue_reminders(s, emit, deadline, [3, 1], now=dt.datetime(2026, 10, 13)) == 0  # sent already
    assert deadlines.queue_reminders(s, emit, deadline, [3, 1], now=dt.datetime(2026, 10, 14, 17)) == 1  # day 1
    s.flush()
    assert deadlines.queue_reminders(s, emit, deadline, [3, 1], now=dt.datetime(2026, 10, 16)) == 0  # past


def test_registration_closes_at_its_deadline():
    deadline = dt.datetime(2026, 10, 15, 16)
    deadlines.check_registration_open(deadline, now=dt.datetime(2026, 10, 15, 15, 59))
    deadlines.check_registration_open(None)  # no deadline configured
    with pytest.raises(DomainError) as err:
        deadlines.check_registration_open(deadline, now=dt.datetime(2026, 10, 15, 16, 1))
    assert (err.value.code, status_of(err.value)) == ("deadline_passed", 409)
    assert deadlines.deadlines(type("S", (), {"get": lambda self, k, d=None: {"REGISTRATION_DEADLINE": "2026-10-15T16:00"}.get(k, d)})()) == {
        "submission": deadline}


def _configured(**values):
    return type("S", (), {"get": lambda self, k, d=None: values.get(k, d)})()


def test_deadlines_given_with_an_offset_are_converted_and_shown_in_beijing_time():
    found = deadlines.deadlines(_configured(REGISTRATION_DEADLINE="2026-10-15T18:00+08:00",
                                            PAYMENT_DEADLINE="2026-10-15T10:00:00Z"))
    assert found == {"submission": dt.datetime(2026, 10, 15, 10), "payment": dt.datetime(2026, 10, 15, 10)}
    deadlines.check_registration_open(found["submission"], now=dt.datetime(2026, 10, 15, 9, 59))
    with pytest.raises(DomainError) as err:  # 10:01 UTC is 18:01 in Beijing: closed
        deadlines.check_registration_open(found["submission"], now=dt.datetime(2026, 10, 15, 10, 1))
    assert err.value.message == "registration closed on 2026-10-15 18:00 (Beijing time)"


def _handle(session, emit, event_type, payload, producer="review"):
    from services.registration import handlers
    from shared.events import make_event, parse_event
    from shared.inbox import HandlerContext
    handlers.HANDLERS[event_type](HandlerContext(session, parse_event(make_event(event_type, payload, producer)),
                                                 emit, None))


@pytest.mark.parametrize("before", ["awaiting_payment", "awaiting_check", "check_passed", "in_production"])
def test_an_upgrade_moves_an_unpaid_person_on_and_relabels_any(session_for, emit, before):
    s = session_for("registration")
    unit = sign_up(s, emit)
    person = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    person.status, person.label, person.payer, person.order_no = before, "visitor", "unit", "V1"
    _handle(s, emit, "PersonnelUpgraded", {"person_id": person.id, "unit_id": unit.id, "from_label": "visitor",
                                           "to_label": "staff"})
    expected = "awaiting_check" if before == "awaiting_payment" else before  # never backwards
    assert (person.status, person.label, person.payer) == (expected, "staff", "free")


def test_a_late_confirmation_does_not_undo_an_upgrade(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    person = personnel.add_person(s, unit, person_data(), DAYS, CIPHER)
    person.status = "awaiting_confirmation"
    _handle(s, emit, "PersonnelUpgraded", {"person_id": person.id, "unit_id": unit.id, "from_label": "visitor",
                                           "to_label": "vip"})
    _handle(s, emit, "PersonnelConfirmed", {"person_id": person.id, "unit_id": unit.id, "delegation_id": "GD-GZ",
                                            "label": "visitor", "payer": "unit", "fee_fen": 20000})
    assert (person.status, person.label, person.payer) == ("awaiting_check", "vip", "free")
