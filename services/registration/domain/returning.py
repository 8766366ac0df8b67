"""Returning units (往届观众): previous editions — registered in this deployment or imported —
verified by password, phone or email code, unit info and personnel carried over; credential
reuse (证件复用); one-click invitations.

A previous edition reaches these rules in one shape, `PreviousUnit` / `PreviousPerson`: rows an
admin imported (JSON, from another system), or — for the editions this deployment ran itself —
its own `Unit` / `Person` rows of the profile's previous editions, presented as such rows by
`mirror_previous_editions` (same ids, refreshed whenever a returning flow reads them). So the
verification, carry-over, reuse and invitation rules stay one code path; nothing is copied by
hand."""
from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.crypto import FieldCipher
from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, NotFound, Unauthorized
from shared.fair import FairProfile, fair
from shared.outbox import Emit
from shared.passwords import hash_password, password_matches
from shared.validators import is_valid_uscc

from ..models import Person, PreviousPerson, PreviousUnit, Unit
from .links import sign_up_link
from .personnel import add_person, identity_columns, validate_entry_dates

if TYPE_CHECKING:
    from ..bootstrap import RegistrationDeps


def edition_year(edition: str) -> int | None:
    digits = re.findall(r"[0-9]{4}", edition)
    return int(digits[-1]) if digits else None


# A card was made for the person: its check passed and it has a number (in_production onwards).
CREDENTIAL_ISSUED = ("in_production", "dispatched", "delivered")


def _day_numbers(entry_dates: list[str], days: list[dt.date]) -> list[int]:
    """The fair days (1-based) of an edition's stored entry dates, as a card face holds them."""
    iso = [d.isoformat() for d in days]
    return sorted(iso.index(str(d)[:10]) + 1 for d in entry_dates or [] if str(d)[:10] in iso)


def _add_once(session: Session, row: Any) -> Any:
    """Insert a mirrored row, or — when a concurrent request mirrored it first — the row it
    inserted (None if the row's place was taken otherwise, by an import)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        return session.get(type(row), row.id)


def _mirror_unit(session: Session, unit: Unit, profile: FairProfile) -> PreviousUnit | None:
    """`unit` (of a previous edition) as a PreviousUnit with the same id, and its people as
    PreviousPersons: created once, brought up to date each time (the old edition's people still
    move forward as credential events arrive). An imported row of the same edition and USCC
    stays the one that counts: then nothing is mirrored."""
    prev = session.get(PreviousUnit, unit.id)
    if prev is None:
        if session.scalar(select(PreviousUnit.id).where(PreviousUnit.edition == unit.edition,
                                                        PreviousUnit.uscc == unit.uscc)):
            return None
        prev = _add_once(session, PreviousUnit(
            id=unit.id, edition=unit.edition, uscc=unit.uscc, name=unit.name, category=unit.category,
            region=unit.region, contact_phone=unit.contact_phone, contact_email=unit.contact_email, info={}, orders=[]))
        if prev is None:
            return None
    prev.name, prev.category, prev.region, prev.delegation_id = unit.name, unit.category, unit.region, unit.delegation_id
    prev.password_hash, prev.info = unit.password_hash, dict(unit.info or {})
    if prev.contact_phone != unit.contact_phone:
        prev.contact_phone = unit.contact_phone
    if prev.contact_email != unit.contact_email:
        prev.contact_email = unit.contact_email
    session.flush()
    days = profile.edition(unit.edition).days
    for person in session.scalars(select(Person).where(Person.unit_id == unit.id, Person.status != "cancelled")):
        label = person.label or person.requested_label or profile.default_badge(unit.visitor_kind) or ""
        row = session.get(PreviousPerson, person.id) or _add_once(session, PreviousPerson(
            id=person.id, previous_unit_id=prev.id, edition=unit.edition, name=person.name,
            region_type=person.region_type, id_type=person.id_type, id_number_enc=person.id_number_enc,
            id_number_hash=person.id_number_hash, id_number_masked=person.id_number_masked, label=label))
        if row is None:
            continue
        issued = bool(person.credential_no) and person.status in CREDENTIAL_ISSUED
        row.name, row.gender, row.region_type, row.id_type = person.name, person.gender, person.region_type, person.id_type
        row.id_number_enc, row.id_number_hash = person.id_number_enc, person.id_number_hash
        row.id_number_masked, row.label = person.id_number_masked, label
        row.credential_no, row.check_passed, row.lost_or_damaged = person.credential_no, issued, False
        row.card_face = {"name": person.name, "unit_name": unit.name, "delegation_id": unit.delegation_id,
                         "label": label, "entry_days": _day_numbers(person.entry_dates, days)}
    session.flush()
    return prev


def mirror_previous_editions(session: Session, current_edition: str, profile: FairProfile | None = None,
                             uscc: str | None = None, edition: str | None = None,
                             unit_id: str | None = None) -> int:
    """The units this deployment registered in the profile's editions before `current_edition`
    (all of them, or one USCC's, one edition's, one unit's), presented as previous-edition rows
    for the returning rules. Idempotent; answers how many units it brought up to date."""
    profile = profile or fair()
    editions = [e.id for e in profile.previous_editions(current_edition)]
    if edition is not None:
        editions = [edition] if edition in editions else []
    if not editions:
        return 0
    query = select(Unit).where(Unit.edition.in_(editions), Unit.status != "deleted")
    if uscc is not None:
        query = query.where(Unit.uscc == uscc)
    if unit_id is not None:
        query = query.where(Unit.id == unit_id)
    return sum(1 for unit in list(session.scalars(query)) if _mirror_unit(session, unit, profile) is not None)


def import_previous_edition(session: Session, cipher: FieldCipher, edition: str,
                            units: list[dict[str, Any]]) -> dict[str, int]:
    """Load a previous edition's units and personnel (idempotent per edition and USCC)."""
    counts = {"units": 0, "personnel": 0, "skipped": 0}
    for u in units:
        if not is_valid_uscc(u["uscc"]):
            raise DomainError("invalid_uscc", f"{u['uscc']}: USCC check character does not match", "units.uscc")
        if session.scalar(select(PreviousUnit.id).where(PreviousUnit.edition == edition,
                                                        PreviousUnit.uscc == u["uscc"])):
            counts["skipped"] += 1
            continue
        password_hash = u.get("password_hash") or (hash_password(u["password"]) if u.get("password") else None)
        prev = PreviousUnit(id=new_id(), edition=edition, uscc=u["uscc"], name=u["name"], category=u["category"],
                            region=u.get("region", "mainland"), delegation_id=u.get("delegation_id"),
                            password_hash=password_hash, contact_phone=u["contact_phone"],
                            contact_email=u["contact_email"], info=u.get("info") or {},
                            orders=[dict(o) for o in u.get("orders") or []])
        session.add(prev)
        session.flush()
        counts["units"] += 1
        for p in u.get("personnel", []):
            session.add(PreviousPerson(
                id=new_id(), previous_unit_id=prev.id, edition=edition, name=p["name"], gender=p.get("gender"),
                region_type=p["region_type"], id_type=p["id_type"], label=p.get("label", "visitor"),
                credential_no=p.get("credential_no"), check_passed=bool(p.get("check_passed")),
                lost_or_damaged=bool(p.get("lost_or_damaged")), card_face=p.get("card_face") or {},
                **identity_columns(cipher, p["id_number"])))
            counts["personnel"] += 1
    return counts


def previous_orders(session: Session, unit: Unit) -> list[dict[str, Any]]:
    """往届订单查询: the fee orders of the unit's previous editions — for a unit that came back
    through its previous account, or (one that registered anew) once its delegation has
    approved it, by its USCC."""
    if unit.previous_unit_id:
        carried = session.get(PreviousUnit, unit.previous_unit_id)
        key = carried.uscc if carried else unit.uscc
    elif unit.status == "approved":
        key = unit.uscc
    else:
        return []
    rows = session.scalars(select(PreviousUnit).where(PreviousUnit.uscc == key).order_by(PreviousUnit.edition.desc()))
    return [{**order, "edition": prev.edition} for prev in rows for order in (prev.orders or [])]


def latest_previous_unit(session: Session, uscc: str, current_edition: str | None = None,
                         profile: FairProfile | None = None) -> PreviousUnit | None:
    """The USCC's newest previous-edition account; with `current_edition`, the deployment's own
    registrations of the profile's previous editions count too."""
    if current_edition is not None:
        mirror_previous_editions(session, current_edition, profile, uscc=uscc)
    rows = list(session.scalars(select(PreviousUnit).where(PreviousUnit.uscc == uscc)))
    return max(rows, key=lambda r: edition_year(r.edition) or 0) if rows else None


def verify_returning_by_password(session: Session, uscc: str, password: str,
                                 current_edition: str | None = None) -> PreviousUnit:
    prev = latest_previous_unit(session, uscc, current_edition)
    if not password_matches(prev.password_hash if prev else None, password) or prev is None:
        raise Unauthorized("no previous account matches this USCC and password")
    return prev


def previous_unit_for_contact(session: Session, uscc: str, phone: str | None = None,
                              email: str | None = None, current_edition: str | None = None) -> PreviousUnit:
    prev = latest_previous_unit(session, uscc, current_edition)
    if prev is None or (phone is not None and prev.contact_phone != phone) or (
            email is not None and prev.contact_email.lower() != email.lower()):
        raise Unauthorized("no previous account matches these details")
    return prev


def carry_over_into(unit: Unit, prev: PreviousUnit) -> None:
    """Last edition's unit info comes along; the unit reviews it before submitting."""
    if prev.uscc != unit.uscc:
        raise DomainError("uscc_mismatch", "the previous account belongs to another USCC", "uscc")
    unit.previous_unit_id = prev.id
    unit.info = {**(prev.info or {}), **(unit.info or {})}


def previous_personnel(session: Session, unit: Unit) -> list[PreviousPerson]:
    if not unit.previous_unit_id:
        return []
    previous_unit = session.get(Unit, unit.previous_unit_id)
    if previous_unit is not None:  # registered here: its people as they are now
        mirror_previous_editions(session, unit.edition, unit_id=previous_unit.id)
    return list(session.scalars(select(PreviousPerson).where(PreviousPerson.previous_unit_id == unit.previous_unit_id)
                                .order_by(PreviousPerson.name, PreviousPerson.id)))


def get_previous_person(session: Session, unit: Unit, previous_person_id: str) -> PreviousPerson:
    prev = session.get(PreviousPerson, previous_person_id)
    if prev is None or not unit.previous_unit_id or prev.previous_unit_id != unit.previous_unit_id:
        raise NotFound("previous person", "previous_person_id")
    return prev


def carry_over_person(session: Session, unit: Unit, prev: PreviousPerson, data: dict[str, Any],
                      days: list[dt.date], cipher: FieldCipher) -> Person:
    """重新申办: a new (saved) record prefilled from last edition; it needs a current photo."""
    return add_person(session, unit, {
        "name": prev.name, "gender": prev.gender, "region_type": prev.region_type, "id_type": prev.id_type,
        "id_number": cipher.decrypt(prev.id_number_enc), "nationality": data.get("nationality"),
        "mobile": None, "email": None, "position": None, "entry_dates": data["entry_dates"],
        "exhibition_area": data.get("exhibition_area"), "pickup_method": data.get("pickup_method", "courier"),
        "requested_label": prev.label}, days, cipher)


def fair_day_numbers(dates: list[dt.date], days: list[dt.date]) -> list[int]:
    return sorted(days.index(d) + 1 for d in dates)


def reuse_reaches(previous_edition: str, current_edition: str, profile: FairProfile | None = None) -> bool:
    """Credential reuse reaches back the profile's `reuse_editions` editions (CIIE: two): by
    the profile's list of editions, or by year for an edition it does not list."""
    profile = profile or fair()
    back = int(profile.data["reuse_editions"])
    if current_edition in {e.id for e in profile.editions}:
        return previous_edition in {e.id for e in profile.previous_editions(current_edition, back)}
    current, previous = edition_year(current_edition), edition_year(previous_edition)
    return current is not None and previous is not None and current - back <= previous <= current - 1


def reuse_refusal(unit: Unit, prev: PreviousPerson, current_edition: str, label: str,
                  entry_day_numbers: list[int], profile: FairProfile | None = None) -> str | None:
    """Why a previous credential cannot be reused, or None when it can: one of the profile's
    `reuse_editions` previous editions, check passed, card not lost or damaged, card face
    unchanged (name, unit, delegation, label, photo, entry dates)."""
    if not reuse_reaches(prev.edition, current_edition, profile):
        back = int((profile or fair()).data["reuse_editions"])
        return {1: "only credentials of the previous edition can be reused",
                2: "only credentials of the two previous editions can be reused"}.get(
                    back, f"only credentials of the {back} previous editions can be reused")
    if not prev.credential_no or not prev.check_passed:
        return "the previous credential did not pass its check"
    if prev.lost_or_damaged:
        return "a lost or damaged credential cannot be reused"
    face = prev.card_face or {}
    if face.get("name", prev.name) != prev.name or face.get("unit_name") != unit.name:
        return "the unit name on the card has changed"
    if face.get("delegation_id") != unit.delegation_id:
        return "the delegation on the card has changed"
    if face.get("label", prev.label) != label:
        return "the label on the card would change"
    if sorted(face.get("entry_days", [])) != entry_day_numbers:
        return "the entry dates on the card would change"
    return None


def request_reuse(session: Session, unit: Unit, prev: PreviousPerson, data: dict[str, Any], days: list[dt.date],
                  cipher: FieldCipher, current_edition: str, emit: Emit) -> Person:
    validate_entry_dates(data["entry_dates"], days)
    label = data.get("label") or prev.label
    refusal = reuse_refusal(unit, prev, current_edition, label, fair_day_numbers(data["entry_dates"], days))
    if refusal:
        raise DomainError("reuse_not_allowed", refusal, "previous_person_id")
    person = carry_over_person(session, unit, prev, data, days, cipher)
    person.requested_label, person.reuse_credential_no = label, prev.credential_no
    person.status, person.submitted_at = "pending_lock", utcnow()  # 待锁定: the delegation locks it
    emit("ReuseRequested", {"person_id": person.id, "unit_id": unit.id, "previous_credential_no": prev.credential_no,
                            "label": label})
    return person


def invite_previous_units(session: Session, edition: str, current_edition: str) -> list[PreviousUnit]:
    """One-click registration: previous units not registered yet get an invitation token
    (the edition's own registrations in this deployment, and imported ones)."""
    mirror_previous_editions(session, current_edition, edition=edition)
    registered = set(session.scalars(select(Unit.uscc).where(Unit.edition == current_edition)))
    invited = []
    for prev in session.scalars(select(PreviousUnit).where(PreviousUnit.edition == edition,
                                                           PreviousUnit.invited_at.is_(None))):
        if prev.uscc in registered or not prev.contact_email:
            continue
        prev.invitation_token, prev.invited_at = secrets.token_urlsafe(24), utcnow()
        invited.append(prev)
    return invited


INVITATION_VALID_FOR = dt.timedelta(days=30)


def previous_unit_by_invitation(session: Session, token: str, now: dt.datetime | None = None) -> PreviousUnit:
    """The previous unit an invitation link was sent to: the link works for 30 days and
    until the unit has registered with it."""
    prev = session.scalar(select(PreviousUnit).where(PreviousUnit.invitation_token == token))
    if prev is None:
        raise NotFound("invitation", "invitation_token")
    if prev.invited_at is None or prev.invited_at + INVITATION_VALID_FOR < (now or utcnow()):
        raise Conflict("invitation_expired", "this invitation link has expired; register as a returning unit "
                       "with your previous account instead", "invitation_token")
    return prev


def previous_personnel_with_reuse(session: Session, unit: Unit, current_edition: str) -> list[dict[str, Any]]:
    """Last edition's personnel, each with whether its credential may be reused (shown, not stored)."""
    rows = []
    for prev in previous_personnel(session, unit):
        refusal = reuse_refusal(unit, prev, current_edition, prev.label,
                                sorted((prev.card_face or {}).get("entry_days", [])))
        rows.append({"id": prev.id, "edition": prev.edition, "name": prev.name, "gender": prev.gender,
                     "region_type": prev.region_type, "id_number_masked": prev.id_number_masked,
                     "label": prev.label, "credential_no": prev.credential_no, "reusable": refusal is None,
                     "reuse_refusal": refusal})
    return rows


def previous_account(session: Session, uscc: str, method: str, password: str | None = None,
                     phone: str | None = None, current_edition: str | None = None) -> PreviousUnit:
    """往届验证, first half: the previous account by password, or the one whose contact will get
    a code (the caller then checks the phone or email code). With `current_edition`, the
    deployment's own units of the previous editions are accounts too."""
    if method == "password":
        return verify_returning_by_password(session, uscc, password or "", current_edition)
    if method == "sms":
        if not phone:
            raise DomainError("phone_required", "give the previous contact phone", "phone")
        return previous_unit_for_contact(session, uscc, phone=phone, current_edition=current_edition)
    return previous_unit_for_contact(session, uscc, current_edition=current_edition)


def send_invitations(deps: RegistrationDeps, edition: str) -> dict[str, int]:
    """One-click registration: email every previous unit of `edition` not yet registered a
    link that opens a prefilled sign-up form. One that cannot be sent is offered again
    next time; the others still go."""
    with deps.uow() as (s, _):
        invited = [(p.id, p.contact_email, p.name, p.invitation_token)
                   for p in invite_previous_units(s, edition, deps.edition)]
    failed = 0
    for prev_id, email, name, token in invited:
        try:
            deps.emails.send(email, "registration_invitation", "zh", {
                "unit_name": name, "link": sign_up_link(deps.settings.public_base_url, invitation=token)})
        except Exception:
            failed += 1
            with deps.uow() as (s, _):
                prev = s.get(PreviousUnit, prev_id)
                if prev is not None:
                    prev.invitation_token, prev.invited_at = None, None
    return {"invited": len(invited) - failed, "failed": failed}
