"""The body of every service's Alembic `migrations/env.py` (the runner is `deploy.migrate`)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, engine_from_config, pool

from .config import load_settings


def run_env(service: str, metadata: MetaData) -> None:
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url") or load_settings(service).database_url
    batch = url.startswith("sqlite")  # SQLite alters tables by copying them
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=batch)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=batch)
        with context.begin_transaction():
            context.run_migrations()
