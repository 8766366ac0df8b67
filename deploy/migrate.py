"""Alembic per service.

    python -m deploy.migrate [service] [database-url]    upgrade to head (every service without one)
    python -m deploy.migrate --wait [--timeout S] service
        wait until the service's database is at the head revision of this code's migrations
        (exit 1 when it is not within S seconds): on Kubernetes a service's API and worker
        start only once its migration Job has run (deploy/k8s).
"""
from __future__ import annotations

import argparse
import sys
import time

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from shared.config import REPO_ROOT, SERVICES, load_settings


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url or load_settings(service).database_url)
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def at_head(service: str, url: str | None = None) -> bool:
    """Whether the database's revisions are exactly this code's heads (False while it cannot
    be reached: the caller waits)."""
    cfg = alembic_config(service, url)
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    engine = create_engine(cfg.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()
    return current == heads


def wait_for_head(service: str, url: str | None = None, timeout: float = 600.0, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if at_head(service, url):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Alembic migrations per service")
    parser.add_argument("--wait", action="store_true", help="wait for the head revision instead of migrating")
    parser.add_argument("--timeout", type=float, default=600.0, help="with --wait: seconds before giving up")
    parser.add_argument("service", nargs="?", choices=SERVICES)
    parser.add_argument("url", nargs="?", help="the database (default: <SERVICE>_DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.wait:
        if args.service is None:
            parser.error("--wait needs a service")
        if wait_for_head(args.service, args.url, args.timeout):
            print(f"{args.service}: database at head")
            return 0
        print(f"{args.service}: database not at head after {args.timeout:.0f}s", file=sys.stderr)
        return 1
    for name in [args.service] if args.service else SERVICES:
        upgrade(name, args.url)
        print(f"migrated {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
