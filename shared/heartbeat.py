"""A worker's heartbeat: a small file its nameko timer rewrites every few seconds, which a
liveness probe (`python -m deploy.heartbeat <service>`) reads. A worker whose event loop is
stuck stops beating and is restarted; a database or broker that is away does not stop it
(the worker waits for them on its own, and restarting it would not bring them back)."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from .config import env

HEARTBEAT_SECONDS = 5.0
DEFAULT_MAX_AGE_SECONDS = 60.0


def heartbeat_path(service: str) -> Path:
    """`WORKER_HEARTBEAT_FILE`, or one per service in the temporary folder."""
    return Path(env("WORKER_HEARTBEAT_FILE") or Path(tempfile.gettempdir()) / f"accr-{service}-worker.heartbeat")


def beat(path: Path, service: str) -> None:
    """Written aside and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    aside.write_text(json.dumps({"service": service, "pid": os.getpid(), "at": time.time()}))
    os.replace(aside, path)


def age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat, or None when there has been none (or it is unreadable)."""
    try:
        at = float(json.loads(path.read_text())["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return max(0.0, (time.time() if now is None else now) - at)
