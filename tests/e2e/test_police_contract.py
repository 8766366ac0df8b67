"""The published contract proven by a client we did not write in our language: the police
client in Node (tests/contract/node/police_client.mjs, amqplib), built from the AsyncAPI
document alone, which it fetches from the gateway. With the Python reference client
stopped, it consumes the real BackgroundCheckRequested events of a unit's two paid people,
validates them against the document's schema and answers passed and failed as the police
broker user; the suite then sees a credential produced for one and the refund of the other
started. The gateway serves the document it was built from."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from deploy.asyncapi import JSON_PATH
from tests.e2e.test_journey import pay_order
from tests.infra import wait_for
from tests.journey import Portal, random_phone, random_resident_id, random_uscc

NODE_DIR = Path(__file__).resolve().parents[1] / "contract/node"


class NodePoliceClient:
    """The Node client as a process; its stdout is one JSON line per step (ids only)."""

    def __init__(self, node: str, env: dict[str, str], blocked_id: str):
        self.blocked_id = blocked_id  # the ID number this client fails
        self.lines: list[dict] = []
        self.raw: list[str] = []
        self.popen = subprocess.Popen([node, "police_client.mjs"], cwd=NODE_DIR, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.raw.append(line)
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                pass

    def events(self, kind: str) -> list[dict]:
        return [line for line in list(self.lines) if line.get("event") == kind]

    def answered(self, person_id: str) -> list[str]:
        return [line["answer"] for line in self.events("answered") if line["person_id"] == person_id]

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.reader.join(5)


def broker_user(amqp_uri: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).username or "guest")


@pytest.fixture
def node_police(stack):
    """The Node client in place of the Python reference client, which is started again after."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules/amqplib").is_dir():
        pytest.skip("Node and the contract client's packages are missing (scripts/test installs them)")
    uri = stack.amqp_uris.get("police") or stack.full_env()["AMQP_URI"]
    blocked_id = random_resident_id()  # a person is registered once per edition: one of our own
    env = {**os.environ, "ASYNCAPI": f"{stack.url}/api/events/asyncapi.json", "POLICE_AMQP_URI": uri,
           "POLICE_REQUESTER_USER": stack.env.get("POLICE_REQUESTER_USER") or broker_user(uri),
           "POLICE_BLOCKLIST": blocked_id}
    reference = stack.procs["police"].args
    stack.stop_process("police")
    client = NodePoliceClient(node, env, blocked_id)
    try:
        wait_for(lambda: client.events("consuming") or client.popen.poll() is not None, timeout=30,
                 message="the Node client consuming")
        assert client.events("consuming"), "".join(client.raw)[-3000:]
        yield client
    finally:
        client.stop()
        stack.spawn("police", reference, role="police")
        print("".join(client.raw)[-3000:])  # shown when the test fails


def test_the_gateway_serves_the_asyncapi_document(stack):
    committed = json.loads(JSON_PATH.read_text(encoding="utf-8"))
    as_json = requests.get(f"{stack.url}/api/events/asyncapi.json", timeout=10)
    assert as_json.status_code == 200 and as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.json() == committed and as_json.json()["asyncapi"] == "3.0.0"
    assert as_json.headers["X-Content-Type-Options"] == "nosniff"
    as_yaml = requests.get(f"{stack.url}/api/events/asyncapi.yaml", timeout=10)
    assert as_yaml.status_code == 200 and as_yaml.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == committed
    missing = requests.get(f"{stack.url}/api/events/asyncapi.xml", timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_node_police_client_built_from_the_document_answers_real_checks(stack, node_police, dump_logs_on_failure):
    unit = Portal(stack.url)
    uscc, name = random_uscc(), f"厦门示例有限公司{uuid.uuid4().hex[:4]}"
    unit.set_registry(uscc, name)
    unit.sign_up(uscc, name, f"police-{uuid.uuid4().hex[:6]}@example.cn", random_phone())
    unit.login(uscc)
    unit.fill_info()
    cleared = unit.add_person()
    blocked = unit.add_person(id_number=node_police.blocked_id, name="李四")
    unit.submit_unit()
    for person in (cleared, blocked):
        unit.wait_person_status(person["id"], "awaiting_payment")
    pay_order(unit, [cleared["id"], blocked["id"]])

    # passed: the credential is produced
    credentials = wait_for(lambda: [c for c in unit.call("GET", "credentials/units/me/credentials", 200).json()
                                    if c["person_id"] == cleared["id"] and c["credential_no"]],
                           timeout=60, message="the credential produced")
    assert credentials[0]["issue"] == 1
    # failed: no credential, and the fee's refund starts
    assert unit.wait_person_status(blocked["id"], "check_failed", timeout=60)["credential_no"] is None
    wait_for(lambda: [p for p in unit.call("GET", "billing/payables", 200).json()
                      if p["person_id"] == blocked["id"] and p["status"] == "refundable"], message="refundable")
    [refund] = unit.call("POST", "billing/refunds", 201, json={"person_ids": [blocked["id"]]},
                         headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    assert refund["status"] == "requested" and refund["amount_fen"] == 20000

    # and it was the Node client that answered, as the document says, once per check
    wait_for(lambda: node_police.answered(cleared["id"]) and node_police.answered(blocked["id"]),
             message="the Node client's report of its answers")
    assert node_police.answered(cleared["id"]) == ["BackgroundCheckPassed"]
    assert node_police.answered(blocked["id"]) == ["BackgroundCheckFailed"]
    assert stack.procs.get("police") is None  # the Python reference client was not running
    assert not node_police.events("refused") and not node_police.events("error")
    summary = unit.call("GET", "credentials/units/me/summary", 200).json()
    assert summary["passed"] == 1 and summary["failed"] == 1
