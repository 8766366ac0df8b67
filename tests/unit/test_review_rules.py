import datetime as dt

import pytest

from services.review.domain import decisions, invitation_codes, organisations, personnel, statistics
from services.review.models import Delegation, ReviewPerson, UnitReview
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.http import status_of

COMMITTEE = organisations.Actor("a-oc", "organising_committee", None)
GD_SECRETARIAT = organisations.Actor("a-gd", "delegation_secretariat", "GD")
GZ_ADMIN = organisations.Actor("a-gz", "sub_delegation_admin", "GD-GZ")
FS_ADMIN = organisations.Actor("a-fs", "sub_delegation_admin", "GD-FS")
USCC = "91350100M000100Y43"


@pytest.fixture
def s(session_for, emit):
    session = session_for("review")
    organisations.seed_defaults(session, emit, "CIIE-2026")
    emit.events.clear()
    return session


def pending_unit(s, unit_id="u1", delegation="GD-GZ", category="government", uscc=USCC):
    review = UnitReview(unit_id=unit_id, edition="CIIE-2026", uscc=uscc, name="Unit", category=category,
                        region="mainland", delegation_id=delegation, status="pending", automatic=False, submissions=1)
    s.add(review)
    s.flush()
    return review


def person(s, review, person_id="p1", label="visitor", status="awaiting_confirmation"):
    p = ReviewPerson(person_id=person_id, unit_id=review.unit_id, requested_label=label, status=status, fee_fen=0)
    s.add(p)
    s.flush()
    return p


def test_guangdong_seed_has_26_members_and_3500_target(s):
    members = s.query(Delegation).filter_by(parent_id="GD").all()
    assert len(members) == 26 and sum(m.target for m in members) == 3500
    assert s.get(Delegation, "FJ").recommendation_code == "Q2021391"
    assert s.get(Delegation, "GD").recommendation_code == "Q2021089"


def test_auto_review_only_for_registry_matched_domestic_enterprises_and_institutions():
    unit = UnitReview(region="mainland", category="enterprise")
    assert decisions.may_auto_approve(unit, True)
    assert not decisions.may_auto_approve(unit, False)
    assert not decisions.may_auto_approve(UnitReview(region="mainland", category="government"), True)
    assert not decisions.may_auto_approve(UnitReview(region="overseas", category="enterprise"), True)


def test_confirmation_rule():
    assert personnel.confirmation_for("visitor", None) == ("visitor", "unit")
    assert personnel.confirmation_for("visitor", Delegation(centralised_payment=True)) is None
    assert personnel.confirmation_for("vip", None) is None


def test_scope_follows_the_tree(s):
    assert organisations.in_scope(s, "GD-GZ", "GD") and organisations.in_scope(s, "GD-GZ", "GD-GZ")
    assert not organisations.in_scope(s, "GD-FS", "GD-GZ") and not organisations.in_scope(s, "FJ", "GD")
    assert organisations.in_scope(s, "FJ", None)
    review = pending_unit(s)
    with pytest.raises(NotFound):
        decisions.get_review_in_scope(s, review.unit_id, FS_ADMIN)
    assert decisions.queue_page(s, FS_ADMIN, {"status": "pending"})["total"] == 0
    assert decisions.queue_page(s, GZ_ADMIN, {"status": "pending"})["total"] == 1


def test_two_level_review(s, emit):
    s.get(Delegation, "GD").two_level = True
    review = pending_unit(s)
    decisions.approve(s, emit, review, GZ_ADMIN)
    assert review.status == "first_approved" and emit.types() == []
    with pytest.raises(Forbidden):
        decisions.approve(s, emit, review, GZ_ADMIN)  # the secretariat confirms
    decisions.approve(s, emit, review, GD_SECRETARIAT)
    assert review.status == "approved" and emit.types() == ["UnitApproved"]


def test_return_reject_and_their_reasons(s, emit):
    review = pending_unit(s)
    with pytest.raises(DomainError):
        decisions.return_for_modification(s, emit, review, " ", GZ_ADMIN)
    decisions.return_for_modification(s, emit, review, "补充英文名称", GZ_ADMIN)
    assert review.status == "returned" and emit.types() == ["UnitReturned"]
    with pytest.raises(Conflict):
        decisions.reject(s, emit, review, "no", GZ_ADMIN)
    other = pending_unit(s, "u2")
    decisions.reject(s, emit, other, "not a purchaser", GZ_ADMIN)
    assert other.status == "rejected"


def test_deadline_refuses_late_decisions(s, emit):
    settings = organisations.settings_for(s, "CIIE-2026")
    settings.review_deadline = dt.datetime(2026, 10, 15)
    review = pending_unit(s)
    with pytest.raises(DomainError) as err:
        decisions.approve(s, emit, review, GZ_ADMIN, now=dt.datetime(2026, 10, 16))
    assert (err.value.code, status_of(err.value)) == ("deadline_passed", 409)
    decisions.approve(s, emit, review, GZ_ADMIN, now=dt.datetime(2026, 10, 14))


def test_deadlines_set_with_an_offset_are_stored_as_utc(s):
    beijing = dt.timezone(dt.timedelta(hours=8))
    settings = organisations.update_settings(s, COMMITTEE, "CIIE-2026", {
        "labelling_deadline": dt.datetime(2026, 10, 15, 18, 0, tzinfo=beijing),
        "locking_deadline": dt.datetime(2026, 10, 15, 18, 0)})  # no offset: UTC
    assert settings.labelling_deadline == dt.datetime(2026, 10, 15, 10, 0)
    assert settings.locking_deadline == dt.datetime(2026, 10, 15, 18, 0)
    with pytest.raises(DomainError) as err:
        organisations.check_deadline(settings.labelling_deadline, "labelling", now=dt.datetime(2026, 10, 15, 10, 1))
    assert err.value.message == "labelling closed on 2026-10-15 18:00 (Beijing time)"


def test_reassign_and_delete(s, emit):
    review = pending_unit(s)
    with pytest.raises(Forbidden):
        decisions.reassign(s, emit, review, "FJ", GZ_ADMIN)
    decisions.reassign(s, emit, review, "GD-FS", GD_SECRETARIAT)
    assert review.delegation_id == "GD-FS" and emit.events[-1][1]["from_delegation_id"] == "GD-GZ"
    with pytest.raises(Forbidden):  # not directly attached to GZ any more
        decisions.delete_unit(s, emit, review, GZ_ADMIN)
    p = person(s, review)
    decisions.delete_unit(s, emit, review, FS_ADMIN)
    assert review.status == "deleted" and p.status == "deleted" and emit.types()[-1] == "UnitDeleted"
    assert {e.action for e in organisations.audit_page(s, COMMITTEE, {})["items"]} == {"unit.reassign", "unit.delete"}


def test_centralised_payment_never_exceeds_its_limit(s, emit):
    personnel.set_centralised_payment(s, GD_SECRETARIAT, "GD", True, 30000)  # room for one 200.00 fee
    review = pending_unit(s)
    review.status = "approved"
    a, b = person(s, review, "p1"), person(s, review, "p2")
    personnel.confirm_payer(s, emit, ["p1"], True, GZ_ADMIN)
    assert a.payer == "delegation" and s.get(Delegation, "GD").centralised_spent_fen == 20000
    with pytest.raises(Conflict) as err:
        personnel.confirm_payer(s, emit, ["p2"], True, GZ_ADMIN)
    assert err.value.code == "centralised_limit_reached"
    personnel.confirm_payer(s, emit, ["p2"], False, GZ_ADMIN)  # 取消代付: the unit pays
    assert b.payer == "unit"
    with pytest.raises(Conflict):  # final once chosen
        personnel.confirm_payer(s, emit, ["p1"], False, GZ_ADMIN)
    with pytest.raises(Conflict):
        personnel.set_centralised_payment(s, GD_SECRETARIAT, "GD", True, 10000)  # below what is committed
    with pytest.raises(NotFound):  # a sub-delegation does not even see its delegation's settings
        personnel.set_centralised_payment(s, GZ_ADMIN, "GD", True, 10 ** 6)


def test_confirmations_carry_the_one_fee_setting(s, emit):
    """Review's edition setting is the fee: what 统付 spends and what billing bills."""
    organisations.update_settings(s, COMMITTEE, "CIIE-2026", {"fee_fen": 35000})
    personnel.set_centralised_payment(s, GD_SECRETARIAT, "GD", True, 10 ** 6)
    personnel.set_quota(s, emit, GD_SECRETARIAT, "CIIE-2026", USCC, vip=1, staff=0)
    review = pending_unit(s)
    review.status = "approved"
    person(s, review, "unit-pays"), person(s, review, "delegation-pays"), person(s, review, "vip", "vip")
    personnel.confirm_payer(s, emit, ["unit-pays"], False, GZ_ADMIN)
    personnel.confirm_payer(s, emit, ["delegation-pays"], True, GZ_ADMIN)
    personnel.grant_label(s, emit, ["vip"], "vip", GZ_ADMIN)
    fees = {p["person_id"]: p["fee_fen"] for t, p in emit.events if t == "PersonnelConfirmed"}
    assert fees == {"unit-pays": 35000, "delegation-pays": 35000, "vip": 0}
    assert s.get(Delegation, "GD").centralised_spent_fen == 35000
    locked = ReviewPerson(person_id="r1", unit_id=review.unit_id, requested_label="visitor", status="pending_lock",
                          fee_fen=0, previous_credential_no="2025001", reused_label="visitor")
    s.add(locked)
    s.flush()
    personnel.lock_reuse(s, emit, ["r1"], GZ_ADMIN)
    assert emit.events[-1][0] == "ReuseLocked" and emit.events[-1][1]["fee_fen"] == 35000


def test_labels_within_quota_and_upgrades(s, emit):
    review = pending_unit(s)
    review.status = "approved"
    with pytest.raises(Conflict):  # no quota yet
        personnel.grant_label(s, emit, [person(s, review, "p0", "vip").person_id], "vip", GZ_ADMIN)
    personnel.set_quota(s, emit, GD_SECRETARIAT, "CIIE-2026", USCC, vip=1, staff=1)
    personnel.grant_label(s, emit, ["p0"], "vip", GZ_ADMIN)
    assert s.get(ReviewPerson, "p0").payer == "free"
    person(s, review, "p1", "vip")
    with pytest.raises(Conflict) as err:
        personnel.grant_label(s, emit, ["p1"], "vip", GZ_ADMIN)
    assert err.value.code == "quota_exhausted"
    visitor = person(s, review, "p2", status="confirmed")
    visitor.label, visitor.payer = "visitor", "unit"
    personnel.upgrade(s, emit, "p2", "staff", GZ_ADMIN)
    assert visitor.label == "staff" and emit.events[-1][0] == "PersonnelUpgraded"
    with pytest.raises(Conflict):  # staff quota used up by the upgrade
        personnel.grant_label(s, emit, ["p1"], "staff", GZ_ADMIN)
    with pytest.raises(DomainError):
        personnel.upgrade(s, emit, "p2", "staff", GZ_ADMIN)  # not an upgrade
    with pytest.raises(Conflict):
        personnel.set_quota(s, emit, GD_SECRETARIAT, "CIIE-2026", USCC, vip=0, staff=1)  # below use


def test_reused_vip_cannot_change_and_reuse_locks_within_quota(s, emit):
    review = pending_unit(s)
    review.status = "approved"
    p = ReviewPerson(person_id="r1", unit_id=review.unit_id, requested_label="vip", status="pending_lock", fee_fen=0,
                     previous_credential_no="2025001", reused_label="vip")
    s.add(p)
    s.flush()
    with pytest.raises(Conflict):
        personnel.lock_reuse(s, emit, ["r1"], GZ_ADMIN)  # VIP reuse needs quota
    personnel.set_quota(s, emit, GD_SECRETARIAT, "CIIE-2026", USCC, vip=2, staff=0)
    personnel.lock_reuse(s, emit, ["r1"], GZ_ADMIN)
    assert p.status == "locked" and emit.events[-1][1]["payer"] == "free"
    with pytest.raises(Conflict):
        personnel.upgrade(s, emit, "r1", "vip", GZ_ADMIN)


def test_quota_template_parsing():
    rows = personnel.parse_quota_file("q.csv", f"uscc,vip,staff\n{USCC},2,5\n".encode())
    assert rows == [{"uscc": USCC, "vip": 2, "staff": 5}]
    for content, message in ((b"a,b,c\n", "first row"), (f"uscc,vip,staff\n{USCC},x,1\n".encode(), "row 2"),
                             (b"uscc,vip,staff\n91350100M000100Y44,1,1\n", "row 2")):
        with pytest.raises(DomainError) as err:
            personnel.parse_quota_file("q.csv", content)
        assert message in err.value.message and err.value.field == "file"


def test_quota_template_xlsx():
    import io
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["uscc", "vip", "staff"])
    wb.active.append([USCC, 1, 3])
    out = io.BytesIO()
    wb.save(out)
    assert personnel.parse_quota_file("q.xlsx", out.getvalue()) == [{"uscc": USCC, "vip": 1, "staff": 3}]


def test_invitation_codes_are_single_use(s):
    [code] = invitation_codes.issue_invitation_codes(s, GD_SECRETARIAT, "GD", 1)
    assert invitation_codes.claim_invitation_code(s, code.code, "u1", "First Co").used_by_name == "First Co"
    assert invitation_codes.claim_invitation_code(s, code.code, "u1", "First Co")  # the same unit again is fine
    with pytest.raises(Conflict):
        invitation_codes.claim_invitation_code(s, code.code, "u2", "Second Co")
    with pytest.raises(DomainError):
        invitation_codes.claim_invitation_code(s, "NOPE", "u2", "Second Co")


def test_statistics_against_targets(s, emit):
    review = pending_unit(s)
    decisions.approve(s, emit, review, GZ_ADMIN)
    rows = {r["delegation_id"]: r for r in statistics.statistics(s, GD_SECRETARIAT)}
    assert rows["GD-GZ"]["approved_units"] == 1 and rows["GD-GZ"]["target"] == 400
    assert rows["GD-GZ"]["completion"] == round(1 / 400, 4)
    assert "FJ" not in rows
    csv_text = statistics.weekly_report_csv(list(rows.values()), dt.datetime(2026, 9, 7))
    assert "GD-GZ" in csv_text and "0.25%" in csv_text
    with pytest.raises(NotFound):
        statistics.statistics(s, GZ_ADMIN, "GD-FS")


def test_statistics_roll_up_the_guangdong_table(s, emit):
    """The seed's 26-member table: each member's units count in its own row and in
    Guangdong's, against the 3,500 target; an industry delegation's count in its own row
    and in the local delegation it rolls up to."""
    organisations.create_delegation(s, emit, COMMITTEE, {
        "id": "MED", "name": "医药行业交易团", "parent_id": None, "recommendation_code": "Q2021500", "target": 50,
        "two_level": False, "industry": True, "rollup_delegation_id": "GD"})
    members = [d.id for d in s.query(Delegation).filter_by(parent_id="GD").order_by(Delegation.id)]
    assert len(members) == 26
    for number, delegation_id in enumerate(members + ["MED", "FJ"]):
        s.add(UnitReview(unit_id=f"u{number}", edition="CIIE-2026", uscc=USCC, name="Unit", category="enterprise",
                         region="mainland", delegation_id=delegation_id, status="approved", automatic=True,
                         submissions=1))
    pending_unit(s, "u-pending", "GD-FS")
    s.add(ReviewPerson(person_id="p1", unit_id="u0", requested_label="visitor", status="confirmed", fee_fen=0))
    s.add(ReviewPerson(person_id="p2", unit_id="u26", requested_label="visitor", status="confirmed", fee_fen=0))
    s.flush()
    rows = {r["delegation_id"]: r for r in statistics.statistics(s, GD_SECRETARIAT)}
    gd = rows["GD"]
    assert (gd["target"], gd["approved_units"], gd["units"], gd["people"]) == (3500, 27, 28, 2)
    assert gd["units_by_status"] == {"approved": 27, "pending": 1} and gd["completion"] == round(27 / 3500, 4)
    assert sum(rows[m]["approved_units"] for m in members) == 26
    assert sum(rows[m]["target"] for m in members) == 3500
    assert all(rows[m]["approved_units"] == 1 for m in members)
    assert rows["GD-FS"]["units"] == 2 and rows[members[0]]["people"] == 1
    assert "FJ" not in rows and "MED" not in rows  # outside Guangdong's tree, though counted in its total
    everything = {r["delegation_id"]: r for r in statistics.statistics(s, COMMITTEE)}
    assert everything["MED"]["approved_units"] == 1 and everything["MED"]["people"] == 1
    assert (everything["MED"]["industry"], everything["MED"]["rolls_up_to"]) == (True, "GD")
    assert everything["FJ"]["approved_units"] == 1 and everything["GD"]["approved_units"] == 27
    own = {r["delegation_id"]: r for r in statistics.statistics(s, GZ_ADMIN)}
    assert list(own) == ["GD-GZ"] and own["GD-GZ"]["approved_units"] == 1


def test_admins_create_admins_only_in_their_scope(s):
    with pytest.raises(Forbidden):
        organisations.create_admin(s, GD_SECRETARIAT, {"username": "fj", "password": "x" * 10,
                                                "role": "sub_delegation_admin", "delegation_id": "FJ"})
    with pytest.raises(Forbidden):
        organisations.create_admin(s, GZ_ADMIN, {"username": "gz2", "password": "x" * 10,
                                          "role": "sub_delegation_admin", "delegation_id": "GD-GZ"})
    admin = organisations.create_admin(s, GD_SECRETARIAT, {"username": "gz", "password": "x" * 10,
                                                    "role": "sub_delegation_admin", "delegation_id": "GD-GZ"})
    assert organisations.authenticate_admin(s, "gz", "x" * 10).id == admin.id


def test_gate_staff_are_the_organiser_s_and_bound_to_no_delegation(s):
    with pytest.raises(Forbidden):  # not a delegation's to create
        organisations.create_admin(s, GD_SECRETARIAT, {"username": "gate1", "password": "x" * 10,
                                                       "role": "gate_staff", "delegation_id": "GD"})
    with pytest.raises(DomainError) as err:
        organisations.create_admin(s, COMMITTEE, {"username": "gate1", "password": "x" * 10,
                                                  "role": "gate_staff", "delegation_id": "GD"})
    assert (err.value.code, err.value.field) == ("delegation_not_allowed", "delegation_id")
    staff = organisations.create_admin(s, COMMITTEE, {"username": "gate1", "password": "x" * 10, "role": "gate_staff"})
    assert staff.role == "gate_staff" and staff.delegation_id is None
    assert organisations.authenticate_admin(s, "gate1", "x" * 10).id == staff.id


def test_edit_a_directly_attached_unit(s, emit):
    review = pending_unit(s)
    with pytest.raises(Forbidden):
        decisions.edit_unit(s, emit, review, {"name": "X"}, FS_ADMIN)
    with pytest.raises(DomainError):
        decisions.edit_unit(s, emit, review, {"category": "spaceship"}, GZ_ADMIN)
    decisions.edit_unit(s, emit, review, {"name": "广州市商务局", "category": None}, GZ_ADMIN)
    assert review.name == "广州市商务局" and emit.events[-1] == ("UnitEdited", {"unit_id": "u1", "name": "广州市商务局",
                                                                          "category": None})


def test_upgrading_a_delegation_paid_person_gives_the_budget_back(s, emit):
    personnel.set_centralised_payment(s, GD_SECRETARIAT, "GD", True, 20000)  # room for exactly one fee
    personnel.set_quota(s, emit, GD_SECRETARIAT, "CIIE-2026", USCC, vip=0, staff=1)
    review = pending_unit(s)
    review.status = "approved"
    paid_for, waiting = person(s, review, "p1"), person(s, review, "p2")
    personnel.confirm_payer(s, emit, ["p1"], True, GZ_ADMIN)
    assert s.get(Delegation, "GD").centralised_spent_fen == 20000
    personnel.upgrade(s, emit, "p1", "staff", GZ_ADMIN)
    assert (paid_for.label, paid_for.payer, paid_for.fee_fen) == ("staff", "free", 0)
    assert s.get(Delegation, "GD").centralised_spent_fen == 0
    assert emit.events[-1] == ("PersonnelUpgraded", {"person_id": "p1", "unit_id": review.unit_id,
                                                     "from_label": "visitor", "to_label": "staff"})
    personnel.confirm_payer(s, emit, ["p2"], True, GZ_ADMIN)  # the budget given back pays for another
    assert waiting.payer == "delegation" and s.get(Delegation, "GD").centralised_spent_fen == 20000


def test_the_enterprise_that_claimed_an_invitation_code_may_claim_it_again(s):
    """Registration claims last in a sign-up: a second claim by the same USCC is that
    enterprise's retry after an answer was lost, and names the unit finally created."""
    [code] = invitation_codes.issue_invitation_codes(s, GD_SECRETARIAT, "GD", 1)
    assert invitation_codes.claim_answer(s, code.code, "u-lost", "First Co", USCC) == {"ok": True,
                                                                                      "delegation_id": "GD"}
    assert invitation_codes.claim_answer(s, code.code, "u-retry", "First Co", USCC)["ok"]
    assert (code.used_by_unit_id, code.used_by_uscc) == ("u-retry", USCC)
    refused = invitation_codes.claim_answer(s, code.code, "u2", "Second Co", "91110000802100433B")
    assert (refused["ok"], refused["code"], refused["conflict"]) == (False, "invitation_code_used", True)
    assert not invitation_codes.claim_answer(s, code.code, "u3", "Third Co")["ok"]  # an older caller, no USCC
    assert code.used_by_unit_id == "u-retry"
