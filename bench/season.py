"""The registration season at scale, end to end: N units each submit M people, and the whole
pipeline runs until every person's badge is produced — delegation review (automatic for units
the business registry knows), payment (one order per unit, QR in the sandbox), the police
background check (the reference client), production.

    .venv/bin/python -m bench.season --units 20 --people 10 [--clients 16]

Before the clock starts, each unit signs up, fills in its details and saves its M people with
their photos (not submitted). Timed: C concurrent clients take the units one by one: submit
each person, submit the unit, wait for billing's payable items, create the order, pay. Then
nothing polls the APIs: the times are read from the services' databases once a second (when
each person's credential was produced), so the load generator's CPU stays small (reported;
it includes the test mailbox, an SMTP server in this process).

Printed, one JSON line: people produced, people/s end to end (people produced / seconds from
the first person's submission to the last credential produced), p50/p99 of a person's
submission → credential produced, the CPU-seconds each service spent per person produced
(its processes' own counters, over the timed part), and the machine.
"""
from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2

from bench.deadline_peak import machine, percentile
from tests.journey import Portal, random_phone, random_uscc
from tests.stacks import running_stack


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sql(url: str, query: str, *args: object) -> list[tuple]:
    with psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://", 1)) as conn, conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


def registered(url: str, people: int) -> tuple[Portal, list[str]]:
    """A unit the registry knows (automatic review), its details filled in, `people` saved."""
    portal = Portal(url)
    portal.poll_interval = 1.0  # a unit's own waits (its payable items) look once a second
    uscc, name = random_uscc(), f"季节测试贸易有限公司{uuid.uuid4().hex[:6]}"
    portal.set_registry(uscc, name)
    portal.sign_up(uscc, name, f"season-{uuid.uuid4().hex[:8]}@example.cn", random_phone())
    portal.login(uscc)
    portal.fill_info()
    return portal, [portal.add_person(submit=False)["id"] for _ in range(people)]


def season(url: str, units: list[tuple[Portal, list[str]]], clients: int) -> dict[str, float]:
    """Every unit submits its people, then pays for them; {person id: submitted at (epoch)}."""
    submitted: dict[str, float] = {}
    lock = threading.Lock()

    def one(unit: tuple[Portal, list[str]]) -> None:
        portal, person_ids = unit
        for pid in person_ids:
            at = time.time()
            portal.call("POST", f"registration/units/me/personnel/{pid}/submit", 200)
            with lock:
                submitted[pid] = at
        portal.submit_unit()
        portal.wait_payable(person_ids, timeout=600)
        order = portal.create_order(person_ids)
        assert order.status_code == 201, order.text
        payment = portal.start_payment(order.json()["order_no"])
        assert payment.status_code == 201, payment.text
        portal.sandbox_pay(payment.json()["provider_txn_id"])

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, units))
    return submitted


def produced(credentials_url: str, person_ids: list[str]) -> dict[str, float]:
    rows = sql(credentials_url, "SELECT person_id, EXTRACT(EPOCH FROM produced_at) FROM credentials "
                                "WHERE produced_at IS NOT NULL AND person_id = ANY(%s)", person_ids)
    return {pid: float(at) for pid, at in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--people", type=int, default=10, help="people per unit")
    parser.add_argument("--clients", type=int, default=16, help="units submitting at once")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the last credential")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        with ThreadPoolExecutor(4) as pool:  # not timed: sign-ups hash passwords, uploads carry photos
            units = list(pool.map(lambda _: registered(stack.url, args.people), range(args.units)))
        cpu_before, stack_before = own_cpu(), stack.cpu_seconds()
        started = time.time()
        submitted = season(stack.url, units, args.clients)
        person_ids = list(submitted)
        deadline, done = time.monotonic() + args.timeout, {}
        while time.monotonic() < deadline:
            done = produced(stack.database_urls["credentials"], person_ids)
            if len(done) == len(person_ids):
                break
            time.sleep(1.0)  # one query a second: the generator stays out of the way
        client_cpu = own_cpu() - cpu_before
        per_service: dict[str, float] = {}
        for name, after in stack.cpu_seconds().items():
            service = name.split("-")[0]
            per_service[service] = per_service.get(service, 0.0) + after - stack_before.get(name, 0.0)
    latencies = [(done[p] - submitted[p]) * 1000 for p in person_ids if p in done]
    span = (max(done.values()) - started) if done else float("nan")
    line = {"bench": "season", "units": args.units, "people_per_unit": args.people, "clients": args.clients,
            "people": len(person_ids), "produced": len(done), "span_s": round(span, 1),
            "people_per_s": round(len(done) / span, 2) if done else 0.0,
            "submit_to_produced_ms_p50": round(percentile(latencies, 50)) if latencies else None,
            "submit_to_produced_ms_p99": round(percentile(latencies, 99)) if latencies else None,
            "cpu_s_per_person": {k: round(v / max(1, len(done)), 4) for k, v in sorted(per_service.items())},
            "client_cpu_s": round(client_cpu, 2), "machine": machine()}
    print(json.dumps(line), flush=True)
    print(f"season: {len(done)}/{len(person_ids)} people produced in {span:.1f}s = {line['people_per_s']} people/s; "
          f"submission → produced p50 {line['submit_to_produced_ms_p50']} ms, p99 {line['submit_to_produced_ms_p99']} ms; "
          f"load generator {client_cpu:.1f} s CPU", flush=True)


if __name__ == "__main__":
    main()
