from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.deadletters import DeadLetterMixin
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin
from shared.revocation import TokenRevocationMixin
from shared.throttle import LoginFailureMixin


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


class Delegation(Base):
    """交易团 (no parent), 分团 (its parent is a delegation), an industry delegation
    (行业交易团, joined by recommendation code; its figures roll up to a local one) or a
    CIFTIS host organisation (承办机构)."""
    __tablename__ = "delegations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("delegations.id"), nullable=True)
    recommendation_code: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    target: Mapped[int] = mapped_column(Integer, default=0)  # purchasers (units) to organise
    centralised_payment: Mapped[bool] = mapped_column(Boolean, default=False)  # 统付
    centralised_limit_fen: Mapped[int] = mapped_column(Integer, default=0)
    centralised_spent_fen: Mapped[int] = mapped_column(Integer, default=0)
    two_level: Mapped[bool] = mapped_column(Boolean, default=False)
    industry: Mapped[bool] = mapped_column(Boolean, default=False)
    rollup_delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class HostOrganisation(Base):
    """A host organisation's own application (承办机构信息登记), in a fair whose organisations
    are host organisations: it registers its basic information and business licence, the
    organising committee approves it or returns it with a comment, and only an approved
    one issues invitation codes. Delegations without this row (a delegation fair) are not
    held back by it."""
    __tablename__ = "host_organisations"

    delegation_id: Mapped[str] = mapped_column(ForeignKey("delegations.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # awaiting_info / pending / approved / returned
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)  # the committee's, on a return
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # 机构名称
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)  # 机构英文名称
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 所属领域
    industry: Mapped[str | None] = mapped_column(String(100), nullable=True)  # 行业类别
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)  # or "n/a"
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(12), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    website: Mapped[str | None] = mapped_column(String(200), nullable=True)
    licence: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # 营业执照扫描, no metadata
    licence_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Admin(Base):
    __tablename__ = "admins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    delegation_id: Mapped[str | None] = mapped_column(ForeignKey("delegations.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)  # raised to end every earlier session
    # the admin's own contact details (shown masked, changed by the admin with their password)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)


class RegistryRecord(Base):
    """The sandbox business registry used by automatic review (无感审核)."""
    __tablename__ = "registry_records"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class UnitReview(Base):
    """A unit as review knows it. The row may exist before the unit is submitted (status
    `not_submitted`): handlers of the unit's events lock it to work one at a time."""
    __tablename__ = "unit_reviews"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    edition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True, nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    region: Mapped[str | None] = mapped_column(String(20), nullable=True)
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # not_submitted / pending / first_approved / approved / returned / rejected / deleted
    status: Mapped[str] = mapped_column(String(20))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    first_decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UnitSubmission(Base):
    """Each time a unit submitted (or resubmitted after a return): the file's history."""
    __tablename__ = "unit_submissions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class ReviewPerson(Base):
    __tablename__ = "review_personnel"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    requested_label: Mapped[str] = mapped_column(String(10))
    # submitted / awaiting_confirmation / first_approved / confirmed / rejected / pending_lock / locked /
    # cancelled / deleted
    status: Mapped[str] = mapped_column(String(30))
    label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    payer: Mapped[str | None] = mapped_column(String(12), nullable=True)
    fee_fen: Mapped[int] = mapped_column(Integer, default=0)  # what the delegation pays, under 统付
    previous_credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reused_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Quota(Base):
    """VIP and staff credentials a unit may have (额度), keyed by USCC so that it can be
    set before the unit registers."""
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("edition", "uscc", name="uq_quota"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    edition: Mapped[str] = mapped_column(String(32))
    uscc: Mapped[str] = mapped_column(String(18))
    vip: Mapped[int] = mapped_column(Integer, default=0)
    staff: Mapped[int] = mapped_column(Integer, default=0)
    vip_used: Mapped[int] = mapped_column(Integer, default=0)
    staff_used: Mapped[int] = mapped_column(Integer, default=0)
    set_by_delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class InvitationCode(Base):
    """CIFTIS-style single-use invitation code of a host organisation."""
    __tablename__ = "invitation_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    delegation_id: Mapped[str] = mapped_column(ForeignKey("delegations.id"), index=True)
    used_by_unit_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    used_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    used_by_uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)  # the enterprise may claim it again
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class EditionSettings(Base):
    __tablename__ = "edition_settings"

    edition: Mapped[str] = mapped_column(String(32), primary_key=True)
    review_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    labelling_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    locking_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    fee_fen: Mapped[int] = mapped_column(Integer)  # set from the fair profile's fee, then by the committee
    # PIPL: personal data of the edition is kept until then, and erased everywhere after
    personal_data_retained_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    personal_data_purged_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AuditEntry(Base):
    """Who did what, when, to what, with the before and after."""
    __tablename__ = "audit_log"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    admin_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
