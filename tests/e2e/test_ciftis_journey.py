"""CIFTIS end to end (FAIR=ciftis), through the gateway and RabbitMQ only: the organising
committee opens a host organisation, which registers (licence ≤ 300 KB) and is reviewed by
the committee, then invites an enterprise with a single-use code; the enterprise registers
as an invited attendee and applies for a conference-delegate badge; the host organisation
reviews unit and person first, the committee confirms; the badge is free, the police check
passes, the card is produced and dispatched."""
from __future__ import annotations

import functools
import io
import random
import uuid

import pytest

from deploy.stack import find_nginx
from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_resident_id, random_uscc
from tests.stacks import running_stack

COMMITTEE_PASSWORD = "Admin-passw0rd"
INTRODUCTION = ("We design cloud software for logistics companies and run data services for ports "
                "in North China; we come to meet partners in trade in services.")


@pytest.fixture(scope="module")
def ciftis_stack(tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/test installs it when run as root)")
    with running_stack(tmp_path_factory.mktemp("ciftis"), FAIR="ciftis") as s:
        yield s


@functools.lru_cache(maxsize=None)
def ciftis_photo() -> bytes:
    """600 × 800 JPG between 50 and 500 KB (a plain picture compresses below 50 KB)."""
    from PIL import Image
    rng = random.Random(7)
    image = Image.new("RGB", (600, 800), (250, 250, 250))
    pixels = image.load()
    for y in range(0, 800, 2):
        for x in range(0, 600, 2):
            shade = rng.randint(120, 255)
            pixels[x, y] = (shade, shade - 20, shade - 40)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    data = out.getvalue()
    assert 50 * 1024 <= len(data) <= 500 * 1024, len(data)
    return data


def licence_png(size: int) -> bytes:
    """A PNG of about `size` bytes (noise does not compress)."""
    from PIL import Image
    side = max(8, int((size / 3) ** 0.5))
    image = Image.frombytes("RGB", (side, side), random.Random(size).randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def admin(stack, username: str, password: str) -> Portal:
    portal = Portal(stack.url)
    portal.token = portal.call("POST", "review/admin/login", 200,
                               json={"username": username, "password": password}).json()["token"]
    return portal


def test_ciftis_host_organisation_invites_an_enterprise_whose_attendee_gets_a_badge(ciftis_stack):
    stack = ciftis_stack
    anyone = Portal(stack.url)
    fair = anyone.call("GET", "registration/fair", 200).json()
    assert fair["key"] == "ciftis" and fair["photo"]["exact_size"] == [600, 800]
    assert {b["id"] for b in fair["badge_types"]} == {"exhibitor", "delegate", "buyer", "guest", "host_staff"}

    # the committee opens a host organisation and gives it an account
    committee = admin(stack, "admin", COMMITTEE_PASSWORD)
    host_id = f"CF-{uuid.uuid4().hex[:6].upper()}"
    committee.call("POST", "review/delegations", 201, json={"id": host_id, "name": "数字贸易专题承办机构",
                                                             "parent_id": None})
    username = f"host{uuid.uuid4().hex[:6]}"
    committee.call("POST", "review/admins", 201, json={"username": username, "password": "Host-passw0rd",
                                                        "role": "host_organisation_admin",
                                                        "delegation_id": host_id})
    host = admin(stack, username, "Host-passw0rd")
    assert host.call("GET", "review/host-organisation", 200).json()["status"] == "awaiting_info"
    # no codes before the committee has approved the organisation
    refused = host.call("POST", f"review/delegations/{host_id}/invitation-codes", 409, json={"count": 1})
    assert refused.json()["code"] == "host_organisation_not_approved"

    # it registers its details and licence (a licence over 300 KB is refused)
    host.call("PUT", "review/host-organisation", 200, json={
        "name": "数字贸易专题承办机构", "name_en": "Digital Trade Host", "field": "数字贸易",
        "industry": "信息服务", "uscc": "n/a", "address": "北京市朝阳区示例路 1 号", "postcode": "100020",
        "phone": "010-58103199", "website": "https://host.example.cn"})
    too_big = host.call("PUT", "review/host-organisation/licence", 400,
                        files={"licence": ("licence.png", licence_png(320 * 1024), "image/png")})
    assert too_big.json()["code"] == "licence_too_large" and too_big.json()["field"] == "licence"
    host.call("PUT", "review/host-organisation/licence", 200,
              files={"licence": ("licence.png", licence_png(100 * 1024), "image/png")})
    host.call("POST", "review/host-organisation/submit", 200)
    pending = committee.call("GET", "review/host-organisations", 200, params={"status": "pending"}).json()
    assert host_id in {item["id"] for item in pending["items"]}
    committee.call("POST", f"review/host-organisations/{host_id}/approve", 200)
    assert host.call("GET", "review/host-organisation", 200).json()["status"] == "approved"

    # it invites an enterprise with a single-use code
    [code] = host.call("POST", f"review/delegations/{host_id}/invitation-codes", 201, json={"count": 1}).json()
    invitation = code["code"]

    # the enterprise registers as an invited attendee with the code
    unit = Portal(stack.url)
    uscc, phone = random_uscc(), random_phone()
    name = f"北京示例数据服务有限公司{uuid.uuid4().hex[:4]}"
    unit.call("POST", "registration/units", 201, json={
        "uscc": uscc, "password": "Passw0rd!", "name": name, "category": "enterprise", "phone": phone,
        "email": f"c-{uuid.uuid4().hex[:8]}@example.cn", "sms_code": unit.sms_code(phone, "signup"),
        "privacy_consent": True, "visitor_kind": "attendee_invited", "host_invitation_code": invitation})
    unit.login(uscc)
    me = unit.call("GET", "registration/units/me", 200).json()
    assert me["delegation_id"] == host_id
    codes = host.call("GET", f"review/delegations/{host_id}/invitation-codes", 200).json()
    assert [c["used"] for c in codes if c["code"] == invitation] == [True]
    # a second enterprise cannot use the same code
    other_phone = random_phone()
    again = unit.call("POST", "registration/units", json={
        "uscc": random_uscc(), "password": "Passw0rd!", "name": "另一家公司", "category": "enterprise",
        "phone": other_phone, "email": "other@example.cn", "sms_code": unit.sms_code(other_phone, "signup"),
        "privacy_consent": True, "visitor_kind": "attendee_invited", "host_invitation_code": invitation})
    assert again.status_code == 409 and again.json()["code"] == "invitation_code_used"

    unit.call("POST", "registration/units/me/addresses", 201, json={
        "recipient": "Wang Wei", "phone": "13800138000", "province": "北京", "city": "北京",
        "detail": "朝阳区示例路 2 号", "is_default": True})
    unit.call("PATCH", "registration/units/me/info", 200, json={
        "contact_name": "王伟", "contact_position": "市场总监", "contact_mobile": "13800138000",
        "contact_email": "wang@example.cn", "industry": "information_services", "company_type": "domestic",
        "fortune500": False, "introduction": INTRODUCTION, "purposes": ["find_partners"]})
    person = unit.call("POST", "registration/units/me/personnel", 201, json={
        "name": "王伟", "gender": "male", "region_type": "mainland", "id_type": "resident_id",
        "id_number": random_resident_id(), "mobile": "13900139000", "entry_dates": [fair["edition"]["first_day"]],
        "exhibition_area": "finance", "pickup_method": "courier", "requested_label": "delegate",
        "privacy_consent": True}).json()
    small = unit.call("PUT", f"registration/units/me/personnel/{person['id']}/photo", 400,
                      files={"photo": ("photo.jpg", _plain_jpeg(480, 640), "image/jpeg")})
    assert small.json()["field"] == "photo"
    unit.call("PUT", f"registration/units/me/personnel/{person['id']}/photo", 200,
              files={"photo": ("photo.jpg", ciftis_photo(), "image/jpeg")})
    unit.call("POST", f"registration/units/me/personnel/{person['id']}/submit", 200)
    unit.submit_unit()

    # the host organisation reviews first, the committee confirms
    unit_id = me["id"]
    wait_for(lambda: host.call("GET", f"review/units/{unit_id}").status_code == 200, message="the unit in review")
    first = host.call("POST", f"review/units/{unit_id}/approve", 200).json()
    assert first["status"] == "first_approved"
    committee.call("POST", f"review/units/{unit_id}/approve", 200)
    wait_for(lambda: unit.person(person["id"])["status"] != "submitted", message="the person awaiting review")
    host.call("POST", "review/personnel/approve", 200, json={"person_ids": [person["id"]]})
    committee.call("POST", "review/personnel/approve", 200, json={"person_ids": [person["id"]]})

    # free badge: no payment; the police check passes; the card is produced and dispatched
    dispatched = unit.wait_person_status(person["id"], "dispatched", timeout=60)
    assert dispatched["label"] == "delegate" and dispatched["credential_no"].startswith(fair["edition"]["id"][-4:])
    assert all(p["fee_fen"] == 0 for p in unit.call("GET", "billing/payables", 200).json())
    creds = unit.call("GET", "credentials/units/me/credentials", 200).json()
    assert [c["credential_no"] for c in creds] == [dispatched["credential_no"]]
    sms = wait_for(lambda: [m["text"] for m in unit.sms(phone) if "服贸会" in m["text"]], message="CIFTIS SMS")
    assert all("进博会" not in t for t in sms)


def _plain_jpeg(width: int, height: int) -> bytes:
    from tests.journey import photo_jpeg
    return photo_jpeg(width, height)
