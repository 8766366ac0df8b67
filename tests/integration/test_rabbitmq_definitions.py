"""The production RabbitMQ definitions: loaded into a vhost of their own, only the police
user can consume background-check requests."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.parse
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Queue

from deploy.rabbitmq import DEV_PASSWORDS, POLICE_USER, SERVICES_USER, definitions, render
from shared.events import POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE, make_event
from tests.infra import rabbitmqctl, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_committed_definitions_are_the_generated_ones():
    assert (ROOT / "deploy/rabbitmq/definitions.json").read_text() == render()


@pytest.fixture(scope="module")
def loaded_vhost():
    vhost = f"accr-defs-{uuid.uuid4().hex[:6]}"
    # rabbitmqctl reads the file as the rabbitmq user: a world-readable file of its own
    fd, name = tempfile.mkstemp(prefix="accr-definitions-", suffix=".json")
    os.write(fd, json.dumps(definitions(vhost)).encode())
    os.close(fd)
    os.chmod(name, 0o644)
    try:
        if not rabbitmqctl("import_definitions", name):
            pytest.skip("rabbitmqctl cannot import definitions here")

        def ready():  # the import is asynchronous
            out = subprocess.run(["rabbitmqctl", "-q", "list_permissions", "-p", vhost], capture_output=True,
                                 text=True, timeout=30).stdout
            return POLICE_USER in out and SERVICES_USER in out
        wait_for(ready, timeout=30, interval=0.3, message="the imported definitions")
        yield vhost
    finally:
        os.unlink(name)
        rabbitmqctl("delete_vhost", vhost)


def uri(user: str, vhost: str) -> str:
    return f"amqp://{user}:{DEV_PASSWORDS[user]}@127.0.0.1:5672/{urllib.parse.quote(vhost, safe='')}"


def test_only_the_police_user_reads_background_check_requests(loaded_vhost):
    request = make_event("BackgroundCheckRequested", {
        "check_id": "c1", "person_id": "p1", "name": "张三", "gender": None, "id_type": "resident_id",
        "id_number": "11010519491231002X", "nationality": "CN", "unit_name": "Example", "reply_to": "police.events"},
        producer="credentials")
    with Connection(uri(SERVICES_USER, loaded_vhost), transport_options={"confirm_publish": True}) as services:
        services.Producer().publish(request, exchange=POLICE_REQUEST_EXCHANGE, routing_key="BackgroundCheckRequested",
                                    serializer="json", delivery_mode=2)  # the services may send
        with pytest.raises(Exception) as refused:
            with services.SimpleQueue(Queue(POLICE_REQUEST_QUEUE, no_declare=True)) as q:
                q.get(timeout=2)
        assert "ACCESS_REFUSED" in str(refused.value) or "403" in str(refused.value)
    with Connection(uri(POLICE_USER, loaded_vhost)) as police:
        with police.SimpleQueue(Queue(POLICE_REQUEST_QUEUE, no_declare=True)) as q:
            message = q.get(timeout=5)
            assert message.payload["payload"]["check_id"] == "c1"
            message.ack()
        with pytest.raises(Exception):  # and the police user reads nothing else
            with police.SimpleQueue(Queue("evt-billing-PaymentConfirmed--credentials.on_payment_confirmed",
                                          no_declare=True)) as q:
                q.get(timeout=2)
