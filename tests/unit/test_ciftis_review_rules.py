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
