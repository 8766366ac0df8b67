"""Bulk personnel import from the XLSX template: the same checks as one by one, a result
per line, good lines saved and bad ones not."""
import io

import pytest
from openpyxl import Workbook, load_workbook

from services.registration.domain import bulk_import, quotas
from services.registration.models import CIPHER, Person
from services.registration.schemas import PersonInSchema
from shared.errors import DomainError
from tests.journey import random_resident_id
from tests.unit.test_registration_rules import DAYS, sign_up


def workbook(*lines, header=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header or [h for _, h in bulk_import.COLUMNS])
    for line in lines:
        sheet.append(list(line))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def line(**over):
    values = dict(zip([k for k, _ in bulk_import.COLUMNS], bulk_import.EXAMPLE))
    values.update({"id_number": random_resident_id(), **over})
    return [values[k] for k, _ in bulk_import.COLUMNS]


def test_the_template_is_what_the_import_reads():
    content = bulk_import.template(DAYS)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [c.value for c in sheet[1]] == [h for _, h in bulk_import.COLUMNS]
    [(number, values)] = bulk_import.read_rows(content)
    assert number == 2 and PersonInSchema().load(bulk_import.to_request(values))["id_type"] == "resident_id"


def test_each_line_gets_the_checks_of_one_by_one(session_for, emit):
    s = session_for("registration")
    unit = sign_up(s, emit)
    twice = random_resident_id()
    content = workbook(
        line(),                                                   # 2: good
        line(id_number="110105194912310021"),                     # 3: bad check digit (the domain rule)
        line(id_number=twice),                                    # 4: good
        line(id_number=twice, name="李四"),                        # 5: the same person again
        line(entry_dates="2026-12-01"),                           # 6: not a fair day
        line(gender="未知"),                                       # 7: the schema refuses it
        line(region_type="其他国家/地区", id_type="护照", id_number="E12345678", name="约翰"),  # 8: not Latin
        line(requested_label="VIP"),                              # 9: no VIP quota
        line(name="Jane Doe", region_type="其他国家/地区", id_type="护照", id_number="E7654321",
             nationality="United Kingdom"),                       # 10: good
    )
    result = bulk_import.import_people(s, unit, content, PersonInSchema(), DAYS, CIPHER.cipher)
    by_row = {r["row"]: r for r in result["rows"]}
    assert (result["saved"], result["failed"]) == (3, 6)
    assert [n for n, r in by_row.items() if r["ok"]] == [2, 4, 10]
    assert (by_row[3]["code"], by_row[3]["field"]) == ("invalid_id_number", "id_number")
    assert by_row[5]["code"] == "person_already_registered"
    assert by_row[6]["code"] == "entry_date_outside_fair"
    assert (by_row[7]["code"], by_row[7]["field"]) == ("validation_error", "gender")
    assert by_row[8]["code"] == "name_not_latin"
    assert by_row[9]["code"] == "label_over_quota"
    saved = s.query(Person).filter_by(unit_id=unit.id).all()
    assert len(saved) == 3 and {p.status for p in saved} == {"saved"}
    assert all(p.privacy_consent_at is not None for p in saved)
    quotas.record_quota(s, unit.uscc, vip=1, staff=0)
    again = bulk_import.import_people(s, unit, workbook(line(requested_label="VIP")), PersonInSchema(), DAYS,
                                      CIPHER.cipher)
    assert again["saved"] == 1


@pytest.mark.parametrize("content,code", [
    (b"", "file_required"), (b"not a workbook", "unreadable_file"),
    (None, "bad_template"),
])
def test_a_file_that_is_not_the_template_is_refused(content, code):
    if content is None:
        content = workbook(header=["name", "whatever"])
    with pytest.raises(DomainError) as err:
        bulk_import.read_rows(content)
    assert (err.value.code, err.value.field) == (code, "file")


def test_at_most_500_people_per_file():
    with pytest.raises(DomainError) as err:
        bulk_import.read_rows(workbook(*[line() for _ in range(501)]))
    assert err.value.code == "too_many_rows"


def test_previous_edition_orders_are_shown_to_the_unit_that_came_back(session_for, emit):
    """往届订单查询: through the previous account at once; having registered anew, once approved."""
    from services.registration.domain import returning
    from services.registration.schemas import PreviousEditionImportSchema
    s = session_for("registration")
    order = {"order_no": "V20251012093000123456789", "amount_fen": 40000, "status": "paid", "paid_at": "2025-10-12",
             "people": 2, "invoice_no": "25440000000000000007"}
    data = PreviousEditionImportSchema().load({"edition": "CIIE-2025", "units": [{
        "uscc": "91350100M000100Y43", "name": "Example Co", "category": "enterprise", "contact_phone": "13800138000",
        "contact_email": "a@example.cn", "orders": [order]}]})
    returning.import_previous_edition(s, CIPHER.cipher, data["edition"], data["units"])
    unit = sign_up(s, emit)
    assert returning.previous_orders(s, unit) == []  # registered anew, not yet approved
    unit.status = "approved"
    assert returning.previous_orders(s, unit) == [{**order, "edition": "CIIE-2025"}]
    other = sign_up(s, emit, uscc="91110000802100433B")
    other.status = "approved"
    assert returning.previous_orders(s, other) == []  # another unit's orders are never shown
