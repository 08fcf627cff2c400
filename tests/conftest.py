"""Fixtures shared across the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import postgres_server
from tests.redis_server import redis_server


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the session: 127.0.0.1:5432 if it answers, else a
    throwaway one from the pgserver wheel; never a skip (see tests/postgres.py)."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for the session: 127.0.0.1:6379 if it answers, else a throwaway
    redis-server; never a skip (see tests/redis_server.py)."""
    with redis_server() as url:
        yield url
