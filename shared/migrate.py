"""Alembic per service: `python -m shared.migrate <service> [database-url]` upgrades to head."""
from __future__ import annotations

import importlib
import sys

from alembic import command, context
from alembic.config import Config

from .config import REPO_ROOT, load_settings


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url or load_settings(service).database_url)
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def run_env(service: str) -> None:
    """Body of every service's migrations/env.py."""
    from sqlalchemy import engine_from_config, pool

    models = importlib.import_module(f"services.{service}.models")
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url") or load_settings(service).database_url
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=models.Base.metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=models.Base.metadata,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()


if __name__ == "__main__":
    services = sys.argv[1:2] or ["registration", "review", "credentials", "billing", "notifications"]
    for name in services:
        upgrade(name, sys.argv[2] if len(sys.argv) > 2 else None)
        print(f"migrated {name}")
