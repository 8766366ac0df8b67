"""Faults injected into the distributed stack, each test named for its fault. The stack runs on
a RabbitMQ node of this module's own (so that it can be stopped and started without touching
the machine's broker that other runs share) and on PostgreSQL databases of its own.

Each asserts: every journey completes, each effect happens exactly once (one charge, one
credential, one email per event), and nothing is left in an outbox."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests
from kombu import Connection

from shared.topology import REQUEUE_EXCHANGE, handler_queue_name
from tests.stacks import _dump_logs, running_stack
from tests.e2e.test_journey import pay_order, registered_unit
from tests.infra import PrivateBroker, wait_for

SERVICES = ("registration", "review", "credentials", "billing", "notifications")


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[PrivateBroker]:
    if not PrivateBroker.available():
        pytest.skip("rabbitmq-server is not installed here")
    node = PrivateBroker(tmp_path_factory.mktemp("rabbitmq"))
    node.start()
    yield node
    node.close()


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, broker):
    """The stack on the private node. Shorter RPC timeouts and retries than production's, so
    that a service that does not answer dead-letters a message within a minute."""
    with running_stack(tmp_path_factory.mktemp("faults"), amqp=broker.uri, RPC_TIMEOUT_SECONDS="5",
                       RETRY_DELAYS_MS="500,2000,5000") as stack:
        yield stack


@pytest.fixture
def logs_on_failure(faulty, broker, request):
    yield
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        _dump_logs(faulty.workdir)
        print("--- unpublished outbox rows:", unpublished(faulty))
        print("--- queues (name, messages, unacknowledged, consumers):")
        print("\n".join(broker.ctl("list_queues", "name", "messages", "messages_unacknowledged", "consumers")))


# --- reading the effects ---------------------------------------------------------------------
def sql(stack, service: str, query: str, *args) -> list[tuple]:
    url = stack.database_urls[service].replace("postgresql+psycopg2://", "postgresql://", 1)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


def unpublished(stack) -> dict[str, int]:
    counts = {s: sql(stack, s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0] for s in SERVICES}
    return {s: n for s, n in counts.items() if n}


def assert_exactly_once(stack, journeys: list[dict]) -> None:
    """One confirmed payment per order, one live credential per person, one email per event
    (in the delivery log and in the SMTP server's mailbox), and every outbox empty."""
    for j in journeys:
        payments = sql(stack, "billing", "SELECT p.status FROM payments p JOIN orders o ON o.id = p.order_id "
                                         "WHERE o.order_no = %s AND p.status = 'confirmed'", j["order_no"])
        assert len(payments) == 1, (j["order_no"], payments)
        credentials = sql(stack, "credentials", "SELECT status FROM credentials WHERE person_id = %s AND "
                                                "status <> 'revoked'", j["person_id"])
        assert len(credentials) == 1, (j["person_id"], credentials)
        paid_mails = [m for m in stack.mailbox.to(j["email"]) if j["order_no"] in m["subject"] and "支付成功" in m["subject"]]
        assert len(paid_mails) == 1, [m["subject"] for m in stack.mailbox.to(j["email"])]
    twice = sql(stack, "notifications", "SELECT source_event_id, channel, template, count(*) FROM messages "
                                        "GROUP BY source_event_id, channel, template HAVING count(*) > 1")
    assert twice == []
    wait_for(lambda: not unpublished(stack), timeout=30, message="every outbox published")


def start_journey(stack) -> dict:
    portal, person, email, _ = registered_unit(stack)
    portal.submit_unit()
    portal.wait_person_status(person["id"], "awaiting_payment", timeout=60)
    return {"portal": portal, "person_id": person["id"], "email": email}


def finish_journey(j: dict, timeout: float = 120) -> dict:
    order = pay_order(j["portal"], [j["person_id"]])
    j["order_no"] = order["order_no"]
    j["portal"].wait_person_status(j["person_id"], "dispatched", timeout=timeout)
    wait_for(lambda: any(j["order_no"] in m["subject"] for m in j["portal_stack"].mailbox.to(j["email"])),
             timeout=timeout, message="the payment email")
    return j


def journeys(stack, count: int) -> list[dict]:
    with ThreadPoolExecutor(count) as pool:
        started = list(pool.map(lambda _: start_journey(stack), range(count)))
    for j in started:
        j["portal_stack"] = stack
    return started


def queue_depth(uri: str, queue: str) -> int:
    with Connection(uri) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


def committee_token(stack) -> dict[str, str]:
    """The seeded organising-committee admin, logged in as a person would be."""
    answer = requests.post(f"{stack.url}/api/review/admin/login", json={"username": "admin",
                                                                         "password": "Admin-passw0rd"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": "Bearer " + answer.json()["token"]}


# --- the faults ------------------------------------------------------------------------------
def test_broker_restart(faulty, broker, logs_on_failure):
    """RabbitMQ stopped and started while three journeys are paying: every process reconnects,
    the events published meanwhile wait in the outboxes, and every journey completes once."""
    started = journeys(faulty, 3)
    with ThreadPoolExecutor(3) as pool:
        paying = [pool.submit(finish_journey, j, 180) for j in started]
        wait_for(lambda: any(j.get("order_no") for j in started) or any(p.done() for p in paying),
                 timeout=60, message="a payment under way")
        in_flight = [j for j in started if j["portal"].person(j["person_id"])["status"] != "dispatched"]
        broker.restart()
        assert in_flight, "the restart came after every journey had finished"
        done = [p.result(timeout=240) for p in paying]
    faulty.check_alive()
    assert_exactly_once(faulty, done)


def test_database_restart(faulty, logs_on_failure):
    """Credentials' database connections are cut (as a PostgreSQL restart or failover does)
    while it handles payments: its handlers retry and every journey completes once."""
    started = journeys(faulty, 3)
    dbname = faulty.database_urls["credentials"].rsplit("/", 1)[1]
    cut: list[int] = []

    def cut_connections() -> bool:
        rows = sql(faulty, "registration", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                           "WHERE datname = %s AND pid <> pg_backend_pid()", dbname)
        cut.append(rows[0][0])
        return sum(cut) >= 3 and len(cut) >= 3

    with ThreadPoolExecutor(3) as pool:
        paying = [pool.submit(finish_journey, j, 180) for j in started]
        wait_for(cut_connections, timeout=60, interval=0.3, message="connections to cut")
        done = [p.result(timeout=240) for p in paying]
    faulty.check_alive()
    assert_exactly_once(faulty, done)


def poison_reminder(unit_id: str) -> dict:
    """A reminder for a unit registration has never heard of: notifications cannot find whom
    to tell, every time."""
    from shared.events import make_event
    return make_event("ReminderDue", {"unit_id": unit_id, "kind": "payment", "people": 1, "days_before": 3,
                                      "deadline": "2026-10-15T08:00:00"}, producer="registration")


def publish_as_producer(uri: str, exchange: str, event: dict, routing_key: str | None = None) -> None:
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(event, exchange=exchange, routing_key=routing_key or event["type"], serializer="json",
                                delivery_mode=2, message_id=event["id"], user_id="guest", retry=False)


def test_poison(faulty, broker, logs_on_failure):
    """A message that always fails never blocks the next: while it goes round its retries,
    journeys complete; then it dies, recorded with its reason in notifications' dead letters."""
    poison = poison_reminder(f"no-such-unit-{uuid.uuid4().hex[:6]}")
    publish_as_producer(broker.uri, "registration.events", poison)
    done = [finish_journey(j) for j in journeys(faulty, 2)]
    dead = wait_for(lambda: sql(faulty, "notifications", "SELECT reason, attempts, status, replayable FROM "
                                                         "dead_letters WHERE event_id = %s", poison["id"]),
                    timeout=60, message="the poison recorded as a dead letter")
    assert dead == [("LookupError: registration does not know the unit yet", 4, "dead", True)]
    assert_exactly_once(faulty, done)


def test_replay(faulty, logs_on_failure):
    """Registration's worker is down long enough for an approval email to die (its contact
    cannot be asked); once it is back, operations replay the dead letter through the API and
    the unit gets its email, once — a second replay changes nothing."""
    portal, person, email, _ = registered_unit(faulty)
    faulty.stop_process("registration-worker")
    try:
        portal.submit_unit()  # review approves; notifications asks registration whom to tell
        [(approval,)] = wait_for(lambda: sql(faulty, "review", "SELECT id FROM outbox WHERE event_type = "
                                                               "'UnitApproved' AND body LIKE %s", f"%{portal.unit_id}%"),
                                 timeout=60, message="the approval")
        dead = wait_for(lambda: sql(faulty, "notifications", "SELECT id, reason FROM dead_letters WHERE event_id = %s "
                                                             "AND status = 'dead'", approval),
                        timeout=120, message="the approval email dead-lettered")
    finally:
        faulty.start_worker("registration")
    assert len(dead) == 1 and "Timeout" in dead[0][1]
    assert not [m for m in faulty.mailbox.to(email) if "审核已通过" in m["subject"]]
    portal.wait_person_status(person["id"], "awaiting_payment", timeout=60)  # registration caught up

    api, admin = f"{faulty.url}/api/notifications/ops/dead-letters", committee_token(faulty)
    listed = requests.get(api, params={"event_type": "UnitApproved", "per_page": "200"}, headers=admin, timeout=10)
    assert listed.status_code == 200 and dead[0][0] in [r["id"] for r in listed.json()["items"]]
    replay = requests.post(f"{api}/replay", json={"ids": [dead[0][0]]}, headers=admin, timeout=10)
    assert replay.status_code == 200 and replay.json()["replayed"] == [dead[0][0]]
    wait_for(lambda: [m for m in faulty.mailbox.to(email) if "审核已通过" in m["subject"]], timeout=30,
             message="the approval email after the replay")
    again = requests.post(f"{api}/replay", json={"ids": [dead[0][0]]}, headers=admin, timeout=10)
    assert again.json()["skipped"] == [{"id": dead[0][0], "reason": "already_replayed"}]
    done = finish_journey({"portal": portal, "person_id": person["id"], "email": email, "portal_stack": faulty})
    assert len([m for m in faulty.mailbox.to(email) if "审核已通过" in m["subject"]]) == 1
    assert_exactly_once(faulty, [done])


def test_duplicate_delivery(faulty, broker, logs_on_failure):
    """Every event of a finished journey delivered a second time (as a redelivery after a lost
    acknowledgement would): nothing happens twice."""
    [done] = [finish_journey(j) for j in journeys(faulty, 1)]
    quiet(faulty, broker)
    before = {s: sql(faulty, s, "SELECT count(*) FROM inbox")[0][0] for s in SERVICES}
    events = [(exchange, routing_key, json.loads(body)) for producer in SERVICES
              for exchange, routing_key, body in sql(faulty, producer, "SELECT exchange, routing_key, body FROM outbox "
                                                                       "WHERE exchange LIKE '%%.events'")]
    assert events, "the outboxes keep what they published"
    for exchange, routing_key, event in events:
        publish_as_producer(broker.uri, exchange, event, routing_key)
    wait_for(lambda: all(queue_depth(broker.uri, q) == 0 for q in handler_queues()), timeout=60,
             message="the duplicates consumed")
    [(payment_id,)] = sql(faulty, "billing", "SELECT id FROM outbox WHERE event_type = 'PaymentConfirmed' AND "
                                             "body LIKE %s", f"%{done['order_no']}%")
    for consumer in ("registration", "credentials", "notifications"):  # it did arrive again, everywhere
        log = faulty.log_of(f"{consumer}-worker")
        wait_for(lambda: f"{payment_id} duplicate" in log.read_text(), timeout=30,
                 message=f"{consumer} to see the second PaymentConfirmed")
    after = {s: sql(faulty, s, "SELECT count(*) FROM inbox")[0][0] for s in SERVICES}
    # every duplicate recognised, none applied twice; only what an earlier test left dead (the
    # replay test's other casualties, never replayed) arrives now for the first time
    first_time = {s: sql(faulty, s, "SELECT count(DISTINCT (queue, event_id)) FROM dead_letters WHERE status = 'dead' "
                                    "AND event_id = ANY(%s)", [e["id"] for _, _, e in events])[0][0] for s in SERVICES}
    assert after == {s: before[s] + first_time[s] for s in SERVICES}
    assert_exactly_once(faulty, [done])


def quiet(stack, broker: PrivateBroker) -> None:
    """Wait until nothing is in flight: every outbox published, every handler and retry queue
    empty, twice in a row."""
    from shared.topology import retry_exchange_name
    queues = handler_queues() + [retry_exchange_name(int(d)) for d in stack.env["RETRY_DELAYS_MS"].split(",")]
    calm: list[bool] = []

    def settled() -> bool:
        calm.append(not unpublished(stack) and all(queue_depth(broker.uri, q) == 0 for q in queues))
        return calm[-2:] == [True, True]
    wait_for(settled, timeout=90, interval=1.0, message="the stack at rest")


def handler_queues() -> list[str]:
    from shared.topology import SUBSCRIPTIONS
    return [handler_queue_name(s, t) for s, events in SUBSCRIPTIONS.items() for t in events]


def test_out_of_order_delivery(faulty, broker, logs_on_failure):
    """Registration hears that a person's check passed and the card was produced and sent
    before it hears of the payment they follow (its PaymentConfirmed is held back at the
    broker): the person still ends dispatched, never back at 'awaiting check'."""
    j = journeys(faulty, 1)[0]
    queue = handler_queue_name("registration", "PaymentConfirmed")
    with Connection(broker.uri) as conn:  # registration stops hearing of payments
        conn.default_channel.queue_unbind(queue, exchange="billing.events", routing_key="PaymentConfirmed")
    try:
        order = pay_order(j["portal"], [j["person_id"]])
        [(dispatched,)] = wait_for(lambda: sql(
            faulty, "credentials", "SELECT id FROM outbox WHERE event_type = 'CredentialDispatched' AND body LIKE %s",
            f"%{j['person_id']}%"), timeout=90, message="the badge dispatched")
        wait_for(lambda: sql(faulty, "registration", "SELECT 1 FROM inbox WHERE event_id = %s", dispatched),
                 timeout=60, message="registration to hear of the dispatch before the payment")
        [(body,)] = sql(faulty, "billing", "SELECT body FROM outbox WHERE event_type = 'PaymentConfirmed' AND "
                                           "body LIKE %s", f"%{order['order_no']}%")
        payment = json.loads(body)
        assert not sql(faulty, "registration", "SELECT 1 FROM inbox WHERE event_id = %s", payment["id"])
    finally:
        with Connection(broker.uri) as conn:
            conn.default_channel.queue_bind(queue, exchange="billing.events", routing_key="PaymentConfirmed")
    with Connection(broker.uri, transport_options={"confirm_publish": True}) as conn:  # now the payment
        conn.Producer().publish(payment, exchange=REQUEUE_EXCHANGE, routing_key=queue, serializer="json",
                                delivery_mode=2, message_id=payment["id"], user_id="guest", retry=False)
    wait_for(lambda: sql(faulty, "registration", "SELECT 1 FROM inbox WHERE event_id = %s", payment["id"]),
             timeout=30, message="the late payment applied")
    assert j["portal"].person(j["person_id"])["status"] == "dispatched"
    j["order_no"] = order["order_no"]
    wait_for(lambda: any(order["order_no"] in m["subject"] for m in faulty.mailbox.to(j["email"])),
             message="the payment email")
    assert_exactly_once(faulty, [j])
