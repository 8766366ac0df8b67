"""Configuration from the environment, with zero-setup defaults for the one-machine run."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

SERVICES = ("registration", "review", "credentials", "billing", "notifications")
REPO_ROOT = Path(__file__).resolve().parent.parent


@overload
def env(name: str) -> str | None: ...
@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None) -> str | None: ...


def env(name: str, default: str | None = None) -> str | None:
    """An environment variable; an empty value counts as unset."""
    value = os.environ.get(name)
    return value if value else default


def data_dir() -> Path:
    path = Path(env("ACCR_DATA_DIR", str(REPO_ROOT / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    amqp_uri: str
    public_base_url: str
    edition: str
    data_dir: Path
    extra: dict[str, str] = field(default_factory=dict)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """A service-specific setting: `<SERVICE>_<NAME>` first, then `<NAME>`."""
        return env(f"{self.service.upper()}_{name}") or env(name) or default


def load_settings(service: str) -> Settings:
    base = data_dir()
    return Settings(
        service=service,
        database_url=env(f"{service.upper()}_DATABASE_URL", f"sqlite:///{base / (service + '.db')}"),
        amqp_uri=env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//"),
        public_base_url=env("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
        edition=env("FAIR_EDITION", "CIIE-2026"),
        data_dir=base,
    )
