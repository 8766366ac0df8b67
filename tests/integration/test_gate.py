"""The gate over HTTP against real PostgreSQL: who may scan and read the log, the verdicts
with the holder's name and photo, every scan recorded, reissue and revocation, bad input,
and one card scanned at several gates at once."""
from __future__ import annotations

import base64
import datetime as dt
import io
import threading
import uuid
from types import SimpleNamespace

import pytest
import qrcode
from PIL import Image
from sqlalchemy import func, select

from services.credentials.domain import production, revocation
from services.credentials.models import Credential, GateScan
from shared.auth import issue_token
from tests.integration.conftest import deps_of
from tests.journey import photo_jpeg

# 2026-11-06 09:00 in Shanghai
FAIR_MORNING = dt.datetime(2026, 11, 6, 1, 0)


def bearer(role: str, subject: str | None = None, unit_id: str | None = None) -> dict:
    token = issue_token(subject or f"{role}-{uuid.uuid4().hex[:6]}", role,
                        "registration" if unit_id else "review", unit_id=unit_id)
    return {"Authorization": "Bearer " + token}


@pytest.fixture
def clock():
    """The credentials service's clock, set by the test (restored afterwards)."""
    deps = deps_of("credentials")
    saved, now = deps.clock, SimpleNamespace(value=FAIR_MORNING)
    deps.clock = lambda: now.value
    yield now
    deps.clock = saved


def produced_card(entry_dates=("2026-11-06", "2026-11-07")) -> Credential:
    """A person's card, queued with the card face from registration and produced."""
    deps = deps_of("credentials")
    person_id, unit_id = uuid.uuid4().hex, uuid.uuid4().hex
    dossier = {"unit_id": unit_id, "unit_name": "珠海示例有限公司", "name": "李四", "entry_dates": list(entry_dates),
               "pickup_method": "onsite", "exhibition_area": "automobile"}
    photo = base64.b64encode(photo_jpeg()).decode()
    rpc = SimpleNamespace(registration=SimpleNamespace(person_dossier=lambda pid: dossier,
                                                       person_photo=lambda pid: photo))
    with deps.uow() as (s, emit):
        credential = production.queue_credential(s, emit, rpc, person_id, deps.settings.edition)
        production.produce_batch(s, emit, deps.qr_secret, deps.fair_name, lambda unit: None)
    assert credential.status == "ready_for_pickup"
    return credential


def reference(credential: Credential) -> str:
    return production.reference_of(credential, deps_of("credentials").qr_secret)


def scan(apps, payload: str, gate: str = "N1", direction: str = "in", headers: dict | None = None):
    return apps["credentials"].post("/gate/scans", json={"payload": payload, "gate": gate, "direction": direction},
                                    headers=headers or gate_staff())


def gate_staff() -> dict:
    return bearer("gate_staff", "gate-staff-7")


def ops() -> dict:
    return bearer("operations")


def scans_recorded() -> int:
    with deps_of("credentials").uow() as (s, _):
        return s.scalar(select(func.count()).select_from(GateScan)) or 0


def test_only_gate_staff_scan_and_only_the_organiser_reads_the_log(apps, clock):
    card = produced_card()
    before = scans_recorded()
    assert apps["credentials"].post("/gate/scans", json={"payload": reference(card), "gate": "N1"}).status_code == 401
    for role in ("unit_contact", "operations", "organising_committee", "delegation_secretariat", "finance"):
        assert scan(apps, reference(card), headers=bearer(role, unit_id="u" if role == "unit_contact" else None)
                    ).status_code == 403, role
    assert scans_recorded() == before  # a refused caller is not a scan
    r = scan(apps, reference(card))
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"  # it holds a photo
    assert apps["credentials"].get("/gate/scans", headers=gate_staff()).status_code == 403
    assert apps["credentials"].get("/gate/scans").status_code == 401
    for headers in (ops(), bearer("organising_committee")):
        log = apps["credentials"].get("/gate/scans", headers=headers, query_string={"credential_no": card.credential_no})
        assert log.status_code == 200 and log.json["total"] == 1


def test_verdicts_with_the_holder_to_compare_and_every_scan_in_the_log(apps, clock):
    card = produced_card()
    first = scan(apps, reference(card), gate="北1号门")
    assert first.status_code == 201
    body = first.json
    assert (body["verdict"], body["admit"], body["credential_no"], body["label"]) == (
        "valid", True, card.credential_no, "visitor")
    assert body["holder"]["name"] == "李四" and body["holder"]["unit_name"] == "珠海示例有限公司"
    assert body["entry_dates"] == ["2026-11-06", "2026-11-07"] and body["gate"] == "北1号门"
    photo = body["holder"]["photo"]
    assert photo.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(photo.split(",", 1)[1])))
    assert image.format == "JPEG" and image.size[0] <= 240 and image.size[1] <= 320

    clock.value = FAIR_MORNING + dt.timedelta(minutes=7)
    again = scan(apps, reference(card), gate="S2").json
    assert again["verdict"] == "already_inside" and not again["admit"]
    assert again["entered"]["gate"] == "北1号门" and again["entered"]["local_time"] == "09:00"
    clock.value = FAIR_MORNING + dt.timedelta(hours=2)
    assert scan(apps, reference(card), gate="S2", direction="out").json["verdict"] == "valid"
    clock.value = FAIR_MORNING + dt.timedelta(hours=3)
    assert scan(apps, reference(card), gate="S2").json["verdict"] == "valid"  # back from lunch
    clock.value = dt.datetime(2026, 11, 7, 16, 30)  # 00:30 on 2026-11-08 in Shanghai, not one of its days
    late = scan(apps, reference(card)).json
    assert late["verdict"] == "not_this_day" and late["holder"]["name"] == "李四"
    for payload in ("", "not a card", reference(card)[:-3] + "AAA", "ACCR1:" + card.credential_no + ":forged"):
        unknown = scan(apps, payload).json
        assert unknown["verdict"] == "unknown" and unknown["holder"] is None and unknown["credential_no"] is None

    log = apps["credentials"].get("/gate/scans", headers=ops(), query_string={"credential_no": card.credential_no}).json
    assert [(i["verdict"], i["direction"], i["gate"]) for i in log["items"]] == [
        ("not_this_day", "in", "N1"), ("valid", "in", "S2"), ("valid", "out", "S2"),
        ("already_inside", "in", "S2"), ("valid", "in", "北1号门")]
    assert all(i["staff_id"] == "gate-staff-7" for i in log["items"])
    assert log["items"][-1]["scanned_at"].startswith("2026-11-06T01:00")
    assert "李四" not in str(log) and "photo" not in str(log)  # the log names no one
    unknown = apps["credentials"].get("/gate/scans", headers=ops(), query_string={
        "verdict": "unknown", "since": "2026-11-08T00:00:00+08:00", "staff_id": "gate-staff-7"}).json
    assert unknown["total"] >= 4 and all(i["credential_no"] is None for i in unknown["items"])


def test_bad_scan_input_is_a_400_naming_the_field_and_records_nothing(apps, clock):
    before = scans_recorded()
    for body, field in (({"payload": "x"}, "gate"), ({"gate": "N1"}, "payload"),
                        ({"payload": "x", "gate": "N1", "direction": "sideways"}, "direction"),
                        ({"payload": "x" * 5000, "gate": "N1"}, "payload"),
                        ({"payload": "x", "gate": "N1\n<script>"}, "gate"), ({"payload": "x", "gate": "N1 "}, "gate"),
                        ({"payload": "x", "gate": ""}, "gate"), ({"payload": 7, "gate": "N1"}, "payload"),
                        ({"payload": "x", "gate": "N1", "date": "2026-11-06"}, "date")):
        r = apps["credentials"].post("/gate/scans", json=body, headers=gate_staff())
        assert r.status_code == 400 and r.json["field"] == field, (body, r.json)
    r = apps["credentials"].post("/gate/scans", data="{not json", headers={**gate_staff(), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["code"]
    for query in ({"verdict": "maybe"}, {"per_page": "100000"}, {"since": "yesterday"}):
        assert apps["credentials"].get("/gate/scans", headers=ops(), query_string=query).status_code == 400, query
    assert scans_recorded() == before


def test_a_reissue_voids_the_old_card(apps, clock):
    card = produced_card()
    old = reference(card)
    assert apps["credentials"].post(f"/operations/credentials/{card.credential_no}/reissue", headers=gate_staff(),
                                    json={"reason": "lost"}).status_code == 403
    bad = apps["credentials"].post(f"/operations/credentials/{card.credential_no}/reissue", headers=ops(),
                                   json={"reason": "stolen by aliens"})
    assert bad.status_code == 400 and bad.json["field"] == "reason"
    r = apps["credentials"].post(f"/operations/credentials/{card.credential_no}/reissue", headers=ops(),
                                 json={"reason": "lost"})
    assert r.status_code == 200 and r.json["issue"] == 2 and r.json["reissued_at"]
    with deps_of("credentials").uow() as (s, _):
        card = s.scalar(select(Credential).where(Credential.credential_no == card.credential_no))
    superseded = scan(apps, old).json
    assert superseded["verdict"] == "superseded" and superseded["issue"] == 1 and "lost" in superseded["reason"]
    new = scan(apps, reference(card)).json
    assert new["verdict"] == "valid" and new["issue"] == 2
    # the downloads carry the new issue only
    unit = bearer("unit_contact", card.unit_id, unit_id=card.unit_id)
    png = apps["credentials"].get(f"/credentials/{card.credential_no}/card.png", headers=unit)
    qr_box = Image.open(io.BytesIO(png.data)).convert("RGB").crop((408, 781, 608, 981)).tobytes()
    assert qr_box == qr_png(reference(card)) and qr_box != qr_png(old)
    assert apps["credentials"].get(f"/credentials/{card.credential_no}/card.pdf", headers=unit).data.startswith(b"%PDF")


def qr_png(payload: str) -> bytes:
    return qrcode.make(payload, box_size=4, border=2).convert("RGB").resize((200, 200)).tobytes()


def test_a_revoked_card_is_not_downloadable_and_refused_at_the_gate(apps, clock):
    card = produced_card()
    unit = bearer("unit_contact", card.unit_id, unit_id=card.unit_id)
    assert apps["credentials"].get(f"/credentials/{card.credential_no}/card.pdf", headers=unit).status_code == 200
    deps = deps_of("credentials")
    with deps.uow() as (s, emit):
        revocation.cancel_person(s, emit, card.person_id, card.unit_id)
    for path in ("card.pdf", "card.png"):
        for headers in (unit, ops()):
            r = apps["credentials"].get(f"/credentials/{card.credential_no}/{path}", headers=headers)
            assert r.status_code == 409 and r.json == {
                "code": "credential_revoked", "field": "credential_no",
                "message": "this credential was revoked: its card can no longer be downloaded"}, (path, r.json)
    refused = scan(apps, reference(card)).json
    assert refused["verdict"] == "revoked" and refused["reason"] == "cancelled" and not refused["admit"]
    r = apps["credentials"].post(f"/operations/credentials/{card.credential_no}/reissue", headers=ops(),
                                 json={"reason": "damaged"})
    assert r.status_code == 409 and r.json["code"] == "credential_revoked"


def test_one_card_at_several_gates_at_once_goes_in_once(apps, clock):
    card = produced_card()
    payload, gates = reference(card), 6
    app = apps["credentials"].application
    barrier, verdicts = threading.Barrier(gates), []

    def at_gate(i: int):
        client = app.test_client()
        barrier.wait()
        r = client.post("/gate/scans", json={"payload": payload, "gate": f"E{i}"}, headers=gate_staff())
        verdicts.append(r.json["verdict"] if r.status_code == 201 else r.status_code)

    threads = [threading.Thread(target=at_gate, args=(i,)) for i in range(gates)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(verdicts) == ["already_inside"] * (gates - 1) + ["valid"], verdicts


def test_the_committee_creates_gate_staff_who_can_scan(apps, clock):
    review = apps["review"]
    committee = {"Authorization": "Bearer " + review.post("/admin/login", json={
        "username": "admin", "password": "Admin-passw0rd"}).json["token"]}
    username = f"gate{uuid.uuid4().hex[:6]}"
    r = review.post("/admins", headers=committee, json={"username": username, "password": "Gate-passw0rd",
                                                       "role": "gate_staff", "delegation_id": "GD"})
    assert r.status_code == 400 and (r.json["code"], r.json["field"]) == ("delegation_not_allowed", "delegation_id")
    secretariat = bearer("delegation_secretariat")
    assert review.post("/admins", headers=secretariat, json={"username": username, "password": "Gate-passw0rd",
                                                            "role": "gate_staff"}).status_code == 403
    r = review.post("/admins", headers=committee, json={"username": username, "password": "Gate-passw0rd",
                                                       "role": "gate_staff"})
    assert r.status_code == 201 and r.json["role"] == "gate_staff" and r.json["delegation_id"] is None
    login = review.post("/admin/login", json={"username": username, "password": "Gate-passw0rd"}).json
    assert login["role"] == "gate_staff"
    staff = {"Authorization": "Bearer " + login["token"]}
    assert review.get("/queue", headers=staff).status_code == 403  # gate staff review nothing
    card = produced_card()
    assert scan(apps, reference(card), headers=staff).json["verdict"] == "valid"
