"""Footprint of the one-machine run, and the journey's latency through it.

Starts `deploy.stack local` in a scratch data folder (SQLite files, local RabbitMQ),
drives N journeys from sign-up to dispatched credential through the gateway, and
prints the time from unit submission to credential dispatch and the resident memory
of every process of the stack.

    .venv/bin/python -m bench.footprint --journeys 5
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from deploy.stack import Stack
from tests.infra import Vhost, free_port, new_tag
from tests.journey import Portal, random_phone, random_uscc


def journey(url: str) -> dict[str, float]:
    portal = Portal(url)
    uscc, name = random_uscc(), f"Bench Co {uuid.uuid4().hex[:6]}"
    portal.set_registry(uscc, name)
    portal.sign_up(uscc, name, "bench@example.cn", random_phone())
    portal.login(uscc)
    portal.fill_info()
    person = portal.add_person()
    t0 = time.monotonic()
    portal.submit_unit()
    portal.wait_person_status(person["id"], "awaiting_payment")
    t_confirmed = time.monotonic()
    portal.wait_payable([person["id"]])
    order = portal.create_order([person["id"]]).json()
    payment = portal.start_payment(order["order_no"]).json()
    t_pay = time.monotonic()
    portal.sandbox_pay(payment["provider_txn_id"])
    portal.wait_person_status(person["id"], "dispatched")
    t_done = time.monotonic()
    return {"submit_to_confirmed": t_confirmed - t0, "paid_to_dispatched": t_done - t_pay,
            "submit_to_dispatched": t_done - t0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=5)
    args = parser.parse_args()
    vhost = Vhost(new_tag())  # its own vhost: another stack on this broker must not take its messages
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(workdir=Path(tmp) / "run", env={"ACCR_DATA_DIR": tmp, "SMTP_PORT": str(free_port()),
                                                        "SMS_MAX_PER_CLIENT_PER_HOUR": "100000", "ACCR_SANDBOX": "1",
                                                        "AMQP_URI": vhost.create()},
                      mode="local", gateway_port=free_port())
        try:
            stack.start()
            time.sleep(2)  # let every process finish its imports before measuring memory
            idle_rss = stack.rss_bytes()
            results = [journey(stack.url) for _ in range(args.journeys)]
            busy_rss = stack.rss_bytes()
            pieces = stack.rss_by_piece()
            processes = len(stack.procs)
        finally:
            stack.stop()
            vhost.delete()
    for key in ("submit_to_confirmed", "paid_to_dispatched", "submit_to_dispatched"):
        values = [r[key] for r in results]
        print(f"{key:22s} median {statistics.median(values):.3f}s  max {max(values):.3f}s  (n={len(values)})")
    print(f"one-machine stack RSS: {idle_rss / 2**20:.0f} MiB idle, {busy_rss / 2**20:.0f} MiB after the journeys "
          f"({processes} process groups: the gateway, the five services' workers, the police client, the mailbox)")
    print("  by piece: " + ", ".join(f"{name} {size / 2**20:.0f}" for name, size in
                                     sorted(pieces.items(), key=lambda item: -item[1])) + " MiB")


if __name__ == "__main__":
    main()
