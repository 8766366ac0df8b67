"""Personnel: who pays for each person (确认代付/取消代付, centralised payment within its
limit), the free labels granted within the unit's quota (CIIE: VIP and staff), upgrades,
the quota template, the locking of credential reuse requests and — where the fair reviews
people too (CIFTIS) — their approval on two levels. Which badges are free, granted within
quota and how they rank come from the fair profile."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.outbox import Emit
from shared.validators import is_valid_unit_key

from shared.fair import FairProfile

from ..models import Delegation, Quota, ReviewPerson, UnitReview
from .fair_rules import profile_of
from .host_organisations import check_actor_approved
from .organisations import Actor, audit, check_deadline, in_scope, settings_for, subtree, top_delegation

QUOTA_FILE_LIMIT = 5 * 1024 * 1024
# The quota table's counters (used, granted) for each badge granted within quota.
QUOTA_COUNTERS = {"vip": (Quota.vip_used, Quota.vip), "staff": (Quota.staff_used, Quota.staff)}


# --- confirmation -------------------------------------------------------------------------
def confirmation_for(requested_label: str, delegation: Delegation | None,
                     profile: FairProfile | None = None) -> tuple[str, str] | None:
    """(label, payer) to confirm at once, or None when the delegation must decide.

    A paying badge (CIIE: professional visitor) whose delegation has no centralised payment
    is paid by its unit: there is nothing to choose. A badge granted within quota (CIIE:
    VIP/staff) and 统付 delegations wait for an admin's confirmation (确认代付/取消代付); a
    free badge outside any quota is confirmed free."""
    p = profile_of(profile)
    if requested_label in p.quota_badges():
        return None
    if requested_label in p.free_badges():
        return requested_label, "free"
    if delegation is None or not delegation.centralised_payment:
        return requested_label, "unit"
    return None


def fee_owed(session: Session, review: UnitReview, label: str, payer: str,
             profile: FairProfile | None = None) -> int:
    """What a confirmed person's payer owes: the edition's fee — review's setting is its one
    source, carried to billing on the events that create payables — and nothing for a
    free label."""
    if payer == "free" or label in profile_of(profile).free_badges():
        return 0
    return settings_for(session, review.edition or "").fee_fen


def _confirm(session: Session, emit: Emit, review: UnitReview, person: ReviewPerson, label: str, payer: str) -> None:
    # a delegation-paid person owes what was spent from the delegation's budget for them
    fee = person.fee_fen if payer == "delegation" else fee_owed(session, review, label, payer)
    person.label, person.payer, person.status, person.confirmed_at = label, payer, "confirmed", utcnow()
    emit("PersonnelConfirmed", {"person_id": person.person_id, "unit_id": person.unit_id,
                                "delegation_id": review.delegation_id, "label": label, "payer": payer,
                                "fee_fen": fee})


def confirm_ready_people(session: Session, emit: Emit, review: UnitReview, profile: FairProfile | None = None) -> None:
    """Once the unit is approved, its submitted people await confirmation; those with
    nothing to decide are confirmed at once — unless the fair reviews people too (CIFTIS:
    "承办机构审核通过后，审核状态变为审核中，等待组委会审核"), where each waits for its approval."""
    p = profile_of(profile)
    delegation = top_delegation(session, review.delegation_id)
    people = session.scalars(select(ReviewPerson).where(ReviewPerson.unit_id == review.unit_id,
                                                        ReviewPerson.status == "submitted")
                             .order_by(ReviewPerson.person_id).with_for_update())
    for person in people:
        person.status = "awaiting_confirmation"
        if p.review["personnel_review"]:
            continue
        decision = confirmation_for(person.requested_label, delegation, p)
        if decision:
            _confirm(session, emit, review, person, *decision)


def people_in_scope(session: Session, person_ids: list[str], actor: Actor,
                    statuses: Iterable[str]) -> list[tuple[ReviewPerson, UnitReview]]:
    """All the people, locked, each in the actor's scope and in one of `statuses`; a
    batch is all or nothing."""
    if not person_ids:
        raise DomainError("no_people", "choose at least one person", "person_ids")
    rows = []
    for person_id in sorted(set(person_ids)):
        person = session.get(ReviewPerson, person_id, with_for_update=True)
        review = session.get(UnitReview, person.unit_id) if person else None
        if person is None or review is None or not in_scope(session, review.delegation_id, actor.delegation_id):
            raise NotFound(f"person {person_id}", "person_ids")
        if person.status not in statuses:
            raise Conflict("wrong_state", f"person {person_id} is {person.status}", "person_ids")
        rows.append((person, review))
    return rows


def personnel_page(session: Session, actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    """People of units in the actor's part of the tree; filters: status ("all" for any), unit_id."""
    query = select(ReviewPerson).join(UnitReview, UnitReview.unit_id == ReviewPerson.unit_id)
    if actor.delegation_id is not None:
        query = query.where(UnitReview.delegation_id.in_(subtree(session, actor.delegation_id)))
    if filters["status"] != "all":
        query = query.where(ReviewPerson.status == filters["status"])
    if filters["unit_id"]:
        query = query.where(ReviewPerson.unit_id == filters["unit_id"])
    if filters.get("delegation_id"):  # a delegation with its sub-delegations
        query = query.where(UnitReview.delegation_id.in_(subtree(session, filters["delegation_id"])))
    if filters.get("requested_label"):
        query = query.where(ReviewPerson.requested_label == filters["requested_label"])
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters["page"], filters["per_page"]
    items = list(session.scalars(query.order_by(ReviewPerson.person_id).offset((page - 1) * per_page)
                                 .limit(per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def check_not_personnel_review(profile: FairProfile) -> None:
    if profile.review["personnel_review"]:
        raise Conflict("personnel_review", "people are approved or rejected on two levels in this fair",
                       "person_ids")


def confirm_payer(session: Session, emit: Emit, person_ids: list[str], delegation_pays: bool, actor: Actor,
                  now: dt.datetime | None = None, profile: FairProfile | None = None) -> list[ReviewPerson]:
    """确认代付 / 取消代付, one or a batch, final once chosen. The delegation's centralised
    payment never goes over its limit."""
    p = profile_of(profile)
    check_not_personnel_review(p)
    rows = people_in_scope(session, person_ids, actor, ("awaiting_confirmation",))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").labelling_deadline, "labelling", now)
        if person.requested_label in p.free_badges():
            raise Conflict("label_decision_needed", "grant or decline the requested label first", "person_ids")
        if delegation_pays:
            top = top_delegation(session, review.delegation_id)
            if top is None or not top.centralised_payment:
                raise Conflict("no_centralised_payment", "the delegation does not pay centrally", "person_ids")
            fee = settings_for(session, review.edition or "").fee_fen
            spend(session, top, fee)
            person.fee_fen = fee
        _confirm(session, emit, review, person, person.requested_label, "delegation" if delegation_pays else "unit")
        audit(session, actor, "person.confirm_delegation_pays" if delegation_pays else "person.cancel_delegation_pays",
              "person", person.person_id, review.delegation_id, {"status": "awaiting_confirmation"},
              {"label": person.label, "payer": person.payer})
    return [p for p, _ in rows]


# --- two-level personnel review (CIFTIS) ---------------------------------------------------
def approve_personnel(session: Session, emit: Emit, person_ids: list[str], actor: Actor,
                      now: dt.datetime | None = None, profile: FairProfile | None = None) -> list[ReviewPerson]:
    """Where the fair reviews people: the first level (CIFTIS: the host organisation)
    approves people awaiting confirmation — "审核状态变为审核中，等待组委会审核" — and the
    second level (the organising committee) confirms them, from either state (the people of
    a unit with no organisation it alone approves). A confirmed person holds the badge asked
    for, free."""
    p = profile_of(profile)
    if not p.review["personnel_review"]:
        raise Conflict("no_personnel_review", "people are confirmed by their payer and label in this fair",
                       "person_ids")
    first_level = actor.role == p.review["first_level"]
    if not first_level and actor.role not in (p.review["second_level"], "organising_committee"):
        raise Forbidden("the host organisation and the organising committee review people")
    check_actor_approved(session, actor)
    statuses = ("awaiting_confirmation",) if first_level else ("awaiting_confirmation", "first_approved")
    rows = people_in_scope(session, person_ids, actor, statuses)
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").review_deadline, "review", now)
        before = {"status": person.status}
        if first_level:
            person.status = "first_approved"
            audit(session, actor, "person.first_approve", "person", person.person_id, review.delegation_id, before,
                  {"status": "first_approved"})
            continue
        _confirm(session, emit, review, person, person.requested_label, "free")
        audit(session, actor, "person.approve", "person", person.person_id, review.delegation_id, before,
              {"status": "confirmed", "label": person.label, "payer": "free"})
    return [p for p, _ in rows]


def reject_personnel(session: Session, emit: Emit, person_ids: list[str], reason: str, actor: Actor,
                     now: dt.datetime | None = None, profile: FairProfile | None = None) -> list[ReviewPerson]:
    """审核不通过 of people, on either level, with the reason the unit reads."""
    p = profile_of(profile)
    if not p.review["personnel_review"]:
        raise Conflict("no_personnel_review", "people are confirmed by their payer and label in this fair",
                       "person_ids")
    if actor.role not in (p.review["first_level"], p.review["second_level"], "organising_committee"):
        raise Forbidden("the host organisation and the organising committee review people")
    if not reason.strip():
        raise DomainError("reason_required", "give the reason for rejection", "reason")
    check_actor_approved(session, actor)
    rows = people_in_scope(session, person_ids, actor, ("awaiting_confirmation", "first_approved"))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").review_deadline, "review", now)
        before = {"status": person.status}
        person.status = "rejected"
        emit("PersonnelRejected", {"person_id": person.person_id, "unit_id": person.unit_id,
                                   "reason": reason.strip()})
        audit(session, actor, "person.reject", "person", person.person_id, review.delegation_id, before,
              {"status": "rejected", "reason": reason.strip()})
    return [p for p, _ in rows]


# --- centralised payment ------------------------------------------------------------------
def _locked_delegation(session: Session, delegation_id: str) -> Delegation:
    """The delegation's row, locked and re-read; it exists (its people refer to it)."""
    locked = session.get(Delegation, delegation_id, with_for_update=True, populate_existing=True)
    assert locked is not None, delegation_id
    return locked


def spend(session: Session, delegation: Delegation, fee_fen: int) -> None:
    """Atomic: the row lock serialises every instance that spends from this delegation."""
    locked = _locked_delegation(session, delegation.id)
    if locked.centralised_spent_fen + fee_fen > locked.centralised_limit_fen:
        left = locked.centralised_limit_fen - locked.centralised_spent_fen
        raise Conflict("centralised_limit_reached",
                       f"the centralised payment limit would be exceeded ({left / 100:.2f} CNY left)", "person_ids")
    locked.centralised_spent_fen += fee_fen


def set_centralised_payment(session: Session, actor: Actor, delegation_id: str, enabled: bool,
                            limit_fen: int) -> Delegation:
    """统付: on/off with an amount limit (fen) that confirmations never exceed."""
    delegation = session.get(Delegation, delegation_id, with_for_update=True)
    if delegation is None or not in_scope(session, delegation_id, actor.delegation_id):
        raise NotFound("delegation", "delegation_id")
    if delegation.parent_id is not None:
        raise DomainError("not_a_delegation", "centralised payment is set on the delegation itself", "delegation_id")
    if not actor.is_secretariat:
        raise Forbidden("the delegation secretariat sets centralised payment")
    if limit_fen < delegation.centralised_spent_fen:
        raise Conflict("limit_below_spent", f"{delegation.centralised_spent_fen / 100:.2f} CNY is already committed",
                       "limit_fen")
    before = {"enabled": delegation.centralised_payment, "limit_fen": delegation.centralised_limit_fen}
    delegation.centralised_payment, delegation.centralised_limit_fen = enabled, limit_fen
    audit(session, actor, "delegation.centralised_payment", "delegation", delegation.id, delegation.id, before,
          {"enabled": enabled, "limit_fen": limit_fen})
    return delegation


# --- quotas and labels --------------------------------------------------------------------
def quota_for(session: Session, edition: str, uscc: str, lock: bool = True) -> Quota | None:
    query = select(Quota).where(Quota.edition == edition, Quota.uscc == uscc)
    return session.scalar(query.with_for_update() if lock else query)


def quota_in_scope(session: Session, actor: Actor, edition: str, uscc: str, quota: Quota | None) -> bool:
    """A delegation sees and sets the quotas of units in its part of the tree: a unit that has
    submitted belongs where review has it; a quota set before the unit registered belongs to
    the delegation that set it; a USCC nobody has seen is free to be given one."""
    if actor.delegation_id is None:
        return True
    review = session.scalar(select(UnitReview).where(UnitReview.uscc == uscc, UnitReview.edition == edition))
    if review is not None and review.delegation_id is not None:
        return in_scope(session, review.delegation_id, actor.delegation_id)
    if quota is not None:
        return quota.set_by_delegation_id is not None and \
            in_scope(session, quota.set_by_delegation_id, actor.delegation_id)
    return True


def get_quota(session: Session, edition: str, uscc: str, actor: Actor) -> Quota:
    quota = quota_for(session, edition, uscc, lock=False)
    if quota is None or not quota_in_scope(session, actor, edition, uscc, quota):
        raise NotFound("quota", "uscc")
    return quota


def use_quota(session: Session, review: UnitReview, label: str) -> None:
    """A label granted within quota (CIIE: VIP, staff) is granted only within the unit's
    quota, atomically: the guarded UPDATE succeeds for exactly as many grants as there is
    quota."""
    if label not in QUOTA_COUNTERS:
        raise Conflict("quota_exhausted", f"the unit has no {label} quota", "label")
    column, limit = QUOTA_COUNTERS[label]
    # a DML statement executes to a CursorResult (rowcount); the typing says only Result
    result = cast(CursorResult[Any], session.execute(
        update(Quota).where(Quota.edition == review.edition, Quota.uscc == review.uscc, column < limit)
        .values({column: column + 1})))
    if result.rowcount != 1:
        raise Conflict("quota_exhausted", f"the unit has no {label} quota left", "label")


def free_quota(session: Session, review: UnitReview, label: str) -> None:
    if label not in QUOTA_COUNTERS:
        return
    column = QUOTA_COUNTERS[label][0]
    session.execute(update(Quota).where(Quota.edition == review.edition, Quota.uscc == review.uscc, column > 0)
                    .values({column: column - 1}))


def give_back_budget(session: Session, review: UnitReview, person: ReviewPerson) -> None:
    """The fee spent from the delegation's centralised budget for a person it no longer pays
    for (cancelled, or upgraded to a free label) goes back to the budget."""
    if person.payer == "delegation" and person.fee_fen:
        top = top_delegation(session, review.delegation_id)
        if top is not None:
            locked = _locked_delegation(session, top.id)
            locked.centralised_spent_fen = max(0, locked.centralised_spent_fen - person.fee_fen)
        person.fee_fen = 0


def release(session: Session, review: UnitReview, person: ReviewPerson, profile: FairProfile | None = None) -> None:
    """Give back what a person held: quota for a free label, centralised-payment budget."""
    if person.status in ("confirmed", "locked") and person.label in profile_of(profile).quota_badges():
        free_quota(session, review, person.label)
    if person.status in ("confirmed", "locked"):
        give_back_budget(session, review, person)


def grant_label(session: Session, emit: Emit, person_ids: list[str], label: str, actor: Actor,
                now: dt.datetime | None = None, profile: FairProfile | None = None) -> list[ReviewPerson]:
    """Label people awaiting confirmation with a badge granted within quota (CIIE: VIP or
    staff; free) or another free badge — or with a paying badge (CIIE: professional
    visitor), which then goes the payer way."""
    p = profile_of(profile)
    check_not_personnel_review(p)
    if label not in p.badge_ids():
        raise DomainError("unknown_label", f"label must be one of {', '.join(p.badge_ids())}", "label")
    rows = people_in_scope(session, person_ids, actor, ("awaiting_confirmation",))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").labelling_deadline, "labelling", now)
        if label in p.quota_badges():
            use_quota(session, review, label)
            _confirm(session, emit, review, person, label, "free")
        elif label in p.free_badges():
            _confirm(session, emit, review, person, label, "free")
        else:
            person.requested_label = label
            decision = confirmation_for(label, top_delegation(session, review.delegation_id), p)
            if decision:
                _confirm(session, emit, review, person, *decision)
        audit(session, actor, "person.label", "person", person.person_id, review.delegation_id,
              {"requested_label": person.requested_label}, {"label": label})
    return [p for p, _ in rows]


def upgrade(session: Session, emit: Emit, person_id: str, to_label: str, actor: Actor,
            now: dt.datetime | None = None, profile: FairProfile | None = None) -> ReviewPerson:
    """visitor → staff or VIP, staff → VIP; never for a reused VIP. Within quota. The new
    label is free: a delegation that paid for the person gets its budget back, billing drops
    or refunds the fee, registration moves an unpaid person on to the police check and
    credentials checks them (or reissues the card of one already produced)."""
    p = profile_of(profile)
    [(person, review)] = people_in_scope(session, [person_id], actor, ("confirmed", "locked"))
    check_deadline(settings_for(session, review.edition or "").labelling_deadline, "labelling", now)
    top_rank = max(p.badge_rank(b) for b in p.badge_ids())
    if person.reused_label is not None and p.badge_rank(person.reused_label) == top_rank:
        raise Conflict("reused_vip", "a reused credential of the highest badge cannot be changed", "label")
    if to_label not in p.quota_badges() or \
            p.badge_rank(to_label) <= p.badge_rank(person.label or person.requested_label):
        raise DomainError("not_an_upgrade", f"{person.label} cannot become {to_label}", "label")
    use_quota(session, review, to_label)
    if person.label in p.quota_badges():
        free_quota(session, review, person.label)
    before = {"label": person.label, "payer": person.payer, "fee_fen": person.fee_fen}
    give_back_budget(session, review, person)
    emit("PersonnelUpgraded", {"person_id": person.person_id, "unit_id": person.unit_id,
                               "from_label": person.label, "to_label": to_label})
    person.label, person.payer = to_label, "free"
    audit(session, actor, "person.upgrade", "person", person.person_id, review.delegation_id, before,
          {"label": to_label, "payer": "free"})
    return person


def set_quota(session: Session, emit: Emit, actor: Actor, edition: str, uscc: str, vip: int, staff: int,
              unit_id: str | None = None) -> Quota:
    if not is_valid_unit_key(uscc):  # units outside the mainland: their registration number
        raise DomainError("invalid_uscc", f"{uscc}: USCC check character does not match", "uscc")
    if vip < 0 or staff < 0:
        raise DomainError("invalid_quota", "quotas cannot be negative", "vip" if vip < 0 else "staff")
    quota = quota_for(session, edition, uscc)
    if not quota_in_scope(session, actor, edition, uscc, quota):
        raise NotFound("unit in your delegation", "uscc")
    if quota is None:
        quota = Quota(id=new_id(), edition=edition, uscc=uscc, vip=0, staff=0, vip_used=0, staff_used=0,
                      set_by_delegation_id=actor.delegation_id)
        session.add(quota)
        session.flush()
    if vip < quota.vip_used or staff < quota.staff_used:
        raise Conflict("quota_below_use", f"{quota.vip_used} VIP and {quota.staff_used} staff labels are in use",
                       "vip" if vip < quota.vip_used else "staff")
    before = {"vip": quota.vip, "staff": quota.staff}
    quota.vip, quota.staff = vip, staff
    review = session.scalar(select(UnitReview).where(UnitReview.uscc == uscc, UnitReview.edition == edition))
    emit("QuotaChanged", {"uscc": uscc, "unit_id": unit_id or (review.unit_id if review else None), "vip": vip,
                          "staff": staff})
    audit(session, actor, "quota.set", "quota", uscc, actor.delegation_id, before, {"vip": vip, "staff": staff})
    return quota


QUOTA_COLUMNS = ("uscc", "vip", "staff")
QUOTA_FILE_ROWS = 5000
QUOTA_LIMIT = 10000  # VIP or staff badges one unit may have; more is a typing mistake


def quota_template() -> bytes:
    """The XLSX template: the columns the import reads, and how to fill them in."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = "quotas"
    sheet.append(list(QUOTA_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 24
    notes = book.create_sheet("说明 notes")
    for line in ("每行一个单位 · one unit per row (row 1 stays as it is)",
                 "uscc：统一社会信用代码（18位） · the unit's unified social credit code (18 characters)",
                 "vip：贵宾证额度 · VIP badges (a whole number, 0 or more)",
                 "staff：工作人员证额度 · staff badges (a whole number, 0 or more)",
                 "全部行无误才导入 · nothing is imported unless every row is right"):
        notes.append([line])
    notes.column_dimensions["A"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def quota_file_rows(filename: str, content: bytes) -> list[tuple[int, list[str]]]:
    """The template's data rows with their row numbers (the header is row 1); a file that
    is not the template is refused as a whole."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
        except Exception:
            raise DomainError("unreadable_file", "the file is not a readable XLSX workbook", "file") from None
        rows = [[("" if c is None else str(c)).strip() for c in row]
                for row in sheet.iter_rows(values_only=True, max_row=QUOTA_FILE_ROWS + 1)]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError("unreadable_file", "the CSV file must be UTF-8", "file") from None
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    numbered = [(number, row) for number, row in enumerate(rows, start=1) if any(row)]
    if not numbered or [h.lower() for h in numbered[0][1][:3]] != list(QUOTA_COLUMNS):
        raise DomainError("bad_template", "the first row must be: uscc, vip, staff", "file")
    if len(numbered) - 1 > QUOTA_FILE_ROWS:
        raise DomainError("too_many_rows", f"at most {QUOTA_FILE_ROWS} rows per file", "file")
    return numbered[1:]


def parse_quota_line(row: list[str]) -> dict[str, Any]:
    """One data row, checked: a valid USCC and two whole numbers within bounds."""
    cells = (row + ["", "", ""])[:3]
    uscc = cells[0].upper()
    try:
        vip, staff = (int(float(c or 0)) for c in cells[1:3])
        if any(float(c or 0) != int(float(c or 0)) for c in cells[1:3]):
            raise ValueError
    except ValueError:
        raise DomainError("bad_number", "vip and staff must be whole numbers", "vip") from None
    if not is_valid_unit_key(uscc):
        raise DomainError("invalid_uscc", f"{cells[0] or '(empty)'} is neither a valid USCC nor a registration number", "uscc")
    if not (0 <= vip <= QUOTA_LIMIT and 0 <= staff <= QUOTA_LIMIT):
        raise DomainError("invalid_quota", f"quotas are between 0 and {QUOTA_LIMIT}", "vip")
    return {"uscc": uscc, "vip": vip, "staff": staff}


class QuotaImportRefused(DomainError):
    """Some lines could not be imported, so none was: `lines` says which and why."""

    def __init__(self, lines: list[dict[str, Any]]):
        super().__init__("quota_import_refused", "some rows could not be imported; nothing was", "file")
        self.lines = lines


def import_quota_lines(session: Session, emit: Emit, actor: Actor, edition: str, filename: str | None,
                       content: bytes | None) -> dict[str, Any]:
    """The template imported line by line: every line is checked and set (each in a
    savepoint, so that one line's refusal is reported and the next is still tried); if any
    line is refused, QuotaImportRefused carries every line's result and the caller's
    transaction rolls back — all rows or none."""
    if content is None:
        raise DomainError("file_required", "send the template as multipart field 'file'", "file")
    lines: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, row in quota_file_rows(filename or "", content):
        line: dict[str, Any] = {"row": number, "uscc": (row[0] if row else "")[:40], "vip": None, "staff": None,
                                "ok": True, "code": None, "message": None, "field": None, "before": None,
                                "duplicate_of": None}
        try:
            parsed = parse_quota_line(row)
            line.update(parsed)
            if parsed["uscc"] in seen:
                line["duplicate_of"] = seen[parsed["uscc"]]
                raise DomainError("duplicate_uscc", f"the same USCC is on row {seen[parsed['uscc']]}", "uscc")
            seen[parsed["uscc"]] = number
            existing = quota_for(session, edition, parsed["uscc"], lock=False)
            line["before"] = {"vip": existing.vip, "staff": existing.staff} if existing else None
            with session.begin_nested():
                set_quota(session, emit, actor, edition, parsed["uscc"], parsed["vip"], parsed["staff"])
        except DomainError as err:
            line.update(ok=False, code=err.code, message=err.message, field=err.field)
        lines.append(line)
    if any(not line["ok"] for line in lines):
        raise QuotaImportRefused(lines)
    return {"imported": len(lines), "lines": lines}


def list_quotas(session: Session, actor: Actor, edition: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The quotas of the actor's part of the tree: a unit's where review has it, one set
    before the unit registered where the delegation that set it is."""
    query = select(Quota, UnitReview.name, UnitReview.delegation_id).outerjoin(
        UnitReview, (UnitReview.uscc == Quota.uscc) & (UnitReview.edition == Quota.edition)).where(
        Quota.edition == edition)
    if actor.delegation_id is not None:
        tree = subtree(session, actor.delegation_id)
        query = query.where(UnitReview.delegation_id.in_(tree) |
                            (UnitReview.unit_id.is_(None) & Quota.set_by_delegation_id.in_(tree)))
    if filters.get("uscc"):
        query = query.where(Quota.uscc == filters["uscc"].strip().upper())
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, per_page = filters.get("page", 1), filters.get("per_page", 50)
    rows = session.execute(query.order_by(Quota.uscc).offset((page - 1) * per_page).limit(per_page)).all()
    items = [{"uscc": q.uscc, "vip": q.vip, "staff": q.staff, "vip_used": q.vip_used, "staff_used": q.staff_used,
              "unit_name": name, "delegation_id": delegation_id or q.set_by_delegation_id} for q, name, delegation_id
             in rows]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def parse_quota_file(filename: str, content: bytes) -> list[dict[str, Any]]:
    """The quota template: columns uscc, vip, staff (CSV or XLSX), one row per unit."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True).active
        except Exception:
            raise DomainError("unreadable_file", "the file is not a readable XLSX workbook", "file") from None
        rows = [[("" if c is None else str(c)).strip() for c in row] for row in sheet.iter_rows(values_only=True)]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError("unreadable_file", "the CSV file must be UTF-8", "file") from None
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    rows = [r for r in rows if any(r)]
    if not rows or [h.lower() for h in rows[0][:3]] != ["uscc", "vip", "staff"]:
        raise DomainError("bad_template", "the first row must be: uscc, vip, staff", "file")
    parsed: list[dict[str, Any]] = []
    for number, row in enumerate(rows[1:], start=2):
        try:
            parsed.append({"uscc": row[0].upper(), "vip": int(float(row[1] or 0)), "staff": int(float(row[2] or 0))})
        except (ValueError, IndexError):
            raise DomainError("bad_row", f"row {number}: vip and staff must be whole numbers", "file") from None
        if not is_valid_unit_key(parsed[-1]["uscc"]):
            raise DomainError("bad_row", f"row {number}: {row[0]} is not a valid USCC", "file")
    return parsed


def import_quotas(session: Session, emit: Emit, actor: Actor, edition: str, filename: str | None,
                  content: bytes | None) -> int:
    """The quota template (CSV or XLSX, `content` None when nothing was sent): all rows or
    none. Returns how many rows were imported."""
    if content is None:
        raise DomainError("file_required", "send the template as multipart field 'file'", "file")
    rows = parse_quota_file(filename or "", content)
    for row in rows:
        set_quota(session, emit, actor, edition, row["uscc"], row["vip"], row["staff"])
    return len(rows)


# --- credential reuse ---------------------------------------------------------------------
def lock_reuse(session: Session, emit: Emit, person_ids: list[str], actor: Actor,
               now: dt.datetime | None = None, profile: FairProfile | None = None) -> list[ReviewPerson]:
    """锁定提交: the delegation locks reuse requests; a label granted within quota needs
    matching quota."""
    p = profile_of(profile)
    rows = people_in_scope(session, person_ids, actor, ("pending_lock",))
    for person, review in rows:
        check_deadline(settings_for(session, review.edition or "").locking_deadline, "locking", now)
        if review.status != "approved":
            raise Conflict("unit_not_approved", "the unit must be approved first", "person_ids")
        label = person.reused_label or person.requested_label
        if label in p.quota_badges():
            use_quota(session, review, label)
        payer = "free" if label in p.free_badges() else "unit"
        person.label, person.payer, person.status, person.confirmed_at = label, payer, "locked", utcnow()
        emit("ReuseLocked", {"person_id": person.person_id, "unit_id": person.unit_id, "label": label,
                             "payer": payer, "previous_credential_no": person.previous_credential_no,
                             "fee_fen": fee_owed(session, review, label, payer, p)})
        audit(session, actor, "person.lock_reuse", "person", person.person_id, review.delegation_id,
              {"status": "pending_lock"}, {"status": "locked", "label": label})
    return [p for p, _ in rows]
