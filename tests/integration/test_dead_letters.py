"""Dead letters a person can act on: a message that keeps failing dies into its service's
dead-letter queue, is recorded with why, listed and replayed (by the API and the command)
once the cause is fixed, and applied exactly once however often it is replayed."""
from __future__ import annotations

import uuid

import pytest
from kombu import Queue
from sqlalchemy import func, select

from deploy import deadletters as command
from shared import deadletters
from shared.auth import issue_token
from shared.events import make_event
from shared.topology import dead_letter_queue_name, handler_queue_name
from services.review import models as review_models
from tests.infra import wait_for
from tests.integration.conftest import deps_of, handlers_of

QUEUE = handler_queue_name("review", "UnitSubmitted")
DEAD = dead_letter_queue_name("review")


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(f"{role}-{uuid.uuid4().hex[:6]}", role, "review")}


def unit_submitted(unit_id: str) -> dict:
    return make_event("UnitSubmitted", {"unit_id": unit_id, "edition": "CIIE-2026", "delegation_id": "GD-GZ",
                                        "uscc": "91350100M000100Y43", "name": "Dead Letter Co",
                                        "category": "government", "region": "mainland", "resubmission": False},
                      producer="registration")


def record_all(pump) -> int:
    """What the worker's dead-letter entrypoint does, for every message in review's queue."""
    deps, recorded = deps_of("review"), 0
    with pump.conn.SimpleQueue(Queue(DEAD, no_declare=True), no_ack=False) as queue:
        while True:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                return recorded
            with deps.uow() as (session, _):
                deadletters.record(session, deps.dead_letter_model, message.payload, dict(message.headers))
            message.ack()
            recorded += 1


def die(pump, env: dict) -> None:
    """Publish `env` and let review's consumer fail it through every retry."""
    deps = deps_of("review")
    deps.broker.publish("registration.events", "UnitSubmitted", env, message_id=env["id"])

    def broken(ctx):
        raise RuntimeError("review's rules are broken today")

    outcomes: list[str] = []
    wait_for(lambda: outcomes.extend(pump.drain("review", "UnitSubmitted", handlers={"UnitSubmitted": broken}))
             or "dead-lettered" in outcomes, timeout=15, message="the message to die")


def review_of(unit_id: str):
    with deps_of("review").uow() as (s, _):
        return s.get(review_models.UnitReview, unit_id)


@pytest.fixture
def clean(infra, pump):
    pump.purge(QUEUE)
    pump.purge(DEAD)
    with deps_of("review").uow() as (s, _):
        s.query(review_models.DeadLetter).delete()
    return pump


def test_a_dead_letter_is_recorded_listed_replayed_and_applied_once(apps, clean):
    pump, api = clean, apps["review"]
    env = unit_submitted(f"u-dead-{uuid.uuid4().hex[:6]}")
    die(pump, env)
    assert review_of(env["payload"]["unit_id"]) is None
    assert record_all(pump) == 1

    listed = api.get("/ops/dead-letters", headers=bearer("operations"))
    assert listed.status_code == 200 and listed.json["total"] == 1
    row = listed.json["items"][0]
    assert row["event_id"] == env["id"] and row["queue"] == QUEUE and row["event_type"] == "UnitSubmitted"
    assert row["reason"] == "RuntimeError: review's rules are broken today" and row["attempts"] == 3
    assert row["replayable"] and row["status"] == "dead" and row["times_dead"] == 1

    # the cause is fixed (the real handler table), then the message is replayed
    replay = api.post("/ops/dead-letters/replay", json={"ids": [row["id"]]}, headers=bearer("organising_committee"))
    assert replay.status_code == 200 and replay.json == {"replayed": [row["id"]], "skipped": []}
    outcomes: list[str] = []
    wait_for(lambda: outcomes.extend(pump.drain("review", "UnitSubmitted")) or outcomes, message="the replay")
    assert outcomes == ["applied"] and review_of(env["payload"]["unit_id"]).status == "pending"

    again = api.post("/ops/dead-letters/replay", json={"ids": [row["id"]]}, headers=bearer("operations"))
    assert again.json == {"replayed": [], "skipped": [{"id": row["id"], "reason": "already_replayed"}]}
    assert api.get("/ops/dead-letters", headers=bearer("operations")).json["total"] == 0
    shown = api.get("/ops/dead-letters?status=replayed", headers=bearer("operations")).json["items"]
    assert [(r["id"], r["replays"]) for r in shown] == [(row["id"], 1)]


def test_a_replay_of_an_event_already_applied_changes_nothing(apps, clean):
    """A dead letter replayed twice (the row's commit lost after the first publish) or after
    the event was applied another way: the inbox applies it once."""
    pump, deps = clean, deps_of("review")
    env = unit_submitted(f"u-twice-{uuid.uuid4().hex[:6]}")
    die(pump, env)
    record_all(pump)
    with deps.uow() as (s, _):
        row_id = s.scalars(select(review_models.DeadLetter.id)).one()
    deadletters.replay(deps, deadletters.Filter(ids=[row_id]))
    with deps.uow() as (s, _):  # as if the commit after the first publish had been lost
        s.get(review_models.DeadLetter, row_id).status = "dead"
    deadletters.replay(deps, deadletters.Filter(ids=[row_id]))
    outcomes: list[str] = []
    wait_for(lambda: outcomes.extend(pump.drain("review", "UnitSubmitted")) or len(outcomes) >= 2,
             message="both replays")
    assert sorted(outcomes) == ["applied", "duplicate"]
    with deps.uow() as (s, _):
        inbox = s.scalar(select(func.count()).select_from(review_models.InboxMessage)
                         .where(review_models.InboxMessage.event_id == env["id"]))
    assert inbox == 1


def test_dying_again_after_a_replay_updates_the_same_row(apps, clean):
    pump, deps = clean, deps_of("review")
    env = unit_submitted(f"u-again-{uuid.uuid4().hex[:6]}")
    die(pump, env)
    record_all(pump)
    deadletters.replay(deps, deadletters.Filter(event_type="UnitSubmitted"))
    die_again: list[str] = []

    def still_broken(ctx):
        raise RuntimeError("not fixed yet")

    wait_for(lambda: die_again.extend(pump.drain("review", "UnitSubmitted", handlers={"UnitSubmitted": still_broken}))
             or "dead-lettered" in die_again, timeout=15, message="the replay to die")
    assert die_again.count("retry-scheduled") == 2  # a replay has a fresh set of retries
    record_all(pump)
    with deps.uow() as (s, _):
        rows = s.scalars(select(review_models.DeadLetter)).all()
    assert [(r.status, r.times_dead, r.replays, r.reason) for r in rows] == [
        ("dead", 2, 1, "RuntimeError: not fixed yet")]


def test_a_refused_message_is_kept_but_never_replayed(apps, clean):
    pump, api, deps = clean, apps["review"], deps_of("review")
    env = unit_submitted("u-forged")
    consumer = deps.consumer(handlers_of("review"))
    assert consumer.process(QUEUE, env, 1, published_by="someone-else") == "refused"
    bad = unit_submitted("u-invalid")
    bad["payload"]["category"] = None
    assert consumer.process(QUEUE, bad, 1, published_by=deps.broker.user) == "dead-lettered"
    assert record_all(pump) == 2
    rows = api.get("/ops/dead-letters", headers=bearer("operations")).json["items"]
    assert {r["event_id"]: r["replayable"] for r in rows} == {env["id"]: False, bad["id"]: False}
    result = api.post("/ops/dead-letters/replay", json={"all": True}, headers=bearer("operations")).json
    assert result == {"replayed": [], "skipped": []}  # "all" takes the replayable ones only
    named = api.post("/ops/dead-letters/replay", json={"ids": [r["id"] for r in rows] + ["no-such-id"]},
                     headers=bearer("operations")).json
    assert named["replayed"] == []
    assert sorted(s["reason"] for s in named["skipped"]) == ["not_found", "refused_message", "refused_message"]
    assert pump.get_raw(QUEUE, timeout=0.5) is None
    assert review_of("u-forged") is None


def test_replay_must_name_what_and_only_operators_may(apps, clean):
    api = apps["review"]
    nothing = api.post("/ops/dead-letters/replay", json={}, headers=bearer("operations"))
    assert nothing.status_code == 400 and nothing.json["code"] == "nothing_chosen"
    for role in ("finance", "delegation_secretariat", "sub_delegation_admin"):
        assert api.get("/ops/dead-letters", headers=bearer(role)).status_code == 403
        assert api.post("/ops/dead-letters/replay", json={"all": True}, headers=bearer(role)).status_code == 403
    unit = {"Authorization": "Bearer " + issue_token("c-1", "unit_contact", "registration", unit_id="u-1")}
    assert api.get("/ops/dead-letters", headers=unit).status_code == 403
    assert api.get("/ops/dead-letters").status_code == 401
    too_many = api.post("/ops/dead-letters/replay", json={"ids": ["x"] * 501}, headers=bearer("operations"))
    assert too_many.status_code == 400
    bad = api.get("/ops/dead-letters?status=everything&per_page=100000", headers=bearer("operations"))
    assert bad.status_code == 400


def test_the_command_lists_and_replays(apps, clean, capsys):
    pump = clean
    env = unit_submitted(f"u-cmd-{uuid.uuid4().hex[:6]}")
    die(pump, env)
    record_all(pump)
    assert command.main(["review", "list"]) == 0
    out = capsys.readouterr().out
    assert "1 dead letter(s) of review (dead)" in out and "UnitSubmitted" in out and "broken today" in out
    with pytest.raises(SystemExit):
        command.main(["review", "replay"])  # names nothing
    capsys.readouterr()
    assert command.main(["review", "replay", "--all"]) == 0
    assert "replayed 1, skipped 0" in capsys.readouterr().out
    outcomes: list[str] = []
    wait_for(lambda: outcomes.extend(pump.drain("review", "UnitSubmitted")) or outcomes, message="the replay")
    assert outcomes == ["applied"]
