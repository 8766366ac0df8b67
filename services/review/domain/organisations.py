"""Organisations and scope: the delegation tree (交易团, 分团, industry delegations, host
organisations), the admins who act on it and the part of the tree each may act on,
the audit log, and the edition's settings and deadlines."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.fair import FairProfile
from shared.errors import Conflict, DeadlinePassed, DomainError, Forbidden, NotFound, Unauthorized
from shared.outbox import Emit
from shared.passwords import hash_password, password_matches
from shared.revocation import record_revocation
from shared.times import beijing_text, naive_utc

from ..models import Admin, AuditEntry, Delegation, EditionSettings, HostOrganisation, TokenRevocation
from .fair_rules import hosts_organisations, profile_of

HOST_ADMIN = "host_organisation_admin"  # 承办机构: the first level of a host-organisation fair
REVIEWER_ROLES = ("sub_delegation_admin", "delegation_secretariat", "organising_committee", HOST_ADMIN)
SECRETARIAT_ROLES = ("delegation_secretariat", "organising_committee")
# Roles of the organiser's own staff: created by the organising committee, bound to no delegation.
ORGANISER_ONLY_ROLES = ("gate_staff",)


@dataclass(frozen=True)
class Actor:
    """The admin doing something: id, role and the part of the tree they may act on."""
    id: str
    role: str
    delegation_id: str | None

    @property
    def is_secretariat(self) -> bool:
        return self.role in SECRETARIAT_ROLES


# --- seed data ----------------------------------------------------------------------------
# The delegations (or host organisations) come from the fair profile's `delegations`.


def announce_delegation(emit: Emit, d: Delegation) -> None:
    emit("DelegationChanged", {"delegation_id": d.id, "name": d.name, "parent_id": d.parent_id,
                               "recommendation_code": d.recommendation_code, "industry": bool(d.industry),
                               "active": bool(d.active)})


def seed_defaults(session: Session, emit: Emit, edition: str, admin_password: str | None = None,
                  profile: FairProfile | None = None) -> None:
    """Idempotent: the profile's delegations (CIIE: the Guangdong delegation with its 26
    members and targets, the Fujian delegation with its recommendation code; CIFTIS: its host
    organisations, reviewing on two levels and already approved), announced to registration;
    the edition's settings with the profile's fee and, if a password is given, an
    organising-committee admin `admin`."""
    profile = profile_of(profile)
    hosts = hosts_organisations(profile)
    for d in profile.data["delegations"]:
        if session.get(Delegation, d["id"]) is None:
            host = hosts and d["parent_id"] is None
            delegation = Delegation(**d, centralised_payment=False, centralised_limit_fen=0,
                                    centralised_spent_fen=0, two_level=host, industry=False, active=True)
            session.add(delegation)
            session.flush()
            if host:
                session.add(HostOrganisation(delegation_id=delegation.id, status="approved", name=delegation.name))
            announce_delegation(emit, delegation)
    if session.get(EditionSettings, edition) is None:
        session.add(EditionSettings(edition=edition, fee_fen=profile.fee_fen))
    if admin_password and session.scalar(select(Admin).where(Admin.username == "admin")) is None:
        session.add(Admin(id=new_id(), username="admin", password_hash=hash_password(admin_password),
                          role="organising_committee", delegation_id=None, active=True))


# --- scope --------------------------------------------------------------------------------
def subtree(session: Session, root_id: str) -> set[str]:
    ids, frontier = {root_id}, [root_id]
    while frontier:
        children = list(session.scalars(select(Delegation.id).where(Delegation.parent_id.in_(frontier))))
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


def in_scope(session: Session, unit_delegation_id: str | None, admin_delegation_id: str | None) -> bool:
    if admin_delegation_id is None:  # organising committee: everything
        return True
    current = unit_delegation_id
    while current is not None:
        if current == admin_delegation_id:
            return True
        parent = session.get(Delegation, current)
        current = parent.parent_id if parent else None
    return False


def top_delegation(session: Session, delegation_id: str | None) -> Delegation | None:
    current = session.get(Delegation, delegation_id) if delegation_id else None
    while current is not None and current.parent_id:
        current = session.get(Delegation, current.parent_id)
    return current


# --- delegations ----------------------------------------------------------------------------
def active_delegations(session: Session) -> list[Delegation]:
    """The (sub-)delegations, as a flat list with parent ids (a tree)."""
    return list(session.scalars(select(Delegation).where(Delegation.active.is_(True)).order_by(Delegation.id)))


def create_delegation(session: Session, emit: Emit, actor: Actor, data: dict[str, Any],
                      profile: FairProfile | None = None) -> Delegation:
    """The organising committee creates delegations; a secretariat creates sub-delegations
    under a delegation in its scope. An industry delegation is joined by its code. In a
    host-organisation fair a top-level organisation is a host organisation: it reviews on two
    levels (its own, then the committee's) and first registers its information
    (`awaiting_info`) for the committee to approve."""
    if session.get(Delegation, data["id"]) is not None:
        raise Conflict("delegation_exists", "this id is taken", "id")
    parent = data["parent_id"]
    if parent is None and actor.role != "organising_committee":
        raise Forbidden("only the organising committee creates delegations")
    if parent is not None and (session.get(Delegation, parent) is None or
                               not in_scope(session, parent, actor.delegation_id)):
        raise DomainError("unknown_delegation", "no such parent delegation in your scope", "parent_id")
    if data["industry"] and not data["recommendation_code"]:
        raise DomainError("recommendation_code_required", "an industry delegation is joined by its code",
                          "recommendation_code")
    host = parent is None and hosts_organisations(profile_of(profile))
    if host:
        data = {**data, "two_level": True}
    delegation = Delegation(**data, centralised_payment=False, centralised_limit_fen=0, centralised_spent_fen=0,
                            active=True)
    session.add(delegation)
    session.flush()
    if host:
        session.add(HostOrganisation(delegation_id=delegation.id, status="awaiting_info", name=delegation.name))
    announce_delegation(emit, delegation)
    audit(session, actor, "delegation.create", "delegation", delegation.id, delegation.id, None, data)
    return delegation


def update_delegation(session: Session, emit: Emit, actor: Actor, delegation_id: str,
                      changes: dict[str, Any]) -> Delegation:
    """Name, purchaser target, one or two review levels, active; within the actor's scope."""
    delegation = session.get(Delegation, delegation_id, with_for_update=True)
    if delegation is None or not in_scope(session, delegation_id, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    before = {k: getattr(delegation, k) for k in changes}
    for key, value in changes.items():
        setattr(delegation, key, value)
    announce_delegation(emit, delegation)
    audit(session, actor, "delegation.update", "delegation", delegation_id, delegation_id, before, changes)
    return delegation


# --- admins ---------------------------------------------------------------------------------
def authenticate_admin(session: Session, username: str, password: str) -> Admin:
    admin = session.scalar(select(Admin).where(Admin.username == username))
    if not password_matches(admin.password_hash if admin else None, password) or admin is None or not admin.active:
        raise Unauthorized("wrong username or password")
    return admin


def create_admin(session: Session, actor: Actor, data: dict[str, Any]) -> Admin:
    """The organising committee creates any admin (its gate staff bound to no delegation); a
    delegation secretariat creates admins inside its own delegation."""
    role, delegation_id = data["role"], data.get("delegation_id")
    if actor.role != "organising_committee":
        if actor.role != "delegation_secretariat" or role not in ("sub_delegation_admin", "delegation_secretariat") \
                or delegation_id is None or not in_scope(session, delegation_id, actor.delegation_id):
            raise Forbidden("you may only create admins of your own delegation")
    if role in ("sub_delegation_admin", "delegation_secretariat", HOST_ADMIN) and delegation_id is None:
        raise DomainError("delegation_required", "this role works for a delegation", "delegation_id")
    if role in ORGANISER_ONLY_ROLES and delegation_id is not None:
        raise DomainError("delegation_not_allowed", "this role works for the organiser, not a delegation",
                          "delegation_id")
    delegation = session.get(Delegation, delegation_id) if delegation_id is not None else None
    if delegation_id is not None and delegation is None:
        raise DomainError("unknown_delegation", "no such delegation", "delegation_id")
    if role == HOST_ADMIN and (delegation is None or delegation.parent_id is not None):
        raise DomainError("not_a_host_organisation", "a host organisation admin works for a top-level organisation",
                          "delegation_id")
    if session.scalar(select(Admin.id).where(Admin.username == data["username"])):
        raise Conflict("username_taken", "this username is taken", "username")
    admin = Admin(id=new_id(), username=data["username"], password_hash=hash_password(data["password"]), role=role,
                  delegation_id=delegation_id, active=True)
    session.add(admin)
    session.flush()
    audit(session, actor, "admin.create", "admin", admin.id, delegation_id, None,
          {"username": admin.username, "role": role, "delegation_id": delegation_id})
    return admin


# --- the audit log --------------------------------------------------------------------------
def audit(session: Session, actor: Actor, action: str, target_type: str, target_id: str,
          delegation_id: str | None, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    session.add(AuditEntry(id=new_id(), admin_id=actor.id, role=actor.role, action=action, target_type=target_type,
                           target_id=target_id, delegation_id=delegation_id, before=before, after=after,
                           at=utcnow()))


AUDIT_TARGET_MATCHES = 200  # units a free-text target may stand for


def audit_page(session: Session, actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    """Admin actions within the actor's part of the tree, newest first. Filters: target_id,
    action, admin_id (exact); `actor` — an admin's username (exact, or a part of it);
    `target` — an id, or a unit's USCC or part of its name, or an admin's username; `role`;
    `since`/`until` — moments (naive UTC, `until` exclusive)."""
    from ..models import UnitReview  # the units a target text may name
    query = select(AuditEntry)
    if actor.delegation_id is not None:
        query = query.where(AuditEntry.delegation_id.in_(subtree(session, actor.delegation_id)))
    for key in ("target_id", "action", "admin_id", "role"):
        if filters.get(key):
            query = query.where(getattr(AuditEntry, key) == filters[key])
    if filters.get("actor"):
        name = filters["actor"].strip()
        ids = list(session.scalars(select(Admin.id).where(
            (Admin.username == name) | Admin.username.contains(name, autoescape=True)).limit(AUDIT_TARGET_MATCHES)))
        query = query.where(AuditEntry.admin_id.in_(ids + [name]))
    if filters.get("target"):
        text = filters["target"].strip()
        targets = {text, text.upper()}
        targets.update(session.scalars(select(UnitReview.unit_id).where(
            (UnitReview.uscc == text.upper()) | UnitReview.name.contains(text, autoescape=True))
            .limit(AUDIT_TARGET_MATCHES)))
        targets.update(session.scalars(select(Admin.id).where(Admin.username == text)))
        query = query.where(AuditEntry.target_id.in_(targets))
    if filters.get("since"):
        query = query.where(AuditEntry.at >= naive_utc(filters["since"]))
    if filters.get("until"):
        query = query.where(AuditEntry.at < naive_utc(filters["until"]))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 50)
    entries = list(session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id)
                                   .offset((page - 1) * per_page).limit(per_page)))
    usernames = dict(session.execute(select(Admin.id, Admin.username).where(
        Admin.id.in_({e.admin_id for e in entries}))).all()) if entries else {}
    units = dict(session.execute(select(UnitReview.unit_id, UnitReview.name).where(
        UnitReview.unit_id.in_({e.target_id for e in entries if e.target_type == "unit"})))
        .all()) if entries else {}
    # the entries as they are, with whom and what they name (read like the rows themselves)
    items = [SimpleNamespace(id=e.id, admin_id=e.admin_id, admin_username=usernames.get(e.admin_id), role=e.role,
                             action=e.action, target_type=e.target_type, target_id=e.target_id,
                             target_name=units.get(e.target_id) if e.target_type == "unit" else None,
                             delegation_id=e.delegation_id, before=e.before, after=e.after, at=e.at)
             for e in entries]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# --- settings and deadlines -------------------------------------------------------------
def settings_for(session: Session, edition: str, profile: FairProfile | None = None) -> EditionSettings:
    settings = session.get(EditionSettings, edition)
    if settings is None:
        settings = EditionSettings(edition=edition, fee_fen=profile_of(profile).fee_fen)
        session.add(settings)
        session.flush()
    return settings


def update_settings(session: Session, actor: Actor, edition: str, changes: dict[str, Any]) -> EditionSettings:
    """Edition deadlines (stored as naive UTC: a moment given with an offset is converted, one
    without is UTC) for review, labelling and locking, the fee, and the retention period."""
    settings = settings_for(session, edition)
    changes = {k: naive_utc(v) if isinstance(v, dt.datetime) else v for k, v in changes.items()}
    retained_until = changes.get("personal_data_retained_until")
    if "personal_data_retained_until" in changes:
        if settings.personal_data_purged_at is not None:
            raise Conflict("personal_data_purged", "the edition's personal data has already been erased",
                           "personal_data_retained_until")
        if retained_until is not None and retained_until <= utcnow() + dt.timedelta(days=1):
            raise DomainError("retention_too_short", "keep personal data at least until tomorrow; erasing cannot "
                              "be undone", "personal_data_retained_until")
    before = {k: str(getattr(settings, k)) for k in changes}
    for key, value in changes.items():
        setattr(settings, key, value)
    audit(session, actor, "settings.update", "edition", edition, None, before,
          {k: str(v) for k, v in changes.items()})
    return settings


def check_deadline(deadline: dt.datetime | None, what: str, now: dt.datetime | None = None) -> None:
    if deadline is not None and (now or utcnow()) > deadline:
        raise DeadlinePassed("deadline_passed", f"{what} closed on {beijing_text(deadline)}")


def end_admin_sessions(session: Session, emit: Emit, admin: Admin, reason: str) -> None:
    """Every token the admin holds stops working: here at once, elsewhere on the event."""
    admin.token_version = (admin.token_version or 0) + 1
    record_revocation(session, TokenRevocation, admin.id, admin.token_version)
    emit("AdminTokensRevoked", {"subject_id": admin.id, "min_version": admin.token_version, "reason": reason})


def admin_in_scope(session: Session, actor: Actor, admin_id: str) -> Admin:
    """An admin the actor manages: the committee any, a secretariat those of its tree."""
    admin = session.get(Admin, admin_id, with_for_update=True)
    manages = actor.role == "organising_committee" or (
        actor.role == "delegation_secretariat" and admin is not None and admin.delegation_id is not None
        and in_scope(session, admin.delegation_id, actor.delegation_id))
    if admin is None or not manages:
        raise NotFound("admin", "admin_id")
    return admin


def set_admin_active(session: Session, emit: Emit, actor: Actor, admin_id: str, active: bool) -> Admin:
    admin = admin_in_scope(session, actor, admin_id)
    if admin.id == actor.id and not active:
        raise Conflict("cannot_deactivate_self", "another admin must deactivate your account", "admin_id")
    before = {"active": admin.active}
    admin.active = active
    if not active:
        end_admin_sessions(session, emit, admin, "admin_deactivated")
    audit(session, actor, "admin.activate" if active else "admin.deactivate", "admin", admin.id, admin.delegation_id,
          before, {"active": active})
    return admin


def change_own_password(session: Session, emit: Emit, actor: Actor, current: str, new: str) -> Admin:
    """An admin changes their password; their other sessions end."""
    admin = session.get(Admin, actor.id, with_for_update=True)
    if admin is None or not admin.active or not password_matches(admin.password_hash, current):
        raise Unauthorized("the current password is not right")
    if len(new) < 10 or new == current:
        raise DomainError("weak_password", "choose a new password of at least 10 characters", "new_password")
    admin.password_hash = hash_password(new)
    end_admin_sessions(session, emit, admin, "password_changed")
    audit(session, actor, "admin.password", "admin", admin.id, admin.delegation_id, None, None)
    return admin


def own_admin(session: Session, actor: Actor) -> Admin:
    admin = session.get(Admin, actor.id)
    if admin is None or not admin.active:
        raise Unauthorized("this admin account is closed")
    return admin


def change_own_contact(session: Session, actor: Actor, current: str, changes: dict[str, Any]) -> Admin:
    """An admin changes their own phone and email, proving it with their password. An empty
    value clears the field."""
    admin = session.get(Admin, actor.id, with_for_update=True)
    if admin is None or not admin.active or not password_matches(admin.password_hash, current):
        raise DomainError("wrong_password", "the current password is not right", "current_password")
    changes = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in changes.items()
               if k in ("phone", "email")}
    if not changes:
        raise DomainError("nothing_to_change", "give a phone or an email", "phone")
    before = {k: "changed" if getattr(admin, k) else None for k in changes}  # no personal data in the log
    for key, value in changes.items():
        setattr(admin, key, value)
    audit(session, actor, "admin.contact", "admin", admin.id, admin.delegation_id, before,
          {k: "changed" if v else None for k, v in changes.items()})
    return admin


SYSTEM = Actor("system", "system", None)  # the platform itself, in the audit log


def expire_retention(session: Session, emit: Emit, now: dt.datetime | None = None) -> list[str]:
    """Editions whose retention period has ended are announced once (RetentionExpired) for
    every service to erase their personal data, and the erasure is written in the audit log."""
    now = now or utcnow()
    due = list(session.scalars(select(EditionSettings).where(
        EditionSettings.personal_data_retained_until.is_not(None),
        EditionSettings.personal_data_retained_until <= now,
        EditionSettings.personal_data_purged_at.is_(None)).with_for_update()))
    for settings in due:
        settings.personal_data_purged_at = now
        emit("RetentionExpired", {"edition": settings.edition})
        audit(session, SYSTEM, "edition.personal_data_purge", "edition", settings.edition, None,
              {"retained_until": str(settings.personal_data_retained_until)}, {"purged_at": str(now)})
    return [s.edition for s in due]
