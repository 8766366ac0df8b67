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
