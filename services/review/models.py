from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class Delegation(Base):
    """交易团 (parent_id is None) or 分团 (its parent is the delegation)."""
    __tablename__ = "delegations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("delegations.id"), nullable=True)
    recommendation_code: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    target: Mapped[int] = mapped_column(Integer, default=0)
    centralised_payment: Mapped[bool] = mapped_column(Boolean, default=False)  # 统付
    two_level: Mapped[bool] = mapped_column(Boolean, default=False)
    industry: Mapped[bool] = mapped_column(Boolean, default=False)  # 行业交易团: joined by code only
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Admin(Base):
    __tablename__ = "admins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    delegation_id: Mapped[str | None] = mapped_column(ForeignKey("delegations.id"), nullable=True)


class RegistryRecord(Base):
    """The sandbox business registry used by automatic review (无感审核)."""
    __tablename__ = "registry_records"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class UnitReview(Base):
    __tablename__ = "unit_reviews"

    """A unit as review knows it. The row may exist before the unit is submitted (status
    `not_submitted`): handlers of the unit's events lock it to work one at a time."""

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    edition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True, nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    region: Mapped[str | None] = mapped_column(String(20), nullable=True)
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20))  # not_submitted / pending / approved / returned / rejected
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReviewPerson(Base):
    __tablename__ = "review_personnel"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    requested_label: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(30))  # submitted / awaiting_confirmation / confirmed
    label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    payer: Mapped[str | None] = mapped_column(String(12), nullable=True)
