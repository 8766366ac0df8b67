"""Police background-check reference client (pika, no nameko): any AMQP client can integrate.

It consumes BackgroundCheckRequested from the police-only queue, decides with the sandbox
rules (a blocklist of ID numbers, a realistic delay) and answers BackgroundCheckPassed or
BackgroundCheckFailed on `police.events`, with publisher confirms. It acknowledges a
request only after its answer is confirmed, so a crash re-delivers the request; a check
asked again is answered with the same envelope, which the platform drops as a duplicate
(docs/police-integration.md).

It declares nothing (the queue and exchanges are provisioned), refuses a request that the
credentials service's broker user did not publish (the message's validated `user_id`),
and stamps its answers with its own user so that the services can tell them from forgeries.

    python -m police.reference_client --amqp amqp://police:...@host/accr --requester accr-credentials \
        --blocklist ids.txt
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import signal
import sys
import time
import uuid
from collections import OrderedDict

import pika

REQUEST_QUEUE = "police.background-check-requests"
ANSWER_EXCHANGE = "police.events"
log = logging.getLogger("police")


class SandboxRules:
    """Decides a check: failed for blocklisted ID numbers, passed otherwise."""

    def __init__(self, blocklist: set[str], min_delay: float, max_delay: float):
        self.blocklist, self.min_delay, self.max_delay = blocklist, min_delay, max_delay

    def decide(self, request: dict) -> tuple[str, str | None]:
        if request.get("id_number") in self.blocklist:
            return "BackgroundCheckFailed", "BLOCKLISTED"
        return "BackgroundCheckPassed", None

    def delay(self) -> float:
        return random.uniform(self.min_delay, self.max_delay)


def answer_envelope(request: dict, answer_type: str, reason_code: str | None, correlation_id: str | None) -> dict:
    payload = {"check_id": request["check_id"], "person_id": request["person_id"]}
    if answer_type == "BackgroundCheckFailed":
        payload["reason_code"] = reason_code
    return {"id": uuid.uuid4().hex, "type": answer_type, "version": 1,
            "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(), "producer": "police",
            "correlation_id": correlation_id, "payload": payload}


class AnswerMemory:
    """The answers already given, by check: a request asked again (redelivered after a
    crash, or re-sent because our answer never arrived) gets the same envelope, id included,
    so the platform drops it if it has it already and the unit is told once. Bounded: the
    oldest go first."""

    def __init__(self, limit: int = 10000):
        self.limit, self.by_check = limit, OrderedDict[str, dict]()

    def get(self, check_id: str) -> dict | None:
        return self.by_check.get(check_id)

    def remember(self, check_id: str, answer: dict) -> None:
        self.by_check.pop(check_id, None)
        self.by_check[check_id] = answer
        while len(self.by_check) > self.limit:
            self.by_check.popitem(last=False)


def requester_refusal(published_by: str | None, requester: str) -> str | None:
    """Why a request may not be answered because of who sent it, or None."""
    if published_by == requester:
        return None
    return f"a request must be published by broker user {requester!r}, not {published_by!r}"


def pika_url(amqp_uri: str) -> str:
    """kombu writes the default vhost as `//`; pika wants it percent-encoded."""
    return amqp_uri[:-2] + "/%2F" if amqp_uri.endswith("//") else amqp_uri


def run(amqp_uri: str, rules: SandboxRules, requester: str | None = None, prefetch: int = 10) -> None:
    """`requester`: the broker user of the credentials service (our own user by default,
    as on one machine where everyone shares a dev user)."""
    params = pika.URLParameters(pika_url(amqp_uri))
    params.heartbeat = 30
    own_user = params.credentials.username
    requester = requester or own_user
    memory = AnswerMemory()
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=prefetch)

    def on_request(ch, method, properties, body):
        refusal = requester_refusal(properties.user_id, requester)
        if refusal is not None:  # dead-lettered by the queue's policy
            log.warning("refusing a request: %s", refusal)
            ch.basic_reject(method.delivery_tag, requeue=False)
            return
        try:
            envelope = json.loads(body)
            request = envelope["payload"]
            if envelope.get("type") != "BackgroundCheckRequested" or "check_id" not in request:
                raise ValueError("not a background-check request")
        except (ValueError, KeyError, TypeError):
            log.warning("rejecting an unreadable request")
            ch.basic_reject(method.delivery_tag, requeue=False)
            return
        answer = memory.get(request["check_id"])
        if answer is None:
            connection.sleep(rules.delay())  # keeps heartbeats flowing while "checking"
            answer_type, reason = rules.decide(request)
            answer = answer_envelope(request, answer_type, reason, envelope.get("correlation_id"))
        answer_type = answer["type"]
        ch.basic_publish(ANSWER_EXCHANGE, answer_type, json.dumps(answer),
                         pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                              message_id=answer["id"], user_id=own_user), mandatory=False)
        memory.remember(request["check_id"], answer)
        ch.basic_ack(method.delivery_tag)
        log.info("answered check %s: %s", request["check_id"], answer_type)  # no personal data

    channel.basic_consume(REQUEST_QUEUE, on_request)
    signal.signal(signal.SIGTERM, lambda *_: channel.stop_consuming())
    log.info("police reference client consuming %s", REQUEST_QUEUE)
    try:
        channel.start_consuming()
    finally:
        if connection.is_open:
            connection.close()


def load_blocklist(path: str | None, inline: str | None) -> set[str]:
    items = {x.strip() for x in (inline or "").split(",") if x.strip()}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            items |= {line.strip() for line in fh if line.strip()}
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp", default=os.environ.get("POLICE_AMQP_URI", os.environ.get(
        "AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/%2F")))
    parser.add_argument("--requester", default=os.environ.get("POLICE_REQUESTER_USER"),
                        help="the broker user whose requests are answered (default: our own)")
    parser.add_argument("--blocklist", default=os.environ.get("POLICE_BLOCKLIST_FILE"))
    parser.add_argument("--block", default=os.environ.get("POLICE_BLOCKLIST", ""),
                        help="comma-separated ID numbers that fail the check")
    parser.add_argument("--min-delay", type=float, default=float(os.environ.get("POLICE_MIN_DELAY", "0.2")))
    parser.add_argument("--max-delay", type=float, default=float(os.environ.get("POLICE_MAX_DELAY", "0.8")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s police %(levelname)s %(message)s")
    rules = SandboxRules(load_blocklist(args.blocklist, args.block), args.min_delay, args.max_delay)
    while True:  # an external system reconnects on its own
        try:
            run(args.amqp, rules, args.requester)
            return 0
        except pika.exceptions.AMQPConnectionError as exc:
            log.warning("broker unreachable (%s); retrying", type(exc).__name__)
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
