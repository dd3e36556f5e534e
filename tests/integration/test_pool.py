"""Each process's PostgreSQL connection pool is sized by its settings."""

from __future__ import annotations

import pytest

from runtime import settings as runtime_settings
from store import database


def test_the_pool_is_sized_by_settings(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite connections are not pooled across threads to any size")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CYCLEWRIGHT_DB_POOL_SIZE", "2")
    monkeypatch.setenv("CYCLEWRIGHT_DB_MAX_OVERFLOW", "3")
    monkeypatch.setattr(runtime_settings, "settings", runtime_settings.settings.__wrapped__)  # read afresh
    engine = database.engine.__wrapped__()
    assert (engine.pool.size(), engine.pool._max_overflow) == (2, 3)  # no public accessor for the overflow
    engine.dispose()
