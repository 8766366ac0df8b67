"""Retries measured in minutes with jitter, and the queue type option."""
from __future__ import annotations

import pytest

from shared.broker import DEFAULT_RETRY_DELAYS_MS, retry_delays_ms
from shared.inbox import RETRY_JITTER, jittered
from shared.topology import declarations, durable_queue_arguments, queue_type, retry_exchange_name


def test_the_default_retries_outlast_a_restart_and_give_up_within_the_hour(monkeypatch):
    monkeypatch.delenv("RETRY_DELAYS_MS", raising=False)
    delays = retry_delays_ms()
    assert delays == DEFAULT_RETRY_DELAYS_MS
    assert delays[0] >= 30_000  # a 40-second restart of registration is not a dead letter
    assert sum(delays) * (1 - RETRY_JITTER) >= 30 * 60_000 and sum(delays) <= 60 * 60_000


@pytest.mark.parametrize("raw", ["0", "-5", "1000,abc", ","])
def test_nonsense_retry_delays_are_refused_at_start(monkeypatch, raw):
    monkeypatch.setenv("RETRY_DELAYS_MS", raw)
    with pytest.raises(ValueError):
        retry_delays_ms()


def test_jitter_shortens_a_delay_by_up_to_a_quarter_and_spreads_the_retries():
    waits = [jittered(120_000) for _ in range(2000)]
    assert all(90_000 <= w <= 120_000 for w in waits)
    assert max(waits) - min(waits) > 25_000  # spread over (nearly) the whole quarter
    assert len(set(waits)) > 1000
    assert jittered(1) == 1


def test_quorum_is_an_option_and_nothing_else_is(monkeypatch):
    monkeypatch.delenv("QUEUE_TYPE", raising=False)
    assert queue_type() == "classic" and durable_queue_arguments() == {}
    monkeypatch.setenv("QUEUE_TYPE", "Quorum")
    assert queue_type() == "quorum" and durable_queue_arguments() == {"x-queue-type": "quorum"}
    monkeypatch.setenv("QUEUE_TYPE", "stream")
    with pytest.raises(ValueError):
        queue_type()


def test_with_quorum_every_durable_queue_says_so_and_retry_queues_keep_their_ttl(monkeypatch):
    monkeypatch.setenv("QUEUE_TYPE", "quorum")
    queues = [item for item in declarations((30_000,)) if hasattr(item, "queue_arguments")]
    assert queues and all((q.queue_arguments or {}).get("x-queue-type") == "quorum" for q in queues)
    [retry] = [q for q in queues if q.name == retry_exchange_name(30_000)]
    assert retry.queue_arguments["x-message-ttl"] == 30_000
