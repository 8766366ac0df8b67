"""Each service's migrations build exactly the tables its models describe, from empty."""
from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from deploy.migrate import upgrade
from shared.config import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_and_models_agree(service, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCR_DATA_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / service}.db"
    upgrade(service, url)
    with create_engine(url).connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                       importlib.import_module(f"services.{service}.models").Base.metadata)
    assert differences == []
