"""The back office's rules: four eyes on refunds, statement lines matched by hand, finance's
spreadsheets, the pick-up desk (with collection on another's behalf, 代领) and badges of
another edition at the gate."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from services.billing.domain import exports, invoices, orders, refunds, transfers
from services.billing.models import PayableItem
from services.billing.providers import SandboxEInvoicing
from services.credentials import cards
from services.credentials.domain import gate, pickup
from services.credentials.models import Credential
from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.http import status_of
from tests.journey import photo_jpeg
from tests.unit.test_billing_rules import TTL, items, paid_order, transfer_data
from tests.unit.test_credentials_rules import FAIR_MORNING, SECRET, SHANGHAI


# --- refunds: four eyes ------------------------------------------------------------------------
def test_the_requester_of_a_refund_cannot_approve_it(session_for, emit):
    s = session_for("billing")
    paid_order(s, emit, "p1")
    s.get(PayableItem, "p1").status = "refundable"
    [view] = refunds.request_by_finance(s, ["p1"], "original", None, "fin-1")
    refund = refunds.get_refund(s, view["id"])
    with pytest.raises(Forbidden) as refused:
        refunds.approve_refund(s, refund, "fin-1")
    assert refused.value.code == "four_eyes" and status_of(refused.value) == 403 and refund.status == "requested"
    refunds.approve_refund(s, refund, "fin-2")
    assert refund.status == "approved" and refunds.refund_view(s, refund)["decided_by"] == "fin-2"


def test_the_requester_may_withdraw_their_own_request(session_for, emit):
    s = session_for("billing")
    paid_order(s, emit, "p1")
    s.get(PayableItem, "p1").status = "refundable"
    [view] = refunds.request_by_finance(s, ["p1"], "original", None, "fin-1")
    refunds.reject_refund(s, refunds.get_refund(s, view["id"]), "asked by mistake", "fin-1")
    assert s.get(PayableItem, "p1").status == "refundable"


# --- statement lines matched by hand ----------------------------------------------------------
def test_an_ambiguous_line_is_matched_by_hand(session_for, emit):
    s = session_for("billing")
    items(s, "u1", "a", "b")
    one = orders.create_order(s, emit, "u1", ["a"], TTL)
    two = orders.create_order(s, emit, "u1", ["b"], TTL)
    first = transfers.submit_transfer(s, one, transfer_data(remitter_name="Same Co"), photo_jpeg())
    second = transfers.submit_transfer(s, two, transfer_data(remitter_name="Same Co"), photo_jpeg())
    s.flush()
    rows = transfers.parse_statement_csv(b"bank_reference,value_date,amount,remitter_name\n"
                                         b"B1,2026-10-10,200.00,Same Co\nB2,2026-10-10,100.00,Same Co\n")
    assert transfers.import_statement(s, emit, rows) == {"matched": 0, "ambiguous": 1, "unmatched": 1, "skipped": 0}
    [line] = transfers.statement_lines(s, "ambiguous")
    assert {t["id"] for t in line["candidate_transfers"]} == {first.id, second.id}
    [small] = transfers.statement_lines(s, "unmatched")
    with pytest.raises(Conflict) as wrong:  # 100.00 cannot pay a 200.00 transfer
        transfers.match_by_hand(s, emit, small["id"], first.id, "fin-1")
    assert wrong.value.code == "amount_mismatch"
    with pytest.raises(NotFound):
        transfers.match_by_hand(s, emit, line["id"], "nope", "fin-1")
    matched = transfers.match_by_hand(s, emit, line["id"], second.id, "fin-1")
    assert matched["status"] == "matched" and matched["transfer_id"] == second.id
    assert two.status == "paid" and one.status == "unpaid" and second.decided_by.startswith("fin-1")
    assert emit.types()[-1] == "PaymentConfirmed"
    with pytest.raises(Conflict) as again:  # a line pays one transfer only
        transfers.match_by_hand(s, emit, line["id"], first.id, "fin-1")
    assert again.value.code == "line_matched"
    assert transfers.voucher_of(s, first.id)[1] == "image/jpeg"
    with pytest.raises(NotFound):
        transfers.voucher_of(s, "nope")


# --- spreadsheets -----------------------------------------------------------------------------
def test_exports_are_workbooks_with_a_row_each(session_for, emit):
    s = session_for("billing")
    order = paid_order(s, emit, "p1", "p2")
    invoices.issue_invoice(s, emit, order, {"kind": "ordinary", "title": "=HYPERLINK(\"x\")"}, SandboxEInvoicing(),
                           "26")
    s.flush()
    for kind in exports.KINDS:
        book = load_workbook(io.BytesIO(exports.export_xlsx(s, kind)))
        sheet = book[kind]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == exports.HEADINGS[kind]
        if kind == "orders":
            assert rows[1][0] == order.order_no and rows[1][2] == 400.0 and rows[1][8] == 2
        if kind == "invoices":
            assert rows[1][4] == "'=HYPERLINK(\"x\")"  # a formula is never run in finance's spreadsheet
    with pytest.raises(NotFound):
        exports.export_xlsx(s, "people")


def test_centralised_statements_per_delegation(session_for, emit):
    s = session_for("billing")
    for pid, delegation in (("p1", "GD"), ("p2", "GD"), ("p3", "FJ")):
        s.add(PayableItem(person_id=pid, unit_id="u1", label="visitor", payer="delegation", fee_fen=20000,
                          delegation_id=delegation, status="delegation_billed", created_at=utcnow()))
    s.flush()
    assert orders.centralised_statements(s) == [{"delegation_id": "FJ", "people": 1, "amount_fen": 20000},
                                                {"delegation_id": "GD", "people": 2, "amount_fen": 40000}]


# --- the pick-up desk ---------------------------------------------------------------------------
def card(s, name, unit="u1", unit_name="广州示例有限公司", status="ready_for_pickup", number=None) -> Credential:
    credential = Credential(id=new_id(), credential_no=number or f"2026{abs(hash(name)) % 10**8:08d}",
                            person_id=new_id(), unit_id=unit, label="visitor", status=status,
                            pickup_method="onsite", entry_dates=["2026-11-06"],
                            card={"name": name, "unit_name": unit_name}, photo=photo_jpeg(), queued_at=utcnow())
    s.add(credential)
    s.flush()
    return credential


def test_the_desk_finds_cards_by_name_unit_or_number(session_for):
    s = session_for("credentials")
    zhang = card(s, "张 三")
    card(s, "李四", unit="u2", unit_name="深圳另一家公司")
    assert [c["name"] for c in pickup.search(s, "张三")] == ["张 三"]
    assert [c["name"] for c in pickup.search(s, "深圳另一")] == ["李四"]
    assert [c["credential_no"] for c in pickup.search(s, zhang.credential_no)] == [zhang.credential_no]
    assert pickup.search(s, "99999999") == [] and all(c["photo"] is None for c in pickup.search(s, "公司"))
    with pytest.raises(DomainError):
        pickup.search(s, "  ")
    detail = pickup.card_at_desk(s, zhang.credential_no)
    assert detail["photo"].startswith("data:image/jpeg;base64,") and detail["unit_waiting"] == []


def test_a_colleague_collects_on_the_holder_s_behalf(session_for):
    s = session_for("credentials")
    holder = card(s, "张三", number="202600000101")
    colleague = card(s, "王五", number="202600000102", status="collected")
    stranger = card(s, "赵六", unit="u2", number="202600000103", status="collected")
    revoked = card(s, "钱七", number="202600000104", status="revoked")

    def refused(collector, proxy_no):
        with pytest.raises(DomainError) as err:
            pickup.hand_over_at_desk(s, holder.credential_no, collector, proxy_no, "ops-1")
        return err.value.code

    assert refused("proxy", None) == "proxy_required"
    assert refused("proxy", "202699999999") == "proxy_not_found"
    assert refused("proxy", holder.credential_no) == "proxy_is_holder"
    assert refused("proxy", stranger.credential_no) == "proxy_other_unit"
    assert refused("proxy", revoked.credential_no) == "proxy_card_invalid"
    assert refused("someone", None) == "invalid_collector"
    assert holder.status == "ready_for_pickup"
    done = pickup.hand_over_at_desk(s, holder.credential_no, "proxy", colleague.credential_no, "ops-1")
    assert (done["status"], done["collected_by"], done["proxy_credential_no"], done["handed_over_by"]) == (
        "collected", "proxy", colleague.credential_no, "ops-1")
    assert refused("holder", None) == "already_collected"


def test_only_cards_waiting_at_the_desk_are_handed_over(session_for):
    s = session_for("credentials")
    for status in ("queued", "revoked", "dispatched"):
        waiting = card(s, f"人{status}", status=status)
        with pytest.raises(Conflict) as err:
            pickup.hand_over_at_desk(s, waiting.credential_no, "holder", None, "ops-1")
        assert err.value.code == "not_at_desk"


# --- the gate: a badge of another edition ---------------------------------------------------------
def test_a_badge_of_another_edition_is_told_apart(session_for):
    s = session_for("credentials")
    old = cards.qr_reference("202500000123", "p-old", 1, SECRET)
    scanned = gate.scan_at_gate(s, gate.Scan(old, "N1", "in", "staff-1"), SECRET, SHANGHAI, lambda: FAIR_MORNING,
                                "CIIE-2026")
    assert (scanned["verdict"], scanned["admit"]) == ("wrong_edition", False)
    ours = cards.qr_reference("202600000999", "p-x", 1, SECRET)  # this edition's number, never issued
    assert gate.scan_at_gate(s, gate.Scan(ours, "N1", "in", "staff-1"), SECRET, SHANGHAI, lambda: FAIR_MORNING,
                             "CIIE-2026")["verdict"] == "unknown"
    assert gate.scan_at_gate(s, gate.Scan("hello", "N1", "in", "staff-1"), SECRET, SHANGHAI, lambda: FAIR_MORNING,
                             "CIIE-2026")["verdict"] == "unknown"


def test_finance_sees_the_payee_of_a_refund_to_another_account_masked(session_for, emit):
    s = session_for("billing")
    paid_order(s, emit, "p1", method="transfer")
    s.get(PayableItem, "p1").status = "refundable"
    payee = {"name": "Example Co", "account": "6222020200112233", "bank": "Bank of China", "bank_code": "104584000003"}
    [view] = refunds.request_for_unit(s, "u1", ["p1"], "other_account", payee, "u1")
    assert view["payee"] == {**payee, "account": "****2233"}
    assert refunds.get_refund(s, view["id"]).payee["account"] == "6222020200112233"  # kept whole to pay it
