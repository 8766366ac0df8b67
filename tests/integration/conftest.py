"""Integration fixtures: the services' own code in this process, against a real
PostgreSQL database per service and a real RabbitMQ vhost. Messages are moved by
`pump`, which reads a handler's real queue and hands each message to the service's
consumer — the part a nameko worker would run."""
from __future__ import annotations

import importlib
import os

import pytest
from kombu import Connection, Queue

from shared import auth
from shared.topology import handler_queue_name
from tests.infra import Mailbox, PgDatabases, SERVICES, Vhost, new_tag


@pytest.fixture(scope="session")
def infra(tmp_path_factory):
    tag = new_tag()
    dbs, vhost, mailbox = PgDatabases(tag), Vhost(tag), Mailbox()
    urls = dbs.create()
    amqp = vhost.create()
    keys = tmp_path_factory.mktemp("jwt")
    smtp_port = mailbox.start()
    env = {f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()}
    env.update(AMQP_URI=amqp, JWT_PRIVATE_KEY_FILE=str(keys / "private.pem"),
               JWT_PUBLIC_KEY_FILE=str(keys / "public.pem"), RETRY_DELAYS_MS="100,200",
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), PUBLIC_BASE_URL="http://127.0.0.1:9",
               PAYMENT_SANDBOX_CALLBACK_DELAY="0.05", ACCR_DATA_DIR=str(keys),
               SMS_MAX_PER_CLIENT_PER_HOUR="40", SMS_SANDBOX_FAIL_NUMBERS="13999999999", ACCR_SANDBOX="1",
               PAYMENT_SANDBOX_SECRET="sandbox-payment-secret")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    auth._read.cache_clear()
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    from deploy.migrate import upgrade
    for s in SERVICES:
        upgrade(s, urls[s])
    from shared.broker import Broker
    broker = Broker(amqp)
    broker.declare_topology()  # what every service process does when it starts
    broker.close()
    yield {"urls": urls, "amqp": amqp, "mailbox": mailbox}
    for s in SERVICES:
        deps_of(s).db.engine.dispose()
    mailbox.stop()
    vhost.delete()
    dbs.drop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    auth._read.cache_clear()


def service_app(name: str):
    return importlib.import_module(f"services.{name}.app")


def deps_of(name: str):
    """The service's dependencies, as its bootstrap builds them once per process."""
    return importlib.import_module(f"services.{name}.bootstrap").bootstrap()


def handlers_of(name: str):
    return importlib.import_module(f"services.{name}.handlers").HANDLERS


class SmsInbox:
    """Stands in for the RPC to notifications: records the codes registration sends."""

    def __init__(self):
        self.codes: dict[str, list[str]] = {}

    def send(self, phone, code, purpose, language):
        self.codes.setdefault(phone, []).append(code)
        return "test"

    def last(self, phone: str) -> str:
        return self.codes[phone][-1]


class EmailOutbox:
    """Stands in for the RPC to notifications' direct emails."""

    def __init__(self):
        self.sent: list[dict] = []

    def send(self, to, template, language, variables, unit_id=None, redact=()):
        self.sent.append({"to": to, "template": template, "variables": variables})
        return "test"


@pytest.fixture(scope="session")
def sms_inbox(infra):
    inbox = SmsInbox()
    deps_of("registration").sms_codes = inbox
    return inbox


@pytest.fixture(scope="session")
def email_outbox(infra):
    outbox = EmailOutbox()
    deps_of("registration").emails = outbox
    return outbox


class RegistrationAnswers:
    """Stands in for review's RPC to registration (the back office's unit files): the same
    answers, called in this process — the worker's methods do nothing else."""

    @staticmethod
    def _uow():
        return deps_of("registration").uow()

    def unit_file(self, unit_id):
        from services.registration.domain import answers
        with self._uow() as (s, _):
            return answers.unit_file(s, unit_id)

    def unit_document_image(self, unit_id):
        from services.registration.domain import answers
        with self._uow() as (s, _):
            return answers.unit_document_image(s, unit_id)

    def unit_person_photo(self, unit_id, person_id):
        from services.registration.domain import answers
        with self._uow() as (s, _):
            return answers.unit_person_photo(s, unit_id, person_id)

    def people_details(self, person_ids):
        from services.registration.domain import answers
        with self._uow() as (s, _):
            return answers.people_details(s, person_ids)

    def find_people(self, unit_ids, query):
        from services.registration.domain import answers
        with self._uow() as (s, _):
            return answers.find_people(s, unit_ids, query, deps_of("registration").cipher)


@pytest.fixture(scope="session")
def registration_answers(infra):
    answers = RegistrationAnswers()
    deps_of("review").registration = answers
    return answers


@pytest.fixture(scope="session")
def apps(infra, sms_inbox, email_outbox, registration_answers, pump):
    """Flask test clients of the five services (no relay thread: publishing happens right
    after each commit, and tests call the relay explicitly where they need it). Review's
    delegations are seeded and delivered to registration's projection first."""
    clients = {s: service_app(s).create_app(start_relay=False).test_client() for s in SERVICES}
    from deploy.seed import seed
    seed("Admin-passw0rd")
    from tests.infra import wait_for
    wait_for(lambda: clients["registration"].get("/delegations").json or pump.drain("registration", "DelegationChanged")
             and False, message="the delegation projection")
    return clients


class Pump:
    """Moves messages from a service's real handler queue into its consumer."""

    def __init__(self, amqp: str):
        self.conn = Connection(amqp)

    def drain(self, service: str, event_type: str, handlers=None, rpc=None, limit: int = 100) -> list[str]:
        consumer = deps_of(service).consumer(handlers or handlers_of(service))
        queue_name = handler_queue_name(service, event_type)
        outcomes = []
        with self.conn.SimpleQueue(Queue(queue_name, no_declare=True), no_ack=False) as q:
            q.consumer.qos(prefetch_count=1)
            for _ in range(limit):
                try:
                    message = q.get(timeout=0.5)
                except q.Empty:
                    break
                attempt = int(message.headers.get("x-attempt", 1))
                outcomes.append(consumer.process(queue_name, message.payload, attempt, rpc=rpc,
                                                 published_by=message.properties.get("user_id"),
                                                 replayed=bool(message.headers.get("x-replay-of"))))
                message.ack()
        return outcomes

    def get_raw(self, queue_name: str, timeout: float = 2.0):
        with self.conn.SimpleQueue(Queue(queue_name, no_declare=True), no_ack=True) as q:
            try:
                return q.get(timeout=timeout)
            except q.Empty:
                return None

    def purge(self, queue_name: str) -> None:
        with self.conn.SimpleQueue(Queue(queue_name, no_declare=True)) as q:
            q.clear()


@pytest.fixture(scope="session")
def pump(infra):
    p = Pump(infra["amqp"])
    yield p
    p.conn.release()
