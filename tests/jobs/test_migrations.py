"""Migrations: a fresh database gets the schema, a current one is left alone, and the
files ``migrate`` needs ship in the wheel."""

from __future__ import annotations

import fnmatch
import threading
import tomllib
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fitroom.jobs.db import MIGRATIONS_DIR, make_engine, migrate
from fitroom.jobs.keys import KeyStore
from fitroom.jobs.tables import Base

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrate_creates_the_schema_on_a_fresh_database(database_url: str) -> None:
    migrate(database_url)

    engine = make_engine(database_url)
    try:
        assert {"api_keys", "jobs", "alembic_version"} <= set(sa.inspect(engine).get_table_names())
        assert _revision(engine) is not None
        # The models and the migrations describe the same schema.
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_migrate_again_is_a_no_op(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        revision = _revision(engine)
        _, raw = KeyStore(engine).create("survivor", credits=3)

        migrate(database_url)

        assert _revision(engine) == revision
        assert KeyStore(engine).verify(raw).credits == 3
    finally:
        engine.dispose()


def test_processes_starting_together_both_migrate(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def start_server() -> None:
        start.wait()
        try:
            migrate(database_url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_server) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    engine = make_engine(database_url)
    try:
        assert KeyStore(engine).count() == 0
    finally:
        engine.dispose()


def test_migration_files_are_package_data() -> None:
    """``migrate`` reads these files from the installed package, not from the repo."""
    globs = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]["fitroom"]
    package_root = MIGRATIONS_DIR.parents[1]
    needed = [MIGRATIONS_DIR / "env.py", *sorted((MIGRATIONS_DIR / "versions").glob("*.py"))]

    assert len(needed) > 1
    for path in needed:
        relative = path.relative_to(package_root).as_posix()
        assert any(fnmatch.fnmatch(relative, glob) for glob in globs), relative
