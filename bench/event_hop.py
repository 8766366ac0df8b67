"""One event hop: from the commit of the producer's transaction to the consumer applying it,
on an idle stack and on a stack under the deadline peak's load.

The producer is review's own outbox (`Outbox.unit_of_work` on review's database, published
after commit as every service does); the event is PersonnelConfirmed, which billing's worker
consumes through RabbitMQ (a handler queue, its inbox, a payable item). The hop is measured
from the producer's commit (the session's after-commit moment) to the consumer's inbox row
(stamped in billing's transaction as it applies the event, before that transaction's own
commit, which adds about a millisecond). Both clocks are this machine's.

    .venv/bin/python -m bench.event_hop --events 200 --interval 0.05 [--load-units 600]

Idle: the stack is up and does nothing else; events are sent one at a time, `interval`
apart. Loaded: the same while bench.deadline_peak's drive runs (32 clients). One JSON line
per case: events, p50/p99/max in ms, and the machine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import threading
import time
import uuid

from sqlalchemy import event, select

from bench.deadline_peak import machine, percentile, run_topology
from deploy.stack import Stack
from services.billing import models as billing_models
from services.review import models as review_models
from shared.broker import Broker
from shared.db import Database
from shared.outbox import Outbox


def send_hops(stack: Stack, count: int, interval: float, stop: threading.Event | None = None) -> dict[str, float]:
    """PersonnelConfirmed from review's outbox, one every `interval` s: {event id: commit time}."""
    env = stack.full_env("review")
    db = Database(env["REVIEW_DATABASE_URL"])
    outbox = Outbox("review", db, review_models.OutboxMessage, Broker(env["AMQP_URI"], "review"))
    committed: dict[str, float] = {}
    try:
        for _ in range(count):
            if stop is not None and stop.is_set():
                break
            with outbox.unit_of_work() as (session, emit):
                event_id = emit("PersonnelConfirmed", {"person_id": uuid.uuid4().hex, "unit_id": uuid.uuid4().hex,
                                                       "delegation_id": "GD", "label": "visitor", "payer": "unit"})
                event.listen(session, "after_commit",
                             lambda _s, eid=event_id: committed.__setitem__(eid, time.time()), once=True)
            time.sleep(interval)  # the pace of the events, not a wait for a condition
    finally:
        outbox.broker.close()
        db.engine.dispose()
    return committed


def applied_at(stack: Stack, ids: list[str], timeout: float = 120) -> dict[str, float]:
    """When billing's worker applied each event (its inbox row), waiting until all are in."""
    db = Database(stack.full_env("billing")["BILLING_DATABASE_URL"])
    inbox = billing_models.InboxMessage
    deadline, found = time.monotonic() + timeout, {}
    try:
        while time.monotonic() < deadline:
            with db.transaction() as session:
                rows = session.execute(select(inbox.event_id, inbox.processed_at)
                                       .where(inbox.event_id.in_(ids))).all()
            found = {eid: at.replace(tzinfo=dt.timezone.utc).timestamp() for eid, at in rows}
            if len(found) == len(ids):
                break
            time.sleep(0.5)
    finally:
        db.engine.dispose()
    return found


def hop_line(load: str, committed: dict[str, float], applied: dict[str, float]) -> dict:
    hops = [(applied[eid] - at) * 1000 for eid, at in committed.items() if eid in applied]
    return {"bench": "event_hop", "load": load, "events": len(committed), "applied": len(hops),
            "p50_ms": round(percentile(hops, 50), 1) if hops else None,
            "p99_ms": round(percentile(hops, 99), 1) if hops else None,
            "max_ms": round(max(hops), 1) if hops else None, "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--load-units", type=int, default=600, help="the deadline peak's units under load; 0: idle only")
    args = parser.parse_args()
    lines: list[dict] = []

    def idle(stack: Stack):
        committed = send_hops(stack, args.events, args.interval)
        lines.append(hop_line("idle", committed, applied_at(stack, list(committed))))
        return lambda: None

    run_topology(1, 0, 1, observe=idle)
    if args.load_units:
        sent: dict[str, float] = {}

        def loaded(stack: Stack):
            stop = threading.Event()
            sender = threading.Thread(target=lambda: sent.update(send_hops(stack, args.events, args.interval, stop)))
            sender.start()

            def finish() -> None:
                stop.set()
                sender.join()
                lines.append(hop_line(f"deadline peak, {args.load_units} units, 32 clients", sent,
                                      applied_at(stack, list(sent))))
            return finish

        run_topology(1, args.load_units, 32, observe=loaded)
    for line in lines:
        print(json.dumps(line), flush=True)
        print(f"  event hop ({line['load']}): {line['applied']}/{line['events']} applied, p50 {line['p50_ms']} ms, "
              f"p99 {line['p99_ms']} ms, max {line['max_ms']} ms", flush=True)


if __name__ == "__main__":
    main()
