"""The notices the seeds name: "please pay" when a person becomes awaiting payment (a
confirmation or a reuse lock the unit pays for), an upgrade notice, and a lost-badge
reissue — asked by the unit, done by operations (the old card is void) — with its notices."""
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from services.credentials.domain import gate, production, reissue_requests
from services.credentials.models import Credential
from services.notifications import domain
from services.notifications.handlers import HANDLERS
from services.notifications.models import Message
from shared.errors import Conflict, NotFound
from shared.topology import SUBSCRIPTIONS

CONTACT = {"unit_name": "Example Co", "contact_name": "Li", "email": "li@example.cn", "phone": "13800138000",
           "language": "zh"}


class Registration:
    def person_unit(self, person_id):
        return "u1"

    def unit_contact(self, unit_id):
        return CONTACT

    def person_name(self, person_id):
        return "张三"


def handle(session, event_type, payload):
    ctx = SimpleNamespace(session=session, payload=payload, event=SimpleNamespace(id=f"evt-{uuid.uuid4().hex}"),
                          rpc=SimpleNamespace(registration=Registration()), after_commit=[],
                          deps=SimpleNamespace(settings=SimpleNamespace(public_base_url="http://portal")))
    HANDLERS[event_type](ctx)
    session.flush()
    return [m for m in session.query(Message).all() if m.source_event_id == ctx.event.id]


@pytest.mark.parametrize("event_type,extra", [("PersonnelConfirmed", {"delegation_id": "GD", "label": "visitor"}),
                                              ("ReuseLocked", {"label": "visitor", "previous_credential_no": "2025001"})])
def test_please_pay_when_a_person_becomes_awaiting_payment(session_for, event_type, extra):
    s = session_for("notifications")
    paid_by_unit = handle(s, event_type, {"person_id": "p1", "unit_id": "u1", "payer": "unit", "fee_fen": 20000,
                                          **extra})
    assert {m.channel for m in paid_by_unit} == {"email", "sms"}
    sms = next(m for m in paid_by_unit if m.channel == "sms")
    assert "张三" in sms.body and "200.00" in sms.body and sms.template == "person_payment_due"
    free = handle(s, event_type, {"person_id": "p2", "unit_id": "u1", "payer": "free", "fee_fen": 0, **extra})
    delegation = handle(s, event_type, {"person_id": "p3", "unit_id": "u1", "payer": "delegation", "fee_fen": 0,
                                        **extra, "label": "visitor"})
    assert free == [] and delegation == []  # nothing to pay: no "please pay"
    assert event_type in SUBSCRIPTIONS["notifications"]


def test_an_upgrade_is_announced(session_for):
    s = session_for("notifications")
    messages = handle(s, "PersonnelUpgraded", {"person_id": "p1", "unit_id": "u1", "from_label": "visitor",
                                               "to_label": "vip"})
    email = next(m for m in messages if m.channel == "email")
    assert "张三" in email.subject and "贵宾" in email.subject and "专业观众" in email.body


def produced(s, unit_id="u1", no="202600000001"):
    c = Credential(id=f"c-{no}", credential_no=no, person_id="p1", unit_id=unit_id, label="visitor",
                   status="produced", card={}, issue=1, pickup_method="courier", entry_dates=["2026-11-06"],
                   queued_at=dt.datetime(2026, 10, 1))
    s.add(c)
    s.flush()
    return c


def test_a_lost_badge_is_reissued_on_request_and_the_old_card_is_void(session_for, emit, monkeypatch):
    s = session_for("credentials")
    card = produced(s)
    monkeypatch.setattr(production, "render_card_pdf", lambda credential, secret, fair: None)
    with pytest.raises(NotFound):  # another unit's card
        reissue_requests.request_reissue(s, emit, "u2", card.credential_no, "lost")
    request = reissue_requests.request_reissue(s, emit, "u1", card.credential_no, "lost", "left in a taxi")
    with pytest.raises(Conflict):  # one open request per card
        reissue_requests.request_reissue(s, emit, "u1", card.credential_no, "damaged")
    assert emit.events[-1] == ("ReissueRequested", {"request_id": request.id, "credential_no": card.credential_no,
                                                    "person_id": "p1", "unit_id": "u1", "reason": "lost"})
    done = reissue_requests.reissue(s, emit, request.id, "ops-1", b"k" * 32, "CIIE")
    assert (done.status, done.new_issue, card.issue) == ("reissued", 2, 2)
    assert emit.events[-1][0] == "CredentialReissued" and emit.events[-1][1]["issue"] == 2
    with pytest.raises(Conflict):
        reissue_requests.reissue(s, emit, request.id, "ops-1", b"k" * 32, "CIIE")
    assert "superseded" in gate.VERDICTS  # the old issue's QR is refused at the gate
    refused = reissue_requests.request_reissue(s, emit, "u1", card.credential_no, "damaged")
    reissue_requests.reject(s, refused.id, "ops-1", "the card was found")
    assert sorted(r.status for r in reissue_requests.requests(s, unit_id="u1")) == ["reissued", "rejected"]


def test_the_reissue_notices(session_for):
    s = session_for("notifications")
    asked = handle(s, "ReissueRequested", {"request_id": "r1", "credential_no": "202600000001", "person_id": "p1",
                                           "unit_id": "u1", "reason": "lost"})
    assert "遗失" in next(m for m in asked if m.channel == "email").body
    done = handle(s, "CredentialReissued", {"request_id": "r1", "credential_no": "202600000001", "person_id": "p1",
                                            "unit_id": "u1", "reason": "lost", "issue": 2})
    assert "作废" in next(m for m in done if m.channel == "sms").body
    assert domain.SAMPLES["credential_reissued"]["issue"] == 2
