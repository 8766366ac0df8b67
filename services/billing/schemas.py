"""Request and response schemas of the billing API."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.schemas import Int, Strict

from .providers import ONLINE_METHODS


class PayableItemSchema(Strict):
    person_id = fields.String()
    unit_id = fields.String()
    label = fields.String()
    payer = fields.String()
    fee_fen = Int()
    status = fields.String()
    order_id = fields.String(allow_none=True)


class CreateOrderSchema(Strict):
    person_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=1, error="select at least one person"))


class OrderSchema(Strict):
    order_no = fields.String()
    unit_id = fields.String()
    amount_fen = Int()
    status = fields.String()
    person_ids = fields.List(fields.String())
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)


ORDER_STATUSES = ("unpaid", "paid", "cancelled", "expired")
MAX_WAIT_SECONDS = 25  # under the gateway's 60 s read timeout, and a phone's patience


class OrderWaitSchema(Strict):
    """`?while_status=unpaid&wait=20`: answer once the order is no longer unpaid, or after 20 s
    at the latest (a payment page learns of the payment at once instead of polling)."""
    while_status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    wait = fields.Float(load_default=0, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS))


class StartPaymentSchema(Strict):
    method = fields.String(required=True, validate=validate.OneOf(ONLINE_METHODS))


class PaymentStartedSchema(Strict):
    payment_id = fields.String()
    order_no = fields.String()
    method = fields.String()
    amount_fen = Int()
    provider_txn_id = fields.String()
    pay_content = fields.String()


class SandboxPaySchema(Strict):
    notify_times = Int(load_default=1, validate=validate.Range(min=1, max=5))
    payer_name = fields.String(load_default=None, allow_none=True)  # B2B: the paying company


class TransferInSchema(Strict):
    remitter_type = fields.String(required=True, validate=validate.OneOf(("unit", "individual")))
    remitter_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    remitter_account = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{8,32}$",
                                                                                 error="an account number is 8 to 32 digits"))
    amount_fen = Int(required=True, validate=validate.Range(min=1))
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9]{6,15}$", error="not a valid phone number"))


class TransferSchema(Strict):
    id = fields.String()
    order_no = fields.String()
    remitter_type = fields.String()
    remitter_name = fields.String()
    remitter_account = fields.Function(lambda t: "****" + t["remitter_account"][-4:])  # dumps transfer_view dicts
    amount_fen = Int()
    phone = fields.String(attribute="phone_masked")
    status = fields.String()
    reason = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class TransferQuerySchema(Strict):
    status = fields.String(load_default="submitted", validate=validate.OneOf(("submitted", "confirmed", "rejected")))


class ReasonSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class StatementResultSchema(Strict):
    matched = Int()
    ambiguous = Int()
    unmatched = Int()
    skipped = Int()


class InvoiceInSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(("ordinary", "special")))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tax_no = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9A-Z]{15,20}$"))


class InvoiceSchema(Strict):
    invoice_no = fields.String()
    order_no = fields.String()
    kind = fields.String()
    title = fields.String()
    tax_no = fields.String(allow_none=True)
    amount_fen = Int()
    status = fields.String()
    issued_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)
    reversal_reason = fields.String(allow_none=True)


class ReversalSchema(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    red_letter_applied = fields.Boolean(required=True)  # 是否已申请红字确认单
    booked = fields.Boolean(load_default=False)  # already deducted or booked by the unit
    remarks = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ReversalRequestInSchema(Strict):
    """退票申请: the reason, whether a red-letter confirmation form was applied for, whether
    the invoice was already deducted or booked, remarks."""
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    red_letter_applied = fields.Boolean(required=True)  # 是否已申请红字确认单
    booked = fields.Boolean(required=True)  # 已抵扣或已入账
    remarks = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ReversalRequestQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("requested", "approved", "rejected")))


class ReversalDecisionSchema(Strict):
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReversalRequestSchema(Strict):
    id = fields.String()
    invoice_no = fields.String()
    order_no = fields.String(allow_none=True)
    unit_id = fields.String()
    reason = fields.String()
    red_letter_applied = fields.Boolean()
    booked = fields.Boolean()
    remarks = fields.String(allow_none=True)
    status = fields.String()
    notice_72h = fields.Boolean()  # confirm in the tax system by confirm_by
    confirm_by = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class PayeeSchema(Strict):
    name = fields.String(required=True)
    account = fields.String(required=True)
    bank = fields.String(required=True)
    bank_code = fields.String(required=True)


class RefundInSchema(Strict):
    person_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))
    route = fields.String(load_default="original", validate=validate.OneOf(("original", "other_account")))
    payee = fields.Dict(load_default=None, allow_none=True)


class RefundSchema(Strict):
    id = fields.String()
    order_no = fields.String()
    person_ids = fields.List(fields.String())
    amount_fen = Int()
    route = fields.String()
    status = fields.String()
    failure = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    requested_by = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    unit_id = fields.String()
    payee = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True,
                        metadata={"description": "another account: name, bank, bank code, account as ****1234"})
    completed_at = fields.DateTime(allow_none=True)


class RefundQuerySchema(Strict):
    status = fields.String(load_default=None)


class PayableQuerySchema(Strict):
    status = fields.String(load_default="refundable", validate=validate.OneOf(
        ("awaiting_payment", "in_order", "paid", "delegation_billed", "refundable", "refunding", "refunded",
         "cancelled")))
    unit_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class ReconciliationSchema(Strict):
    issues = fields.List(fields.Dict())
    checked_at = fields.DateTime()


class CentralisedStatementSchema(Strict):
    delegation_id = fields.String()
    people = Int()
    amount_fen = Int()


class TransferDetailSchema(TransferSchema):
    order_amount_fen = Int()
    order_status = fields.String()
    unit_id = fields.String()
    decided_by = fields.String(allow_none=True)


class StatementLineSchema(Strict):
    id = fields.String()
    bank_reference = fields.String()
    value_date = fields.String()
    amount_fen = Int()
    remitter_name = fields.String()
    remitter_account = fields.Function(
        lambda line: "****" + line["remitter_account"][-4:] if line.get("remitter_account") else None)
    status = fields.String()
    transfer_id = fields.String(allow_none=True)
    candidates = Int()
    imported_at = fields.DateTime()
    candidate_transfers = fields.List(fields.Nested(TransferSchema))


class StatementLineQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("matched", "ambiguous", "unmatched")))


class ManualMatchSchema(Strict):
    transfer_id = fields.String(required=True, validate=validate.Length(min=1, max=32))


class FinanceInvoiceSchema(InvoiceSchema):
    unit_id = fields.String()
    red_letter_applied = fields.Boolean(allow_none=True)
    reversal_remarks = fields.String(allow_none=True)


class InvoiceQuerySchema(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("issued", "reversed")))
    q = fields.String(load_default=None, validate=validate.Length(max=40))
