import importlib
import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session


@pytest.fixture
def session_for():
    """A throwaway SQLite session with one service's tables, for domain rules that read
    and write rows (no broker, no PostgreSQL)."""
    sessions = []

    def make(service: str) -> Session:
        models = importlib.import_module(f"services.{service}.models")
        slot = getattr(models, "CIPHER", None)
        if slot is not None and slot._cipher is None:  # encrypted columns need a key, as bootstrap gives them
            from shared.crypto import FieldCipher
            slot.use(FieldCipher(os.urandom(32)))
        engine = create_engine("sqlite://")
        models.Base.metadata.create_all(engine)
        session = Session(engine, expire_on_commit=False)
        sessions.append(session)
        return session

    yield make
    for s in sessions:
        s.close()


class Recorder:
    """Stands in for `emit`: records the events a rule adds to its transaction."""

    def __init__(self):
        self.events = []

    def __call__(self, event_type, payload):
        from shared.events import LATEST, make_event
        make_event(event_type, payload, producer=LATEST[event_type].producer)  # contract check
        self.events.append((event_type, payload))
        return f"evt-{len(self.events)}"

    def types(self):
        return [t for t, _ in self.events]


@pytest.fixture
def emit():
    return Recorder()
