from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.idempotency import IdempotencyMixin
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
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
    status: Mapped[str] = mapped_column(String(20))  # awaiting_payment / in_order / paid
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_no: Mapped[str] = mapped_column(String(24), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # unpaid / paid / cancelled / expired
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
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
