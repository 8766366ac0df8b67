"""Configuration from the environment, with zero-setup defaults for the one-machine run.

`ACCR_ENV=production` turns the defaults into refusals: a service that would run with a
sandbox provider, a default or generated secret or a missing key names what is missing
and does not start (`Readiness`). `ACCR_SANDBOX=1` asks for the sandboxes' own routes
(the SMS inbox, the pay button, the business registry), which otherwise do not exist."""
from __future__ import annotations

import os
from dataclasses import dataclass
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
    environment: str = "development"
    sandbox: bool = False  # the sandboxes' own routes exist (ACCR_SANDBOX=1)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """A service-specific setting: `<SERVICE>_<NAME>` first, then `<NAME>`."""
        return env(f"{self.service.upper()}_{name}") or env(name) or default


def load_settings(service: str) -> Settings:
    from .fair import fair  # the profile names the current edition; FAIR_EDITION overrides it
    base = data_dir()
    return Settings(
        service=service,
        database_url=env(f"{service.upper()}_DATABASE_URL", f"sqlite:///{base / (service + '.db')}"),
        amqp_uri=env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//"),
        public_base_url=env("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/"),
        edition=env("FAIR_EDITION", fair().edition().id),
        data_dir=base,
        environment=env("ACCR_ENV", "development"),
        sandbox=env("ACCR_SANDBOX", "0") == "1",
    )


DEFAULT_AMQP_USERS = ("guest", "accr")


class NotReadyForProduction(RuntimeError):
    pass


class Readiness:
    """Collects what a production start would need and does not have, so that the service
    refuses to start naming all of it at once (outside production it only generates the
    zero-setup defaults)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.missing: list[str] = []

    def require(self, ok: bool, what: str) -> None:
        if not ok:
            self.missing.append(what)

    def key(self, name: str, generated_at: Path) -> bytes:
        """A 32-byte key: configured as `<SERVICE>_<NAME>` or `<NAME>`; generated under the data
        folder for the one-machine run only."""
        from .crypto import load_key
        configured = self.settings.get(name)
        self.require(configured is not None, f"{self.settings.service.upper()}_{name} (a 32-byte base64url key)")
        return load_key(configured, generated_at)

    def secret(self, name: str, development_default: str) -> str:
        configured = self.settings.get(name)
        self.require(configured is not None, f"{name} (a secret shared with the provider)")
        return configured or development_default

    def token_keys(self, issuer: bool) -> None:
        """The API processes of registration and review sign tokens and hold the private key;
        their workers and every other service need only the public one, and may not hold it."""
        if issuer:
            self.require(env("JWT_PRIVATE_KEY_FILE") is not None, "JWT_PRIVATE_KEY_FILE (this API signs tokens)")
        else:
            self.require(env("JWT_PRIVATE_KEY_FILE") is None,
                         "JWT_PRIVATE_KEY_FILE unset (only the APIs that issue tokens hold the private key)")

    def no_sandbox(self, what: str) -> None:
        """This part is only a sandbox here: production needs the real one."""
        self.missing.append(f"a real {what} (only the sandbox is configured)")

    def verify(self) -> None:
        s = self.settings
        if not s.production:
            return
        self.require(not s.database_url.startswith("sqlite"), f"{s.service.upper()}_DATABASE_URL (PostgreSQL)")
        amqp_user = s.amqp_uri.split("://", 1)[-1].split(":", 1)[0]
        self.require(env("AMQP_URI") is not None and amqp_user not in DEFAULT_AMQP_USERS,
                     "AMQP_URI with the service's own RabbitMQ user")
        self.require(env("JWT_PUBLIC_KEY_FILE") is not None, "JWT_PUBLIC_KEY_FILE")
        self.require(s.public_base_url.startswith("https://"), "PUBLIC_BASE_URL (https)")
        self.require(not s.sandbox, "ACCR_SANDBOX unset (the sandboxes' routes are open to anyone)")
        if self.missing:
            raise NotReadyForProduction(f"{s.service} will not start with ACCR_ENV=production; set: "
                                        + "; ".join(self.missing))
