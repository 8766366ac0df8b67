"""Unit information (drafts saved as they come, required fields checked at submission), the
procurement catalogue, the qualification document, and the unit's submission (确认提交) —
the fields each visitor kind must give, the document each category uploads and the
catalogue are the fair profile's."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.images import CheckedImage, check_image
from shared.errors import Conflict, DomainError, NotFound
from shared.fair import FairProfile, fair
from shared.outbox import Emit

from ..models import Person, Unit, UnitDocument
from .personnel import check_badges_allowed, get_person, size_text, submit_person


def __getattr__(name: str) -> Any:
    """REQUIRED_UNIT_INFO: what the active profile's first visitor kind must give (kept for
    callers of the constant it was; the rules are missing_unit_info's)."""
    if name == "REQUIRED_UNIT_INFO":
        profile = fair()
        return profile.required_info(profile.default_visitor_kind())
    raise AttributeError(name)


def save_unit_info(unit: Unit, changes: dict[str, Any], profile: FairProfile | None = None) -> Unit:
    """Drafts: any subset of fields is accepted; required ones are checked at submission
    (an introduction's maximum length already here: what is typed beyond it is not kept)."""
    profile = profile or fair()
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_locked", f"unit info is locked while the unit is {unit.status}")
    if "procurement_intentions" in changes:
        check_procurement_intentions(changes["procurement_intentions"], profile)
    bounds = profile.data["unit_fields"].get("introduction")
    if bounds and isinstance(changes.get("introduction"), str) and len(changes["introduction"].strip()) > bounds["max"]:
        raise DomainError("introduction_too_long", f"the introduction has at most {bounds['max']} characters",
                          "introduction")
    unit.info = {**(unit.info or {}), **changes}
    return unit


def missing_unit_info(unit: Unit, profile: FairProfile | None = None) -> list[str]:
    """The visitor kind's required fields (its `required_info`) not given yet; `False` is an
    answer (not a Fortune 500 company), and a Fortune 500 company names itself."""
    profile = profile or fair()
    info = unit.info or {}
    required = profile.required_info(unit.visitor_kind)
    missing = [f for f in required if info.get(f) in (None, "", [])]
    if "fortune500" in required and info.get("fortune500") is True and not info.get("fortune500_name"):
        missing.append("fortune500_name")
    return missing


def check_introduction(unit: Unit, profile: FairProfile | None = None) -> None:
    """单位简介: shown to the public once the unit is approved, so the profile bounds it (CIFTIS
    50 to 1000 characters); checked at submission."""
    bounds = (profile or fair()).data["unit_fields"].get("introduction")
    text = ((unit.info or {}).get("introduction") or "").strip()
    if not bounds or not text:
        return
    if len(text) < bounds["min"]:
        raise DomainError("introduction_too_short",
                          f"the introduction has at least {bounds['min']} characters ({len(text)} so far)",
                          "introduction")
    if len(text) > bounds["max"]:
        raise DomainError("introduction_too_long", f"the introduction has at most {bounds['max']} characters",
                          "introduction")


DOCUMENT_MAX_PIXELS = 40_000_000  # a decoding bound, whatever the fair


def check_document(category: str, content: bytes, profile: FairProfile | None = None) -> str:
    """The qualification document's content type, if it follows the category's rule."""
    return accept_document(category, content, profile).content_type


def accept_document(category: str, content: bytes, profile: FairProfile | None = None) -> CheckedImage:
    """The qualification document as it will be kept (no metadata), if it follows the rule the
    profile gives the category (CIIE: PNG/JPG/JPEG up to 2 MB; government bodies need none)."""
    rule = (profile or fair()).document_rule(category)
    if rule is None:
        raise DomainError("document_not_needed", f"a {category.replace('_', ' ')} unit needs no qualification document",
                          "document")
    if not content:
        raise DomainError("document_required", "upload the qualification document", "document")
    if len(content) > rule["max_bytes"]:
        raise DomainError("document_too_large", f"the document must be at most {size_text(rule['max_bytes'])}",
                          "document")
    formats = tuple(rule["formats"])
    names = " or ".join("JPG" if f == "JPEG" else f for f in formats)
    return check_image(content, "document", formats, DOCUMENT_MAX_PIXELS,
                       DomainError("document_wrong_type", f"the document must be a {names} image", "document"))


def needs_document(unit: Unit, profile: FairProfile | None = None) -> bool:
    """Whether the unit's category uploads a qualification document (an individual has no
    licence; CIIE government bodies and every CIFTIS unit need none)."""
    return (profile or fair()).document_rule(unit.category) is not None


def document_kind(category: str, profile: FairProfile | None = None) -> str:
    rule = (profile or fair()).document_rule(category) or {}
    return str(rule.get("kind") or "qualification_document")


def procurement_catalogue(profile: FairProfile | None = None) -> dict[str, list[str]]:
    """Exhibition areas and the categories within each (the profile's exhibition_areas)."""
    return dict((profile or fair()).data["exhibition_areas"])


def check_procurement_intentions(intentions: list[dict[str, Any]], profile: FairProfile | None = None) -> None:
    catalogue = procurement_catalogue(profile)
    seen = set()
    for i, entry in enumerate(intentions):
        area = entry.get("area")
        if area not in catalogue:
            raise DomainError("unknown_area", f"unknown exhibition area {area!r}", f"procurement_intentions.{i}.area")
        if area in seen:
            raise DomainError("duplicate_area", f"{area} is listed twice", f"procurement_intentions.{i}.area")
        seen.add(area)
        unknown = [c for c in entry.get("categories", []) if c not in catalogue[area]]
        if unknown or not entry.get("categories"):
            raise DomainError("unknown_category", f"choose categories of {area}: {', '.join(catalogue[area])}",
                              f"procurement_intentions.{i}.categories")


def submit_unit(session: Session, unit: Unit, emit: Emit, person_ids: list[str],
                profile: FairProfile | None = None) -> Unit:
    """确认提交: needs complete unit info and, for a visitor kind with badges, one person
    submitted now or before; an online-only unit (CIFTIS 线上参展商) submits its info alone."""
    profile = profile or fair()
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_not_editable", f"the unit is already {unit.status}")
    missing = missing_unit_info(unit, profile)
    if missing:
        raise DomainError("unit_info_incomplete", f"missing unit info: {', '.join(missing)}", missing[0])
    check_introduction(unit, profile)
    if unit.privacy_consent_at is None:
        raise DomainError("privacy_consent_required", "accept the privacy policy first", "privacy_consent")
    if needs_document(unit, profile) and session.get(UnitDocument, unit.id) is None:
        raise DomainError("document_required", f"upload the {document_kind(unit.category, profile).replace('_', ' ')}",
                          "document")
    if person_ids:
        check_badges_allowed(unit, profile)
    for pid in person_ids:
        person = get_person(session, unit, pid)
        if person.status == "saved":
            submit_person(person, emit)
    if profile.has_badges(unit.visitor_kind):
        submitted = session.scalar(select(Person.id).where(Person.unit_id == unit.id,
                                                           Person.status.not_in(("saved", "cancelled"))))
        if submitted is None:
            raise DomainError("no_personnel_submitted", "submit at least one person with the unit", "person_ids")
    resubmission = unit.status == "returned"
    unit.status, unit.submitted_at, unit.review_comment = "submitted", utcnow(), None
    emit("UnitSubmitted", {"unit_id": unit.id, "edition": unit.edition, "delegation_id": unit.delegation_id,
                           "uscc": unit.uscc, "name": unit.name, "category": unit.category,
                           "region": unit.region, "resubmission": resubmission})
    return unit


def store_document(session: Session, unit: Unit, content: bytes, profile: FairProfile | None = None) -> UnitDocument:
    """The qualification document replaces any earlier one while the unit can still edit."""
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_locked", f"the unit is {unit.status}")
    checked = accept_document(unit.category, content, profile)
    doc = session.get(UnitDocument, unit.id) or UnitDocument(unit_id=unit.id)
    doc.kind, doc.content_type, doc.content = document_kind(unit.category, profile), checked.content_type, checked.content
    doc.size, doc.uploaded_at = len(checked.content), utcnow()
    session.add(doc)
    return doc


def document_of(session: Session, unit_id: str) -> UnitDocument:
    doc = session.get(UnitDocument, unit_id)
    if doc is None:
        raise NotFound("document", "document")
    return doc
