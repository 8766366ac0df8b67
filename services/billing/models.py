from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.deadletters import DeadLetterMixin
from shared.idempotency import IdempotencyMixin
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin
from shared.revocation import TokenRevocationMixin


class Base(DeclarativeBase):
    pass


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class DeadLetter(DeadLetterMixin, Base):
    pass


class TokenRevocation(TokenRevocationMixin, Base):
    pass


class IdempotencyKey(IdempotencyMixin, Base):
    pass


class PayableItem(Base):
    """One person's fee, from PersonnelConfirmed (payer unit)."""
    __tablename__ = "payable_items"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(10))
    payer: Mapped[str] = mapped_column(String(12))
    fee_fen: Mapped[int] = mapped_column(Integer)
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # 统付 payer
    # awaiting_payment / in_order / paid / delegation_billed / refundable / refunding / refunded / cancelled
    status: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    refundable_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_no: Mapped[str] = mapped_column(String(24), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)  # unpaid / paid / cancelled / expired
    paid_by: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the method that paid
    payer_title: Mapped[str | None] = mapped_column(String(200), nullable=True)  # B2B/transfer payer: the invoice title
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class OrderItem(Base):
    __tablename__ = "order_items"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fee_fen: Mapped[int] = mapped_column(Integer)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # alipay / wechat / unionpay / b2b / transfer
    provider: Mapped[str] = mapped_column(String(20))
    provider_txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # initiated / confirmed / superseded
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class PaymentCallback(Base):
    """Every provider callback as received, with what we made of it."""
    __tablename__ = "payment_callbacks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_txn_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    notify_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verdict: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SandboxTransaction(Base):
    """The sandbox payment provider's own ledger (stands for the provider's system)."""
    __tablename__ = "sandbox_transactions"
    __table_args__ = (UniqueConstraint("out_trade_no", "txn_id"),)

    txn_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(20))
    total_fen: Mapped[int] = mapped_column(Integer)
    notify_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))  # WAIT_BUYER_PAY / TRADE_SUCCESS / TRADE_CLOSED
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class TransferSubmission(Base):
    """Bank transfer (银行转账) details and voucher, waiting for finance."""
    __tablename__ = "transfer_submissions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    remitter_type: Mapped[str] = mapped_column(String(12))  # unit / individual
    remitter_name: Mapped[str] = mapped_column(String(200))
    remitter_account: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Integer)
    phone_masked: Mapped[str] = mapped_column(String(32))
    voucher: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12))  # submitted / confirmed / rejected
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class StatementLine(Base):
    """A line of an imported bank statement, matched to a transfer or left for a person."""
    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("bank_reference", name="uq_statement_reference"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bank_reference: Mapped[str] = mapped_column(String(64))
    value_date: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int] = mapped_column(Integer)
    remitter_name: Mapped[str] = mapped_column(String(200))
    remitter_account: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # matched / ambiguous / unmatched
    transfer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InvoiceSequence(Base):
    """The invoice number counter per prefix, incremented under a row lock in the same
    transaction as the invoice: numbers never repeat and never skip."""
    __tablename__ = "invoice_sequences"

    prefix: Mapped[str] = mapped_column(String(12), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


ISSUED = text("status = 'issued'")


class Invoice(Base):
    """An order has at most one valid (issued) invoice; a reversed one stays on record and
    the order may be invoiced again."""
    __tablename__ = "invoices"
    __table_args__ = (Index("uq_invoices_issued_order", "order_id", unique=True, postgresql_where=ISSUED,
                            sqlite_where=ISSUED),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    invoice_no: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # ordinary (数电普票) / special (数电专票)
    title: Mapped[str] = mapped_column(String(200))
    tax_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    # issuing (number taken, being filed with the platform) / issued / reversed / refused
    # (the platform refused it: its number stays on record, the reason in reversal_reason)
    status: Mapped[str] = mapped_column(String(10))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    reversal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    red_letter_applied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    reversal_remarks: Mapped[str | None] = mapped_column(Text, nullable=True)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    person_ids: Mapped[list[str]] = mapped_column(JSON)
    amount_fen: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(20))  # original / other_account
    payee: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # name, account, bank, bank_code
    # requested / approved / sending / processing / completed / failed / rejected
    status: Mapped[str] = mapped_column(String(12), index=True)
    # when a sweep took it to the provider; one that died mid-way is taken again after a lease
    sending_since: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    provider_refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # who asked: the unit's account, or finance for a unit that can no longer ask (deleted)
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class InvoiceReversalRequest(Base):
    """The unit's request to reverse an invoice (退票申请), decided by finance."""
    __tablename__ = "invoice_reversal_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    red_letter_applied: Mapped[bool] = mapped_column(Boolean)  # 是否已申请红字确认单
    booked: Mapped[bool] = mapped_column(Boolean)  # already deducted or booked (已抵扣或已入账)
    remarks: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(10))  # requested / approved / rejected
    # without a red-letter form on a booked invoice: confirm in the tax system by then (72 h)
    confirm_by: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
