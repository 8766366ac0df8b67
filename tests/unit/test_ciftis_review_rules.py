"""CIFTIS review rules (承办机构账号使用指南), with the CIFTIS profile passed to review's domain
functions: host organisations register and are approved by the organising committee, their
admins review units and people first, the committee confirms."""
import io
import random

import pytest

from services.review.domain import host_organisations, invitation_codes, organisations
from services.review.models import Delegation, HostOrganisation
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.fair import load_profile
from shared.http import status_of

CIFTIS = load_profile("ciftis")
COMMITTEE = organisations.Actor("a-oc", "organising_committee", None)
HOST_INFO = {"name": "数字贸易专题承办机构", "name_en": "Digital Trade Host", "field": "数字贸易",
             "industry": "信息技术服务", "uscc": "n/a", "address": "北京市朝阳区天辰东路7号", "postcode": "100105",
             "phone": "010-84370000", "website": "https://www.ciftis.org"}


def licence_image(size: int = 20_000, fmt: str = "JPEG") -> bytes:
    """An image of about `size` bytes at least (noise does not compress)."""
    from PIL import Image
    side = 64
    while True:
        rng = random.Random(side)
        image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
        out = io.BytesIO()
        image.save(out, fmt, quality=95)
        if len(out.getvalue()) >= size:
            return out.getvalue()
        side += 32


@pytest.fixture
def s(session_for, emit):
    session = session_for("review")
    organisations.seed_defaults(session, emit, "CIFTIS-2027", profile=CIFTIS)
    emit.events.clear()
    return session


def new_host(s, emit, host_id="CF-DIGITAL"):
    organisations.create_delegation(s, emit, COMMITTEE, {
        "id": host_id, "name": "数字贸易专题", "parent_id": None, "recommendation_code": None, "target": 0,
        "two_level": False, "industry": False, "rollup_delegation_id": None}, profile=CIFTIS)
    return organisations.Actor(f"a-{host_id}", "host_organisation_admin", host_id)


def test_ciftis_seed_has_approved_two_level_host_organisations_and_no_fee(s):
    for host_id in ("CF-CULTURE", "CF-FINANCE"):
        assert s.get(Delegation, host_id).two_level
        assert s.get(HostOrganisation, host_id).status == "approved"
    assert organisations.settings_for(s, "CIFTIS-2027", CIFTIS).fee_fen == 0
    assert s.get(Delegation, "GD") is None


def test_ciie_seed_has_delegations_without_host_applications(session_for, emit):
    s = session_for("review")
    organisations.seed_defaults(s, emit, "CIIE-2026", profile=load_profile("ciie"))
    assert not s.get(Delegation, "GD").two_level and s.get(HostOrganisation, "GD") is None
    assert organisations.settings_for(s, "CIIE-2026").fee_fen == 20000
    assert host_organisations.may_issue_codes(s, "FJ")


def test_ciftis_host_organisation_admin_is_bound_to_a_top_level_organisation(s):
    admin = organisations.create_admin(s, COMMITTEE, {"username": "culture", "password": "x" * 12,
                                                      "role": "host_organisation_admin",
                                                      "delegation_id": "CF-CULTURE"})
    assert admin.delegation_id == "CF-CULTURE"
    with pytest.raises(DomainError) as err:
        organisations.create_admin(s, COMMITTEE, {"username": "nobody", "password": "x" * 12,
                                                  "role": "host_organisation_admin", "delegation_id": None})
    assert err.value.code == "delegation_required"
    s.add(Delegation(id="CF-CULTURE-A", name="分支", parent_id="CF-CULTURE", target=0, two_level=False))
    s.flush()
    with pytest.raises(DomainError) as err:
        organisations.create_admin(s, COMMITTEE, {"username": "branch", "password": "x" * 12,
                                                  "role": "host_organisation_admin", "delegation_id": "CF-CULTURE-A"})
    assert err.value.code == "not_a_host_organisation"
    with pytest.raises(Forbidden):  # only the committee creates them
        organisations.create_admin(s, organisations.Actor("h", "host_organisation_admin", "CF-CULTURE"), {
            "username": "another", "password": "x" * 12, "role": "host_organisation_admin",
            "delegation_id": "CF-CULTURE"})


def test_ciftis_host_organisation_registers_and_the_committee_decides(s, emit):
    host = new_host(s, emit)
    assert s.get(Delegation, "CF-DIGITAL").two_level
    application = host_organisations.own_application(s, host)
    assert application.status == "awaiting_info" and not host_organisations.view(application)["codes_allowed"]

    with pytest.raises(Conflict) as err:  # no codes before the committee approves
        invitation_codes.issue_invitation_codes(s, host, "CF-DIGITAL", 5)
    assert err.value.code == "host_organisation_not_approved" and status_of(err.value) == 409

    host_organisations.update_info(s, host, {k: v for k, v in HOST_INFO.items() if k != "industry"})
    with pytest.raises(DomainError) as err:
        host_organisations.submit(s, host)
    assert (err.value.code, err.value.field) == ("host_info_incomplete", "industry")
    host_organisations.update_info(s, host, {"industry": "信息技术服务"})
    with pytest.raises(DomainError) as err:
        host_organisations.submit(s, host)
    assert err.value.code == "licence_required"
    with pytest.raises(DomainError) as err:
        host_organisations.update_info(s, host, {"uscc": "91350100M000100Y44"})  # wrong check character
    assert err.value.code == "invalid_uscc"

    too_large = licence_image(301 * 1024)
    assert len(too_large) > 300 * 1024
    with pytest.raises(DomainError) as err:
        host_organisations.store_licence(s, host, too_large, CIFTIS)
    assert err.value.code == "licence_too_large"
    with pytest.raises(DomainError) as err:
        host_organisations.store_licence(s, host, licence_image(2000, "GIF"), CIFTIS)
    assert err.value.code == "licence_wrong_type"
    host_organisations.store_licence(s, host, licence_image(20_000, "PNG"), CIFTIS)
    assert host_organisations.submit(s, host).status == "pending"
    with pytest.raises(Conflict) as err:
        host_organisations.update_info(s, host, {"name": "另一个名字"})
    assert err.value.code == "host_organisation_locked"

    with pytest.raises(Forbidden):
        host_organisations.approve(s, emit, host, "CF-DIGITAL")
    assert [r["id"] for r in host_organisations.applications_page(s, COMMITTEE, {"status": "pending"})["items"]] \
        == ["CF-DIGITAL"]
    with pytest.raises(DomainError) as err:
        host_organisations.return_for_modification(s, COMMITTEE, "CF-DIGITAL", "  ")
    assert err.value.code == "comment_required"
    host_organisations.return_for_modification(s, COMMITTEE, "CF-DIGITAL", "营业执照不清晰")
    view = host_organisations.view(host_organisations.own_application(s, host))
    assert (view["status"], view["comment"]) == ("returned", "营业执照不清晰")
    host_organisations.store_licence(s, host, licence_image(30_000), CIFTIS)
    host_organisations.submit(s, host)
    emit.events.clear()
    host_organisations.approve(s, emit, COMMITTEE, "CF-DIGITAL")
    assert s.get(Delegation, "CF-DIGITAL").name == HOST_INFO["name"] and emit.types() == ["DelegationChanged"]
    assert host_organisations.view(host_organisations.own_application(s, host))["codes_allowed"]
    assert len(invitation_codes.issue_invitation_codes(s, host, "CF-DIGITAL", 3)) == 3
    with pytest.raises(NotFound):  # another organisation's codes
        invitation_codes.issue_invitation_codes(s, host, "CF-CULTURE", 1)


def test_ciftis_a_code_of_an_organisation_no_longer_approved_cannot_be_claimed(s, emit):
    host = new_host(s, emit)
    application = s.get(HostOrganisation, "CF-DIGITAL")
    application.status = "approved"
    [code] = invitation_codes.issue_invitation_codes(s, host, "CF-DIGITAL", 1)
    application.status = "pending"  # say, a code issued before the organisation was reviewed again
    answer = invitation_codes.claim_answer(s, code.code, "u1", "Co")
    assert not answer["ok"] and answer["code"] == "host_organisation_not_approved"
    application.status = "approved"
    assert invitation_codes.claim_answer(s, code.code, "u1", "Co")["ok"]


def unit_under(s, unit_id="u1", delegation="CF-CULTURE"):
    from services.review.models import UnitReview
    review = UnitReview(unit_id=unit_id, edition="CIFTIS-2027", uscc="91350100M000100Y43", name="Unit",
                        category="enterprise", region="mainland", delegation_id=delegation, status="pending",
                        automatic=False, submissions=1)
    s.add(review)
    s.flush()
    return review


def submitted_person(s, review, person_id="p1", badge="exhibitor"):
    from services.review.models import ReviewPerson
    person = ReviewPerson(person_id=person_id, unit_id=review.unit_id, requested_label=badge, status="submitted",
                          fee_fen=0)
    s.add(person)
    s.flush()
    return person


CULTURE = organisations.Actor("a-culture", "host_organisation_admin", "CF-CULTURE")


def test_ciftis_no_automatic_review():
    from services.review.domain import decisions
    from services.review.models import UnitReview
    unit = UnitReview(region="mainland", category="enterprise")
    assert not decisions.may_auto_approve(unit, True, CIFTIS)
    assert decisions.may_auto_approve(unit, True, load_profile("ciie"))


def test_ciftis_host_organisation_approves_first_the_committee_confirms(s, emit):
    from services.review.domain import decisions, personnel
    review = unit_under(s)
    person = submitted_person(s, review)
    decisions.approve(s, emit, review, CULTURE, profile=CIFTIS)
    assert review.status == "first_approved" and emit.types() == []
    with pytest.raises(Forbidden):
        decisions.approve(s, emit, review, CULTURE, profile=CIFTIS)
    with pytest.raises(NotFound):  # another host organisation sees nothing of it
        decisions.get_review_in_scope(s, review.unit_id, organisations.Actor("f", "host_organisation_admin",
                                                                              "CF-FINANCE"))
    decisions.approve(s, emit, review, COMMITTEE, profile=CIFTIS)
    assert review.status == "approved" and emit.types() == ["UnitApproved"]
    assert person.status == "awaiting_confirmation"  # people are reviewed too: nothing confirmed at once

    personnel.approve_personnel(s, emit, ["p1"], CULTURE, profile=CIFTIS)
    assert person.status == "first_approved" and emit.types() == ["UnitApproved"]
    with pytest.raises(Conflict):  # the host organisation does not approve twice
        personnel.approve_personnel(s, emit, ["p1"], CULTURE, profile=CIFTIS)
    with pytest.raises(Conflict) as err:  # the CIIE ways are closed
        personnel.grant_label(s, emit, ["p1"], "exhibitor", COMMITTEE, profile=CIFTIS)
    assert err.value.code == "personnel_review"
    assert [p.person_id for p in personnel.personnel_page(s, COMMITTEE, {
        "status": "first_approved", "unit_id": None, "page": 1, "per_page": 50})["items"]] == ["p1"]
    personnel.approve_personnel(s, emit, ["p1"], COMMITTEE, profile=CIFTIS)
    assert (person.status, person.label, person.payer) == ("confirmed", "exhibitor", "free")
    assert emit.events[-1] == ("PersonnelConfirmed", {"person_id": "p1", "unit_id": "u1",
                                                      "delegation_id": "CF-CULTURE", "label": "exhibitor",
                                                      "payer": "free", "fee_fen": 0})


def test_ciftis_people_rejected_on_either_level(s, emit):
    from services.review.domain import decisions, personnel
    review = unit_under(s)
    first, second = submitted_person(s, review, "p1"), submitted_person(s, review, "p2", "delegate")
    decisions.approve(s, emit, review, CULTURE, profile=CIFTIS)
    decisions.approve(s, emit, review, COMMITTEE, profile=CIFTIS)
    emit.events.clear()
    with pytest.raises(DomainError) as err:
        personnel.reject_personnel(s, emit, ["p1"], " ", CULTURE, profile=CIFTIS)
    assert err.value.code == "reason_required"
    personnel.reject_personnel(s, emit, ["p1"], "不是本机构邀请的企业人员", CULTURE, profile=CIFTIS)
    personnel.approve_personnel(s, emit, ["p2"], CULTURE, profile=CIFTIS)
    personnel.reject_personnel(s, emit, ["p2"], "照片不符合要求", COMMITTEE, profile=CIFTIS)
    assert (first.status, second.status) == ("rejected", "rejected")
    assert emit.events == [
        ("PersonnelRejected", {"person_id": "p1", "unit_id": "u1", "reason": "不是本机构邀请的企业人员"}),
        ("PersonnelRejected", {"person_id": "p2", "unit_id": "u1", "reason": "照片不符合要求"})]
    with pytest.raises(Conflict):
        personnel.approve_personnel(s, emit, ["p1"], COMMITTEE, profile=CIFTIS)


def test_ciftis_a_unit_without_organisation_is_the_committees_alone(s, emit):
    from services.review.domain import decisions, personnel
    review = unit_under(s, "u-open", delegation=None)
    submitted_person(s, review, "p-open", "buyer")
    with pytest.raises(NotFound):
        decisions.get_review_in_scope(s, "u-open", CULTURE)
    decisions.approve(s, emit, review, COMMITTEE, profile=CIFTIS)
    assert review.status == "approved"
    with pytest.raises(NotFound):
        personnel.approve_personnel(s, emit, ["p-open"], CULTURE, profile=CIFTIS)
    personnel.approve_personnel(s, emit, ["p-open"], COMMITTEE, profile=CIFTIS)
    assert emit.events[-1][0] == "PersonnelConfirmed" and emit.events[-1][1]["label"] == "buyer"


def test_ciie_has_no_personnel_review(session_for, emit):
    from services.review.domain import personnel
    s = session_for("review")
    organisations.seed_defaults(s, emit, "CIIE-2026", profile=load_profile("ciie"))
    with pytest.raises(Conflict) as err:
        personnel.approve_personnel(s, emit, ["p1"], COMMITTEE, profile=load_profile("ciie"))
    assert err.value.code == "no_personnel_review"


def test_badges_come_from_the_profile():
    from services.review.domain import personnel
    ciie = load_profile("ciie")
    assert personnel.confirmation_for("visitor", None, ciie) == ("visitor", "unit")
    assert personnel.confirmation_for("vip", None, ciie) is None
    assert personnel.confirmation_for("delegate", None, CIFTIS) == ("delegate", "free")


def test_ciftis_an_unapproved_host_organisation_decides_nothing(s, emit):
    from services.review.domain import decisions, personnel
    host = new_host(s, emit)
    review = unit_under(s, "u-early", delegation="CF-DIGITAL")  # say, moved there by the committee
    submitted_person(s, review, "p-early")
    for decide in (lambda: decisions.approve(s, emit, review, host, profile=CIFTIS),
                   lambda: decisions.return_for_modification(s, emit, review, "请补充材料", host),
                   lambda: personnel.approve_personnel(s, emit, ["p-early"], host, profile=CIFTIS)):
        with pytest.raises(Conflict) as err:
            decide()
        assert err.value.code == "host_organisation_not_approved"
    s.get(HostOrganisation, "CF-DIGITAL").status = "approved"
    assert decisions.approve(s, emit, review, host, profile=CIFTIS).status == "first_approved"
