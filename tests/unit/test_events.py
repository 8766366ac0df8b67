import pytest

from shared.events import CATALOGUE, InvalidEvent, LATEST, make_event, parse_event

DOMAIN_TABLE = {
    "registration": {"UnitRegistered", "UnitSubmitted", "PersonnelSubmitted", "PersonnelCancelled", "ReuseRequested"},
    "review": {"UnitApproved", "UnitReturned", "UnitRejected", "UnitReassigned", "UnitDeleted",
               "PersonnelConfirmed", "PersonnelUpgraded", "ReuseLocked", "QuotaChanged"},
    "billing": {"OrderCreated", "OrderCancelled", "PaymentConfirmed", "TransferRejected", "InvoiceIssued",
                "InvoiceReversed", "RefundCompleted"},
    "credentials": {"BackgroundCheckRequested", "CredentialProduced", "CredentialDispatched", "CredentialRevoked"},
    "police": {"BackgroundCheckPassed", "BackgroundCheckFailed"},
}


def test_catalogue_covers_domain_table_at_version_1():
    for producer, types in DOMAIN_TABLE.items():
        for t in types:
            assert (t, 1) in CATALOGUE, t
            assert CATALOGUE[(t, 1)].producer == producer
    extra = {"DelegationChanged", "ReminderDue", "UnitEdited", "TokensRevoked", "AdminTokensRevoked",
             "RetentionExpired", "ReissueRequested", "CredentialReissued", "InvoiceReversalRequested",
             "InvoiceReversalRejected", "PersonnelRejected"}  # beyond DOMAIN.md's minimum: delegation
    # list, reminders, lost-badge reissues, people not approved (CIFTIS)
    assert {t for t, _ in CATALOGUE} - set().union(*DOMAIN_TABLE.values()) == extra


def test_only_background_check_request_is_restricted():
    restricted = {s.type for s in LATEST.values() if s.restricted}
    assert restricted == {"BackgroundCheckRequested"}
    assert LATEST["BackgroundCheckRequested"].exchange == "police.requests"
    assert LATEST["UnitApproved"].exchange == "review.events"


def test_round_trip():
    env = make_event("UnitApproved", {"unit_id": "u1", "delegation_id": None, "automatic": True},
                     producer="review", correlation_id="c1")
    assert set(env) == {"id", "type", "version", "occurred_at", "producer", "correlation_id", "payload"}
    ev = parse_event(env)
    assert ev.type == "UnitApproved" and ev.payload["unit_id"] == "u1" and ev.correlation_id == "c1"


def test_producer_validates_payload():
    with pytest.raises(InvalidEvent):
        make_event("UnitApproved", {"unit_id": "u1"}, producer="review")
    with pytest.raises(InvalidEvent):  # unknown fields are refused: no personal data sneaks in
        make_event("UnitApproved", {"unit_id": "u1", "delegation_id": None, "automatic": True,
                                    "phone": "13800000000"}, producer="review")
    with pytest.raises(InvalidEvent):  # the wrong service
        make_event("UnitApproved", {"unit_id": "u1", "delegation_id": None, "automatic": True},
                   producer="billing")


def test_consumer_validates_envelope_and_payload():
    env = make_event("PersonnelConfirmed", {"person_id": "p", "unit_id": "u", "delegation_id": "d",
                                            "label": "visitor", "payer": "unit"}, producer="review")
    bad = dict(env, payload=dict(env["payload"], label="king"))
    with pytest.raises(InvalidEvent):
        parse_event(bad)
    with pytest.raises(InvalidEvent):
        parse_event({k: v for k, v in env.items() if k != "id"})
    with pytest.raises(InvalidEvent):
        parse_event("not json")
    with pytest.raises(InvalidEvent):
        parse_event(dict(env, version=99))


def test_producers_are_strict_and_consumers_lenient_about_unknown_fields():
    payload = {"unit_id": "u1", "delegation_id": None, "automatic": True, "added_later": 1}
    with pytest.raises(InvalidEvent):
        make_event("UnitApproved", payload, producer="review")
    env = make_event("UnitApproved", {k: v for k, v in payload.items() if k != "added_later"}, producer="review")
    env["payload"]["added_later"] = 1  # as a newer producer would send it
    assert parse_event(env).payload == {"unit_id": "u1", "delegation_id": None, "automatic": True}
