"""Request and response schemas of the credentials API."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

from shared.schemas import Int, Strict, page_of

from .domain.gate import DIRECTIONS, VERDICTS
from .domain.revocation import REISSUE_REASONS

class CredentialSchema(Strict):
    credential_no = fields.String()
    person_id = fields.String()
    label = fields.String()
    status = fields.String()
    reused = fields.Boolean()
    pickup_method = fields.String()
    tracking_no = fields.String(allow_none=True)
    entry_dates = fields.List(fields.String())
    produced_at = fields.DateTime(allow_none=True)
    dispatched_at = fields.DateTime(allow_none=True)
    revoked_reason = fields.String(allow_none=True)
    issue = Int()
    reissued_at = fields.DateTime(allow_none=True)


class CountsSchema(Strict):
    requested = Int()
    awaiting_answer = Int()
    passed = Int()
    failed = Int()
    overdue = Int()
    in_production = Int()
    produced = Int()
    dispatched = Int()
    handed_over = Int()
    reused = Int()
    revoked = Int()


GATE_NAME = re.compile(r"\w(?:[\w .\-/]*[\w.\-/])?")


def gate_name(value: str) -> None:
    """Letters of any script (北登录厅), digits, spaces and - . / _ — checked here rather than
    as a pattern, which OpenAPI would read as an ECMAScript one without Unicode classes."""
    if not GATE_NAME.fullmatch(value):
        raise ValidationError("letters, digits, spaces and - . / _")


class GateScanInSchema(Strict):
    """One scan: what the camera read (anything, even nothing: every scan is recorded), at
    which gate, and which way. A QR of ours is ~45 characters; far longer is not a scan."""
    payload = fields.String(required=True, validate=validate.Length(max=1000))
    gate = fields.String(required=True, validate=[validate.Length(min=1, max=40), gate_name])
    direction = fields.String(load_default="in", validate=validate.OneOf(DIRECTIONS))


class GateHolderSchema(Strict):
    name = fields.String()
    unit_name = fields.String()
    photo = fields.String(allow_none=True, metadata={"description": "data:image/jpeg;base64,… (at most 240x320)"})


class GateEntrySchema(Strict):
    at = fields.DateTime()
    local_time = fields.String(metadata={"description": "HH:MM at the fair"})
    gate = fields.String()


class GateAnswerSchema(Strict):
    scan_id = fields.String()
    scanned_at = fields.DateTime()
    gate = fields.String()
    direction = fields.String()
    verdict = fields.String(metadata={"enum": list(VERDICTS)})
    admit = fields.Boolean()
    message = fields.String()
    credential_no = fields.String(allow_none=True)
    issue = Int(allow_none=True)
    label = fields.String(allow_none=True)
    entry_dates = fields.List(fields.String())
    holder = fields.Nested(GateHolderSchema, allow_none=True)
    reason = fields.String(allow_none=True)
    entered = fields.Nested(GateEntrySchema, allow_none=True,
                            metadata={"description": "when already inside: the open entry"})


class GateScanQuerySchema(Strict):
    gate = fields.String(load_default=None, validate=validate.Length(max=40))
    verdict = fields.String(load_default=None, validate=validate.OneOf(VERDICTS))
    direction = fields.String(load_default=None, validate=validate.OneOf(DIRECTIONS))
    credential_no = fields.String(load_default=None, validate=validate.Length(max=32))
    staff_id = fields.String(load_default=None, validate=validate.Length(max=64))
    since = fields.DateTime(load_default=None)
    until = fields.DateTime(load_default=None)
    page = Int(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=500))


class GateScanSchema(Strict):
    id = fields.String()
    scanned_at = fields.DateTime()
    gate = fields.String()
    direction = fields.String()
    staff_id = fields.String()
    verdict = fields.String()
    credential_no = fields.String(allow_none=True)
    issue = Int(allow_none=True)


GateScanPageSchema = page_of(GateScanSchema, "GateScanPageSchema")


class ReissueSchema(Strict):
    reason = fields.String(required=True, validate=validate.OneOf(REISSUE_REASONS))


class ReissueRequestInSchema(Strict):
    reason = fields.String(required=True, validate=validate.OneOf(REISSUE_REASONS))
    remarks = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ReissueDecisionSchema(Strict):
    note = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReissueRequestQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("requested", "reissued", "rejected")))


class ReissueRequestSchema(Strict):
    id = fields.String()
    credential_no = fields.String()
    person_id = fields.String()
    unit_id = fields.String()
    reason = fields.String()
    remarks = fields.String(allow_none=True)
    status = fields.String()
    decision_note = fields.String(allow_none=True)
    new_issue = Int(allow_none=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class OverdueCheckSchema(Strict):
    id = fields.String()
    person_id = fields.String()
    unit_id = fields.String()
    requests_sent = Int()
    requested_at = fields.DateTime()
    last_sent_at = fields.DateTime(allow_none=True)


class BatchSchema(Strict):
    id = fields.String()
    size = Int()
    produced_at = fields.DateTime()


class PickupQuerySchema(Strict):
    q = fields.String(required=True, validate=validate.Length(min=1, max=60))


class DeskCardSchema(Strict):
    credential_no = fields.String()
    person_id = fields.String()
    unit_id = fields.String()
    name = fields.String()
    unit_name = fields.String()
    id_number_masked = fields.String(allow_none=True, metadata={"description": "e.g. 110**********1234"})
    label = fields.String()
    status = fields.String()
    pickup_method = fields.String()
    entry_dates = fields.List(fields.String())
    handed_over_at = fields.DateTime(allow_none=True)
    collected_by = fields.String(allow_none=True)
    proxy_credential_no = fields.String(allow_none=True)
    handed_over_by = fields.String(allow_none=True)
    photo = fields.String(allow_none=True, metadata={"description": "data:image/jpeg;base64,… (one card only)"})


class DispatchRowSchema(DeskCardSchema):
    tracking_no = fields.String(allow_none=True)
    ship_to = fields.String(allow_none=True)
    dispatched_at = fields.DateTime(allow_none=True)


class DeskCardDetailSchema(DeskCardSchema):
    unit_waiting = fields.List(fields.Nested(DeskCardSchema))


class DeskHandOverSchema(Strict):
    collector = fields.String(required=True, validate=validate.OneOf(("holder", "proxy")))
    proxy_credential_no = fields.String(load_default=None, allow_none=True,
                                        validate=validate.Regexp(r"^[0-9]{8,32}$",
                                                                 error="a badge number is 8 to 32 digits"))


class DispatchQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ("produced", "dispatched", "ready_for_pickup", "delivered", "collected")))
    q = fields.String(load_default=None, validate=validate.Length(max=40))
