from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("edition", "uscc", name="uq_units_edition_uscc"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    edition: Mapped[str] = mapped_column(String(32))
    uscc: Mapped[str] = mapped_column(String(18))
    unit_code: Mapped[str] = mapped_column(String(9), unique=True)  # T + 8 digits (注册码)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    visitor_kind: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recommendation_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    contact_phone: Mapped[str] = mapped_column(String(32))
    contact_email: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="zh")
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # unit-info draft (单位信息)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Person(Base):
    __tablename__ = "personnel"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    region_type: Mapped[str] = mapped_column(String(20))
    id_type: Mapped[str] = mapped_column(String(30))
    id_number: Mapped[str] = mapped_column(String(40))
    nationality: Mapped[str | None] = mapped_column(String(60), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(32), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    position: Mapped[str | None] = mapped_column(String(100), nullable=True)
    entry_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    exhibition_area: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pickup_method: Mapped[str] = mapped_column(String(10), default="courier")
    requested_label: Mapped[str] = mapped_column(String(10), default="visitor")
    label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    payer: Mapped[str | None] = mapped_column(String(12), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="saved")
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tracking_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
