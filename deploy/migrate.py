"""Alembic per service: `python -m deploy.migrate [service] [database-url]` upgrades to head."""
from __future__ import annotations

import sys

from alembic import command
from alembic.config import Config

from shared.config import REPO_ROOT, SERVICES, load_settings


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url or load_settings(service).database_url)
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


if __name__ == "__main__":
    for name in sys.argv[1:2] or SERVICES:
        upgrade(name, sys.argv[2] if len(sys.argv) > 2 else None)
        print(f"migrated {name}")
