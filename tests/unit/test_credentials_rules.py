import base64
import datetime as dt
from types import SimpleNamespace

import pytest

from services.credentials import cards, handlers
from services.credentials.domain import checks, gate, production
from services.credentials.models import Credential
from shared.errors import Conflict
from shared.events import make_event, parse_event
from shared.inbox import HandlerContext
from tests.journey import photo_jpeg

SECRET = b"k" * 32
DOSSIER = {"person_id": "p1", "unit_id": "u1", "unit_name": "Example Co", "name": "张三", "gender": "male",
           "id_type": "resident_id", "id_number": "11010519491231002X", "nationality": "CN",
           "entry_dates": ["2026-11-06", "2026-11-07"], "exhibition_area": "consumer_goods",
           "pickup_method": "courier", "delegation_id": "GD-GZ"}


def rpc(dossier=DOSSIER):
    photo = base64.b64encode(photo_jpeg()).decode()
    return SimpleNamespace(registration=SimpleNamespace(person_dossier=lambda pid: dossier,
                                                        person_photo=lambda pid: photo))


DEPS = SimpleNamespace(settings=SimpleNamespace(edition="CIIE-2026"))


def ctx(s, emit, event_type, payload, producer):
    return HandlerContext(s, parse_event(make_event(event_type, payload, producer=producer)), emit, DEPS, rpc())


def confirmed(s, emit, payer="unit", label="visitor"):
    handlers.on_personnel_confirmed(ctx(s, emit, "PersonnelConfirmed", {
        "person_id": "p1", "unit_id": "u1", "delegation_id": "GD-GZ", "label": label, "payer": payer}, "review"))


def paid(s, emit):
    handlers.on_payment_confirmed(ctx(s, emit, "PaymentConfirmed", {
        "payment_id": "pay", "order_id": "o", "order_no": "V1", "unit_id": "u1", "person_ids": ["p1"],
        "amount_fen": 20000, "method": "alipay"}, "billing"))


def passed(s, emit, check_id):
    handlers.on_background_check_passed(ctx(s, emit, "BackgroundCheckPassed", {"check_id": check_id,
                                                                               "person_id": "p1"}, "police"))


def address(unit_id):
    return {"city": "广州", "phone": "13800138000"}


def test_numbers_are_sequential_per_edition(session_for):
    s = session_for("credentials")
    assert production.next_credential_no(s, "CIIE-2026") == "202600000001"
    assert production.next_credential_no(s, "CIIE-2026") == "202600000002"


def test_the_check_is_requested_once_after_payment_or_at_once_when_free(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit)  # the unit pays: no check yet
    assert emit.types() == []
    paid(s, emit)
    paid(s, emit)
    assert emit.types() == ["BackgroundCheckRequested"]
    assert emit.events[0][1]["id_number"] == "11010519491231002X"  # the police-only event carries it
    s2 = session_for("credentials")
    emit.events.clear()
    confirmed(s2, emit, payer="free", label="vip")
    assert emit.types() == ["BackgroundCheckRequested"]


def test_answers_are_matched_and_duplicates_ignored_then_batch_production(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit)
    paid(s, emit)
    check_id = emit.events[0][1]["check_id"]
    handlers.on_background_check_passed(ctx(s, emit, "BackgroundCheckPassed", {"check_id": "nope", "person_id": "p1"},
                                            "police"))
    passed(s, emit, check_id)
    passed(s, emit, check_id)  # duplicate answer
    [credential] = s.query(Credential).all()
    assert credential.status == "queued" and credential.card["name"] == "张三" and credential.photo
    batch = production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    assert batch.size == 1 and batch.sheet_pdf.startswith(b"%PDF") and credential.card_pdf.startswith(b"%PDF")
    assert credential.status == "dispatched" and credential.tracking_no.startswith("SF")
    assert credential.ship_to == "广州 138****8000"
    assert emit.types() == ["BackgroundCheckRequested", "CredentialProduced", "CredentialDispatched"]
    assert production.produce_batch(s, emit, SECRET, "CIIE 2026", address) is None
    production.hand_over(s, credential.credential_no)
    assert credential.status == "delivered"
    with pytest.raises(Conflict):
        production.hand_over(s, credential.credential_no)


def test_no_address_waits_and_onsite_pickup_is_ready(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit, payer="free", label="staff")
    passed(s, emit, emit.events[0][1]["check_id"])
    production.produce_batch(s, emit, SECRET, "CIIE 2026", lambda u: None)
    [credential] = s.query(Credential).all()
    assert credential.status == "produced"
    assert production.dispatch_all_waiting(s, emit, address) == 1 and credential.status == "dispatched"


def test_failed_check_produces_nothing(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit, payer="free", label="staff")
    check_id = emit.events[0][1]["check_id"]
    handlers.on_background_check_failed(ctx(s, emit, "BackgroundCheckFailed", {"check_id": check_id,
                                                                               "person_id": "p1"}, "police"))
    passed(s, emit, check_id)  # a late contradictory answer is ignored
    assert s.query(Credential).count() == 0


def test_gate_verification_and_revocation_on_upgrade(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit)
    paid(s, emit)
    passed(s, emit, emit.events[0][1]["check_id"])
    production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    old = s.query(Credential).one()
    reference = cards.qr_reference(old.credential_no, SECRET)
    assert gate.verify_at_gate(s, reference, SECRET, dt.date(2026, 11, 6)) == {
        "result": "valid", "credential_no": old.credential_no, "label": "visitor"}
    assert gate.verify_at_gate(s, reference, SECRET, dt.date(2026, 11, 8))["result"] == "not_valid_today"
    assert gate.verify_at_gate(s, reference[:-2] + "xx", SECRET, dt.date(2026, 11, 6)) == {"result": "unknown"}
    assert "name" not in str(gate.verify_at_gate(s, reference, SECRET, dt.date(2026, 11, 6)))
    handlers.on_personnel_upgraded(ctx(s, emit, "PersonnelUpgraded", {"person_id": "p1", "unit_id": "u1",
                                                                      "from_label": "visitor", "to_label": "vip"},
                                       "review"))
    assert old.status == "revoked" and emit.types()[-1] == "CredentialRevoked"
    assert gate.verify_at_gate(s, reference, SECRET, dt.date(2026, 11, 6))["result"] == "revoked"
    production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    new = s.query(Credential).filter(Credential.status != "revoked").one()
    assert new.label == "vip" and new.credential_no != old.credential_no
    assert gate.verify_at_gate(s, cards.qr_reference(new.credential_no, SECRET), SECRET,
                               dt.date(2026, 11, 6))["result"] == "valid"


def test_cancellation_revokes_and_stops_production(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit, payer="free", label="staff")
    check_id = emit.events[0][1]["check_id"]
    handlers.on_personnel_cancelled(ctx(s, emit, "PersonnelCancelled", {"person_id": "p1", "unit_id": "u1"},
                                        "registration"))
    passed(s, emit, check_id)
    assert s.query(Credential).count() == 0


def test_reuse_keeps_the_number_and_skips_production(session_for, emit):
    s = session_for("credentials")
    handlers.on_reuse_locked(ctx(s, emit, "ReuseLocked", {"person_id": "p1", "unit_id": "u1", "label": "staff",
                                                          "payer": "free", "previous_credential_no": "202500000042"},
                                 "review"))
    passed(s, emit, emit.events[0][1]["check_id"])
    credential = s.query(Credential).one()
    assert credential.credential_no == "202500000042" and credential.status == "reused"
    assert emit.events[-1] == ("CredentialProduced", {"credential_id": credential.id, "credential_no": "202500000042",
                                                      "person_id": "p1", "unit_id": "u1", "reused": True})


def test_unanswered_checks_are_resent_then_flagged(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit, payer="free", label="staff")
    t0 = dt.datetime.utcnow()
    hour = dt.timedelta(hours=1)
    assert checks.resend_overdue_checks(s, emit, rpc(), hour, 3, now=t0) == {"resent": 0, "overdue": 0}
    assert checks.resend_overdue_checks(s, emit, rpc(), hour, 3, now=t0 + 2 * hour) == {"resent": 1, "overdue": 0}
    assert checks.resend_overdue_checks(s, emit, rpc(), hour, 3, now=t0 + 4 * hour) == {"resent": 1, "overdue": 0}
    assert checks.resend_overdue_checks(s, emit, rpc(), hour, 3, now=t0 + 6 * hour) == {"resent": 0, "overdue": 1}
    assert emit.types() == ["BackgroundCheckRequested"] * 3
    assert len({e[1]["check_id"] for e in emit.events}) == 1  # the same check, asked again


def test_card_png_and_qr_reference():
    face = {"name": "张三", "unit_name": "Example", "delegation": "GD-GZ", "label": "vip", "credential_no": "1",
            "entry_dates": ["2026-11-06"], "exhibition_area": "automobile"}
    png = cards.card_png(face, photo_jpeg(), cards.qr_reference("1", SECRET))
    assert png.startswith(b"\x89PNG")
    assert cards.read_reference(cards.qr_reference("202600000001", SECRET), SECRET) == "202600000001"
    assert cards.read_reference("ACCR1:202600000001:forged", SECRET) is None
