"""Request and response schemas of the billing API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .providers import ONLINE_METHODS


class Strict(Schema):
    class Meta:
        ordered = True


class PayableItemSchema(Strict):
    person_id = fields.String()
    label = fields.String()
    payer = fields.String()
    fee_fen = fields.Integer()
    status = fields.String()
    order_id = fields.String(allow_none=True)


class CreateOrderSchema(Strict):
    person_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=1, error="select at least one person"))


class OrderSchema(Strict):
    order_no = fields.String()
    unit_id = fields.String()
    amount_fen = fields.Integer()
    status = fields.String()
    person_ids = fields.List(fields.String())
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)


class StartPaymentSchema(Strict):
    method = fields.String(required=True, validate=validate.OneOf(ONLINE_METHODS))


class PaymentStartedSchema(Strict):
    payment_id = fields.String()
    order_no = fields.String()
    method = fields.String()
    amount_fen = fields.Integer()
    provider_txn_id = fields.String()
    pay_content = fields.String()


class SandboxPaySchema(Strict):
    notify_times = fields.Integer(load_default=1, validate=validate.Range(min=1, max=5))
