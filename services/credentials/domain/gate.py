"""The gate (入口验证): gate staff scan a badge's QR and get one verdict, with the holder's
name and photo to compare against the person in front of them. Every scan is recorded —
admitted or refused, even an unreadable one — with who scanned, where, when and which way.

Verdicts: valid (admit), already_inside (this card entered today and has not gone out
since: a copy of it, or a card lent back through the fence), not_this_day (today, in the
fair's time zone, is not one of its entry dates), revoked, superseded (an earlier issue of
a reissued card), not_issued (the card was never produced), wrong_edition (a badge of ours
from another edition that was not reused for this one: its number starts with another
year), unknown (not a card of ours: unreadable, forged, or bound to someone else).

"Already inside" follows entries and exits: an exit scan closes the last entry, so a
visitor who steps out at lunch and comes back is admitted again, while a second entry
without an exit is refused and the answer says when and where the card went in. Without
exit scans every legitimate re-entry would look like a copy."""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import new_id

from .. import cards
from ..models import Credential, GateScan
from .production import VALID, edition_prefix

ENTRY, EXIT = "in", "out"
DIRECTIONS = (ENTRY, EXIT)
VERDICTS = ("valid", "already_inside", "not_this_day", "revoked", "superseded", "not_issued", "wrong_edition",
            "unknown")
MESSAGES = {
    "valid": "Valid: let the holder through after comparing the photo.",
    "already_inside": "Refused: this card already entered today and has not gone out.",
    "not_this_day": "Refused: the card is not valid today.",
    "revoked": "Refused: the credential was revoked.",
    "superseded": "Refused: an old card, replaced by a reissued one.",
    "not_issued": "Refused: this card was never issued.",
    "wrong_edition": "Refused: a badge of another edition of the fair.",
    "unknown": "Refused: not a valid credential (unreadable, forged or someone else's).",
}


@dataclass(frozen=True)
class Scan:
    """One scan as the gate's phone sends it."""
    payload: str
    gate: str
    direction: str
    staff_id: str


# --- the fair's day -----------------------------------------------------------------------
def fair_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The calendar day at the fair for a naive-UTC moment (times are stored in UTC; the
    gates open by Shanghai's clock, 8 hours ahead)."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(tz).date()


def day_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """Midnight of a fair day, as naive UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.timezone.utc).replace(tzinfo=None)


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """A filter's moment as stored: UTC without a zone (a moment without one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def local_time(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(tz).strftime("%H:%M")


# --- the rule -----------------------------------------------------------------------------
def verdict_for(status: str, card_issue: int, current_issue: int, entry_dates: list[str], today: dt.date,
                direction: str, inside: bool) -> str:
    """The verdict for a genuine card of a known credential. Going out is never refused for
    the day or for being inside; a void card is refused either way."""
    if status == "revoked":
        return "revoked"
    if card_issue < current_issue:
        return "superseded"
    if status not in VALID:
        return "not_issued"
    if direction == EXIT:
        return "valid"
    if today.isoformat() not in entry_dates:
        return "not_this_day"
    if inside:
        return "already_inside"
    return "valid"


def scanned_credential(session: Session, payload: str, secret: bytes) -> tuple[Credential | None, int | None]:
    """The credential a payload genuinely belongs to (row-locked, so that two scans of the
    same card at two gates are judged one after the other) and the issue on the card."""
    reference = cards.parse_reference(payload)
    if reference is None:
        return None, None
    credential = session.scalar(select(Credential).where(Credential.credential_no == reference.credential_no)
                                .with_for_update())
    if credential is None or not cards.is_genuine(reference, credential.person_id, secret) \
            or reference.issue > (credential.issue or 1):
        return None, None
    return credential, reference.issue


def open_entry(session: Session, credential_id: str, since: dt.datetime) -> GateScan | None:
    """Today's last admitted entry of the credential, if no exit followed it."""
    last = session.scalar(select(GateScan).where(GateScan.credential_id == credential_id,
                                                 GateScan.scanned_at >= since, GateScan.verdict == "valid")
                          .order_by(GateScan.scanned_at.desc()).limit(1))
    return last if last is not None and last.direction == ENTRY else None


def other_edition(payload: str, edition: str | None) -> bool:
    """A well-formed badge payload whose number belongs to another edition (numbers begin with
    their edition's year) — last year's badge shown again. Only asked when no credential of
    this edition has the number: a reused badge keeps its old number and is found."""
    reference = cards.parse_reference(payload)
    if reference is None or not edition:
        return False
    return reference.credential_no[:4] != edition_prefix(edition)


def scan_at_gate(session: Session, scan: Scan, secret: bytes, tz: ZoneInfo,
                 clock: Callable[[], dt.datetime], edition: str | None = None) -> dict[str, Any]:
    """Judge one scan, record it, and answer what the gate shows. The time is read once the
    card's row is locked, so the scans of one card are recorded in the order they were judged."""
    credential, card_issue = scanned_credential(session, scan.payload, secret)
    now = clock()
    entered: GateScan | None = None
    if credential is None or card_issue is None:
        verdict = "wrong_edition" if credential is None and other_edition(scan.payload, edition) and \
            not _number_known(session, scan.payload) else "unknown"
    else:
        today = fair_day(now, tz)
        if scan.direction == ENTRY:
            entered = open_entry(session, credential.id, day_start(today, tz))
        verdict = verdict_for(credential.status, card_issue, credential.issue or 1, credential.entry_dates or [],
                              today, scan.direction, entered is not None)
    record = GateScan(id=new_id(), scanned_at=now, gate=scan.gate, direction=scan.direction, staff_id=scan.staff_id,
                      verdict=verdict, credential_id=credential.id if credential else None,
                      credential_no=credential.credential_no if credential else None, issue=card_issue)
    session.add(record)
    session.flush()
    return answer(record, credential, entered if verdict == "already_inside" else None, tz)


def _number_known(session: Session, payload: str) -> bool:
    reference = cards.parse_reference(payload)
    return reference is not None and session.scalar(
        select(Credential.id).where(Credential.credential_no == reference.credential_no)) is not None


def answer(record: GateScan, credential: Credential | None, entered: GateScan | None, tz: ZoneInfo) -> dict[str, Any]:
    """What the gate's phone shows: the verdict first; for a genuine card the holder's name,
    unit and photo (to compare with the face in front of the staff), the label and days."""
    result: dict[str, Any] = {
        "scan_id": record.id, "scanned_at": record.scanned_at, "gate": record.gate, "direction": record.direction,
        "verdict": record.verdict, "admit": record.verdict == "valid", "message": MESSAGES[record.verdict],
        "credential_no": None, "issue": record.issue, "label": None, "entry_dates": [], "holder": None,
        "reason": None, "entered": None}
    if credential is None:
        return result
    result.update(credential_no=credential.credential_no, label=credential.label,
                  entry_dates=credential.entry_dates or [],
                  holder={"name": credential.card.get("name", ""), "unit_name": credential.card.get("unit_name", ""),
                          "photo": photo_data_url(credential)})
    if record.verdict == "revoked":
        result["reason"] = credential.revoked_reason
    elif record.verdict == "superseded":
        result["reason"] = f"card reissued ({credential.reissue_reason or 'replaced'}); issue {credential.issue} is current"
    if entered is not None:
        result["entered"] = {"at": entered.scanned_at, "local_time": local_time(entered.scanned_at, tz),
                             "gate": entered.gate}
        result["message"] = f"Refused: this card entered today at {result['entered']['local_time']} " \
                            f"at gate {entered.gate} and has not gone out."
    return result


def photo_data_url(credential: Credential) -> str | None:
    """The gate copy of the photo as a data URL the phone page can show as it is; cards
    produced before the gate copy existed get theirs made once, here."""
    if credential.gate_photo is None and credential.photo:
        credential.gate_photo = cards.gate_photo(credential.photo)
    if not credential.gate_photo:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(credential.gate_photo).decode()


# --- the scan log -------------------------------------------------------------------------
def scan_log(session: Session, filters: dict[str, Any]) -> dict[str, Any]:
    """Scans, newest first, for the organising committee and operations: who, where, when,
    which way, the verdict and the credential number — no names, no photos."""
    query = select(GateScan)
    for name in ("gate", "verdict", "credential_no", "staff_id", "direction"):
        if filters.get(name):
            query = query.where(getattr(GateScan, name) == filters[name])
    if filters.get("since"):
        query = query.where(GateScan.scanned_at >= naive_utc(filters["since"]))
    if filters.get("until"):
        query = query.where(GateScan.scanned_at < naive_utc(filters["until"]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, per_page = filters.get("page", 1), filters.get("per_page", 50)
    items = list(session.scalars(query.order_by(GateScan.scanned_at.desc(), GateScan.id)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}
