"""The unit asks for an invoice to be reversed (退票) with the reason, whether a red-letter
confirmation form was applied for and whether the invoice was deducted or booked; without
a form on a booked invoice it is told to confirm in the tax system within 72 hours.
Finance approves (the invoice is reversed) or rejects the request."""
import datetime as dt

import pytest

from services.billing.domain import invoices, reversal_requests
from services.billing.providers import SandboxEInvoicing
from shared.errors import Conflict, DomainError, NotFound
from tests.unit.test_billing_rules import paid_order

NOW = dt.datetime(2026, 10, 20, 8, 0)


def invoiced(s, emit, person="p1"):
    order = paid_order(s, emit, person)
    return invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "Example Co"}, SandboxEInvoicing(),
                                  "2644")


@pytest.mark.parametrize("red_letter,booked,notice", [(False, True, True), (True, True, False),
                                                       (False, False, False)])
def test_the_72_hour_notice(red_letter, booked, notice):
    assert reversal_requests.needs_tax_confirmation(red_letter, booked) is notice


def test_the_unit_asks_and_finance_approves(session_for, emit):
    s = session_for("billing")
    invoice = invoiced(s, emit)
    with pytest.raises(NotFound):  # another unit's invoice
        reversal_requests.request_reversal(s, emit, "u2", invoice.invoice_no, {"reason": "x"})
    with pytest.raises(DomainError) as err:
        reversal_requests.request_reversal(s, emit, "u1", invoice.invoice_no, {"reason": "  "})
    assert err.value.field == "reason"
    row = reversal_requests.request_reversal(
        s, emit, "u1", invoice.invoice_no, {"reason": "抬头有误", "red_letter_applied": False, "booked": True,
                                            "remarks": "财务已入账"}, now=NOW)
    assert row.confirm_by == NOW + dt.timedelta(hours=72)
    event, payload = emit.events[-1]
    assert event == "InvoiceReversalRequested" and payload["notice_72h"] is True
    assert payload["confirm_by"].startswith("2026-10-23T08:00")
    with pytest.raises(Conflict):  # one open request per invoice
        reversal_requests.request_reversal(s, emit, "u1", invoice.invoice_no, {"reason": "again"})
    assert invoice.status == "issued"  # nothing changes until finance acts
    reversal_requests.approve(s, emit, row.id, "finance-1")
    assert (row.status, invoice.status, invoice.reversal_reason, invoice.red_letter_applied) == \
        ("approved", "reversed", "抬头有误", False)
    assert emit.events[-1][0] == "InvoiceReversed" and emit.events[-1][1]["notice_72h"] is True
    with pytest.raises(Conflict):
        reversal_requests.approve(s, emit, row.id, "finance-1")
    [shown] = reversal_requests.requests_of(s, unit_id="u1")
    assert shown["invoice_no"] == invoice.invoice_no and shown["status"] == "approved" and shown["notice_72h"]


def test_finance_rejects_with_a_note(session_for, emit):
    s = session_for("billing")
    invoice = invoiced(s, emit)
    row = reversal_requests.request_reversal(s, emit, "u1", invoice.invoice_no,
                                             {"reason": "不需要发票", "red_letter_applied": True, "booked": True})
    assert row.confirm_by is None  # a red-letter form was applied for: no 72-hour step
    with pytest.raises(DomainError):
        reversal_requests.reject(s, emit, row.id, "finance-1", " ")
    reversal_requests.reject(s, emit, row.id, "finance-1", "已过开票当月")
    assert (row.status, invoice.status) == ("rejected", "issued")
    assert emit.events[-1] == ("InvoiceReversalRejected", {"request_id": row.id, "invoice_id": invoice.id,
                                                           "unit_id": "u1", "invoice_no": invoice.invoice_no,
                                                           "note": "已过开票当月"})
    assert reversal_requests.requests_of(s, status="requested") == []
    # a refused request can be made again
    again = reversal_requests.request_reversal(s, emit, "u1", invoice.invoice_no, {"reason": "抬头有误"})
    assert again.status == "requested"
