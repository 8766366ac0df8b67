"""Page-load benchmark of the portal: N concurrent users browsing the unit pages.

Starts the distributed topology (a gunicorn per API and one for the portal, nginx in
front, PostgreSQL, RabbitMQ), prepares one unit per user over the API (two people,
submitted, paid, badges dispatched), logs every user in through the login page, then
each user browses the unit's pages in turn for a number of rounds (one warm-up round is
not counted). Prints the time to first byte (response headers received, as `requests`
measures `elapsed` with stream=True), p50/p95/p99 overall and per page.

    .venv/bin/python -m bench.portal_pages --users 20 --rounds 10
    .venv/bin/python -m bench.portal_pages --url http://127.0.0.1:8080   # a running stack
"""
from __future__ import annotations

import argparse
import base64
import os
import platform
import re
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from bench.deadline_peak import percentile
from deploy.stack import Stack
from shared import auth
from tests.infra import Mailbox, PgDatabases, Vhost, free_port, new_tag, wait_for
from tests.journey import Portal, random_phone, random_uscc

PAGES = ["/unit", "/unit/info", "/personnel", "/personnel/{person}", "/orders", "/orders/{order}", "/badges",
         "/invoices", "/refunds", "/unit/addresses", "/unit/colleagues", "/"]


@contextmanager
def distributed_stack(gunicorn_workers: int) -> Iterator[str]:
    tag = new_tag()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dbs, vhost, mailbox = PgDatabases(tag), Vhost(tag), Mailbox()
        urls, amqp, smtp = dbs.create(), vhost.create(), mailbox.start()
        keys = work / "jwt"
        auth.generate_keypair(keys / "private.pem", keys / "public.pem")
        env = {f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()}
        env.update(AMQP_URI=amqp, JWT_PRIVATE_KEY_FILE=str(keys / "private.pem"), ACCR_SANDBOX="1",
                   JWT_PUBLIC_KEY_FILE=str(keys / "public.pem"), SMTP_PORT=str(smtp), ACCR_DATA_DIR=str(work),
                   PAYMENT_SANDBOX_CALLBACK_DELAY="0.05", SMS_MAX_PER_CLIENT_PER_HOUR="1000000",
                   POLICE_MIN_DELAY="0.05", POLICE_MAX_DELAY="0.2", RETRY_DELAYS_MS="500,2000",
                   REGISTRATION_DATA_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
                   PORTAL_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode())
        stack = Stack(workdir=work, env=env, mode="distributed", gateway_port=free_port(),
                      api_base_port=23000, gunicorn_workers=gunicorn_workers)
        try:
            stack.start(timeout=120)
            yield stack.url
        finally:
            stack.stop()
            mailbox.stop()
            vhost.delete()
            dbs.drop()


def prepare_unit(url: str) -> dict[str, str]:
    """A unit with two people, paid, badges on their way (over the API: fast)."""
    portal = Portal(url)
    uscc = random_uscc()
    name = f"Bench Portal Co {uscc[-6:]}"
    portal.set_registry(uscc, name)
    portal.sign_up(uscc, name, f"{uscc.lower()}@example.cn", random_phone())
    portal.login(uscc)
    portal.fill_info()
    people = [portal.add_person(name=f"Bench {i}") for i in range(2)]
    portal.submit_unit()
    for person in people:
        portal.wait_person_status(person["id"], "awaiting_payment")
    order = portal.create_order([p["id"] for p in people]).json()
    payment = portal.start_payment(order["order_no"]).json()
    portal.sandbox_pay(payment["provider_txn_id"])
    wait_for(lambda: portal.call("GET", f"billing/orders/{order['order_no']}", 200).json()["status"] == "paid",
             timeout=30, message="the order paid")
    return {"uscc": uscc, "person": people[0]["id"], "order": order["order_no"]}


def log_in(url: str, uscc: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=30).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, "the login page has no CSRF token"
    token = found.group(1)
    answer = session.post(f"{url}/login", data={"csrf_token": token, "uscc": uscc, "password": "Passw0rd!"},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/unit"), answer.status_code
    return session


def browse(url: str, unit: dict[str, str], rounds: int, results: dict[str, list[float]], errors: list[str],
           lock: threading.Lock, start: threading.Barrier) -> None:
    session = log_in(url, unit["uscc"])
    start.wait()
    for round_no in range(rounds + 1):
        for template in PAGES:
            path = template.format(**unit)
            response = session.get(url + path, stream=True, timeout=60)
            ttfb = response.elapsed.total_seconds()
            _ = response.content
            if round_no == 0:
                continue  # warm-up
            with lock:
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {template}")
                results[template].append(ttfb)


def run(url: str, users: int, rounds: int) -> None:
    print(f"preparing {users} units (two people each, paid) …", flush=True)
    with ThreadPoolExecutor(4) as pool:
        units = list(pool.map(lambda _: prepare_unit(url), range(users)))
    results: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock, start = threading.Lock(), threading.Barrier(users)
    began = time.monotonic()
    threads = [threading.Thread(target=browse, args=(url, unit, rounds, results, errors, lock, start))
               for unit in units]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    every = [v for values in results.values() for v in values]
    print(f"\n{users} concurrent users × {rounds} rounds × {len(PAGES)} pages: {len(every)} measured page loads "
          f"in {took:.1f}s ({len(every) / took:.0f}/s incl. warm-up), {len(errors)} non-200")
    print(f"time to first byte: p50 {percentile(every, 50) * 1000:.0f} ms   p95 {percentile(every, 95) * 1000:.0f} ms"
          f"   p99 {percentile(every, 99) * 1000:.0f} ms   max {max(every) * 1000:.0f} ms")
    for template in PAGES:
        values = results[template]
        print(f"  {template:22s} p50 {percentile(values, 50) * 1000:6.0f} ms   p95 {percentile(values, 95) * 1000:6.0f} ms")
    if errors:
        print("errors:", sorted(set(errors))[:10])
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--url", help="a running stack instead of starting one")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args()
    if args.url:
        run(args.url.rstrip("/"), args.users, args.rounds)
        return
    with distributed_stack(args.gunicorn_workers) as url:
        run(url, args.users, args.rounds)


if __name__ == "__main__":
    main()
