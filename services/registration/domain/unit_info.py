"""Unit information (drafts saved as they come, required fields checked at submission), the
procurement catalogue, the qualification document, and the unit's submission (确认提交)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.images import CheckedImage, check_image
from shared.errors import Conflict, DomainError, NotFound
from shared.outbox import Emit

from ..models import Person, Unit, UnitDocument
from .personnel import get_person, submit_person


# What the seeds mark required (*) on the unit-info form (CIIE 7, 单位信息), procurement
# intentions included (采购意向（必填）). Individual visitors give what fits a person.
REQUIRED_UNIT_INFO = ("name_en", "registered_address", "registered_capital_10k_cny", "nature", "industry",
                      "turnover_last_year_10k_usd", "import_modes", "import_last_year_10k_usd",
                      "import_three_years_10k_usd", "contact_name", "contact_mobile", "purposes",
                      "procurement_intentions")
REQUIRED_INDIVIDUAL_INFO = ("contact_name", "contact_mobile", "purposes", "procurement_intentions")


def save_unit_info(unit: Unit, changes: dict[str, Any]) -> Unit:
    """Drafts: any subset of fields is accepted; required ones are checked at submission."""
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_locked", f"unit info is locked while the unit is {unit.status}")
    if "procurement_intentions" in changes:
        check_procurement_intentions(changes["procurement_intentions"])
    unit.info = {**(unit.info or {}), **changes}
    return unit


def missing_unit_info(unit: Unit) -> list[str]:
    info = unit.info or {}
    required = REQUIRED_INDIVIDUAL_INFO if unit.visitor_kind == "individual" else REQUIRED_UNIT_INFO
    return [f for f in required if info.get(f) in (None, "", [])]


DOCUMENT_MAX_PIXELS = 40_000_000
DOCUMENT_MAX_BYTES = 2 * 1024 * 1024


DOCUMENT_KINDS = {  # qualification document per category; government bodies need none
    "enterprise": "business_licence", "social_organisation": "social_organisation_certificate",
    "public_institution": "public_institution_certificate", "other": "registration_certificate",
}


def check_document(category: str, content: bytes) -> str:
    """The qualification document's content type, if it is a PNG/JPG/JPEG up to 2 MB."""
    return accept_document(category, content).content_type


def accept_document(category: str, content: bytes) -> CheckedImage:
    """The qualification document: PNG/JPG/JPEG up to 2 MB, as it will be kept (no metadata)."""
    if category == "government":
        raise DomainError("document_not_needed", "government bodies need no qualification document", "document")
    if not content:
        raise DomainError("document_required", "upload the qualification document", "document")
    if len(content) > DOCUMENT_MAX_BYTES:
        raise DomainError("document_too_large", "the document must be at most 2 MB", "document")
    return check_image(content, "document", ("PNG", "JPEG"), DOCUMENT_MAX_PIXELS,
                       DomainError("document_wrong_type", "the document must be a PNG or JPG image", "document"))


def needs_document(unit: Unit) -> bool:
    return unit.category not in ("government", "individual")  # an individual has no licence


PROCUREMENT_CATALOGUE = {
    "food_agriculture": ["dairy", "meat", "seafood", "fruit_vegetables", "wine_spirits", "grain_oil", "snacks"],
    "automobile": ["vehicles", "new_energy", "parts", "smart_mobility"],
    "technical_equipment": ["industrial_automation", "integrated_circuits", "energy_equipment", "machine_tools",
                            "digital_technology"],
    "consumer_goods": ["cosmetics", "apparel", "home_goods", "jewellery", "sports_goods", "maternal_infant"],
    "medical_healthcare": ["medical_devices", "pharmaceuticals", "elderly_care", "health_products"],
    "trade_in_services": ["finance", "logistics", "consulting", "tourism", "culture_education"],
    "innovation_incubation": ["startups", "research_results"],
}


def check_procurement_intentions(intentions: list[dict[str, Any]]) -> None:
    seen = set()
    for i, entry in enumerate(intentions):
        area = entry.get("area")
        if area not in PROCUREMENT_CATALOGUE:
            raise DomainError("unknown_area", f"unknown exhibition area {area!r}", f"procurement_intentions.{i}.area")
        if area in seen:
            raise DomainError("duplicate_area", f"{area} is listed twice", f"procurement_intentions.{i}.area")
        seen.add(area)
        unknown = [c for c in entry.get("categories", []) if c not in PROCUREMENT_CATALOGUE[area]]
        if unknown or not entry.get("categories"):
            raise DomainError("unknown_category", f"choose categories of {area}: {', '.join(PROCUREMENT_CATALOGUE[area])}",
                           f"procurement_intentions.{i}.categories")


def submit_unit(session: Session, unit: Unit, emit: Emit, person_ids: list[str]) -> Unit:
    """确认提交: needs complete unit info and one person submitted now or before."""
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_not_editable", f"the unit is already {unit.status}")
    missing = missing_unit_info(unit)
    if missing:
        raise DomainError("unit_info_incomplete", f"missing unit info: {', '.join(missing)}", missing[0])
    if unit.privacy_consent_at is None:
        raise DomainError("privacy_consent_required", "accept the privacy policy first", "privacy_consent")
    if needs_document(unit) and session.get(UnitDocument, unit.id) is None:
        raise DomainError("document_required", f"upload the {DOCUMENT_KINDS[unit.category].replace('_', ' ')}",
                       "document")
    for pid in person_ids:
        person = get_person(session, unit, pid)
        if person.status == "saved":
            submit_person(person, emit)
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


def store_document(session: Session, unit: Unit, content: bytes) -> UnitDocument:
    """The qualification document replaces any earlier one while the unit can still edit."""
    if unit.status not in ("draft", "returned"):
        raise Conflict("unit_locked", f"the unit is {unit.status}")
    checked = accept_document(unit.category, content)
    doc = session.get(UnitDocument, unit.id) or UnitDocument(unit_id=unit.id)
    doc.kind, doc.content_type, doc.content = DOCUMENT_KINDS[unit.category], checked.content_type, checked.content
    doc.size, doc.uploaded_at = len(checked.content), utcnow()
    session.add(doc)
    return doc


def document_of(session: Session, unit_id: str) -> UnitDocument:
    doc = session.get(UnitDocument, unit_id)
    if doc is None:
        raise NotFound("document", "document")
    return doc
