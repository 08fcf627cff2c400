"""A PostgreSQL database for tests, wherever the tests run.

``FITROOM_TEST_PG`` picks the server:

- unset or ``auto``: the server on 127.0.0.1:5432 if one answers, else an embedded one;
- ``local``: only the server on 127.0.0.1:5432;
- ``embedded``: a throwaway server started with ``pgserver`` (a pip-installed PostgreSQL);
- a ``postgresql://`` URL: that server.

``postgres_server`` holds the server for a test session; ``fresh_database`` gives each
test its own uniquely named database and drops it afterwards (about 30 ms). When no server
can be had the tests fail with the reason: the PostgreSQL half of the store's tests is
the half that proves it scales, and a skip would hide its absence.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

import psycopg
import sqlalchemy as sa
from psycopg import sql

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENV_VAR = "FITROOM_TEST_PG"


def select_mode(environ: Mapping[str, str] = os.environ) -> str:
    """``local``, ``embedded``, or a URL, from ``FITROOM_TEST_PG`` and what answers."""
    choice = environ.get(ENV_VAR, "auto").strip() or "auto"
    if choice.startswith("postgresql"):
        return choice
    if choice == "auto":
        return "local" if _port_open("127.0.0.1", 5432) else "embedded"
    if choice not in ("local", "embedded"):
        raise ValueError(f"{ENV_VAR}={choice!r}: expected auto, local, embedded or a postgresql:// URL")
    return choice


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def embedded_server_url() -> Iterator[str]:
    """Start a PostgreSQL server in a temporary directory; stop and delete it afterwards."""
    import pgserver  # imported here: only this path needs it

    with tempfile.TemporaryDirectory(prefix="fitroom-pg-") as pgdata:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextmanager
def postgres_server(environ: Mapping[str, str] = os.environ) -> Iterator[str]:
    """The admin URL of the server ``FITROOM_TEST_PG`` picks, for as long as it is needed.

    Raises RuntimeError, saying why, when no server can be reached or started.
    """
    mode = select_mode(environ)
    try:
        with ExitStack() as stack:
            if mode == "embedded":
                admin_url = stack.enter_context(embedded_server_url())
            else:
                admin_url = LOCAL_URL if mode == "local" else mode
            with psycopg.connect(admin_url, connect_timeout=10):
                pass
            server = stack.pop_all()
    except Exception as exc:  # whatever went wrong, say so: never skip
        raise RuntimeError(f"no PostgreSQL for the tests ({ENV_VAR} -> {mode}): {exc}") from exc
    with server:
        yield admin_url


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A SQLAlchemy URL (psycopg 3 driver) of a new, uniquely named database, dropped on exit."""
    name = f"fitroom_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = sa.make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            # FORCE: a test that failed half-way may have left a connection open.
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))
