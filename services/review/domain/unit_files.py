"""The back office's reads of what registration keeps: a unit's full file, its document
image, its people's photos and details, and the search for a person — each only after
review has checked, on its own projection, that the unit is in the admin's part of the
tree. These functions run in two steps so that no transaction stays open while
registration is asked: `…_scope` reads review's rows, the caller closes the transaction,
then registration is asked."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import NotFound

from ..models import AuditEntry, ReviewPerson, UnitReview, UnitSubmission
from ..providers import RegistrationFiles
from .organisations import Actor, in_scope, subtree

HISTORY_LIMIT = 200


def review_in_scope(session: Session, unit_id: str, actor: Actor) -> UnitReview:
    """The unit as review knows it, when it is in the actor's scope (404 otherwise; a unit
    of another delegation is indistinguishable from one that does not exist)."""
    review = session.get(UnitReview, unit_id)
    if review is None or review.status in ("not_submitted", "deleted") or \
            not in_scope(session, review.delegation_id, actor.delegation_id):
        raise NotFound("unit", "unit_id")
    return review


def file_scope(session: Session, unit_id: str, actor: Actor) -> dict[str, Any]:
    """Review's part of the file: the decision state, the people's labels and payers, and
    the history of submissions and decisions with their comments."""
    review = review_in_scope(session, unit_id, actor)
    people = {p.person_id: p for p in session.scalars(select(ReviewPerson).where(ReviewPerson.unit_id == unit_id))}
    return {"review": review_row(review),
            "review_people": {pid: {"status": p.status, "label": p.label, "payer": p.payer,
                                    "requested_label": p.requested_label} for pid, p in people.items()},
            "history": history(session, review)}


def history(session: Session, review: UnitReview) -> list[dict[str, Any]]:
    """Submissions, decisions (with the comment the unit read), moves and corrections, oldest
    first; an automatic approval is the platform's."""
    entries = [{"at": e.at.isoformat(), "action": e.action, "role": e.role, "admin_id": e.admin_id,
                "comment": (e.after or {}).get("comment") if e.action in ("unit.return", "unit.reject") else None,
                "status": (e.after or {}).get("status"), "delegation_id": e.delegation_id}
               for e in session.scalars(select(AuditEntry).where(AuditEntry.target_type == "unit",
                                                                 AuditEntry.target_id == review.unit_id)
                                        .order_by(AuditEntry.at, AuditEntry.id).limit(HISTORY_LIMIT))]
    entries += [{"at": sub.at.isoformat(), "action": "unit.submit", "role": "unit", "admin_id": None,
                 "comment": None, "status": "pending", "number": sub.number, "delegation_id": None}
                for sub in session.scalars(select(UnitSubmission).where(UnitSubmission.unit_id == review.unit_id)
                                           .order_by(UnitSubmission.at).limit(HISTORY_LIMIT))]
    if review.automatic and review.decided_at is not None:
        entries.append({"at": review.decided_at.isoformat(), "action": "unit.auto_approve", "role": "system",
                        "admin_id": None, "comment": None, "status": "approved", "delegation_id": None})
    return sorted(entries, key=lambda e: (e["at"], e["action"] != "unit.submit"))


def review_row(review: UnitReview) -> dict[str, Any]:
    return {"unit_id": review.unit_id, "uscc": review.uscc, "name": review.name, "category": review.category,
            "region": review.region, "delegation_id": review.delegation_id, "status": review.status,
            "automatic": bool(review.automatic), "comment": review.comment, "submissions": review.submissions,
            "submitted_at": review.submitted_at.isoformat() if review.submitted_at else None,
            "decided_at": review.decided_at.isoformat() if review.decided_at else None}


def full_file(scope: dict[str, Any], registration: RegistrationFiles) -> dict[str, Any]:
    """Registration's part joined to review's: each person with review's view of them."""
    details = registration.unit_file(scope["review"]["unit_id"])
    if details is None:
        raise NotFound("unit", "unit_id")
    people = []
    for person in details.get("personnel", []):
        decided = scope["review_people"].get(person.get("person_id"), {})
        people.append({**person, "review_status": decided.get("status"),
                       "label": decided.get("label") or person.get("label"),
                       "payer": decided.get("payer") or person.get("payer")})
    return {"review": scope["review"], "unit": details.get("unit", {}), "document": details.get("document"),
            "addresses": details.get("addresses", []), "personnel": people, "history": scope["history"]}


def person_in_unit_scope(session: Session, unit_id: str, actor: Actor) -> None:
    """A photo is shown for a unit in scope; registration checks that the person is the unit's."""
    review_in_scope(session, unit_id, actor)


def scoped_unit_ids(session: Session, actor: Actor, delegation_id: str | None = None) -> list[str]:
    """The units (submitted, not deleted) of the actor's part of the tree, or of one
    (sub-)delegation within it."""
    query = select(UnitReview.unit_id).where(UnitReview.status.not_in(("not_submitted", "deleted")))
    root = delegation_id or actor.delegation_id
    if delegation_id is not None and not in_scope(session, delegation_id, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    if root is not None:
        query = query.where(UnitReview.delegation_id.in_(subtree(session, root)))
    return list(session.scalars(query))


def people_in_view(session: Session, actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registration's answer filtered again by review's projection: only people of units in
    the actor's scope, with review's status, label and payer (a person registration knows
    but review does not yet, i.e. not submitted, is shown with no review status)."""
    unit_ids = {str(r.get("unit_id")) for r in rows}
    units = {u.unit_id: u for u in session.scalars(select(UnitReview).where(UnitReview.unit_id.in_(unit_ids)))}
    people = {p.person_id: p for p in session.scalars(
        select(ReviewPerson).where(ReviewPerson.person_id.in_([str(r.get("person_id")) for r in rows])))}
    shown = []
    for row in rows:
        unit = units.get(str(row.get("unit_id")))
        if unit is None or unit.status in ("not_submitted", "deleted") or \
                not in_scope(session, unit.delegation_id, actor.delegation_id):
            continue
        decided = people.get(str(row.get("person_id")))
        shown.append({**row, "delegation_id": unit.delegation_id, "unit_status": unit.status,
                      "review_status": decided.status if decided else None,
                      "label": (decided.label if decided else None) or row.get("label"),
                      "payer": (decided.payer if decided else None) or row.get("payer")})
    return shown
