"""Review's rules for the back office: an admin's own account (contact details)."""
from __future__ import annotations

import pytest

from services.review.domain import organisations
from services.review.models import Admin, AuditEntry
from shared.errors import DomainError, Unauthorized
from shared.passwords import hash_password


@pytest.fixture
def s(session_for, emit):
    session = session_for("review")
    organisations.seed_defaults(session, emit, "CIIE-2026")
    return session


def admin(s, role="delegation_secretariat", delegation="GD", active=True) -> organisations.Actor:
    s.add(Admin(id="a1", username="gd-sec", password_hash=hash_password("Secret-pass1"), role=role,
                delegation_id=delegation, active=active, token_version=0))
    s.flush()
    return organisations.Actor("a1", role, delegation)


def test_an_admin_changes_their_own_phone_and_email_with_their_password(s):
    actor = admin(s)
    changed = organisations.change_own_contact(s, actor, "Secret-pass1", {"phone": "13800138000",
                                                                         "email": "sec@example.cn"})
    assert (changed.phone, changed.email) == ("13800138000", "sec@example.cn")
    entry = s.query(AuditEntry).filter_by(action="admin.contact").one()
    assert "13800138000" not in str(entry.after) and "sec@" not in str(entry.after)  # no personal data logged
    organisations.change_own_contact(s, actor, "Secret-pass1", {"email": ""})  # an empty value clears
    assert changed.email is None and changed.phone == "13800138000"


def test_contact_change_needs_the_right_password_and_something_to_change(s):
    actor = admin(s)
    with pytest.raises(DomainError) as wrong:
        organisations.change_own_contact(s, actor, "not-it", {"phone": "13800138000"})
    assert wrong.value.field == "current_password" and not isinstance(wrong.value, Unauthorized)
    with pytest.raises(DomainError):
        organisations.change_own_contact(s, actor, "Secret-pass1", {})


def test_a_deactivated_admin_has_no_own_account(s):
    actor = admin(s, active=False)
    with pytest.raises(Unauthorized):
        organisations.own_admin(s, actor)


# --- the review desk ---------------------------------------------------------------------------
def _unit(s, unit_id, delegation="GD-GZ", submitted_at=None, status="pending"):
    import datetime as dt
    from services.review.models import UnitReview
    review = UnitReview(unit_id=unit_id, edition="CIIE-2026", uscc="91350100M000100Y43", name=f"Unit {unit_id}",
                        category="government", region="mainland", delegation_id=delegation, status=status,
                        automatic=False, submissions=1, submitted_at=submitted_at or dt.datetime(2026, 10, 1, 3))
    s.add(review)
    s.flush()
    return review


def test_the_queue_filters_by_beijing_submission_dates(s):
    import datetime as dt
    from services.review.domain import decisions
    _unit(s, "late-evening-utc", submitted_at=dt.datetime(2026, 10, 1, 17))  # 2 October 01:00 in Beijing
    _unit(s, "morning", submitted_at=dt.datetime(2026, 10, 1, 3))            # 1 October 11:00 in Beijing
    committee = organisations.Actor("oc", "organising_committee", None)
    first = decisions.queue_page(s, committee, {"status": "pending", "submitted_from": dt.date(2026, 10, 1),
                                                "submitted_to": dt.date(2026, 10, 1)})
    assert [u.unit_id for u in first["items"]] == ["morning"]
    second = decisions.queue_page(s, committee, {"status": "pending", "submitted_from": dt.date(2026, 10, 2)})
    assert [u.unit_id for u in second["items"]] == ["late-evening-utc"]


def test_a_batch_goes_unit_by_unit_and_reports_each(session_for, emit):
    """Each unit in its own transaction: one that cannot be decided does not stop the others."""
    import contextlib
    from services.review.domain import decisions
    session = session_for("review")
    organisations.seed_defaults(session, emit, "CIIE-2026")
    _unit(session, "mine")
    _unit(session, "other", delegation="GD-FS")
    _unit(session, "done", status="approved")

    @contextlib.contextmanager
    def uow():
        with session.begin_nested():
            yield session, emit
    gz = organisations.Actor("gz", "sub_delegation_admin", "GD-GZ")
    outcomes = decisions.decide_batch(uow, gz, "return", ["mine", "other", "done", "mine"], "缺少营业执照")
    assert [(o["unit_id"], o["ok"], o.get("code")) for o in outcomes] == [
        ("mine", True, None), ("other", False, "not_found"), ("done", False, "not_pending")]
    assert emit.types().count("UnitReturned") == 1


def test_the_file_history_lists_submissions_and_decisions_in_order(s, emit):
    import datetime as dt
    from services.review.domain import decisions, unit_files
    from services.review.models import UnitSubmission
    review = _unit(s, "u-history")
    s.add(UnitSubmission(id="s1", unit_id="u-history", number=1, at=dt.datetime(2026, 10, 1, 3)))
    gz = organisations.Actor("gz", "sub_delegation_admin", "GD-GZ")
    decisions.return_for_modification(s, emit, review, "请上传清晰的证件", gz)
    scope = unit_files.file_scope(s, "u-history", gz)
    assert [(h["action"], h["comment"]) for h in scope["history"]] == [("unit.submit", None),
                                                                       ("unit.return", "请上传清晰的证件")]
    fs = organisations.Actor("fs", "sub_delegation_admin", "GD-FS")
    from shared.errors import NotFound
    with pytest.raises(NotFound):
        unit_files.file_scope(s, "u-history", fs)


def test_people_from_registration_are_filtered_again_by_reviews_scope(s):
    from services.review.domain import unit_files
    _unit(s, "u-gz")
    _unit(s, "u-fs", delegation="GD-FS")
    rows = [{"person_id": "p1", "unit_id": "u-gz", "name": "甲"}, {"person_id": "p2", "unit_id": "u-fs", "name": "乙"},
            {"person_id": "p3", "unit_id": "unknown", "name": "丙"}]
    gz = organisations.Actor("gz", "sub_delegation_admin", "GD-GZ")
    assert [p["person_id"] for p in unit_files.people_in_view(s, gz, rows)] == ["p1"]
    assert unit_files.scoped_unit_ids(s, gz) == ["u-gz"]


# --- quotas: the template and the line-by-line import ---------------------------------------------
def test_the_quota_template_is_what_the_import_reads():
    import io
    from openpyxl import load_workbook
    from services.review.domain import personnel
    book = load_workbook(io.BytesIO(personnel.quota_template()))
    assert [c.value for c in book.worksheets[0][1]] == ["uscc", "vip", "staff"]
    assert personnel.quota_file_rows("t.xlsx", personnel.quota_template()) == []


def test_a_quota_line_is_checked_on_its_own():
    from services.review.domain import personnel
    assert personnel.parse_quota_line(["91350100m000100y43", "2", "5.0"]) == {"uscc": "91350100M000100Y43", "vip": 2,
                                                                              "staff": 5}
    for row, code in ((["91350100M000100Y44", "1", "1"], "invalid_uscc"), (["91350100M000100Y43", "x", "1"],
                                                                           "bad_number"),
                      (["91350100M000100Y43", "1.5", "1"], "bad_number"), (["91350100M000100Y43", "-1", "1"],
                                                                          "invalid_quota"),
                      (["91350100M000100Y43", "10001", "0"], "invalid_quota"), ([], "invalid_uscc")):
        with pytest.raises(DomainError) as err:
            personnel.parse_quota_line(row)
        assert err.value.code == code, row


def test_a_quota_import_is_all_lines_or_none_and_reports_each(s, emit):
    from services.review.domain import personnel
    from services.review.models import Quota
    gd = organisations.Actor("gd", "delegation_secretariat", "GD")
    a, b = "91350100M000100Y43", "91110000600037341L"
    content = f"uscc,vip,staff\n{a},2,5\n{b},x,1\n\n{a},1,1\n".encode()
    with pytest.raises(personnel.QuotaImportRefused) as refused:
        personnel.import_quota_lines(s, emit, gd, "CIIE-2026", "q.csv", content)
    lines = refused.value.lines
    assert [(line["row"], line["ok"], line["code"]) for line in lines] == [
        (2, True, None), (3, False, "bad_number"), (5, False, "duplicate_uscc")]
    assert lines[2]["duplicate_of"] == 2
    s.rollback()  # what the unit of work does with the refusal: nothing stays
    assert s.query(Quota).count() == 0
    done = personnel.import_quota_lines(s, emit, gd, "CIIE-2026", "q.csv", f"uscc,vip,staff\n{a},2,5\n".encode())
    assert done["imported"] == 1 and done["lines"][0]["before"] is None
    again = personnel.import_quota_lines(s, emit, gd, "CIIE-2026", "q.csv", f"uscc,vip,staff\n{a},3,5\n".encode())
    assert again["lines"][0]["before"] == {"vip": 2, "staff": 5}
    assert personnel.list_quotas(s, gd, "CIIE-2026", {})["total"] == 1
    fj = organisations.Actor("fj", "delegation_secretariat", "FJ")
    assert personnel.list_quotas(s, fj, "CIIE-2026", {})["total"] == 0


# --- statistics --------------------------------------------------------------------------------
def test_daily_registrations_count_first_submissions_per_beijing_day(s):
    import datetime as dt
    from services.review.domain import statistics
    from services.review.models import UnitSubmission
    _unit(s, "d1")
    _unit(s, "d2")
    _unit(s, "d3", delegation="FJ")
    s.add_all([UnitSubmission(id="a", unit_id="d1", number=1, at=dt.datetime(2026, 10, 1, 17)),   # 2 Oct Beijing
               UnitSubmission(id="b", unit_id="d1", number=2, at=dt.datetime(2026, 10, 3, 2)),    # a resubmission
               UnitSubmission(id="c", unit_id="d2", number=1, at=dt.datetime(2026, 10, 2, 1)),    # 2 Oct
               UnitSubmission(id="d", unit_id="d3", number=1, at=dt.datetime(2026, 10, 2, 1))])   # Fujian
    s.flush()
    gd = organisations.Actor("gd", "delegation_secretariat", "GD")
    days = statistics.daily_registrations(s, gd, None, dt.date(2026, 10, 1), dt.date(2026, 10, 3))
    assert days == [{"date": "2026-10-01", "units": 0}, {"date": "2026-10-02", "units": 2},
                    {"date": "2026-10-03", "units": 0}]
    committee = organisations.Actor("oc", "organising_committee", None)
    assert sum(d["units"] for d in statistics.daily_registrations(s, committee, None, dt.date(2026, 10, 1),
                                                                  dt.date(2026, 10, 3))) == 3
    from shared.errors import NotFound
    with pytest.raises(NotFound):
        statistics.daily_registrations(s, gd, "FJ", dt.date(2026, 10, 1), dt.date(2026, 10, 3))
    assert [u.unit_id for u in statistics.units_in_scope(s, gd, None)] == ["d1", "d2"]


def test_exports_are_xlsx_with_text_kept_as_text():
    import io
    from openpyxl import load_workbook
    from services.review.domain import exports
    content = exports.workbook("units", ("uscc", "id"), [("91350100M000100Y43", "0012345"), ("x", None)])
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows == [("uscc", "id"), ("91350100M000100Y43", "0012345"), ("x", None)]


# --- audit ---------------------------------------------------------------------------------------
def test_the_audit_log_is_searched_by_actor_target_and_time(s, emit):
    import datetime as dt
    from services.review.domain import decisions
    from services.review.models import AuditEntry
    actor = admin(s, role="sub_delegation_admin", delegation="GD-GZ")
    review = _unit(s, "u-audit")
    review.name, review.uscc = "审计示例公司", "91110000600037341L"
    decisions.return_for_modification(s, emit, review, "请补充", actor)
    other = organisations.Actor("a2", "sub_delegation_admin", "GD-GZ")
    decisions.approve(s, emit, _unit(s, "u-other"), other)
    s.query(AuditEntry).filter_by(target_id="u-other").one().at = dt.datetime(2026, 1, 1)
    committee = organisations.Actor("oc", "organising_committee", None)

    def search(**filters):
        return [(e.action, e.target_id) for e in organisations.audit_page(s, committee, filters)["items"]]
    assert search(actor="gd-sec") == [("unit.return", "u-audit")]  # by username
    assert search(actor="gd-") == [("unit.return", "u-audit")]      # or a part of it
    assert search(target="91110000600037341L") == search(target="审计示例") == [("unit.return", "u-audit")]
    assert search(since=dt.datetime(2025, 12, 31), until=dt.datetime(2026, 1, 2)) == [("unit.approve", "u-other")]
    assert search(since=dt.datetime(2026, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=8)))) == [
        ("unit.return", "u-audit")]
    [entry] = organisations.audit_page(s, committee, {"actor": "gd-sec"})["items"]
    assert entry.admin_username == "gd-sec" and entry.target_name == "审计示例公司"
    fj = organisations.Actor("fj", "delegation_secretariat", "FJ")
    assert organisations.audit_page(s, fj, {})["total"] == 0  # another delegation's actions stay unseen


def test_the_queue_filter_by_delegation_takes_its_sub_delegations_and_stays_in_scope(s):
    from services.review.domain import decisions
    _unit(s, "gz")
    _unit(s, "fj", delegation="FJ")
    committee = organisations.Actor("oc", "organising_committee", None)
    assert [u.unit_id for u in decisions.queue_page(s, committee, {"status": "pending",
                                                                   "delegation_id": "GD"})["items"]] == ["gz"]
    gz = organisations.Actor("gz", "sub_delegation_admin", "GD-GZ")
    assert decisions.queue_page(s, gz, {"status": "pending", "delegation_id": "FJ"})["total"] == 0
