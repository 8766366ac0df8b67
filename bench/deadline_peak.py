"""Deadline-peak benchmark for billing, through the nginx gateway, against 1 and then 2
billing instances (API and worker each), in one run.

Each virtual unit has one person awaiting payment (delivered to billing as a real
PersonnelConfirmed event over RabbitMQ, before the peak: that preparation and what the
services do with it are not counted). At the peak every unit at once creates an order,
starts a QR payment, "pays" in the sandbox and waits for the signed callback to confirm it
(as the payment page does: one request that billing answers when the payment lands, no
polling). Printed per topology: confirmed orders per second, and p50/p99 latency of order
creation, of payment initiation and of pay-to-confirmed.

    .venv/bin/python -m bench.deadline_peak --units 600 --concurrency 32,128 --instances 1,2 [--pretix]

Besides the table, one JSON line per topology (`--json-only` prints only those): instances,
orders_per_s, p50/p99 of each step in ms, the CPU-seconds each service spent per confirmed
order (from the kernel's counters of its processes, so operations can size billing for N
cores; PostgreSQL's and RabbitMQ's whole servers and the SMTP server, an outside party run
as its own process, are listed apart), the load generator's own CPU, and the machine.
Only billing's workers run (every API answers): the units are made up, so the other
services' workers would spend the peak retrying and dead-lettering events about units
registration never saw. What the rest of the pipeline costs per person, with real units, is
bench.season's figure. Billing's CPU is counted until the stack is quiet again.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import resource
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from deploy.stack import Stack
from shared import auth
from shared.broker import Broker
from shared.events import make_event
from tests.infra import PgDatabases, Vhost, free_port, new_tag


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# Billing's own: the other services' workers would only retry and dead-letter the orders of units
# registration never saw (these are made up); what the whole pipeline costs per person, with
# real units, is bench.season's to measure.
PEAK_WORKERS = ("billing",)


def run_topology(instances: int, units: int, concurrency: int,
                 observe: Callable[[Stack], Callable[[], None]] | None = None,
                 worker_services: tuple[str, ...] = PEAK_WORKERS) -> dict:
    """One stack with `instances` billing instances, driven once. `observe(stack)` is called
    when the stack is up and returns what to call when the drive is over (a profiler)."""
    tag = new_tag()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dbs, vhost = PgDatabases(tag), Vhost(tag)
        urls, amqp, smtp = dbs.create(), vhost.create(), free_port()
        keys = work / "jwt"
        auth.generate_keypair(keys / "private.pem", keys / "public.pem")
        env = {f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()}
        env.update(AMQP_URI=amqp, JWT_PRIVATE_KEY_FILE=str(keys / "private.pem"),
                   JWT_PUBLIC_KEY_FILE=str(keys / "public.pem"), SMTP_PORT=str(smtp), ACCR_DATA_DIR=str(work),
                   PAYMENT_SANDBOX_CALLBACK_DELAY="0.05", REGISTRATION_DATA_KEY=base64.urlsafe_b64encode(
                       os.urandom(32)).decode(), SMS_MAX_PER_CLIENT_PER_HOUR="1000000", RETRY_DELAYS_MS="500,2000",
                   ACCR_SANDBOX="1")
        stack = Stack(workdir=work, env=env, mode="distributed", gateway_port=free_port(),
                      api_base_port=21000 + instances * 200, billing_api_instances=instances,
                      billing_worker_instances=instances, gunicorn_workers=int(os.environ.get("PEAK_GUNICORN_WORKERS", "2")), worker_services=worker_services)
        old_env = {k: os.environ.get(k) for k in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE")}
        os.environ.update(JWT_PRIVATE_KEY_FILE=env["JWT_PRIVATE_KEY_FILE"], JWT_PUBLIC_KEY_FILE=env["JWT_PUBLIC_KEY_FILE"])
        auth._read.cache_clear()
        try:
            # the SMTP server is an outside party's: its own process, its CPU reported apart
            stack.spawn("mailbox", [stack.python, "-m", "deploy.mailbox", "--port", str(smtp),
                                    "--dir", str(work / "mail")])
            stack.start(timeout=120)
            people, tokens = prepare(stack, amqp, units)
            finish = observe(stack) if observe else None
            cpu_before, client_before, outside_before = stack.cpu_seconds(), _own_cpu(), outside_cpu()
            machine_before = machine_ticks()
            result = drive(stack.url, people, tokens, concurrency)
            client_after = _own_cpu()
            result["busy_share"], result["steal_share"] = shares(machine_before, machine_ticks())
            # what the orders set going downstream (checks, production, messages) is theirs too
            wait_quiet(stack, amqp)
            cpu_after, outside_after = stack.cpu_seconds(), outside_cpu()
            if finish:
                finish()
            per_service: dict[str, float] = {}
            for name, after in (cpu_after | outside_after).items():
                service = name.split("-")[0]
                before = cpu_before.get(name, outside_before.get(name, 0.0))
                per_service[service] = per_service.get(service, 0.0) + after - before
            result["cpu_s"] = per_service
            result["client_cpu_s"] = client_after - client_before
            return result
        finally:
            stack.stop()
            vhost.delete()
            dbs.drop()
            for k, v in old_env.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
            auth._read.cache_clear()


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_ticks() -> list[int]:
    """The machine's CPU time so far, by kind (user, nice, system, idle, iowait, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]


def shares(before: list[int], after: list[int]) -> tuple[float, float]:
    """How busy the machine was between two readings, and how much time the hypervisor took
    from it (steal: a virtual machine's neighbours; figures taken under steal are low)."""
    spent = [a - b for a, b in zip(after, before)]
    total = sum(spent) or 1
    return round(1 - (spent[3] + spent[4]) / total, 3), round(spent[7] / total, 3)


def calibration_ms() -> float:
    """CPU time of a fixed Python loop now: this machine's speed varies (a shared virtual
    machine), so figures from different moments are compared through it."""
    started = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    return round((time.process_time() - started) * 1000, 1)


def machine() -> dict:
    return {"arch": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
            "load_avg_1m": round(os.getloadavg()[0], 2), "calibration_ms": calibration_ms()}


def json_line(instances: int, units: int, concurrency: int, r: dict) -> str:
    confirmed = max(1, r["confirmed"])
    return json.dumps({
        "bench": "deadline_peak", "instances": instances, "units": units, "clients": concurrency,
        "confirmed": r["confirmed"], "failures": len(r["failures"]), "elapsed_s": round(r["elapsed"], 2),
        "orders_per_s": round(r["throughput"], 2),
        **{"{}_ms_{}".format(*k.rsplit("_", 1)): round(v * 1000, 1) for k, v in r.items()
           if k.endswith(("_p50", "_p99"))},
        "cpu_s_per_order": {k: round(v / confirmed, 4) for k, v in sorted(r.get("cpu_s", {}).items())},
        "client_cpu_s": round(r.get("client_cpu_s", 0.0), 2),
        "machine": {**machine(), "busy_share": r.get("busy_share"), "steal_share": r.get("steal_share")}})


# The broker's and the databases' processes: their CPU is part of what an order costs.
OUTSIDE_PROCESSES = {"postgres": "postgresql", "beam.smp": "rabbitmq", "erl_child_setup": "rabbitmq"}


def outside_cpu() -> dict[str, float]:
    """CPU-seconds used so far by PostgreSQL's and RabbitMQ's processes (the whole server's:
    other databases on it count too, so measure on a quiet machine)."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = OUTSIDE_PROCESSES.get(text[text.index("(") + 1:text.rindex(")")])
        if name:
            fields = text[text.rindex(")") + 2:].split()
            used[name] = used.get(name, 0.0) + sum(int(f) for f in fields[11:13]) / tick
    return used


def prepare(stack: Stack, amqp: str, units: int) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Before the peak: every unit owes one fee (PersonnelConfirmed, as review publishes it), and
    the stack has finished with those events (their cost is not the peak's)."""
    people = [(uuid.uuid4().hex, uuid.uuid4().hex) for _ in range(units)]
    broker = Broker(amqp)
    for unit_id, person_id in people:  # delegations confirm: each unit owes one fee
        env = make_event("PersonnelConfirmed", {"person_id": person_id, "unit_id": unit_id, "delegation_id": "GD",
                                                "label": "visitor", "payer": "unit"}, producer="review")
        broker.publish("review.events", "PersonnelConfirmed", env, message_id=env["id"])
    broker.close()
    tokens = {u: auth.issue_token(u, "unit_contact", "registration", unit_id=u) for u, _ in people}
    wait_quiet(stack, amqp)
    return people, tokens


def wait_quiet(stack: Stack, amqp: str, timeout: float = 300) -> None:
    """Until no handler queue of a running worker holds a message and the stack's CPU has
    settled (a second in which all its processes together used under 5 % of a core)."""
    from kombu import Connection
    from shared.topology import SUBSCRIPTIONS, handler_queue_name
    queues = [handler_queue_name(s, e) for s in stack.worker_services for e in SUBSCRIPTIONS[s]]
    deadline = time.monotonic() + timeout
    with Connection(amqp) as conn:
        channel = conn.default_channel
        while time.monotonic() < deadline:
            waiting = sum(channel.queue_declare(queue=q, passive=True).message_count for q in queues)
            before = sum(stack.cpu_seconds().values())
            time.sleep(1.0)
            if waiting == 0 and sum(stack.cpu_seconds().values()) - before < 0.05:
                return
    raise RuntimeError("the stack never became quiet")


def drive(url: str, people: list[tuple[str, str]], tokens: dict[str, str], concurrency: int) -> dict:
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    timings: dict[str, list[float]] = {"create_order": [], "start_payment": [], "pay_to_confirmed": []}
    failures: list[str] = []

    def one(unit: tuple[str, str]) -> None:
        unit_id, person_id = unit
        h = {"Authorization": f"Bearer {tokens[unit_id]}"}
        s = session()
        try:
            t0 = time.monotonic()
            r = s.post(f"{url}/api/billing/orders", json={"person_ids": [person_id]},
                       headers={**h, "Idempotency-Key": uuid.uuid4().hex})
            t1 = time.monotonic()
            if r.status_code != 201:
                failures.append(f"order {r.status_code}")
                return
            order_no = r.json()["order_no"]
            r = s.post(f"{url}/api/billing/orders/{order_no}/payments", json={"method": "alipay"},
                       headers={**h, "Idempotency-Key": uuid.uuid4().hex})
            t2 = time.monotonic()
            if r.status_code != 201:
                failures.append(f"payment {r.status_code}")
                return
            s.post(f"{url}/api/billing/sandbox/payments/{r.json()['provider_txn_id']}/pay", json={})
            while time.monotonic() - t2 < 60:  # the answer waits for the payment: no polling
                asked = time.monotonic()
                if s.get(f"{url}/api/billing/orders/{order_no}", params={"while_status": "unpaid", "wait": "20"},
                         headers=h).json().get("status") == "paid":
                    break
                if time.monotonic() - asked < 1:  # answered at once: billing's waiters are all taken
                    time.sleep(0.25)
            else:
                failures.append("never confirmed")
                return
            t3 = time.monotonic()
            timings["create_order"].append(t1 - t0)
            timings["start_payment"].append(t2 - t1)
            timings["pay_to_confirmed"].append(t3 - t2)
        except requests.RequestException as exc:
            failures.append(type(exc).__name__)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, people))
    elapsed = time.monotonic() - started
    return {"confirmed": len(timings["pay_to_confirmed"]), "failures": failures, "elapsed": elapsed,
            "throughput": len(timings["pay_to_confirmed"]) / elapsed,
            **{f"{k}_p50": percentile(v, 50) for k, v in timings.items() if v},
            **{f"{k}_p99": percentile(v, 99) for k, v in timings.items() if v}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--concurrency", default="32", help="concurrent clients per run, e.g. 32,128")
    parser.add_argument("--instances", default="1,2", help="billing instances per run, e.g. 1,2")
    parser.add_argument("--json-only", action="store_true")
    parser.add_argument("--pretix", action="store_true",
                        help="then pretix in the same run, same orders and clients (bench/pretix/README.md)")
    args = parser.parse_args()
    clients = [int(n) for n in args.concurrency.split(",")]
    ours: dict[tuple[int, int], float] = {}
    if not args.json_only:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{args.units} units, {args.concurrency} concurrent clients")
    for instances in (int(n) for n in args.instances.split(",")):
        for concurrency in clients:
            r = run_topology(instances, args.units, concurrency)
            ours[(instances, concurrency)] = r["throughput"]
            print(json_line(instances, args.units, concurrency, r), flush=True)
            if not args.json_only:
                print_human(instances, concurrency, r)
    if args.pretix:
        from bench import pretix_peak
        for concurrency in clients:
            p = pretix_peak.run_pretix(args.units, concurrency)
            print(pretix_peak.json_line(args.units, concurrency, p), flush=True)
            for (instances, c), throughput in sorted(ours.items()):
                if c == concurrency:
                    ratio = throughput / p["throughput"] if p["throughput"] else None
                    print(json.dumps({"bench": "deadline_peak_vs_pretix", "instances": instances, "clients": c,
                                      "orders_per_s": round(throughput, 2),
                                      "pretix_orders_per_s": round(p["throughput"], 2),
                                      "ratio": round(ratio, 2) if ratio else None}), flush=True)


def print_human(instances: int, concurrency: int, r: dict) -> None:
    print(f"billing x{instances}, {concurrency} clients: {r['confirmed']} confirmed in {r['elapsed']:.1f}s = "
          f"{r['throughput']:.1f} orders/s; "
          f"create order p50 {r['create_order_p50'] * 1000:.0f} ms p99 {r['create_order_p99'] * 1000:.0f} ms; "
          f"start payment p50 {r['start_payment_p50'] * 1000:.0f} ms p99 {r['start_payment_p99'] * 1000:.0f} ms; "
          f"pay→confirmed p50 {r['pay_to_confirmed_p50'] * 1000:.0f} ms p99 {r['pay_to_confirmed_p99'] * 1000:.0f} ms; "
          f"failures {len(r['failures'])}{' ' + str(sorted(set(r['failures']))) if r['failures'] else ''}",
          flush=True)
    confirmed = max(1, r["confirmed"])
    print("  CPU-seconds per confirmed order: " + ", ".join(
        f"{k} {v / confirmed:.4f}" for k, v in sorted(r["cpu_s"].items()))
          + f"; load generator {r['client_cpu_s']:.1f} s in all", flush=True)
    billing = r["cpu_s"].get("billing", 0.0) / confirmed
    if billing:  # what a core of billing carries, for sizing (its share of the database and broker apart)
        print(f"  one core of billing carries about {1 / billing:.0f} orders/s; N cores about N times that", flush=True)


if __name__ == "__main__":
    main()
