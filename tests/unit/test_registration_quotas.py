"""A unit sees its VIP and staff quotas (applied / remaining) and asks for a free label
only within them."""
import pytest

from services.registration.domain import personnel, quotas
from services.registration.handlers import HANDLERS
from services.registration.models import CIPHER
from shared.errors import Conflict
from tests.unit.test_registration_rules import DAYS, person_data, sign_up


def test_the_unit_sees_its_quota_and_asks_for_free_labels_only_within_it(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    assert quotas.unit_quota(s, unit)["labels"] == [
        {"label": "vip", "quota": 0, "applied": 0, "remaining": 0},
        {"label": "staff", "quota": 0, "applied": 0, "remaining": 0}]
    with pytest.raises(Conflict) as err:
        personnel.add_person(s, unit, person_data(requested_label="vip"), DAYS, CIPHER.cipher)
    assert (err.value.code, err.value.field) == ("label_over_quota", "requested_label")
    quotas.record_quota(s, unit.uscc, vip=1, staff=2)
    vip = personnel.add_person(s, unit, person_data(requested_label="vip"), DAYS, CIPHER.cipher)
    with pytest.raises(Conflict):
        personnel.add_person(s, unit, person_data(requested_label="vip"), DAYS, CIPHER.cipher)
    staff = personnel.add_person(s, unit, person_data(requested_label="staff"), DAYS, CIPHER.cipher)
    visitor = personnel.add_person(s, unit, person_data(), DAYS, CIPHER.cipher)
    assert quotas.unit_quota(s, unit)["labels"] == [
        {"label": "vip", "quota": 1, "applied": 1, "remaining": 0},
        {"label": "staff", "quota": 2, "applied": 1, "remaining": 1}]
    # editing a record keeps its own label; moving another one to a full label is refused
    personnel.update_person(s, unit, vip, {"requested_label": "vip", "position": "CEO"}, DAYS, CIPHER.cipher)
    with pytest.raises(Conflict):
        personnel.update_person(s, unit, visitor, {"requested_label": "vip"}, DAYS, CIPHER.cipher)
    personnel.update_person(s, unit, visitor, {"requested_label": "staff"}, DAYS, CIPHER.cipher)
    # review's label wins over the request; a cancelled person gives the label back
    staff.label = "visitor"
    vip.status = "cancelled"
    assert quotas.applied(s, unit) == {"vip": 0, "staff": 1}


def test_quota_changed_is_projected(session_for, emit):
    from services.registration.models import QuotaView
    s = session_for("registration")
    unit = sign_up(s, emit)
    for vip, staff in ((2, 3), (1, 0)):
        HANDLERS["QuotaChanged"](type("Ctx", (), {"session": s, "emit": emit, "payload": {
            "uscc": unit.uscc, "unit_id": unit.id, "vip": vip, "staff": staff}})())
    row = s.get(QuotaView, unit.uscc)
    assert (row.vip, row.staff) == (1, 0)


def test_review_keys_quotas_of_units_without_a_uscc():
    from shared.validators import is_valid_unit_key
    assert is_valid_unit_key("91350100M000100Y43") and is_valid_unit_key("HRB-98765")
    assert is_valid_unit_key("P0123456789ABCDEF0")
    assert not is_valid_unit_key("91350100M000100Y44")  # a mistyped USCC is not a registration number
    assert not is_valid_unit_key("-AB") and not is_valid_unit_key("ab cd")
