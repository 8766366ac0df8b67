from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
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


class Holder(Base):
    """What credentials knows of a person from review's events: the confirmed label,
    who pays, the delegation, and a reuse request if any."""
    __tablename__ = "holders"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    label: Mapped[str] = mapped_column(String(10))
    payer: Mapped[str] = mapped_column(String(12))
    reuse_credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class BackgroundCheck(Base):
    """One police check per person; the answer is matched by check id."""
    __tablename__ = "background_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))  # requested / passed / failed / overdue
    requests_sent: Mapped[int] = mapped_column(Integer, default=1)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ProductionBatch(Base):
    __tablename__ = "production_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    sheet_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    produced_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Credential(Base):
    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_no: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    delegation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    label: Mapped[str] = mapped_column(String(10))
    # queued / produced / dispatched / ready_for_pickup / delivered / collected / reused / revoked
    status: Mapped[str] = mapped_column(String(20), index=True)
    reused: Mapped[bool] = mapped_column(Boolean, default=False)
    pickup_method: Mapped[str] = mapped_column(String(10))
    entry_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    card: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the card face, without the photo
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # the small copy the gate shows staff to compare with the holder (personal data: never logged)
    gate_photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # bumped by a reissue (lost or damaged card): the QR of an earlier issue no longer admits
    issue: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reissue_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reissued_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    card_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("production_batches.id"), nullable=True)
    tracking_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ship_to: Mapped[str | None] = mapped_column(String(200), nullable=True)  # city and masked recipient only
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    produced_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # on-site hand-over: who the desk gave the card to (holder / proxy, 代领), the proxy's own
    # credential (a colleague of the same unit) and the desk's staff member
    collected_by: Mapped[str | None] = mapped_column(String(10), nullable=True)
    proxy_credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    handed_over_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class GateScan(Base):
    """Every scan at a gate, admitted or not, even an unreadable one: who scanned, where,
    when, which way, the verdict, and the credential when the card was genuine."""
    __tablename__ = "gate_scans"
    __table_args__ = (Index("ix_gate_scans_credential_time", "credential_id", "scanned_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scanned_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    gate: Mapped[str] = mapped_column(String(40), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in / out
    staff_id: Mapped[str] = mapped_column(String(64), index=True)
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    credential_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    credential_no: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    issue: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the issue printed on the scanned card


class CredentialSequence(Base):
    """Per-edition counter behind credential numbers (row-locked when incremented)."""
    __tablename__ = "credential_sequences"

    edition: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class DelegationView(Base):
    """The delegation tree (from review's DelegationChanged), for delegation views."""
    __tablename__ = "delegations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReissueRequest(Base):
    """A unit's request for a new card (补证) for a lost or damaged one: operations reissue
    it (the next issue under the same number; the old card's QR is void) or refuse it."""
    __tablename__ = "reissue_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_no: Mapped[str] = mapped_column(String(32), index=True)
    person_id: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(10))  # lost / damaged
    remarks: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="requested")  # requested / reissued / rejected
    decision_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    new_issue: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
