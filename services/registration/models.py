from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from shared.crypto import CipherSlot, Encrypted
from shared.deadletters import DeadLetterMixin
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin
from shared.revocation import TokenRevocationMixin
from shared.throttle import LoginFailureMixin


# Phones and emails are stored encrypted with registration's data key (set by its bootstrap).
CIPHER = CipherSlot("registration")


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


class LoginFailure(LoginFailureMixin, Base):
    pass


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("edition", "uscc", name="uq_units_edition_uscc"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    edition: Mapped[str] = mapped_column(String(32))
    # The login: a USCC, a registration number (HK/Macao/Taiwan, overseas) or an individual's
    # pseudonym (identifiers.individual_key); `identifier_type` says which.
    uscc: Mapped[str] = mapped_column(String(18))
    identifier_type: Mapped[str] = mapped_column(String(20), default="uscc", server_default="uscc")
    identifier_masked: Mapped[str | None] = mapped_column(String(40), nullable=True)  # an individual's document
    unit_code: Mapped[str] = mapped_column(String(9), unique=True)  # T + 8 digits (注册码)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    visitor_kind: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recommendation_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    contact_phone: Mapped[str] = mapped_column(Encrypted(CIPHER))
    contact_phone_hash: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    contact_email: Mapped[str] = mapped_column(Encrypted(CIPHER))
    language: Mapped[str] = mapped_column(String(5), default="zh")
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # unit-info draft (单位信息)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)  # raised to end every earlier session
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # 本人已阅读并同意隐私条款: when the contact accepted the privacy policy, and which version
    privacy_consent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    privacy_policy_version: Mapped[str | None] = mapped_column(String(20), nullable=True)
    referral_code: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    referred_by_unit_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    previous_unit_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # 往届 account carried over
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    @validates("contact_phone")
    def _keep_phone_lookup_hash(self, _key: str, phone: str | None) -> str | None:
        """The phone is encrypted with a fresh nonce each time: logins by phone find it by hash."""
        self.contact_phone_hash = CIPHER.cipher.lookup_hash(phone) if phone else None
        return phone


class Person(Base):
    __tablename__ = "personnel"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    region_type: Mapped[str] = mapped_column(String(20))
    id_type: Mapped[str] = mapped_column(String(30))
    # The ID number is stored only encrypted; the keyed hash serves uniqueness and search.
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(40))
    nationality: Mapped[str | None] = mapped_column(String(60), nullable=True)
    mobile: Mapped[str | None] = mapped_column(Encrypted(CIPHER), nullable=True)
    email: Mapped[str | None] = mapped_column(Encrypted(CIPHER), nullable=True)
    position: Mapped[str | None] = mapped_column(String(100), nullable=True)
    entry_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    exhibition_area: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pickup_method: Mapped[str] = mapped_column(String(10), default="courier")
    # a badge type of the fair; none for an online-only unit's people (CIFTIS 线上参展商)
    requested_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    payer: Mapped[str | None] = mapped_column(String(12), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="saved")
    order_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tracking_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    has_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    # 勾选承诺信息: the person's consent to the privacy policy, confirmed by whoever entered the record
    privacy_consent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    reuse_credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True)  # 证件复用
    created_by_member_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)  # why review rejected the person (CIFTIS)


class PersonPhoto(Base):
    __tablename__ = "person_photos"

    person_id: Mapped[str] = mapped_column(ForeignKey("personnel.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class UnitDocument(Base):
    """The qualification document (business licence, legal-person certificate)."""
    __tablename__ = "unit_documents"

    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    content_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DeliveryAddress(Base):
    __tablename__ = "delivery_addresses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(Encrypted(CIPHER))
    province: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SmsCode(Base):
    """A verification code sent by SMS; stored hashed, like the phone it went to."""
    __tablename__ = "sms_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class DelegationView(Base):
    """Registration's projection of review's delegations (from DelegationChanged)."""
    __tablename__ = "delegations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recommendation_code: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    industry: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Member(Base):
    """A colleague who joined with the unit code (注册码) and waits for the unit's approval."""
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("unit_id", "phone_hash", name="uq_member_phone"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    phone_enc: Mapped[str] = mapped_column(Text)
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # pending / approved / rejected / removed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class PointsEntry(Base):
    """The points ledger: one line per award, unique per reason and source."""
    __tablename__ = "points_ledger"
    __table_args__ = (UniqueConstraint("reason", "source_id", "person_id", name="uq_points_once"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class PreviousUnit(Base):
    """A unit of a previous edition (往届), imported to let it return with its history."""
    __tablename__ = "previous_units"
    __table_args__ = (UniqueConstraint("edition", "uscc", name="uq_previous_unit"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    edition: Mapped[str] = mapped_column(String(32))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(20))
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    contact_phone: Mapped[str] = mapped_column(Encrypted(CIPHER))
    contact_email: Mapped[str] = mapped_column(Encrypted(CIPHER))
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the edition's fee orders (往届订单): number, amount, status, paid date, people, invoice
    orders: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    invitation_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    invited_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class PreviousPerson(Base):
    __tablename__ = "previous_personnel"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    previous_unit_id: Mapped[str] = mapped_column(ForeignKey("previous_units.id"), index=True)
    edition: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    region_type: Mapped[str] = mapped_column(String(20))
    id_type: Mapped[str] = mapped_column(String(30))
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(10))
    credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    check_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    lost_or_damaged: Mapped[bool] = mapped_column(Boolean, default=False)
    card_face: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # name, unit, delegation, label, photo, dates


class ReminderSent(Base):
    """One reminder per unit, kind and number of days before the deadline."""
    __tablename__ = "reminders_sent"

    unit_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)


class QuotaView(Base):
    """Registration's projection of the VIP and staff quotas review gives a unit (额度, from
    QuotaChanged), keyed like review's by the unit's login key: the unit sees what it may
    still ask for, and a free label is asked for only within it."""
    __tablename__ = "quotas"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    vip: Mapped[int] = mapped_column(Integer, default=0)
    staff: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
