"""Host organisations (承办机构) of a host-organisation fair: "承办机构初次登录系统，需先提交
承办机构基本信息，待组委会审核通过后，方可使用全部功能". The organisation's admin fills in
its basic information and uploads its business licence, submits; the organising committee
approves it or returns it with a comment (the admin corrects and submits again). Until it is
approved the organisation issues no invitation codes and its codes cannot be claimed."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.fair import FairProfile
from shared.images import check_image
from shared.outbox import Emit
from shared.validators import is_valid_uscc

from ..models import Delegation, HostOrganisation
from .fair_rules import profile_of
from .organisations import HOST_ADMIN, Actor, announce_delegation, audit, top_delegation

# 机构名称、机构英文名称、所属领域、行业类别、社会统一信用代码、地址、邮编、联系电话、官方网站 — in the form's order
INFO_FIELDS = ("name", "name_en", "field", "industry", "uscc", "address", "postcode", "phone", "website")
EDITABLE = ("awaiting_info", "returned")
STATUSES = ("awaiting_info", "pending", "approved", "returned")
NO_USCC = "n/a"  # 如无社会统一信用代码，可填写n/a
LICENCE_MAX_PIXELS = 40_000_000
LICENCE_READ_LIMIT = 4 * 1024 * 1024 + 1  # read at most this much of an upload; the rule refuses more
POSTCODE = re.compile(r"^[0-9A-Za-z -]{3,12}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,28}$")
WEBSITE = re.compile(r"^(https?://)?[^\s/]+\.[^\s]+$", re.IGNORECASE)


# --- reading ------------------------------------------------------------------------------
def application_of(session: Session, delegation_id: str | None, lock: bool = False) -> HostOrganisation | None:
    """The host organisation's application of the organisation a delegation belongs to (its
    top level), or None where the organisation has none (a delegation fair)."""
    top = top_delegation(session, delegation_id)
    if top is None:
        return None
    return session.get(HostOrganisation, top.id, with_for_update=lock)


def may_issue_codes(session: Session, delegation_id: str | None) -> bool:
    """A host organisation issues (and its codes are claimed) only once approved; an
    organisation with no application (a delegation) is not held back."""
    application = application_of(session, delegation_id)
    return application is None or application.status == "approved"


def check_may_issue_codes(session: Session, delegation_id: str | None) -> None:
    if not may_issue_codes(session, delegation_id):
        raise Conflict("host_organisation_not_approved",
                       "the host organisation is not approved by the organising committee yet", "delegation_id")


def check_actor_approved(session: Session, actor: Actor | None) -> None:
    """A host organisation's admin decides on units and people only once the committee has
    approved the organisation ("待组委会审核通过后，方可使用全部功能")."""
    if actor is not None and actor.role == HOST_ADMIN:
        check_may_issue_codes(session, actor.delegation_id)


def view(application: HostOrganisation) -> dict[str, Any]:
    """What the host admin and the committee see of an application."""
    return {"id": application.delegation_id, "name": application.name, "status": application.status,
            "comment": application.comment, "info": {f: getattr(application, f) for f in INFO_FIELDS},
            "has_licence": application.licence is not None, "codes_allowed": application.status == "approved",
            "submitted_at": application.submitted_at, "decided_at": application.decided_at}


def own_application(session: Session, actor: Actor, lock: bool = False) -> HostOrganisation:
    """The host admin's own organisation's application."""
    if actor.role != HOST_ADMIN or actor.delegation_id is None:
        raise Forbidden("only a host organisation's admin registers its information")
    application = session.get(HostOrganisation, actor.delegation_id, with_for_update=lock)
    if application is None:
        raise NotFound("host organisation", "delegation_id")
    return application


def application_for_committee(session: Session, actor: Actor, delegation_id: str,
                              lock: bool = False) -> HostOrganisation:
    if actor.role != "organising_committee":
        raise Forbidden("the organising committee reviews host organisations")
    application = session.get(HostOrganisation, delegation_id, with_for_update=lock)
    if application is None:
        raise NotFound("host organisation", "delegation_id")
    return application


def applications_page(session: Session, actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    """The committee's list of host organisations, those waiting first by submission."""
    if actor.role != "organising_committee":
        raise Forbidden("the organising committee reviews host organisations")
    query = select(HostOrganisation)
    if filters.get("status") and filters["status"] != "all":
        query = query.where(HostOrganisation.status == filters["status"])
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 50)
    rows = session.scalars(query.order_by(HostOrganisation.submitted_at.is_(None), HostOrganisation.submitted_at,
                                          HostOrganisation.delegation_id)
                           .offset((page - 1) * per_page).limit(per_page))
    return {"items": [{"id": a.delegation_id, "name": a.name, "status": a.status, "submitted_at": a.submitted_at}
                      for a in rows], "total": total, "page": page, "per_page": per_page}


# --- the host admin's side ------------------------------------------------------------------
def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    """The info fields given, trimmed (an empty value clears), each checked."""
    cleaned: dict[str, Any] = {}
    for key in INFO_FIELDS:
        if key not in changes:
            continue
        value = changes[key]
        value = value.strip() if isinstance(value, str) else value
        value = value or None
        if value is not None and key == "uscc":
            value = NO_USCC if value.lower() == NO_USCC else value.upper()
            if value != NO_USCC and not is_valid_uscc(value):
                raise DomainError("invalid_uscc", "give the 18-character unified social credit code, or n/a",
                                  "uscc")
        if value is not None and key == "postcode" and not POSTCODE.match(value):
            raise DomainError("invalid_postcode", "not a postcode", "postcode")
        if value is not None and key == "phone" and not PHONE.match(value):
            raise DomainError("invalid_phone", "not a phone number", "phone")
        if value is not None and key == "website" and not WEBSITE.match(value):
            raise DomainError("invalid_website", "not a website address", "website")
        cleaned[key] = value
    return cleaned


def _check_editable(application: HostOrganisation) -> None:
    if application.status not in EDITABLE:
        raise Conflict("host_organisation_locked",
                       f"the information is {application.status}: it can be changed only before it is submitted "
                       "or after the committee returned it", "status")


def update_info(session: Session, actor: Actor, changes: dict[str, Any]) -> HostOrganisation:
    application = own_application(session, actor, lock=True)
    _check_editable(application)
    cleaned = _clean(changes)
    changed = sorted(k for k, v in cleaned.items() if getattr(application, k) != v)
    for key, value in cleaned.items():
        setattr(application, key, value)
    if changed:  # which fields, not their values
        audit(session, actor, "host_organisation.update", "delegation", application.delegation_id,
              application.delegation_id, None, {"fields": changed})
    return application


def store_licence(session: Session, actor: Actor, content: bytes | None,
                  profile: FairProfile | None = None) -> HostOrganisation:
    """营业执照扫描: the profile's formats (JPG/PNG) up to its size (300 KB), kept without
    metadata."""
    rule = profile_of(profile).data.get("host_licence")
    application = own_application(session, actor, lock=True)
    _check_editable(application)
    if rule is None:
        raise DomainError("licence_not_needed", "this fair asks no business licence", "licence")
    if not content:
        raise DomainError("licence_required", "upload the business licence", "licence")
    if len(content) > rule["max_bytes"]:
        raise DomainError("licence_too_large", f"the licence must be at most {rule['max_bytes'] // 1024} KB",
                          "licence")
    formats = tuple(rule["formats"])
    image = check_image(content, "licence", formats, LICENCE_MAX_PIXELS,
                        DomainError("licence_wrong_type", f"the licence must be a {' or '.join(formats)} image",
                                    "licence"))
    application.licence, application.licence_type = image.content, image.content_type
    audit(session, actor, "host_organisation.licence", "delegation", application.delegation_id,
          application.delegation_id, None, {"content_type": image.content_type})
    return application


def submit(session: Session, actor: Actor) -> HostOrganisation:
    """提交组委会审核: every field and the licence are needed."""
    application = own_application(session, actor, lock=True)
    _check_editable(application)
    missing = [f for f in INFO_FIELDS if not getattr(application, f)]
    if missing:
        raise DomainError("host_info_incomplete", f"missing: {', '.join(missing)}", missing[0])
    if application.licence is None:
        raise DomainError("licence_required", "upload the business licence", "licence")
    before = {"status": application.status}
    application.status, application.submitted_at = "pending", utcnow()
    audit(session, actor, "host_organisation.submit", "delegation", application.delegation_id,
          application.delegation_id, before, {"status": "pending"})
    return application


# --- the committee's side ---------------------------------------------------------------------
def _check_pending(application: HostOrganisation) -> None:
    if application.status != "pending":
        raise Conflict("not_pending", f"the host organisation is {application.status}, not pending review", "status")


def approve(session: Session, emit: Emit, actor: Actor, delegation_id: str) -> HostOrganisation:
    """The committee approves: the organisation may use everything, its registered name
    becomes the organisation's."""
    application = application_for_committee(session, actor, delegation_id, lock=True)
    _check_pending(application)
    before = {"status": application.status}
    application.status, application.comment = "approved", None
    application.decided_at, application.decided_by = utcnow(), actor.id
    delegation = session.get(Delegation, delegation_id, with_for_update=True)
    if delegation is not None and application.name and delegation.name != application.name:
        delegation.name = application.name
        announce_delegation(emit, delegation)
    audit(session, actor, "host_organisation.approve", "delegation", delegation_id, delegation_id, before,
          {"status": "approved"})
    return application


def return_for_modification(session: Session, actor: Actor, delegation_id: str, comment: str) -> HostOrganisation:
    """退回: the organisation reads the comment, corrects and submits again."""
    application = application_for_committee(session, actor, delegation_id, lock=True)
    _check_pending(application)
    if not comment.strip():
        raise DomainError("comment_required", "say what the host organisation must change", "comment")
    before = {"status": application.status}
    application.status, application.comment = "returned", comment.strip()
    application.decided_at, application.decided_by = utcnow(), actor.id
    audit(session, actor, "host_organisation.return", "delegation", delegation_id, delegation_id, before,
          {"status": "returned", "comment": application.comment})
    return application
