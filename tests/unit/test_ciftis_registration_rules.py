"""CIFTIS registration rules, read from its fair profile (the seed: ciftis2020 exhibitor and
attendee guide): the 600×800 50-500 KB photo, the 50-1000 character introduction, badge
types per visitor kind, online-only exhibitors without badges, invitation codes per kind,
sub-users (子用户). The domain functions take the profile; CIIE stays the default."""
import io
import os

import pytest

from services.registration.domain import accounts, colleagues, personnel, unit_info
from services.registration.models import DelegationView, Member
from shared import fair as fairs
from shared.crypto import FieldCipher
from shared.errors import Conflict, DomainError, Unauthorized
from shared.fair import load_profile
from tests.journey import photo_jpeg, random_resident_id, random_uscc
from tests.unit.test_registration_rules import person_data

CIFTIS = load_profile("ciftis")
CIIE = load_profile("ciie")
EDITION = "CIFTIS-2027"
DAYS = CIFTIS.edition().days
CIPHER = FieldCipher(os.urandom(32))
INTRODUCTION = "一家提供跨境金融与数据服务的企业，" * 4  # 68 characters


def ciftis_photo(width: int = 600, height: int = 800, grain: float = 0.25, quality: int = 90) -> bytes:
    """An ID-photo-shaped JPEG with grain, so that its file lands within 50-500 KB."""
    from PIL import Image
    base = Image.open(io.BytesIO(photo_jpeg(width, height))).convert("RGB")
    noise = Image.effect_noise((width, height), 60).convert("RGB")
    out = io.BytesIO()
    Image.blend(base, noise, grain).save(out, "JPEG", quality=quality)
    return out.getvalue()


def host_organisations(session):
    if session.get(DelegationView, "CF-FINANCE") is None:
        session.add_all([DelegationView(id=d["id"], name=d["name"], parent_id=None, recommendation_code=None,
                                        industry=False, active=True) for d in CIFTIS.data["delegations"]])
        session.flush()


def ciftis_unit(session, emit, kind="exhibitor_onsite", host="CF-FINANCE", **over):
    host_organisations(session)
    data = {"uscc": "91350100M000100Y43", "password": "Passw0rd1", "name": "服务贸易示例公司", "visitor_kind": kind,
            "region": "mainland", "category": "enterprise", "phone": "13800138000", "email": "a@example.cn", **over}
    claim = (lambda unit: host) if CIFTIS.invitation_policy(kind) == "required" else None
    return accounts.sign_up(session, emit, data, EDITION, delegation_from_claim=claim, profile=CIFTIS)


def complete_ciftis_info(unit, **over):
    info = {"contact_name": "王经理", "contact_position": "市场总监", "contact_mobile": "13800138000",
            "contact_email": "wang@example.cn", "industry": "finance", "company_type": "domestic",
            "fortune500": False, "introduction": INTRODUCTION, "purposes": ["find_partners"],
            "exhibition_content": "跨境支付服务", "exhibition_needs": "寻找合作伙伴", **over}
    return unit_info.save_unit_info(unit, info, CIFTIS)


def ciftis_person(**over):
    return person_data(**{"entry_dates": [DAYS[1]], "exhibition_area": "finance", "requested_label": None, **over})


# --- photos ---------------------------------------------------------------------------------
def test_ciftis_photo_is_600_by_800_and_50_to_500_kb():
    good = ciftis_photo()
    assert 50 * 1024 <= len(good) <= 500 * 1024
    assert personnel.check_photo(good, CIFTIS) == (600, 800)


@pytest.mark.parametrize("content,code", [
    (lambda: ciftis_photo(480, 640), "photo_too_small"),  # CIIE's size is too small for CIFTIS
    (lambda: ciftis_photo(900, 1200, grain=0.1, quality=60), "photo_wrong_size"),  # 3:4 but not 600×800
    (lambda: photo_jpeg(600, 800), "photo_file_too_small"),  # a plain image is under 50 KB
    (lambda: ciftis_photo(grain=0.9, quality=100), "photo_too_large"),
    (lambda: photo_jpeg(600, 800, fmt="PNG") + b"\0" * 60 * 1024, "photo_not_jpg"),
])
def test_ciftis_photo_rules(content, code):
    with pytest.raises(DomainError) as err:
        personnel.accept_photo(content(), CIFTIS)
    assert (err.value.code, err.value.field) == (code, "photo")


def test_ciftis_photo_messages_name_the_profiles_numbers():
    with pytest.raises(DomainError) as err:
        personnel.accept_photo(photo_jpeg(600, 800), CIFTIS)
    assert "50 KB" in err.value.message
    with pytest.raises(DomainError) as err:
        personnel.accept_photo(ciftis_photo(480, 640), CIFTIS)
    assert "600x800" in err.value.message
    # CIIE's own words and numbers are unchanged
    assert personnel.check_photo(photo_jpeg(480, 640), CIIE) == (480, 640)
    with pytest.raises(DomainError) as err:
        personnel.accept_photo(b"\xff" * (1024 * 1024), CIIE)
    assert (err.value.code, err.value.message) == ("photo_too_large", "the photo must be smaller than 1 MB")


# --- sign-up: kinds, categories, invitation codes ---------------------------------------------
def test_ciftis_invitation_policy_per_visitor_kind():
    for kind in ("exhibitor_onsite", "exhibitor_online", "attendee_invited"):
        with pytest.raises(DomainError) as err:
            accounts.check_invitation_policy(kind, None, CIFTIS)
        assert (err.value.code, err.value.field) == ("invitation_code_required", "host_invitation_code")
        accounts.check_invitation_policy(kind, "ABCD1234EFGH", CIFTIS)
    accounts.check_invitation_policy("attendee_open", None, CIFTIS)
    with pytest.raises(DomainError) as err:
        accounts.check_invitation_policy("attendee_open", "ABCD1234EFGH", CIFTIS)
    assert err.value.field == "host_invitation_code"
    for code in (None, "ABCD1234EFGH"):  # CIIE: optional
        accounts.check_invitation_policy("unit", code, CIIE)


def test_ciftis_invited_unit_joins_its_codes_host_organisation(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit, host="CF-CULTURE")
    assert (unit.visitor_kind, unit.delegation_id, unit.edition) == ("exhibitor_onsite", "CF-CULTURE", EDITION)


def test_ciftis_sign_up_without_the_required_code_is_refused(session_for, emit):
    s = session_for("registration")
    host_organisations(s)
    data = {"uscc": "91350100M000100Y43", "password": "Passw0rd1", "name": "示例公司", "visitor_kind": "exhibitor_onsite",
            "region": "mainland", "category": "enterprise", "phone": "13800138000", "email": "a@example.cn"}
    with pytest.raises(DomainError) as err:
        accounts.sign_up(s, emit, data, EDITION, profile=CIFTIS)
    assert (err.value.code, err.value.field) == ("invitation_code_required", "host_invitation_code")


def test_ciftis_open_attendee_signs_up_without_a_code_or_host(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit, kind="attendee_open", delegation_id="CF-FINANCE")
    assert unit.delegation_id is None  # the organising committee reviews it
    assert ("UnitRegistered", None) in [(t, p.get("delegation_id")) for t, p in emit.events]


@pytest.mark.parametrize("over,code,field", [
    ({"category": "government"}, "invalid_category", "category"),  # CIFTIS: enterprise / other
    ({"visitor_kind": "unit"}, "invalid_visitor_kind", "visitor_kind"),  # a CIIE kind
])
def test_ciftis_sign_up_kinds_and_categories_are_the_profiles(over, code, field):
    data = {"uscc": "91350100M000100Y43", "password": "Passw0rd1", "name": "示例公司", "visitor_kind": "attendee_open",
            "region": "mainland", "category": "enterprise", "phone": "13800138000", "email": "a@example.cn", **over}
    with pytest.raises(DomainError) as err:
        accounts.check_sign_up(data, CIFTIS)
    assert (err.value.code, err.value.field) == (code, field)
    assert accounts.check_sign_up({**data, "category": "other", "visitor_kind": "exhibitor_online"}, CIFTIS)["uscc"]


# --- unit information ------------------------------------------------------------------------
def test_ciftis_required_unit_info_is_the_kinds(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit)
    assert unit_info.missing_unit_info(unit, CIFTIS) == list(CIFTIS.required_info("exhibitor_onsite"))
    complete_ciftis_info(unit)
    assert unit_info.missing_unit_info(unit, CIFTIS) == []  # fortune500 false is an answer
    unit_info.save_unit_info(unit, {"fortune500": True}, CIFTIS)
    assert unit_info.missing_unit_info(unit, CIFTIS) == ["fortune500_name"]
    unit_info.save_unit_info(unit, {"fortune500_name": "Example Bank"}, CIFTIS)
    assert unit_info.missing_unit_info(unit, CIFTIS) == []
    assert not unit_info.needs_document(unit, CIFTIS)  # CIFTIS units upload no qualification document


def test_ciftis_introduction_is_50_to_1000_characters(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit)
    with pytest.raises(DomainError) as err:  # the maximum already when saved
        unit_info.save_unit_info(unit, {"introduction": "字" * 1001}, CIFTIS)
    assert (err.value.code, err.value.field) == ("introduction_too_long", "introduction")
    complete_ciftis_info(unit, introduction="字" * 49)  # a draft may be short
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [], CIFTIS)
    assert (err.value.code, err.value.field) == ("introduction_too_short", "introduction")
    assert "50" in err.value.message
    unit_info.save_unit_info(unit, {"introduction": "字" * 1000}, CIFTIS)
    unit_info.check_introduction(unit, CIFTIS)


# --- personnel and badges ---------------------------------------------------------------------
@pytest.mark.parametrize("kind,allowed,refused", [
    ("exhibitor_onsite", ("exhibitor",), ("delegate", "buyer", "visitor")),
    ("attendee_invited", ("delegate", "buyer"), ("exhibitor", "guest")),
    ("attendee_open", ("delegate", "buyer"), ("exhibitor", "host_staff")),
])
def test_ciftis_badge_types_per_visitor_kind(session_for, emit, kind, allowed, refused):
    s = session_for("registration")
    unit = ciftis_unit(s, emit, kind=kind)
    default = personnel.add_person(s, unit, ciftis_person(), DAYS, CIPHER, profile=CIFTIS)
    assert default.requested_label == allowed[0]
    for label in allowed:
        person = personnel.add_person(s, unit, ciftis_person(requested_label=label), DAYS, CIPHER, profile=CIFTIS)
        assert person.requested_label == label
    for label in refused:
        with pytest.raises(DomainError) as err:
            personnel.add_person(s, unit, ciftis_person(requested_label=label), DAYS, CIPHER, profile=CIFTIS)
        assert (err.value.code, err.value.field) == ("badge_type_not_allowed", "requested_label")
    with pytest.raises(DomainError) as err:
        personnel.update_person(s, unit, default, {"requested_label": refused[0]}, DAYS, CIPHER, profile=CIFTIS)
    assert err.value.code == "badge_type_not_allowed"


def test_ciftis_online_only_exhibitor_saves_people_but_applies_for_no_badge(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit, kind="exhibitor_online")
    person = personnel.add_person(s, unit, ciftis_person(), DAYS, CIPHER, profile=CIFTIS)
    assert person.requested_label is None and person.status == "saved"
    with pytest.raises(DomainError) as err:
        personnel.add_person(s, unit, ciftis_person(requested_label="exhibitor"), DAYS, CIPHER, profile=CIFTIS)
    assert err.value.code == "badge_type_not_allowed"
    personnel.set_photo(s, person, ciftis_photo(), CIFTIS)
    with pytest.raises(DomainError) as err:
        personnel.submit_person(person, emit, unit, CIFTIS)
    assert (err.value.code, err.value.field) == ("online_only_no_badge", "person_ids")
    assert person.status == "saved"
    complete_ciftis_info(unit)
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [person.id], CIFTIS)
    assert err.value.code == "online_only_no_badge"
    assert unit_info.submit_unit(s, unit, emit, [], CIFTIS).status == "submitted"  # its info alone


def test_ciftis_exhibitor_with_badges_still_submits_a_person(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit)
    complete_ciftis_info(unit)
    with pytest.raises(DomainError) as err:
        unit_info.submit_unit(s, unit, emit, [], CIFTIS)
    assert err.value.code == "no_personnel_submitted"
    person = personnel.add_person(s, unit, ciftis_person(), DAYS, CIPHER, profile=CIFTIS)
    personnel.set_photo(s, person, ciftis_photo(), CIFTIS)
    assert unit_info.submit_unit(s, unit, emit, [person.id], CIFTIS).status == "submitted"
    assert person.status == "submitted" and person.requested_label == "exhibitor"


def test_ciftis_has_no_quota_badges_and_ciie_keeps_vip_then_staff(session_for, emit):
    from services.registration.domain import quotas
    s = session_for("registration")
    unit = ciftis_unit(s, emit)
    assert quotas.unit_quota(s, unit, CIFTIS) == {"labels": []}
    assert quotas.quota_labels(CIIE) == ("vip", "staff")


# --- sub-users (子用户) ------------------------------------------------------------------------
def test_ciftis_sub_user_created_by_the_contact_logs_in_at_once(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit)
    member, password = colleagues.create_member(s, CIPHER, unit, {"name": "王经理", "phone": "13700137000"})
    assert member.status == "approved" and len(password) == 8
    assert any(c.isdigit() for c in password) and any(c.isalpha() for c in password)
    assert colleagues.authenticate_member(s, CIPHER, EDITION, unit.unit_code, "13700137000", password) is member
    with pytest.raises(Conflict):
        colleagues.create_member(s, CIPHER, unit, {"name": "again", "phone": "13700137000"})
    chosen, given = colleagues.create_member(s, CIPHER, unit, {"name": "李", "phone": "13700137001",
                                                               "password": "Chosen123"})
    assert given == "Chosen123"
    for weak in ("short1", "lettersonly", "Toolong1234567890abcd"):  # 8-20 with letters and digits
        with pytest.raises(DomainError) as err:
            colleagues.create_member(s, CIPHER, unit, {"name": "x", "phone": "13700137002", "password": weak})
        assert (err.value.code, err.value.field) == ("weak_password", "password")


def test_ciftis_sub_user_password_reset_ends_old_sessions(session_for, emit):
    s = session_for("registration")
    unit = ciftis_unit(s, emit)
    member, old = colleagues.create_member(s, CIPHER, unit, {"name": "王经理", "phone": "13700137000"})
    same, new, phone = colleagues.reset_member_password(s, emit, CIPHER, unit, member.id)
    assert same is member and phone == "13700137000" and new != old and member.token_version == 1
    with pytest.raises(Unauthorized):
        colleagues.authenticate_member(s, CIPHER, EDITION, unit.unit_code, "13700137000", old)
    assert colleagues.authenticate_member(s, CIPHER, EDITION, unit.unit_code, "13700137000", new) is member
    colleagues.remove_member(s, emit, unit, member.id)
    with pytest.raises(Conflict):
        colleagues.reset_member_password(s, emit, CIPHER, unit, member.id)
    back, _ = colleagues.create_member(s, CIPHER, unit, {"name": "王经理", "phone": "13700137000"})
    assert back.id == member.id and back.status == "approved"
    assert s.query(Member).count() == 1


# --- the schemas ask the active profile ------------------------------------------------------
@pytest.fixture
def ciftis_active(monkeypatch):
    monkeypatch.setenv("FAIR", "ciftis")
    fairs._cached.cache_clear()
    yield
    monkeypatch.delenv("FAIR")
    fairs._cached.cache_clear()


def test_ciftis_schemas_validate_against_the_active_profile(ciftis_active):
    from marshmallow import ValidationError

    from services.registration.schemas import PersonInSchema, SignUpSchema, UnitInfoSchema
    info = UnitInfoSchema().load({"company_type": "foreign_invested", "fortune500": True, "fortune500_name": "X",
                                  "website": "https://example.cn", "introduction": INTRODUCTION})
    assert info["company_type"] == "foreign_invested"
    for bad in ({"company_type": "state_owned"}, {"website": "ftp://example.cn"}, {"exhibition_needs": "x" * 1001}):
        with pytest.raises(ValidationError):
            UnitInfoSchema().load(bad)
    base = {"uscc": "91350100M000100Y43", "password": "Passw0rd1", "name": "示例公司", "phone": "13800138000",
            "email": "a@example.cn", "sms_code": "123456", "privacy_consent": True, "category": "enterprise"}
    assert SignUpSchema().load(base)["visitor_kind"] == "exhibitor_onsite"  # the profile's first kind
    with pytest.raises(ValidationError):
        SignUpSchema().load({**base, "visitor_kind": "individual"})
    person = {"name": "张三", "region_type": "mainland", "id_type": "resident_id", "id_number": random_resident_id(),
              "entry_dates": [DAYS[0].isoformat()]}
    assert PersonInSchema().load({**person, "requested_label": "buyer"})["requested_label"] == "buyer"
    assert PersonInSchema().load(person)["requested_label"] is None  # the unit's kind decides
    with pytest.raises(ValidationError):
        PersonInSchema().load({**person, "requested_label": "vip"})
    with pytest.raises(ValidationError):
        PersonInSchema().load({**person, "exhibition_area": "automobile"})  # a CIIE area


def test_ciftis_online_only_progress_marks_the_badge_steps_not_applicable(session_for, emit):
    from services.registration.domain.progress import progress
    s = session_for("registration")
    online = ciftis_unit(s, emit, kind="exhibitor_online")
    complete_ciftis_info(online)
    steps = {step["name"]: step for step in progress(online, [], CIFTIS)["steps"]}
    assert steps["unit_info"]["done"] and not steps["delegation_review"]["done"]
    for name in ("personnel", "payment", "personnel_check", "production", "distribution"):
        assert steps[name] == {"step": steps[name]["step"], "name": name, "done": True, "applicable": False}
    onsite = ciftis_unit(s, emit, kind="exhibitor_onsite", uscc=random_uscc(), phone="13800138001")
    assert all("applicable" not in step for step in progress(onsite, [], CIFTIS)["steps"])


def test_ciftis_host_organisation_registers_its_staff_and_guests_with_its_own_code(session_for, emit):
    """承办机构人员管理 / 嘉宾管理: a host organisation's own people get host-staff, guest or
    delegate badges through an account of kind host_organisation, opened with one of its codes."""
    assert set(CIFTIS.badges_for("host_organisation")) == {"delegate", "guest", "host_staff"}
    assert CIFTIS.invitation_policy("host_organisation") == "required"
    s = session_for("registration")
    host = ciftis_unit(s, emit, kind="host_organisation", host="CF-CULTURE", uscc=random_uscc(), phone="13800138002")
    assert host.delegation_id == "CF-CULTURE"
    for label in ("host_staff", "guest", "delegate"):
        person = personnel.add_person(s, host, ciftis_person(requested_label=label, id_number=random_resident_id()),
                                      DAYS, CIPHER, profile=CIFTIS)
        assert person.requested_label == label
    with pytest.raises(DomainError) as err:
        personnel.add_person(s, host, ciftis_person(requested_label="exhibitor"), DAYS, CIPHER, profile=CIFTIS)
    assert err.value.code == "badge_type_not_allowed"
