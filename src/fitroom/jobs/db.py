"""Engines and schema migrations for the job and key store.

SQLite is the single-box default and PostgreSQL the choice at scale; both go through the
same SQLAlchemy code, so everything that differs between them is decided here.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# An arbitrary constant: every Fitroom process that migrates the same PostgreSQL database
# takes this advisory lock, so two servers starting together migrate one after the other.
_MIGRATION_LOCK_ID = 0x66697472_6F6F6D  # "fitroom"

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY = "fitroom_read_only"


def read_only(engine: sa.Engine) -> sa.Engine:
    """``engine`` for transactions that only read: on SQLite they take no write lock."""
    return engine.execution_options(**{_READ_ONLY: True})


def rowcount(result: sa.Result[Any]) -> int:
    """The number of rows an UPDATE or DELETE run through ``Session.execute`` matched.
    The session types every result as a plain ``Result``; for those statements it is a
    ``CursorResult``, which carries the count."""
    assert isinstance(result, sa.CursorResult)
    return result.rowcount


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the settings a multi-threaded server needs."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return sa.create_engine(
        parsed,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,  # survive a database restart without failing the first request
        pool_recycle=1800,
    )


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    engine = sa.create_engine(
        url,
        # Workers and request handlers share the pool across threads.
        connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
        # As many connections as the thread pool has threads (anyio's 40): with the default
        # 5, a burst of requests opened and closed overflow connections, each paying the
        # PRAGMAs below.
        pool_size=40,
        max_overflow=10,
    )

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL, far fewer fsyncs
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front. With a deferred BEGIN, a transaction
        # that reads and then writes (charge credits after counting jobs) can fail with
        # SQLITE_BUSY on the upgrade instead of waiting, and two such transactions could both
        # act on the same read. SQLite has one writer anyway, so this costs little for
        # writes. Reads (marked by ``read_only``) open no transaction at all: each of their
        # statements reads a consistent snapshot by itself, and under WAL runs beside the
        # writer instead of queueing for its lock (sleeping in SQLite's busy handler for up
        # to a second under load), and skips a BEGIN and a ROLLBACK per poll.
        if not connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (readers do not block the writer; it persists in the file).

    The switch needs the database to itself and SQLite answers "database is locked" at
    once, without its busy handler, when another process is switching at the same
    moment: two servers starting together on a new data dir. So it is retried here.
    """
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` up to the newest schema; a no-op when it already is.

    Safe at every start and when several processes start at once: on PostgreSQL they
    queue on an advisory lock, on SQLite on the write lock of ``BEGIN IMMEDIATE``.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Transaction-scoped: released by the commit that ends the migration.
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID)))
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
