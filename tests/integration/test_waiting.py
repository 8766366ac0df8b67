"""Waiting instead of polling, against real PostgreSQL: a payment page's request for its order
is answered the moment the provider's callback pays it (woken by the commit's NOTIFY, in
another thread as it would be in another process), and no later than it asked."""
from __future__ import annotations

import threading
import time
import uuid

from services.billing.domain import orders
from services.billing.models import SandboxTransaction
from shared.changes import ChangeWaiters, notify
from shared.db import Database
from tests.integration.conftest import deps_of
from tests.integration.test_services import billing_order, unit_headers


def pay_later(apps, txn_id: str, delay: float) -> threading.Thread:
    """The provider's signed callback after `delay` seconds, through billing's HTTP API."""
    rt = deps_of("billing")

    def callback():
        time.sleep(delay)
        with rt.db.transaction() as s:  # the payer has paid at the provider, which signs its notification
            txn = s.get(SandboxTransaction, txn_id)
            txn.status = "TRADE_SUCCESS"
            params = rt.payment_provider.notification(txn)
        assert apps["billing"].post("/callbacks/sandbox", data=params).status_code == 200

    thread = threading.Thread(target=callback)
    thread.start()
    return thread


def test_a_waiting_request_is_answered_when_the_order_is_paid(apps):
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order = billing_order(apps, unit_id, headers)
    payer = pay_later(apps, order["txn_id"], 0.5)
    started = time.monotonic()
    r = apps["billing"].get(f"/orders/{order['order_no']}?while_status=unpaid&wait=10", headers=headers)
    waited = time.monotonic() - started
    payer.join(10)
    assert r.status_code == 200 and r.json["status"] == "paid"
    assert 0.4 < waited < 5, waited  # woken by the payment, not by the end of the wait


def test_a_waiting_request_ends_when_its_wait_does(apps):
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order = billing_order(apps, unit_id, headers)
    started = time.monotonic()
    r = apps["billing"].get(f"/orders/{order['order_no']}?while_status=unpaid&wait=0.6", headers=headers)
    assert r.status_code == 200 and r.json["status"] == "unpaid"
    assert time.monotonic() - started >= 0.6
    # already past the status waited on: answered at once
    started = time.monotonic()
    r = apps["billing"].get(f"/orders/{order['order_no']}?while_status=paid&wait=20", headers=headers)
    assert r.status_code == 200 and r.json["status"] == "unpaid" and time.monotonic() - started < 2


def test_waiting_is_bounded_and_validated(apps):
    unit_id = uuid.uuid4().hex
    headers = unit_headers(unit_id)
    order = billing_order(apps, unit_id, headers)
    for query in ("wait=26&while_status=unpaid", "wait=-1&while_status=unpaid", "wait=5&while_status=gone",
                  "wait=abc&while_status=unpaid"):
        r = apps["billing"].get(f"/orders/{order['order_no']}?{query}", headers=headers)
        assert r.status_code == 400 and r.json["code"], (query, r.json)
    # another unit's order is not found, and is not waited on
    started = time.monotonic()
    r = apps["billing"].get(f"/orders/{order['order_no']}?while_status=unpaid&wait=5",
                            headers=unit_headers(uuid.uuid4().hex))
    assert r.status_code == 404 and time.monotonic() - started < 5.5


def test_change_waiters_wake_across_connections_and_stay_bounded(infra):
    db = Database(infra["urls"]["billing"])
    waiters = ChangeWaiters(db, "test_changes_channel", max_waiters=1)
    changed = threading.Event()

    def commit_change():
        time.sleep(0.3)
        changed.set()
        with db.transaction() as s:
            notify(s, "test_changes_channel", "key-1")

    threading.Thread(target=commit_change).start()
    started = time.monotonic()
    assert waiters.wait("key-1", changed.is_set, 10) is True
    assert time.monotonic() - started < 1.5  # the NOTIFY woke it, not its own recheck (2 s)
    # past the bound, a second waiter is answered at once with what is true now
    blocker = threading.Thread(target=waiters.wait, args=("key-2", lambda: False, 1.0))
    blocker.start()
    deadline = time.monotonic() + 5
    while waiters.waiting() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    assert waiters.wait("key-3", lambda: False, 5) is False
    assert time.monotonic() - started < 0.5
    blocker.join(5)
    assert waiters.waiting() == 0
    db.engine.dispose()


def test_change_waiters_on_sqlite_wake_after_commit(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    waiters = ChangeWaiters(db, "local_channel")
    changed = threading.Event()

    def commit_change():
        time.sleep(0.3)
        changed.set()
        with db.transaction() as s:
            notify(s, "local_channel", "k")

    threading.Thread(target=commit_change).start()
    started = time.monotonic()
    assert waiters.wait("k", changed.is_set, 10) is True
    assert time.monotonic() - started < 1.5


def test_order_status_reads_only_the_units_order(apps):
    unit_id = uuid.uuid4().hex
    order = billing_order(apps, unit_id, unit_headers(unit_id))
    with deps_of("billing").uow() as (s, _):
        assert orders.order_status(s, order["order_no"], unit_id) == "unpaid"
        assert orders.order_status(s, order["order_no"], "someone-else") is None
