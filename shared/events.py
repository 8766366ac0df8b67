"""Event contracts: the envelope and a versioned marshmallow schema for every event.

Producers validate with `make_event` before the outbox row is written; consumers
validate with `parse_event` before they act. Payloads carry ids, never personal data,
except BackgroundCheckRequested, which travels on the police-only exchange.
"""
from __future__ import annotations

import builtins
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from .fair import all_badge_ids

LABELS = all_badge_ids()  # every fair's badge types (CIIE: 专业观众 / 工作人员 / 贵宾)
PAYERS = ("unit", "delegation", "free")  # who pays for a confirmed person


class EventSchema(Schema):
    class Meta:
        unknown = RAISE


class Envelope(Schema):
    class Meta:
        unknown = EXCLUDE  # newer producers may add envelope fields

    # the descriptions are published in the AsyncAPI document (deploy/asyncapi.py)
    id = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "Unique per event; a redelivered message keeps it, so consumers drop an id they "
                       "have already applied. Also the AMQP message_id."})
    type = fields.String(required=True, metadata={"description": "The event type; also the routing key."})
    version = fields.Integer(required=True, validate=validate.Range(min=1), metadata={
        "description": "The payload schema's version; a breaking change is a new version published side by side."})
    occurred_at = fields.String(required=True, metadata={
        "format": "date-time", "description": "When the producer committed the fact (ISO 8601 with offset)."})
    producer = fields.String(required=True, metadata={
        "description": "Who publishes this type; its broker user is the message's validated user_id."})
    correlation_id = fields.String(required=True, allow_none=True, metadata={
        "description": "Carried over from the event or request that caused this one (an answer carries its "
                       "request's); null when none did."})
    payload = fields.Dict(required=True, metadata={"description": "The event's own fields, per type and version."})


def _id(**kw):
    return fields.String(required=True, validate=validate.Length(min=1, max=64), **kw)


def _ids():
    return fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True)


def _fen():
    return fields.Integer(required=True, validate=validate.Range(min=0))


# --- registration -------------------------------------------------------------------
class UnitRegisteredV1(EventSchema):
    unit_id = _id()
    edition = fields.String(required=True)
    delegation_id = fields.String(required=True, allow_none=True)
    visitor_kind = fields.String(required=True)
    region = fields.String(required=True)
    category = fields.String(required=True)
    referrer_unit_id = fields.String(load_default=None, allow_none=True)


class UnitSubmittedV1(EventSchema):
    unit_id = _id()
    edition = fields.String(required=True)
    delegation_id = fields.String(required=True, allow_none=True)
    uscc = fields.String(required=True)  # a company's public code, not personal data
    name = fields.String(required=True)
    category = fields.String(required=True)
    region = fields.String(required=True)
    resubmission = fields.Boolean(required=True)


class PersonnelSubmittedV1(EventSchema):
    person_id = _id()
    unit_id = _id()
    requested_label = fields.String(required=True, validate=validate.OneOf(LABELS))
    region_type = fields.String(required=True)
    entry_dates = fields.List(fields.Date(), required=True)
    exhibition_area = fields.String(required=True, allow_none=True)
    pickup_method = fields.String(required=True, validate=validate.OneOf(("courier", "onsite")))


class PersonnelCancelledV1(EventSchema):
    person_id = _id()
    unit_id = _id()


class ReminderDueV1(EventSchema):
    """A deadline is near and the unit still has people to submit or to pay for."""
    unit_id = _id()
    kind = fields.String(required=True, validate=validate.OneOf(("submission", "payment")))
    deadline = fields.String(required=True)
    people = fields.Integer(required=True, validate=validate.Range(min=1))
    days_before = fields.Integer(required=True, validate=validate.Range(min=0))


class ReuseRequestedV1(EventSchema):
    person_id = _id()
    unit_id = _id()
    previous_credential_no = fields.String(required=True)
    label = fields.String(required=True, validate=validate.OneOf(LABELS))


class TokensRevokedV1(EventSchema):
    """An account's tokens below `min_version` stop working in every service (password
    reset, a deleted unit, a removed colleague, a deactivated admin). Ids only."""
    subject_id = _id()
    min_version = fields.Integer(required=True, validate=validate.Range(min=0))
    reason = fields.String(required=True, validate=validate.OneOf(
        ("password_reset", "unit_deleted", "member_removed", "admin_deactivated", "password_changed",
         "personal_data_purged")))


# --- review -------------------------------------------------------------------------
class UnitApprovedV1(EventSchema):
    unit_id = _id()
    delegation_id = fields.String(required=True, allow_none=True)
    automatic = fields.Boolean(required=True)


class UnitReturnedV1(EventSchema):
    unit_id = _id()
    comment = fields.String(required=True)


class UnitRejectedV1(EventSchema):
    unit_id = _id()
    reason = fields.String(required=True)


class PersonnelRejectedV1(EventSchema):
    """A person not approved where the fair reviews people (CIFTIS), with the reason the
    unit reads."""
    person_id = _id()
    unit_id = _id()
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class UnitReassignedV1(EventSchema):
    unit_id = _id()
    from_delegation_id = fields.String(required=True, allow_none=True)
    to_delegation_id = fields.String(required=True)


class UnitEditedV1(EventSchema):
    """A delegation corrected a directly attached unit's name or category."""
    unit_id = _id()
    name = fields.String(load_default=None, allow_none=True)
    category = fields.String(load_default=None, allow_none=True)


class UnitDeletedV1(EventSchema):
    unit_id = _id()


def _fee_owed():
    """What the person's payer owes, from the edition's one fee setting (review's); 0 for a
    free label. Absent from messages published before the fee was carried (None)."""
    return fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


class PersonnelConfirmedV1(EventSchema):
    person_id = _id()
    unit_id = _id()
    delegation_id = fields.String(required=True, allow_none=True)
    label = fields.String(required=True, validate=validate.OneOf(LABELS))
    payer = fields.String(required=True, validate=validate.OneOf(PAYERS))
    fee_fen = _fee_owed()


class PersonnelUpgradedV1(EventSchema):
    person_id = _id()
    unit_id = _id()
    from_label = fields.String(required=True, validate=validate.OneOf(LABELS))
    to_label = fields.String(required=True, validate=validate.OneOf(LABELS))


class ReuseLockedV1(EventSchema):
    person_id = _id()
    unit_id = _id()
    label = fields.String(required=True, validate=validate.OneOf(LABELS))
    payer = fields.String(required=True, validate=validate.OneOf(PAYERS))
    previous_credential_no = fields.String(required=True)
    fee_fen = _fee_owed()


class DelegationChangedV1(EventSchema):
    """A (sub-)delegation as units may choose it at sign-up."""
    delegation_id = _id()
    name = fields.String(required=True)
    parent_id = fields.String(required=True, allow_none=True)
    recommendation_code = fields.String(required=True, allow_none=True)
    industry = fields.Boolean(required=True)
    active = fields.Boolean(required=True)


class RetentionExpiredV1(EventSchema):
    """The edition's personal-data retention period (PIPL) has ended: every service erases the
    ID numbers, photos, phones, emails and card files it keeps for the edition."""
    edition = fields.String(required=True, validate=validate.Length(min=1, max=32))


class QuotaChangedV1(EventSchema):
    uscc = fields.String(required=True)
    unit_id = fields.String(required=True, allow_none=True)
    vip = fields.Integer(required=True, validate=validate.Range(min=0))
    staff = fields.Integer(required=True, validate=validate.Range(min=0))


# --- billing ------------------------------------------------------------------------
class OrderCreatedV1(EventSchema):
    order_id = _id()
    order_no = fields.String(required=True)
    unit_id = _id()
    person_ids = _ids()
    amount_fen = _fen()
    expires_at = fields.String(required=True)


class OrderCancelledV1(EventSchema):
    order_id = _id()
    order_no = fields.String(required=True)
    unit_id = _id()
    person_ids = _ids()
    reason = fields.String(required=True)


class PaymentConfirmedV1(EventSchema):
    payment_id = _id()
    order_id = _id()
    order_no = fields.String(required=True)
    unit_id = _id()
    person_ids = _ids()
    amount_fen = _fen()
    method = fields.String(required=True)


class TransferRejectedV1(EventSchema):
    order_id = _id()
    order_no = fields.String(required=True)
    unit_id = _id()
    reason = fields.String(required=True)


class InvoiceIssuedV1(EventSchema):
    invoice_id = _id()
    order_id = _id()
    unit_id = _id()
    invoice_no = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("ordinary", "special")))
    amount_fen = _fen()


class InvoiceReversedV1(EventSchema):
    invoice_id = _id()
    order_id = _id()
    unit_id = _id()
    invoice_no = fields.String(required=True)
    reason = fields.String(required=True)
    notice_72h = fields.Boolean(load_default=False)  # the unit must confirm in the tax system


class InvoiceReversalRequestedV1(EventSchema):
    """The unit asked for an invoice to be reversed (退票申请); with `notice_72h` it must
    confirm in the tax system by `confirm_by`."""
    request_id = _id()
    invoice_id = _id()
    unit_id = _id()
    invoice_no = fields.String(required=True)
    reason = fields.String(required=True)
    red_letter_applied = fields.Boolean(required=True)
    notice_72h = fields.Boolean(required=True)
    confirm_by = fields.String(required=True, allow_none=True)  # ISO 8601, UTC


class InvoiceReversalRejectedV1(EventSchema):
    request_id = _id()
    invoice_id = _id()
    unit_id = _id()
    invoice_no = fields.String(required=True)
    note = fields.String(required=True)


class RefundCompletedV1(EventSchema):
    refund_id = _id()
    order_id = _id()
    order_no = fields.String(required=True)
    unit_id = _id()
    person_ids = _ids()
    amount_fen = _fen()


# --- credentials --------------------------------------------------------------------
class BackgroundCheckRequestedV1(EventSchema):
    """Police-only: the one event that carries personal data."""
    check_id = _id(metadata={"description": "The check to answer; a re-sent request keeps it.",
                             "example": "5c1e0b6f2d6a4f0e9b7a3c2d1e0f9a8b"})
    person_id = _id(metadata={"description": "The person, as the answer must name them again.",
                              "example": "0f4d3c2b1a09487766554433221100ff"})
    name = fields.String(required=True, metadata={"description": "Full name.", "example": "张三"})
    gender = fields.String(required=True, allow_none=True, metadata={"example": "male"})
    id_type = fields.String(required=True, metadata={
        "description": "The identity document's kind, e.g. resident_id (居民身份证) or passport.",
        "example": "resident_id"})
    id_number = fields.String(required=True, metadata={
        "description": "The identity document's number (the example is GB 11643's own).",
        "example": "11010519491231002X"})
    nationality = fields.String(required=True, allow_none=True, metadata={"example": "CN"})
    unit_name = fields.String(required=True, metadata={"description": "The unit (company) the person comes with.",
                                                       "example": "广州示例贸易有限公司"})
    reply_to = fields.String(required=True, metadata={  # exchange on which the answer is expected
        "description": "The exchange on which the answer is expected.", "example": "police.events"})


class CredentialProducedV1(EventSchema):
    credential_id = _id()
    credential_no = fields.String(required=True)
    person_id = _id()
    unit_id = _id()
    reused = fields.Boolean(required=True)


class CredentialDispatchedV1(EventSchema):
    credential_id = _id()
    credential_no = fields.String(required=True)
    person_id = _id()
    unit_id = _id()
    method = fields.String(required=True, validate=validate.OneOf(("courier", "onsite")))
    tracking_no = fields.String(required=True, allow_none=True)


class CredentialRevokedV1(EventSchema):
    credential_id = _id()
    credential_no = fields.String(required=True)
    person_id = _id()
    unit_id = _id()
    reason = fields.String(required=True)


class ReissueRequestedV1(EventSchema):
    """A unit asked for a new card for a lost or damaged one (补证)."""
    request_id = _id()
    credential_no = fields.String(required=True)
    person_id = _id()
    unit_id = _id()
    reason = fields.String(required=True, validate=validate.OneOf(("lost", "damaged")))


class CredentialReissuedV1(EventSchema):
    """The card was reissued under the same number with the next issue: the old card is void."""
    request_id = fields.String(required=True, allow_none=True)
    credential_no = fields.String(required=True)
    person_id = _id()
    unit_id = _id()
    reason = fields.String(required=True, validate=validate.OneOf(("lost", "damaged")))
    issue = fields.Integer(required=True, validate=validate.Range(min=2))


# --- police integration -------------------------------------------------------------
class BackgroundCheckPassedV1(EventSchema):
    """The police found nothing against the person: their credential goes to production."""
    check_id = _id(metadata={"description": "The request's check_id."})
    person_id = _id(metadata={"description": "The request's person_id."})


class BackgroundCheckFailedV1(EventSchema):
    """The person may not be accredited: no credential, and their fee is refunded."""
    check_id = _id(metadata={"description": "The request's check_id."})
    person_id = _id(metadata={"description": "The request's person_id."})
    reason_code = fields.String(load_default=None, allow_none=True, metadata={  # never shown to the unit
        "description": "The police's own code, kept for the organising committee; never shown to the unit.",
        "example": "BLOCKLISTED"})


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    producer: str
    schema: builtins.type[Schema]
    restricted: bool = False  # True: only the police integration may read it

    @property
    def exchange(self) -> str:
        return POLICE_REQUEST_EXCHANGE if self.restricted else f"{self.producer}.events"


POLICE_REQUEST_EXCHANGE = "police.requests"
POLICE_REQUEST_QUEUE = "police.background-check-requests"

_SPECS = [
    EventSpec("UnitRegistered", 1, "registration", UnitRegisteredV1),
    EventSpec("UnitSubmitted", 1, "registration", UnitSubmittedV1),
    EventSpec("PersonnelSubmitted", 1, "registration", PersonnelSubmittedV1),
    EventSpec("PersonnelCancelled", 1, "registration", PersonnelCancelledV1),
    EventSpec("ReuseRequested", 1, "registration", ReuseRequestedV1),
    EventSpec("ReminderDue", 1, "registration", ReminderDueV1),
    EventSpec("TokensRevoked", 1, "registration", TokensRevokedV1),
    EventSpec("AdminTokensRevoked", 1, "review", TokensRevokedV1),
    EventSpec("UnitApproved", 1, "review", UnitApprovedV1),
    EventSpec("UnitReturned", 1, "review", UnitReturnedV1),
    EventSpec("UnitRejected", 1, "review", UnitRejectedV1),
    EventSpec("UnitReassigned", 1, "review", UnitReassignedV1),
    EventSpec("UnitDeleted", 1, "review", UnitDeletedV1),
    EventSpec("UnitEdited", 1, "review", UnitEditedV1),
    EventSpec("PersonnelConfirmed", 1, "review", PersonnelConfirmedV1),
    EventSpec("PersonnelUpgraded", 1, "review", PersonnelUpgradedV1),
    EventSpec("PersonnelRejected", 1, "review", PersonnelRejectedV1),
    EventSpec("ReuseLocked", 1, "review", ReuseLockedV1),
    EventSpec("QuotaChanged", 1, "review", QuotaChangedV1),
    EventSpec("DelegationChanged", 1, "review", DelegationChangedV1),
    EventSpec("RetentionExpired", 1, "review", RetentionExpiredV1),
    EventSpec("OrderCreated", 1, "billing", OrderCreatedV1),
    EventSpec("OrderCancelled", 1, "billing", OrderCancelledV1),
    EventSpec("PaymentConfirmed", 1, "billing", PaymentConfirmedV1),
    EventSpec("TransferRejected", 1, "billing", TransferRejectedV1),
    EventSpec("InvoiceIssued", 1, "billing", InvoiceIssuedV1),
    EventSpec("InvoiceReversed", 1, "billing", InvoiceReversedV1),
    EventSpec("InvoiceReversalRequested", 1, "billing", InvoiceReversalRequestedV1),
    EventSpec("InvoiceReversalRejected", 1, "billing", InvoiceReversalRejectedV1),
    EventSpec("RefundCompleted", 1, "billing", RefundCompletedV1),
    EventSpec("BackgroundCheckRequested", 1, "credentials", BackgroundCheckRequestedV1, restricted=True),
    EventSpec("CredentialProduced", 1, "credentials", CredentialProducedV1),
    EventSpec("CredentialDispatched", 1, "credentials", CredentialDispatchedV1),
    EventSpec("CredentialRevoked", 1, "credentials", CredentialRevokedV1),
    EventSpec("ReissueRequested", 1, "credentials", ReissueRequestedV1),
    EventSpec("CredentialReissued", 1, "credentials", CredentialReissuedV1),
    EventSpec("BackgroundCheckPassed", 1, "police", BackgroundCheckPassedV1),
    EventSpec("BackgroundCheckFailed", 1, "police", BackgroundCheckFailedV1),
]
CATALOGUE: dict[tuple[str, int], EventSpec] = {(s.type, s.version): s for s in _SPECS}
LATEST: dict[str, EventSpec] = {s.type: s for s in _SPECS}


class InvalidEvent(ValueError):
    """A message that does not satisfy its contract: it will never succeed, so it is
    dead-lettered at once instead of retried."""


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def make_event(event_type: str, payload: dict[str, Any], producer: str,
               correlation_id: str | None = None, version: int | None = None) -> dict[str, Any]:
    """Build and validate an envelope; raise InvalidEvent when the payload breaks the contract."""
    spec = CATALOGUE.get((event_type, version)) if version else LATEST.get(event_type)
    if spec is None:
        raise InvalidEvent(f"unknown event {event_type} v{version}")
    if spec.producer != producer:
        raise InvalidEvent(f"{producer} may not publish {event_type}")
    try:
        clean = spec.schema().dump(spec.schema().load(payload))
    except ValidationError as exc:
        raise InvalidEvent(f"{event_type}: {exc.messages}") from exc
    return {
        "id": uuid.uuid4().hex,
        "type": spec.type,
        "version": spec.version,
        "occurred_at": _now_iso(),
        "producer": producer,
        "correlation_id": correlation_id,
        "payload": clean,
    }


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    version: int
    occurred_at: str
    producer: str
    correlation_id: str | None
    payload: dict[str, Any]


def parse_event(body: Any) -> Event:
    """Validate an incoming envelope and its payload; raise InvalidEvent if either fails."""
    if not isinstance(body, dict):
        raise InvalidEvent("message body is not a JSON object")
    try:
        env = Envelope().load(body)
    except ValidationError as exc:
        raise InvalidEvent(f"envelope: {exc.messages}") from exc
    spec = CATALOGUE.get((env["type"], env["version"]))
    if spec is None:
        raise InvalidEvent(f"unknown event {env['type']} v{env['version']}")
    if spec.producer != env["producer"]:
        raise InvalidEvent(f"{env['producer']} may not publish {env['type']}")
    try:  # fields a newer producer added are ignored, so adding one never breaks a consumer
        payload = spec.schema().load(env["payload"], unknown=EXCLUDE)
    except ValidationError as exc:
        raise InvalidEvent(f"{env['type']}: {exc.messages}") from exc
    return Event(env["id"], env["type"], env["version"], env["occurred_at"], env["producer"],
                 env["correlation_id"], payload)
