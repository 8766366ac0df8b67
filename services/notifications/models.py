from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.deadletters import DeadLetterMixin
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


class Message(Base):
    """The delivery log: one row per message per channel. The raw recipient is kept only
    until the message is sent; the log shows the masked one."""
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("source_event_id", "channel", "template", name="uq_message_once"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_event_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    channel: Mapped[str] = mapped_column(String(10))  # email / sms
    template: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recipient_masked: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), index=True)  # queued / sent / failed / dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class SandboxSms(Base):
    """The SMS sandbox provider's ledger: what a phone would have received."""
    __tablename__ = "sandbox_sms"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Preference(Base):
    """A unit's opt-out of non-essential messages (reminders); codes and results always go."""
    __tablename__ = "preferences"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
