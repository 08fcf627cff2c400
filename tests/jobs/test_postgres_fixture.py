"""The PostgreSQL the tests run on: chosen by FITROOM_TEST_PG, embedded when need be."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.postgres import fresh_database, postgres_server, select_mode


def test_mode_follows_the_environment() -> None:
    assert select_mode({"FITROOM_TEST_PG": "embedded"}) == "embedded"
    assert select_mode({"FITROOM_TEST_PG": "local"}) == "local"
    url = "postgresql://ci@db.example:5432/postgres"
    assert select_mode({"FITROOM_TEST_PG": url}) == url
    assert select_mode({}) in ("local", "embedded")
    with pytest.raises(ValueError):
        select_mode({"FITROOM_TEST_PG": "sqlite"})


def test_unreachable_server_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="no PostgreSQL"):
        with postgres_server({"FITROOM_TEST_PG": "postgresql://postgres@127.0.0.1:9/postgres"}):
            pass


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")  # pgserver, under root in CI
def test_embedded_server_starts_and_serves_a_fresh_database() -> None:
    with postgres_server({"FITROOM_TEST_PG": "embedded"}) as admin_url:
        with fresh_database(admin_url) as url:
            engine = sa.create_engine(url)
            try:
                with engine.connect() as conn:
                    assert conn.execute(sa.select(sa.literal(1))).scalar() == 1
            finally:
                engine.dispose()
