"""Request and response schemas of the credentials API."""
from __future__ import annotations

from marshmallow import Schema, fields


class Strict(Schema):
    class Meta:
        ordered = True


class CredentialSchema(Strict):
    credential_no = fields.String()
    person_id = fields.String()
    status = fields.String()
    pickup_method = fields.String()
    tracking_no = fields.String(allow_none=True)
    produced_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)


class CheckSummarySchema(Strict):
    requested = fields.Integer()
    passed = fields.Integer()
    failed = fields.Integer()
    produced = fields.Integer()
    dispatched = fields.Integer()
