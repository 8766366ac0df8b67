"""Soak benchmark: journeys at a steady rate for ten minutes through the distributed stack,
with RabbitMQ restarted a third of the way in and the credentials worker killed (SIGKILL,
then started again) two thirds of the way in.

Each journey signs a unit up, submits it with one person, pays by QR code in the sandbox and
is then left alone: whether it completed, and how long its events took, is read from the
services' databases at the end (payment confirmed → badge dispatched), so the generator
polls nothing while journeys are in flight and its own CPU stays small (it is reported).

Printed: journeys started and completed, duplicated effects (a second confirmed payment,
credential or payment email for one journey), lost events (a journey that never completed,
an outbox row never published, a dead letter), p50/p99 of payment→dispatched, the stack's
memory before and after, and the generator's CPU.

    .venv/bin/python -m bench.soak                      # 10 minutes, 6 journeys a minute
    .venv/bin/python -m bench.soak --minutes 3 --rate 10
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg2

from tests.e2e.test_journey import pay_order, registered_unit
from tests.infra import PrivateBroker
from tests.journey import Portal
from tests.stacks import running_stack

SERVICES = ("registration", "review", "credentials", "billing", "notifications")
GRACE_SECONDS = 180  # after the last journey is paid, how long the stack may take to finish


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def sql(stack: Any, service: str, query: str, *args: Any) -> list[tuple]:
    url = stack.database_urls[service].replace("postgresql+psycopg2://", "postgresql://", 1)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


class Soak:
    def __init__(self, stack: Any, broker: PrivateBroker, minutes: float, rate: float):
        self.stack, self.broker, self.minutes, self.rate = stack, broker, minutes, rate
        self.journeys: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.faults: list[str] = []
        self._lock = threading.Lock()

    def journey(self) -> None:
        try:
            portal, person, email, _ = registered_unit(self.stack)
            portal.submit_unit()
            portal.wait_payable([person["id"]], timeout=600)  # polls once a second at most (see Portal)
            order = pay_order(portal, [person["id"]])
            with self._lock:
                self.journeys.append({"person_id": person["id"], "order_no": order["order_no"], "email": email})
        except Exception as exc:  # the journey's own client failed (e.g. the gateway refused during a fault)
            with self._lock:
                self.failures.append(f"{type(exc).__name__}: {str(exc)[:120]}")

    def inject(self, at: float, name: str, fault: Any) -> threading.Timer:
        def run() -> None:
            started = time.monotonic()
            fault()
            self.faults.append(f"{name} at {at:.0f}s took {time.monotonic() - started:.1f}s")
        timer = threading.Timer(at, run)
        timer.start()
        return timer

    def kill_and_restart_worker(self) -> None:
        self.stack.kill_worker("credentials")
        time.sleep(5)  # the worker stays down a while: its messages wait in the queues
        self.stack.start_worker("credentials")

    def run(self) -> dict[str, Any]:
        duration = self.minutes * 60
        rss_before = self.stack.rss_bytes()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        timers = [self.inject(duration / 3, "broker restart", self.broker.restart),
                  self.inject(2 * duration / 3, "credentials worker kill", self.kill_and_restart_worker)]
        interval, launched = 60.0 / self.rate, 0
        with ThreadPoolExecutor(max_workers=64) as pool:
            while time.monotonic() - started < duration:
                pool.submit(self.journey)
                launched += 1
                time.sleep(max(0.0, started + launched * interval - time.monotonic()))  # a steady rate
        for timer in timers:
            timer.join()
        paid_by = time.monotonic()
        results = self.wait_complete(paid_by + GRACE_SECONDS)
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        generator_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        return {**results, "launched": launched, "paid": len(self.journeys), "client_failures": self.failures,
                "faults": self.faults, "rss_before": rss_before, "rss_after": self.stack.rss_bytes(),
                "generator_cpu_s": generator_cpu, "wall_s": time.monotonic() - started}

    def wait_complete(self, deadline: float) -> dict[str, Any]:
        while True:
            done = self.completed()
            if len(done) == len(self.journeys) and not self.unpublished() or time.monotonic() > deadline:
                break
            time.sleep(2)
        latencies = [d for d in done.values() if d is not None]
        return {"completed": len(done), "lost_journeys": len(self.journeys) - len(done),
                "duplicates": self.duplicates(), "unpublished": self.unpublished(), "dead_letters": self.dead_letters(),
                "latency_p50": percentile(latencies, 50), "latency_p99": percentile(latencies, 99)}

    def completed(self) -> dict[str, float | None]:
        """Journeys whose badge was dispatched: payment confirmed → dispatched, in seconds."""
        confirmed = dict(sql(self.stack, "billing", "SELECT o.order_no, p.confirmed_at FROM payments p JOIN orders o "
                                                    "ON o.id = p.order_id WHERE p.status = 'confirmed'"))
        dispatched = dict(sql(self.stack, "credentials", "SELECT person_id, dispatched_at FROM credentials WHERE "
                                                         "dispatched_at IS NOT NULL AND status <> 'revoked'"))
        done: dict[str, float | None] = {}
        for j in self.journeys:
            if j["person_id"] in dispatched:
                paid = confirmed.get(j["order_no"])
                done[j["person_id"]] = (dispatched[j["person_id"]] - paid).total_seconds() if paid else None
        return done

    def duplicates(self) -> dict[str, int]:
        payments = sql(self.stack, "billing", "SELECT count(*) FROM (SELECT order_id FROM payments WHERE status = "
                                              "'confirmed' GROUP BY order_id HAVING count(*) > 1) d")[0][0]
        credentials = sql(self.stack, "credentials", "SELECT count(*) FROM (SELECT person_id FROM credentials WHERE "
                                                     "status <> 'revoked' GROUP BY person_id HAVING count(*) > 1) d")[0][0]
        messages = sql(self.stack, "notifications", "SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY "
                                                    "source_event_id, channel, template HAVING count(*) > 1) d")[0][0]
        emails = sum(1 for j in self.journeys
                     if len([m for m in self.stack.mailbox.to(j["email"]) if j["order_no"] in m["subject"]
                             and "支付成功" in m["subject"]]) > 1)
        return {"payments": payments, "credentials": credentials, "messages": messages, "payment_emails": emails}

    def unpublished(self) -> int:
        return sum(sql(self.stack, s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0] for s in SERVICES)

    def dead_letters(self) -> int:
        return sum(sql(self.stack, s, "SELECT count(*) FROM dead_letters")[0][0] for s in SERVICES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=6, help="journeys started per minute")
    args = parser.parse_args(argv)
    Portal.poll_interval = 1.0  # a client that looks every 50 ms would measure itself
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.minutes:g} minutes at {args.rate:g} journeys a minute", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        broker = PrivateBroker(Path(tmp) / "rabbitmq")
        broker.start()
        try:
            with running_stack(Path(tmp) / "stack", amqp=broker.uri, RETRY_DELAYS_MS="1000,5000,30000,60000",
                               RPC_TIMEOUT_SECONDS="5") as stack:
                r = Soak(stack, broker, args.minutes, args.rate).run()
        finally:
            broker.close()
    print(f"journeys: {r['launched']} started, {r['paid']} paid, {r['completed']} completed (badge dispatched), "
          f"{r['lost_journeys']} lost; client failures {len(r['client_failures'])} "
          f"{sorted(set(r['client_failures']))[:5]}")
    print(f"duplicated effects: {r['duplicates']}")
    print(f"lost events: {r['lost_journeys']} journeys, {r['unpublished']} outbox rows unpublished, "
          f"{r['dead_letters']} dead letters")
    print(f"payment confirmed → dispatched: p50 {r['latency_p50']:.1f} s, p99 {r['latency_p99']:.1f} s")
    print(f"stack memory (RSS, all processes): {r['rss_before'] / 2**20:.0f} MiB before, "
          f"{r['rss_after'] / 2**20:.0f} MiB after")
    print(f"faults: {'; '.join(r['faults'])}")
    print(f"generator CPU: {r['generator_cpu_s']:.1f} s over {r['wall_s']:.0f} s "
          f"({100 * r['generator_cpu_s'] / r['wall_s']:.1f}% of one core)")
    clean = not r["lost_journeys"] and not any(r["duplicates"].values()) and not r["unpublished"]
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
