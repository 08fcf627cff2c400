"""Fixtures for the store's tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from fitroom.jobs.db import make_engine, migrate
from fitroom.jobs.keys import ApiKey, KeyStore
from fitroom.jobs.model import JobSpec, new_job_id
from fitroom.jobs.store import JobRecord, JobStore
from fitroom.options import JobKind
from tests.helpers import FakeClock, Submit
from tests.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'fitroom.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_admin_url")) as url:
            yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def key_store(engine: sa.Engine) -> KeyStore:
    return KeyStore(engine)


@pytest.fixture
def job_store(engine: sa.Engine, clock: FakeClock) -> JobStore:
    return JobStore(engine, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()



DEFAULT_ENGINES = {
    JobKind.CLOTHING: "cpu-clothing",
    JobKind.GLASSES: "cpu-glasses",
    JobKind.BACKGROUND_REMOVE: "cpu-cutout",
}


@pytest.fixture
def submit(job_store: JobStore) -> Submit:
    """Queue a job for a key, with defaults that stay out of the way of the test."""

    def submit(
        key: ApiKey,
        *,
        cost: int = 1,
        kind: JobKind = JobKind.CLOTHING,
        webhook_url: str | None = None,
        max_attempts: int = 3,
        concurrency_limit: int = 1000,
        engine: str | None = None,
    ) -> JobRecord:
        job_id = new_job_id()
        return job_store.create(
            job_id=job_id,
            key=key,
            spec=JobSpec(
                kind=kind, dialect="fashn", cost=cost, webhook_url=webhook_url, engine=engine or DEFAULT_ENGINES[kind]
            ),
            inputs={"model_image": f"inputs/{job_id}/model"},
            max_attempts=max_attempts,
            concurrency_limit=concurrency_limit,
        )

    return submit
