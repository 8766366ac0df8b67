"""Editions in one deployment: a previous edition's own registrations serve returning units and
credential reuse, and a previous edition's login is read-only (issue 18)."""
from __future__ import annotations

import pytest
from flask import Flask

from services.registration.domain import accounts, personnel, returning
from services.registration.models import PreviousPerson, PreviousUnit
from shared.auth import Principal, issue_token, verify_token
from shared.errors import DomainError, EditionClosed, Unauthorized
from shared.fair import load_profile
from shared.http import refuse_closed_edition, status_of
from tests.unit.test_registration_rules import CIPHER, delegations, person_data

CIIE = load_profile("ciie")
OLD_DAYS = CIIE.edition("CIIE-2025").days
NEW_DAYS = CIIE.edition("CIIE-2026").days
USCC = "91350100M000100Y43"


def test_a_login_opens_the_active_edition_or_a_previous_one_read_only():
    assert accounts.login_edition(None, "CIIE-2026", CIIE) == ("CIIE-2026", False)
    assert accounts.login_edition("CIIE-2026", "CIIE-2026", CIIE) == ("CIIE-2026", False)
    assert accounts.login_edition("CIIE-2025", "CIIE-2026", CIIE) == ("CIIE-2025", True)
    assert accounts.login_edition("CIIE-2024", "CIIE-2026", CIIE) == ("CIIE-2024", True)
    for wrong in ("CIIE-2027", "CIFTIS-2026", "nope"):  # a later edition, another fair's
        with pytest.raises(DomainError) as err:
            accounts.login_edition(wrong, "CIIE-2026", CIIE)
        assert err.value.code == "unknown_edition" and err.value.field == "edition"


def test_ciftis_previous_edition_login_is_read_only():
    ciftis = load_profile("ciftis")
    assert accounts.login_edition("CIFTIS-2026", "CIFTIS-2027", ciftis) == ("CIFTIS-2026", True)


def test_a_token_carries_its_edition_and_the_read_only_flag():
    p = verify_token(issue_token("u1", "unit_contact", "registration", unit_id="u1", edition="CIIE-2025",
                                 read_only=True))
    assert (p.edition, p.read_only) == ("CIIE-2025", True) and p.closed_for("CIIE-2026")
    p = verify_token(issue_token("u1", "unit_contact", "registration", unit_id="u1", edition="CIIE-2026"))
    assert (p.edition, p.read_only) == ("CIIE-2026", False) and not p.closed_for("CIIE-2026")
    assert p.closed_for("CIIE-2027")  # issued before operations opened the next edition
    admin = verify_token(issue_token("a", "organising_committee", "review"))
    assert admin.edition is None and not admin.closed_for("CIIE-2026")


def test_a_read_only_session_reads_and_changes_nothing():
    app = Flask(__name__)
    closed = Principal("u1", "unit_contact", "u1", None, edition="CIIE-2025", read_only=True)
    for method in ("GET", "HEAD"):
        with app.test_request_context("/units/me", method=method):
            refuse_closed_edition(closed, "CIIE-2026")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with app.test_request_context("/units/me", method=method):
            with pytest.raises(EditionClosed) as err:
                refuse_closed_edition(closed, "CIIE-2026")
            assert (status_of(err.value), err.value.code) == (409, "edition_closed")
            refuse_closed_edition(Principal("u2", "unit_contact", "u2", None, edition="CIIE-2026"), "CIIE-2026")


def registered_in_2025(s, emit, status="dispatched", credential_no="202500000042"):
    """A unit that registered here in CIIE-2025, one person with a card."""
    delegations(s)
    unit = accounts.sign_up(s, emit, {
        "uscc": USCC, "password": "Old-passw0rd", "name": "Example Co", "visitor_kind": "unit", "region": "mainland",
        "category": "enterprise", "phone": "13800138000", "email": "old@example.cn", "delegation_id": "GD-GZ"},
        "CIIE-2025", profile=CIIE)
    unit.info = {"name_en": "Example", "industry": "retail"}
    person = personnel.add_person(s, unit, person_data(name="赵六", entry_dates=[OLD_DAYS[1], OLD_DAYS[2]]),
                                  OLD_DAYS, CIPHER, profile=CIIE)
    person.status, person.credential_no = status, credential_no
    s.flush()
    return unit, person


def test_previous_editions_own_units_are_returning_accounts(session_for, emit):
    s = session_for("registration")
    old_unit, old_person = registered_in_2025(s, emit)
    assert returning.latest_previous_unit(s, USCC) is None  # without the edition: imported rows only
    prev = returning.verify_returning_by_password(s, USCC, "Old-passw0rd", "CIIE-2026")
    assert (prev.id, prev.edition, prev.name) == (old_unit.id, "CIIE-2025", "Example Co")
    with pytest.raises(Unauthorized):
        returning.verify_returning_by_password(s, USCC, "wrong-passw0rd", "CIIE-2026")
    assert returning.previous_unit_for_contact(s, USCC, phone="13800138000", current_edition="CIIE-2026").id == prev.id
    assert returning.mirror_previous_editions(s, "CIIE-2026", CIIE) == 1  # idempotent
    assert s.query(PreviousUnit).count() == 1 and s.query(PreviousPerson).count() == 1
    assert returning.mirror_previous_editions(s, "CIIE-2025", CIIE) == 0  # the edition itself is not previous

    unit = accounts.sign_up(s, emit, {
        "uscc": USCC, "password": "Passw0rd1", "name": "Example Co", "visitor_kind": "unit", "region": "mainland",
        "category": "enterprise", "phone": "13800138000", "email": "a@example.cn", "delegation_id": "GD-GZ"},
        "CIIE-2026", profile=CIIE)
    returning.carry_over_into(unit, prev)
    assert unit.info["name_en"] == "Example"
    [row] = returning.previous_personnel_with_reuse(s, unit, "CIIE-2026")
    assert row["id"] == old_person.id and row["reusable"] and row["credential_no"] == "202500000042"
    old = returning.get_previous_person(s, unit, old_person.id)
    assert old.card_face["entry_days"] == [2, 3] and old.check_passed
    assert "entry dates" in returning.reuse_refusal(unit, old, "CIIE-2026", old.label, [1])
    person = returning.request_reuse(s, unit, old, {"entry_dates": [NEW_DAYS[1], NEW_DAYS[2]]}, NEW_DAYS, CIPHER,
                                     "CIIE-2026", emit)
    assert person.reuse_credential_no == "202500000042" and person.status == "pending_lock"
    assert person.id_number_hash == old_person.id_number_hash


@pytest.mark.parametrize("status,credential_no", [("check_passed", None), ("awaiting_check", None),
                                                  ("check_failed", None)])
def test_no_reuse_without_an_issued_credential(session_for, emit, status, credential_no):
    s = session_for("registration")
    registered_in_2025(s, emit, status, credential_no)
    prev = returning.latest_previous_unit(s, USCC, "CIIE-2026", CIIE)
    [old] = s.query(PreviousPerson).filter_by(previous_unit_id=prev.id).all()
    assert not old.check_passed


def test_the_mirror_follows_the_previous_editions_people(session_for, emit):
    s = session_for("registration")
    _, person = registered_in_2025(s, emit, "in_production")
    returning.mirror_previous_editions(s, "CIIE-2026", CIIE)
    assert s.get(PreviousPerson, person.id).check_passed
    person.status = "cancelled"  # a cancelled record is no previous person
    s.flush()
    s.query(PreviousPerson).delete()
    returning.mirror_previous_editions(s, "CIIE-2026", CIIE)
    assert s.query(PreviousPerson).count() == 0


def test_an_imported_row_of_the_same_edition_stays_the_one_that_counts(session_for, emit):
    s = session_for("registration")
    returning.import_previous_edition(s, CIPHER, "CIIE-2025", [{
        "uscc": USCC, "name": "Imported Co", "category": "enterprise", "password": "Imported-passw0rd",
        "contact_phone": "13800138000", "contact_email": "imp@example.cn", "personnel": []}])
    registered_in_2025(s, emit)
    assert returning.mirror_previous_editions(s, "CIIE-2026", CIIE) == 0
    assert returning.latest_previous_unit(s, USCC, "CIIE-2026").name == "Imported Co"


def test_reuse_reaches_back_the_profiles_reuse_editions_ciie_and_ciftis():
    assert returning.reuse_reaches("CIIE-2025", "CIIE-2026", CIIE)
    assert returning.reuse_reaches("CIIE-2024", "CIIE-2026", CIIE)
    assert not returning.reuse_reaches("CIIE-2024", "CIIE-2027", CIIE)
    assert not returning.reuse_reaches("CIIE-2026", "CIIE-2026", CIIE)
    ciftis = load_profile("ciftis")  # reuse_editions 1
    assert returning.reuse_reaches("CIFTIS-2026", "CIFTIS-2027", ciftis)
    assert not returning.reuse_reaches("CIFTIS-2025", "CIFTIS-2027", ciftis)
    assert returning.reuse_reaches("CIIE-2027", "CIIE-2028", CIIE)  # an edition the profile does not list: by year


def test_ciftis_reuse_refusal_names_its_one_previous_edition(session_for, emit, monkeypatch):
    s = session_for("registration")
    _, person = registered_in_2025(s, emit)
    returning.mirror_previous_editions(s, "CIIE-2026", CIIE)
    old = s.get(PreviousPerson, person.id)
    old.edition = "CIFTIS-2025"
    unit = accounts.get_unit(s, old.previous_unit_id)
    assert returning.reuse_refusal(unit, old, "CIFTIS-2027", old.label, [2, 3], load_profile("ciftis")) == \
        "only credentials of the previous edition can be reused"


def test_invitations_reach_the_previous_editions_own_units(session_for, emit):
    s = session_for("registration")
    old_unit, _ = registered_in_2025(s, emit)
    [invited] = returning.invite_previous_units(s, "CIIE-2025", "CIIE-2026")
    assert invited.id == old_unit.id and invited.invitation_token
    assert returning.previous_unit_by_invitation(s, invited.invitation_token).uscc == USCC


def test_editions_status_names_the_active_the_closed_and_the_next_edition_ciie_and_ciftis(tmp_path):
    from sqlalchemy import create_engine

    from deploy.editions import status_lines, units_per_edition
    from services.registration.models import Base
    url = f"sqlite:///{tmp_path / 'registration.db'}"
    Base.metadata.create_all(create_engine(url))
    assert units_per_edition(url) == {}
    assert units_per_edition(f"sqlite:///{tmp_path / 'none' / 'x.db'}") is None  # does not answer
    lines = status_lines(CIIE, "CIIE-2026", {"CIIE-2025": 3, "CIIE-2026": 5})
    text = "\n".join(lines)
    assert "active edition: CIIE-2026" in lines[0]
    assert any("CIIE-2025" in line and "closed, read-only" in line and "units: 3" in line for line in lines)
    assert any("CIIE-2026" in line and "active" in line and "units: 5" in line for line in lines)
    assert any("CIIE-2027" in line and "next" in line and "units: 0" in line for line in lines)
    assert "reaches back 2 edition(s): CIIE-2025, CIIE-2024" in text and "FAIR_EDITION=CIIE-2027" in text
    last = status_lines(load_profile("ciftis"), "CIFTIS-2027", None)
    assert "units: ?" in last[1] and "no edition after" in last[-1]
