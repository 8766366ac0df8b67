from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class BackgroundCheck(Base):
    """One police check per person; the answer is matched by check id."""
    __tablename__ = "background_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))  # requested / passed / failed
    requests_sent: Mapped[int] = mapped_column(Integer, default=1)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Credential(Base):
    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_no: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))  # produced / dispatched / delivered / collected / revoked
    pickup_method: Mapped[str] = mapped_column(String(10))
    tracking_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    produced_at: Mapped[dt.datetime] = mapped_column(DateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class CredentialSequence(Base):
    """Per-edition counter behind credential numbers (row-locked when incremented)."""
    __tablename__ = "credential_sequences"

    edition: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
