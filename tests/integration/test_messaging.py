"""The shared outbox, inbox, retry and dead-letter machinery against real RabbitMQ and
PostgreSQL (exercised through the review service's tables)."""
from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from shared.events import make_event, parse_event
from shared.topology import dead_letter_queue_name, handler_queue_name
from services.registration import models as registration_models
from services.review import models as review_models
from tests.integration.conftest import deps_of, handlers_of

UNIT_SUBMITTED_Q = handler_queue_name("review", "UnitSubmitted")


def unit_submitted(unit_id: str) -> dict:
    return make_event("UnitSubmitted", {"unit_id": unit_id, "edition": "CIIE-2026", "delegation_id": "GD-GZ",
                                        "uscc": "91350100M000100Y43", "name": "Test Co", "category": "government",
                                        "region": "mainland", "resubmission": False}, producer="registration")


def test_outbox_row_commits_with_state_and_is_published_with_confirm(infra, pump):
    rt = deps_of("registration")
    pump.purge(UNIT_SUBMITTED_Q)
    with rt.uow() as (s, emit):
        event_id = emit("UnitSubmitted", unit_submitted("u-outbox")["payload"])
    msg = pump.get_raw(UNIT_SUBMITTED_Q)
    assert msg is not None and msg.payload["id"] == event_id
    assert msg.delivery_info["routing_key"] == "UnitSubmitted"
    assert msg.properties.get("delivery_mode") == 2  # persistent
    with rt.uow() as (s, _):
        row = s.get(registration_models.OutboxMessage, event_id)
        assert row.published_at is not None


def test_rolled_back_transaction_publishes_nothing(infra, pump):
    rt = deps_of("registration")
    pump.purge(UNIT_SUBMITTED_Q)
    try:
        with rt.uow() as (s, emit):
            emit("UnitSubmitted", unit_submitted("u-rollback")["payload"])
            raise RuntimeError("business rule failed")
    except RuntimeError:
        pass
    assert pump.get_raw(UNIT_SUBMITTED_Q, timeout=0.5) is None


def test_relay_publishes_rows_left_behind(infra, pump):
    """A crash between commit and publish leaves the row unsent; the relay sends it."""
    rt = deps_of("registration")
    pump.purge(UNIT_SUBMITTED_Q)
    env = unit_submitted("u-relay")
    from shared.db import utcnow
    with rt.uow() as (s, _):  # written without the post-commit publish
        s.add(registration_models.OutboxMessage(id=env["id"], event_type="UnitSubmitted", exchange="registration.events",
                                      routing_key="UnitSubmitted", body=json.dumps(env), created_at=utcnow(),
                                      attempts=0))
    assert pump.get_raw(UNIT_SUBMITTED_Q, timeout=0.3) is None
    assert rt.outbox.publish_pending() >= 1
    msg = pump.get_raw(UNIT_SUBMITTED_Q)
    assert msg is not None and msg.payload["id"] == env["id"]


def test_the_relay_leaves_a_just_committed_row_to_its_transaction(infra, pump):
    """The relay sends only rows older than RELAY_MIN_AGE: a younger one is being sent by the
    transaction that wrote it, and the two would send it twice."""
    import datetime as dt
    from shared.db import utcnow
    from shared.outbox import RELAY_MIN_AGE
    rt = deps_of("registration")
    pump.purge(UNIT_SUBMITTED_Q)
    env = unit_submitted("u-young")
    with rt.uow() as (s, _):
        s.add(registration_models.OutboxMessage(id=env["id"], event_type="UnitSubmitted", exchange="registration.events",
                                      routing_key="UnitSubmitted", body=json.dumps(env), created_at=utcnow(),
                                      attempts=0))
    assert rt.outbox.publish_pending(ids=[env["id"]], min_age=RELAY_MIN_AGE) == 0
    with rt.uow() as (s, _):  # a few seconds later it is a leftover (a crash between commit and send)
        s.get(registration_models.OutboxMessage, env["id"]).created_at -= dt.timedelta(seconds=RELAY_MIN_AGE + 1)
    assert rt.outbox.publish_pending(ids=[env["id"]], min_age=RELAY_MIN_AGE) == 1
    msg = pump.get_raw(UNIT_SUBMITTED_Q)
    assert msg is not None and msg.payload["id"] == env["id"]


def test_committed_events_are_sent_and_marked_without_reading_them_back(infra, pump):
    rt = deps_of("registration")
    pump.purge(UNIT_SUBMITTED_Q)
    with rt.uow() as (s, emit):
        event_id = emit("UnitSubmitted", unit_submitted("u-marked")["payload"])
    msg = pump.get_raw(UNIT_SUBMITTED_Q)
    assert msg is not None and msg.payload["id"] == event_id
    with rt.uow() as (s, _):
        row = s.get(registration_models.OutboxMessage, event_id)
        assert row.published_at is not None and row.attempts == 1
    assert rt.outbox.publish_pending(ids=[event_id]) == 0  # not sent again


def test_redelivered_event_is_applied_once(infra):
    rt = deps_of("review")
    from services.review.models import UnitReview
    consumer = rt.consumer(handlers_of("review"))
    env = unit_submitted("u-twice")
    assert consumer.process(UNIT_SUBMITTED_Q, env, 1, published_by=rt.broker.user) == "applied"
    assert consumer.process(UNIT_SUBMITTED_Q, env, 1, published_by=rt.broker.user) == "duplicate"
    with rt.uow() as (s, _):
        assert s.scalar(select(func.count()).select_from(review_models.InboxMessage)
                        .where(review_models.InboxMessage.event_id == env["id"])) == 1
        assert s.get(UnitReview, "u-twice").status == "pending"


def test_concurrent_twins_apply_once(infra):
    """Two consumers (think: two instances) get the same event at the same moment."""
    rt = deps_of("review")
    from services.review.handlers import HANDLERS, on_unit_submitted
    calls = []
    barrier = threading.Barrier(2)

    def slow_handler(ctx):
        calls.append(ctx.event.id)
        on_unit_submitted(ctx)

    consumer = rt.consumer({**HANDLERS, "UnitSubmitted": slow_handler})
    env = unit_submitted("u-race")
    results = []

    def run():
        barrier.wait()
        results.append(consumer.apply(UNIT_SUBMITTED_Q, parse_event(env)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert sorted(results) == [False, True]


REVIEW_DEAD_LETTERS = dead_letter_queue_name("review")


def test_failing_handler_retries_with_backoff_then_dead_letters(infra, pump):
    rt = deps_of("review")
    pump.purge(UNIT_SUBMITTED_Q)
    pump.purge(REVIEW_DEAD_LETTERS)
    attempts = []

    def broken(ctx):
        attempts.append(ctx.event.id)
        raise RuntimeError("downstream unavailable")

    env = unit_submitted("u-poison")
    rt.broker.publish("registration.events", "UnitSubmitted", env, message_id=env["id"])
    from tests.infra import wait_for
    outcomes = []
    wait_for(lambda: outcomes.extend(pump.drain("review", "UnitSubmitted", handlers={"UnitSubmitted": broken}))
             or "dead-lettered" in outcomes, timeout=15, message="dead letter")
    assert outcomes.count("retry-scheduled") == 2  # RETRY_DELAYS_MS=100,200: two retries
    assert len(attempts) == 3
    dead = pump.get_raw(REVIEW_DEAD_LETTERS)
    assert dead is not None and dead.payload["id"] == env["id"]
    assert dead.headers["x-original-queue"] == UNIT_SUBMITTED_Q and dead.headers["x-attempts"] == 3
    # the effect never happened
    with rt.uow() as (s, _):
        from services.review.models import UnitReview
        assert s.get(UnitReview, "u-poison") is None


def test_invalid_event_goes_straight_to_dead_letters(infra, pump):
    rt = deps_of("review")
    pump.purge(REVIEW_DEAD_LETTERS)
    env = unit_submitted("u-invalid")
    env["payload"]["category"] = None  # breaks the contract
    rt.broker.publish("registration.events", "UnitSubmitted", env)
    from tests.infra import wait_for
    outcomes = []
    wait_for(lambda: outcomes.extend(pump.drain("review", "UnitSubmitted")) or outcomes, message="a message")
    assert outcomes == ["dead-lettered"]
    dead = pump.get_raw(REVIEW_DEAD_LETTERS)
    assert dead is not None and "invalid event" in dead.headers["x-reason"]


def test_a_field_a_newer_producer_added_is_ignored_by_the_consumer(infra):
    """Producers build strictly; consumers read leniently, so adding a field to an event
    never dead-letters it at a consumer that was not yet updated."""
    rt = deps_of("review")
    env = unit_submitted("u-newer-producer")
    env["payload"]["added_in_a_later_release"] = "some value"
    assert parse_event(env).payload.get("added_in_a_later_release") is None
    assert rt.consumer(handlers_of("review")).process(UNIT_SUBMITTED_Q, env, 1, published_by=rt.broker.user) == "applied"
    with rt.uow() as (s, _):
        assert s.get(review_models.UnitReview, "u-newer-producer").status == "pending"
