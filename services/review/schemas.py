"""Request and response schemas of the review API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class Strict(Schema):
    class Meta:
        ordered = True


class DelegationSchema(Strict):
    id = fields.String()
    name = fields.String()
    parent_id = fields.String(allow_none=True)
    recommendation_code = fields.String(allow_none=True)
    target = fields.Integer()
    centralised_payment = fields.Boolean()
    two_level = fields.Boolean()


class AdminLoginSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True)


class TokenSchema(Strict):
    token = fields.String()
    role = fields.String()
    delegation_id = fields.String(allow_none=True)


class RegistryRecordSchema(Strict):
    uscc = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UnitReviewSchema(Strict):
    unit_id = fields.String()
    uscc = fields.String()
    name = fields.String()
    category = fields.String()
    region = fields.String()
    delegation_id = fields.String(allow_none=True)
    status = fields.String()
    automatic = fields.Boolean()
    comment = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class QueueQuerySchema(Strict):
    status = fields.String(load_default="pending",
                           validate=validate.OneOf(("pending", "approved", "returned", "rejected", "all")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class QueuePageSchema(Strict):
    items = fields.List(fields.Nested(UnitReviewSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CommentSchema(Strict):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RejectSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    confirm = fields.Boolean(required=True, validate=validate.Equal(True, error="confirm the rejection"))


