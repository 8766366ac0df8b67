"""Request and response schemas of the credentials API."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.schemas import Int, Strict

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


class GateQuerySchema(Strict):
    reference = fields.String(required=True, validate=validate.Length(min=5, max=200))
    date = fields.Date(load_default=None)


class GateAnswerSchema(Strict):
    result = fields.String()
    credential_no = fields.String()
    label = fields.String()
    entry_dates = fields.List(fields.String())


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
