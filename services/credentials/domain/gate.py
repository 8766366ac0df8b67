"""Verification at the gate: a scanned QR reference answers whether the card lets its
holder in today — with the label, and nothing personal (the gate is not authenticated)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import cards
from ..models import Credential
from .production import VALID


def verify_at_gate(session: Session, reference: str, secret: bytes, today: dt.date) -> dict[str, Any]:
    """valid / revoked / not_valid_today / unknown — and the label, nothing personal."""
    number = cards.read_reference(reference, secret)
    if number is None:
        return {"result": "unknown"}
    credential = session.scalar(select(Credential).where(Credential.credential_no == number))
    if credential is None:
        return {"result": "unknown"}
    if credential.status == "revoked":
        return {"result": "revoked", "credential_no": number}
    if credential.status not in VALID:
        return {"result": "not_issued", "credential_no": number}
    if credential.entry_dates and today.isoformat() not in credential.entry_dates:
        return {"result": "not_valid_today", "credential_no": number, "label": credential.label,
                "entry_dates": credential.entry_dates}
    return {"result": "valid", "credential_no": number, "label": credential.label}
