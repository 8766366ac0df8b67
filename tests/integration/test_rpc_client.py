"""The RPC client that HTTP views use (shared.nameko_edge.RpcClient) against a real nameko
service and a real RabbitMQ: answers and errors come back, concurrent callers get their own
answers over one reply queue that is exclusive and auto-deleted, and a request expires when
its caller stops waiting."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from amqp.exceptions import NotFound, ResourceLocked
from kombu import Connection
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from shared.nameko_edge import RPC_EXCHANGE, RpcClient
from tests.infra import wait_for

ROOT = Path(__file__).resolve().parents[2]


def consumers(amqp: str, queue: str) -> int:
    with Connection(amqp) as conn:
        try:
            return conn.channel().queue_declare(queue=queue, passive=True).consumer_count
        except NotFound:
            return 0


@pytest.fixture(scope="module")
def echo_service(infra, tmp_path_factory):
    log = tmp_path_factory.mktemp("rpc") / "echo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "nameko"), "run",
                                 "tests.integration.rpc_echo_service:EchoService", "--broker", infra["amqp"]],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is None and consumers(infra["amqp"], "rpc-rpc_echo") > 0, timeout=30,
                 message="the echo service consuming")
        yield infra["amqp"]
    finally:
        proc.kill()
        proc.wait()


def test_answers_come_back_on_one_exclusive_auto_deleted_reply_queue(echo_service):
    client = RpcClient(echo_service, timeout=5)
    assert client.call("rpc_echo", "echo", a=1, b=["x"]) == {"a": 1, "b": ["x"]}
    assert client._replies is not None
    queue = f"rpc.reply-standalone_rpc_proxy-{client._replies.routing_key}"
    assert client.call("rpc_echo", "echo", c=2) == {"c": 2}
    assert f"rpc.reply-standalone_rpc_proxy-{client._replies.routing_key}" == queue  # one reply queue per process
    with Connection(echo_service) as other:
        with pytest.raises(ResourceLocked):  # exclusive: no other connection may use it
            other.channel().queue_declare(queue=queue, passive=True)
    client.close()
    with Connection(echo_service) as other:
        with pytest.raises(NotFound):  # gone with its connection
            other.channel().queue_declare(queue=queue, passive=True)


def test_concurrent_callers_each_get_their_own_answer(echo_service):
    client = RpcClient(echo_service, timeout=10)
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda n: client.call("rpc_echo", "echo", n=n), range(64)))
        assert answers == [{"n": n} for n in range(64)]
    finally:
        client.close()


def test_a_remote_error_is_raised_at_the_caller(echo_service):
    client = RpcClient(echo_service, timeout=5)
    try:
        with pytest.raises(RemoteError, match="refused on purpose"):
            client.call("rpc_echo", "fail")
        assert client.call("rpc_echo", "echo", after="error") == {"after": "error"}
    finally:
        client.close()


def test_a_late_answer_is_dropped_and_the_next_call_gets_its_own(echo_service):
    client = RpcClient(echo_service, timeout=0.5)
    try:
        with pytest.raises(RpcTimeout):
            client.call("rpc_echo", "slow", seconds=1.0, tag="first")
        client.timeout = 5
        # the first call's answer arrives while this one waits for its own
        assert client.call("rpc_echo", "slow", seconds=0.8, tag="second") == "second"
        assert client._answers == {}
    finally:
        client.close()


def test_a_request_expires_when_its_caller_stops_waiting(echo_service):
    """A service whose worker is down: the request waits in its queue only as long as the
    caller waits, so a worker that comes back never works on it."""
    with Connection(echo_service) as conn:
        channel = conn.channel()
        RPC_EXCHANGE(channel).declare()
        channel.queue_declare(queue="rpc-rpc_idle", durable=True, auto_delete=False)
        channel.queue_bind(queue="rpc-rpc_idle", exchange=RPC_EXCHANGE.name, routing_key="rpc_idle.*")
        try:
            client = RpcClient(echo_service, timeout=0.6)
            seen: dict = {}

            def peek():  # the request as it waits in the queue
                message = channel.basic_get("rpc-rpc_idle", no_ack=False)
                if message is None:
                    return False
                seen.update(message.properties)
                channel.basic_reject(message.delivery_tag, requeue=True)
                return True

            outcome: list[BaseException] = []

            def call():
                try:
                    client.call("rpc_idle", "work")
                except BaseException as exc:
                    outcome.append(exc)

            caller = threading.Thread(target=call)
            started = time.monotonic()
            caller.start()
            wait_for(peek, timeout=5, message="the request in the idle service's queue")
            caller.join()
            assert 0.5 < time.monotonic() - started < 3
            assert len(outcome) == 1 and isinstance(outcome[0], RpcTimeout)
            assert seen["expiration"] == "600"
            wait_for(lambda: channel.queue_declare(queue="rpc-rpc_idle", passive=True).message_count == 0,
                     timeout=3, message="the request expired")
            client.close()
        finally:
            channel.queue_delete("rpc-rpc_idle")


def test_a_call_to_a_service_nobody_runs_fails_at_once(echo_service):
    client = RpcClient(echo_service, timeout=10)
    try:
        started = time.monotonic()
        with pytest.raises(UnknownService):
            client.call("nobody_runs_this", "anything")
        assert time.monotonic() - started < 2
    finally:
        client.close()
