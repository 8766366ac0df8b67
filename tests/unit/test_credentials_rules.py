import base64
import datetime as dt
import io
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import qrcode
from PIL import Image

from services.credentials import cards, handlers
from services.credentials.domain import checks, gate, production, revocation
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


SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-11-06 09:00 at the fair is 01:00 UTC
FAIR_MORNING = dt.datetime(2026, 11, 6, 1, 0)


def produced(s, emit) -> Credential:
    """p1, paid and checked, with a produced (and dispatched) card for 2026-11-06 and -07."""
    confirmed(s, emit)
    paid(s, emit)
    passed(s, emit, emit.events[0][1]["check_id"])
    production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    return s.query(Credential).one()


def scan(s, payload, at=FAIR_MORNING, gate_name="N1", direction="in"):
    return gate.scan_at_gate(s, gate.Scan(payload, gate_name, direction, "staff-1"), SECRET, SHANGHAI, lambda: at)


def test_qr_payload_binds_number_holder_and_issue():
    reference = cards.qr_reference("202600000001", "p1", 1, SECRET)
    parsed = cards.parse_reference(reference)
    assert parsed == cards.ScannedReference("202600000001", 1, reference.rsplit(":", 1)[1])
    assert cards.is_genuine(parsed, "p1", SECRET)
    assert not cards.is_genuine(parsed, "p2", SECRET)  # another holder's card under this number
    assert not cards.is_genuine(parsed, "p1", b"x" * 32)  # made with another key
    number, issue, mac = reference.split(":")[1:]
    for forged in (f"ACCR2:202600000002:{issue}:{mac}", f"ACCR2:{number}:2:{mac}",
                   f"ACCR2:{number}:{issue}:{'A' * 26}"):
        assert not cards.is_genuine(cards.parse_reference(forged), "p1", SECRET), forged
    for garbage in ("", "   ", "ACCR2:1:0:" + "A" * 26, "ACCR2:1:1:" + "a" * 26, reference + "X", "x" * 1000,
                    "https://example.com/202600000001", "ACCR1:202600000001:forged"):
        assert cards.parse_reference(garbage) is None, garbage
    # short, and all in the QR alphanumeric alphabet: a small code a phone reads at once
    assert len(reference) <= 50 and set(reference) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(reference)
    qr.make(fit=True)
    assert qr.version <= 3


def test_legacy_payload_stands_for_the_first_issue():
    legacy = "ACCR1:202600000001:" + cards._legacy_mac(SECRET, "202600000001")
    parsed = cards.parse_reference(legacy)
    assert parsed.legacy and parsed.issue == 1 and cards.is_genuine(parsed, "anyone", SECRET)
    assert not cards.is_genuine(cards.parse_reference(legacy[:-2] + "AA"), "anyone", SECRET)


def test_the_fair_day_is_shanghai_s():
    assert gate.fair_day(dt.datetime(2026, 11, 5, 15, 59), SHANGHAI) == dt.date(2026, 11, 5)  # 23:59 there
    assert gate.fair_day(dt.datetime(2026, 11, 5, 16, 0), SHANGHAI) == dt.date(2026, 11, 6)  # midnight there
    assert gate.day_start(dt.date(2026, 11, 6), SHANGHAI) == dt.datetime(2026, 11, 5, 16, 0)
    assert gate.local_time(FAIR_MORNING, SHANGHAI) == "09:00"


@pytest.mark.parametrize("status, card_issue, current, direction, inside, expected", [
    ("dispatched", 1, 1, "in", False, "valid"),
    ("reused", 1, 1, "in", False, "valid"),
    ("dispatched", 1, 1, "in", True, "already_inside"),
    ("dispatched", 1, 2, "in", False, "superseded"),
    ("revoked", 1, 2, "in", False, "revoked"),
    ("revoked", 1, 1, "out", False, "revoked"),
    ("queued", 1, 1, "in", False, "not_issued"),
    ("dispatched", 1, 1, "out", True, "valid"),  # going out is not refused for being inside
])
def test_verdicts(status, card_issue, current, direction, inside, expected):
    days = ["2026-11-06"]
    assert gate.verdict_for(status, card_issue, current, days, dt.date(2026, 11, 6), direction, inside) == expected


def test_not_this_day_for_entries_only():
    days = ["2026-11-06", "2026-11-07"]
    assert gate.verdict_for("dispatched", 1, 1, days, dt.date(2026, 11, 8), "in", False) == "not_this_day"
    assert gate.verdict_for("dispatched", 1, 1, days, dt.date(2026, 11, 8), "out", False) == "valid"
    assert gate.verdict_for("dispatched", 1, 1, [], dt.date(2026, 11, 6), "in", False) == "not_this_day"


def test_gate_shows_the_holder_and_records_every_scan(session_for, emit):
    s = session_for("credentials")
    card = produced(s, emit)
    reference = production.reference_of(card, SECRET)
    first = scan(s, reference)
    assert first["verdict"] == "valid" and first["admit"] and first["credential_no"] == card.credential_no
    assert first["holder"]["name"] == "张三" and first["holder"]["unit_name"] == "Example Co"
    photo = base64.b64decode(first["holder"]["photo"].removeprefix("data:image/jpeg;base64,"))
    width, height = Image.open(io.BytesIO(photo)).size
    assert width <= 240 and height <= 320 and photo.startswith(b"\xff\xd8")
    assert first["label"] == "visitor" and first["entry_dates"] == ["2026-11-06", "2026-11-07"]
    # the same card again at another gate, no exit in between: a copy, or lent back through the fence
    again = scan(s, reference, at=FAIR_MORNING + dt.timedelta(minutes=20), gate_name="S2")
    assert again["verdict"] == "already_inside" and not again["admit"]
    assert again["entered"] == {"at": FAIR_MORNING, "local_time": "09:00", "gate": "N1"}
    assert "09:00" in again["message"] and "N1" in again["message"]
    # out for lunch and back in
    assert scan(s, reference, at=FAIR_MORNING + dt.timedelta(hours=3), direction="out")["verdict"] == "valid"
    assert scan(s, reference, at=FAIR_MORNING + dt.timedelta(hours=4))["verdict"] == "valid"
    # the next day starts outside, whatever happened the day before (midnight in Shanghai)
    next_morning = FAIR_MORNING + dt.timedelta(days=1)
    assert scan(s, reference, at=next_morning)["verdict"] == "valid"
    # 2026-11-08 09:00 in Shanghai is not one of its days
    not_today = scan(s, reference, at=FAIR_MORNING + dt.timedelta(days=2))
    assert not_today["verdict"] == "not_this_day" and not_today["holder"]["name"] == "张三"
    # forged, someone else's, unreadable: unknown, nothing personal, recorded all the same
    other = cards.qr_reference(card.credential_no, "someone-else", 1, SECRET)
    for payload in (reference[:-2] + "AA", other, "", "garbage"):
        unknown = scan(s, payload)
        assert unknown["verdict"] == "unknown" and unknown["holder"] is None and unknown["credential_no"] is None
    log = gate.scan_log(s, {})
    assert log["total"] == 10
    assert [(i.verdict, i.direction) for i in log["items"][:5]] == [  # newest first
        ("not_this_day", "in"), ("valid", "in"), ("valid", "in"), ("valid", "out"), ("already_inside", "in")]
    assert {(i.staff_id, i.gate) for i in log["items"]} >= {("staff-1", "N1"), ("staff-1", "S2")}
    recorded = gate.scan_log(s, {"verdict": "unknown"})["items"]
    assert len(recorded) == 4 and all(i.credential_no is None and i.credential_id is None for i in recorded)
    assert gate.scan_log(s, {"credential_no": card.credential_no, "direction": "out"})["total"] == 1
    assert gate.scan_log(s, {"since": next_morning})["total"] == 2
    assert gate.scan_log(s, {"gate": "S2", "per_page": 1, "page": 1})["items"][0].verdict == "already_inside"


def test_gate_photo_is_made_once_for_cards_produced_before_it_existed(session_for, emit):
    s = session_for("credentials")
    card = produced(s, emit)
    card.gate_photo = None
    assert scan(s, production.reference_of(card, SECRET))["holder"]["photo"].startswith("data:image/jpeg;base64,")
    assert card.gate_photo is not None
    assert cards.gate_photo(b"not an image") is None and cards.gate_photo(None) is None


def test_reissue_supersedes_the_old_card(session_for, emit):
    s = session_for("credentials")
    card = produced(s, emit)
    old_reference, old_pdf = production.reference_of(card, SECRET), card.card_pdf
    revocation.reissue(s, card.credential_no, "lost", SECRET, "CIIE 2026")
    assert card.issue == 2 and card.reissue_reason == "lost" and card.card_pdf != old_pdf
    old = scan(s, old_reference)
    assert old["verdict"] == "superseded" and not old["admit"] and old["issue"] == 1 and "lost" in old["reason"]
    assert old["holder"]["name"] == "张三"  # staff see whom the old card belonged to
    new = scan(s, production.reference_of(card, SECRET), at=FAIR_MORNING + dt.timedelta(minutes=1))
    assert new["verdict"] == "valid" and new["issue"] == 2
    # the first card ever printed, in the format from before issues were bound, is superseded too
    legacy = "ACCR1:" + card.credential_no + ":" + cards._legacy_mac(SECRET, card.credential_no)
    assert scan(s, legacy)["verdict"] == "superseded"


def test_reissue_refused_for_void_or_unproduced_cards(session_for, emit):
    s = session_for("credentials")
    card = produced(s, emit)
    card.status = "queued"
    with pytest.raises(Conflict) as err:
        revocation.reissue(s, card.credential_no, "damaged", SECRET, "CIIE 2026")
    assert err.value.code == "not_issued"
    card.status = "revoked"
    with pytest.raises(Conflict) as err:
        revocation.reissue(s, card.credential_no, "damaged", SECRET, "CIIE 2026")
    assert err.value.code == "credential_revoked" and card.issue == 1


def test_revocation_on_upgrade_at_the_gate_and_for_downloads(session_for, emit):
    s = session_for("credentials")
    old = produced(s, emit)
    reference = production.reference_of(old, SECRET)
    assert production.card_document(s, old.credential_no, "u1").startswith(b"%PDF")
    handlers.on_personnel_upgraded(ctx(s, emit, "PersonnelUpgraded", {"person_id": "p1", "unit_id": "u1",
                                                                      "from_label": "visitor", "to_label": "vip"},
                                       "review"))
    assert old.status == "revoked" and emit.types()[-1] == "CredentialRevoked"
    refused = scan(s, reference)
    assert refused["verdict"] == "revoked" and refused["reason"] == "upgraded to vip" and not refused["admit"]
    for download in (lambda: production.card_document(s, old.credential_no, "u1"),
                     lambda: production.card_image(s, old.credential_no, "u1", "CIIE 2026", SECRET)):
        with pytest.raises(Conflict) as err:
            download()
        assert err.value.code == "credential_revoked"
    production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    new = s.query(Credential).filter(Credential.status != "revoked").one()
    assert new.label == "vip" and new.credential_no != old.credential_no
    assert scan(s, production.reference_of(new, SECRET), at=FAIR_MORNING + dt.timedelta(minutes=1))["verdict"] == "valid"
    assert production.card_image(s, new.credential_no, "u1", "CIIE 2026", SECRET).startswith(b"\x89PNG")


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


def test_card_png_carries_the_qr_of_the_current_issue():
    face = {"name": "张三", "unit_name": "Example", "delegation": "GD-GZ", "label": "vip", "credential_no": "1",
            "entry_dates": ["2026-11-06"], "exhibition_area": "automobile"}
    reference = cards.qr_reference("1", "p1", 1, SECRET)
    png = Image.open(io.BytesIO(cards.card_png(face, photo_jpeg(), reference))).convert("RGB")
    assert png.size == (638, 1011)
    assert png.crop(QR_BOX).tobytes() == qr_image(reference).tobytes()
    assert png.crop(QR_BOX).tobytes() != qr_image(cards.qr_reference("1", "p1", 2, SECRET)).tobytes()


QR_BOX = (638 - 230, 1011 - 230, 638 - 30, 1011 - 30)


def qr_image(reference):
    """The QR as card_png pastes it: compared pixel for pixel, no decoder needed."""
    return qrcode.make(reference, box_size=4, border=2).convert("RGB").resize((200, 200))


def upgraded(s, emit, to_label="staff"):
    handlers.on_personnel_upgraded(ctx(s, emit, "PersonnelUpgraded", {"person_id": "p1", "unit_id": "u1",
                                                                      "from_label": "visitor", "to_label": to_label},
                                       "review"))


def test_upgrade_before_payment_sends_the_person_to_the_check(session_for, emit):
    """Unpaid: the payment that would have asked for the check never comes."""
    s = session_for("credentials")
    confirmed(s, emit)  # the unit was to pay: no check yet
    upgraded(s, emit)
    assert emit.types() == ["BackgroundCheckRequested"]
    passed(s, emit, emit.events[0][1]["check_id"])
    [credential] = s.query(Credential).all()
    assert credential.label == "staff" and credential.card["label"] == "staff" and credential.status == "queued"
    paid(s, emit)  # a payment that raced the upgrade asks for nothing more
    assert emit.types() == ["BackgroundCheckRequested"]


def test_upgrade_heard_before_the_confirmation_is_kept(session_for, emit):
    s = session_for("credentials")
    upgraded(s, emit, "vip")
    confirmed(s, emit)  # the older confirmation, arriving late on its own queue
    passed(s, emit, emit.events[0][1]["check_id"])
    assert s.query(Credential).one().label == "vip"


def test_upgrade_after_payment_before_production_makes_the_card_with_the_new_label(session_for, emit):
    s = session_for("credentials")
    confirmed(s, emit)
    paid(s, emit)
    upgraded(s, emit)  # checking: the card is made when the check passes
    passed(s, emit, emit.events[0][1]["check_id"])
    [queued] = s.query(Credential).all()
    assert queued.label == "staff"
    upgraded(s, emit, "vip")  # queued, nothing printed: no revocation, no second number
    production.produce_batch(s, emit, SECRET, "CIIE 2026", address)
    [card] = s.query(Credential).all()
    assert card.label == "vip" and card.card["label"] == "vip" and card.credential_no == queued.credential_no
    assert "CredentialRevoked" not in emit.types() and emit.types().count("BackgroundCheckRequested") == 1


def test_a_batch_that_cannot_be_rendered_gives_its_cards_back_at_once(session_for, emit):
    """Registration away while the courier addresses are asked for: the sweep does not keep
    the cards for the lease's ten minutes; the next sweep produces them."""
    from contextlib import contextmanager

    from services.credentials.models import ProductionBatch
    s = session_for("credentials")
    confirmed(s, emit)
    paid(s, emit)
    passed(s, emit, emit.events[0][1]["check_id"])

    @contextmanager
    def uow():
        yield s, emit
        s.flush()
    deps = SimpleNamespace(uow=uow, db=SimpleNamespace(is_postgres=False), qr_secret=SECRET, fair_name="CIIE 2026")

    def registration_away(unit_id):
        raise ConnectionRefusedError("registration is not answering")
    assert production.produce(deps, registration_away) is None
    [credential] = s.query(Credential).all()
    assert (credential.status, credential.batch_id, credential.produced_at) == ("queued", None, None)
    assert s.query(ProductionBatch).count() == 0
    assert production.produce(deps, address) is not None
    assert credential.status == "dispatched"
