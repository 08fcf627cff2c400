"""API keys: created once, shown once, stored as a hash, compared in constant time.

A raw key reads ``fr_<id>_<secret>``. The id is public (it names the key in logs and in
the CLI) and finds the row; only the secret proves possession.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fitroom.errors import Unauthenticated
from fitroom.jobs.db import read_only, rowcount
from fitroom.jobs.tables import ApiKeyRow

_PREFIX = "fr_"
# One message for every way a key can be wrong, so a caller cannot tell an unknown id
# from a wrong secret or a revoked key.
_UNAUTHENTICATED = "Invalid or missing API key."


@dataclass(frozen=True)
class ApiKey:
    """A key as the rest of the server sees it: never with its secret."""

    id: str
    name: str
    credits: int | None  # None: unlimited
    created_at: datetime
    revoked_at: datetime | None
    # Per-key limits; None: the server's default from Settings.
    submit_rate: int | None
    submit_period: float | None
    poll_rate: int | None
    poll_period: float | None
    concurrency_limit: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _hash(secret: str) -> str:
    # The secret carries 256 random bits, so nobody can guess it from a leaked hash however
    # fast the hash is; a slow password hash (bcrypt, argon2) would only slow every request.
    return hashlib.sha256(secret.encode()).hexdigest()


def _to_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        credits=row.credits,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        submit_rate=row.submit_rate,
        submit_period=row.submit_period,
        poll_rate=row.poll_rate,
        poll_period=row.poll_period,
        concurrency_limit=row.concurrency_limit,
    )


class KeyStore:
    """Creates, verifies, lists and revokes API keys, and keeps their credit balances."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._reader = read_only(engine)

    def create(
        self,
        name: str,
        *,
        credits: int | None = None,
        submit_rate: int | None = None,
        submit_period: float | None = None,
        poll_rate: int | None = None,
        poll_period: float | None = None,
        concurrency_limit: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its raw form; the raw form cannot be recovered later."""
        if credits is not None and credits < 0:
            raise ValueError("credits cannot be negative")
        key_id = secrets.token_hex(6)  # hex: never contains the "_" that separates the parts
        secret = secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=key_id,
            name=name,
            hash=_hash(secret),
            created_at=datetime.now(UTC),
            revoked_at=None,
            credits=credits,
            submit_rate=submit_rate,
            submit_period=submit_period,
            poll_rate=poll_rate,
            poll_period=poll_period,
            concurrency_limit=concurrency_limit,
        )
        with Session(self._engine) as session, session.begin():
            session.add(row)
            session.flush()
            key = _to_key(row)
        return key, f"{_PREFIX}{key_id}_{secret}"

    def verify(self, raw: str | None) -> ApiKey:
        """The live key ``raw`` names, or Unauthenticated."""
        if not raw or not raw.startswith(_PREFIX):
            raise Unauthenticated(_UNAUTHENTICATED)
        key_id, sep, secret = raw[len(_PREFIX) :].partition("_")
        if not sep or not key_id or not secret:
            raise Unauthenticated(_UNAUTHENTICATED)
        with Session(self._reader) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                raise Unauthenticated(_UNAUTHENTICATED)
            if not hmac.compare_digest(row.hash, _hash(secret)):
                raise Unauthenticated(_UNAUTHENTICATED)
            return _to_key(row)

    def get(self, key_id: str) -> ApiKey | None:
        with Session(self._reader) as session:
            row = session.get(ApiKeyRow, key_id)
            return None if row is None else _to_key(row)

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with Session(self._reader) as session:
            rows = session.scalars(sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))
            return [_to_key(row) for row in rows]

    def count(self) -> int:
        with Session(self._reader) as session:
            return session.scalar(sa.select(sa.func.count()).select_from(ApiKeyRow)) or 0

    def revoke(self, id_or_name: str) -> ApiKey:
        """Revoke the key with this id, or else the one live key with this name.

        Raises KeyError when nothing matches and ValueError when a name is ambiguous.
        Revoking a revoked key returns it unchanged.
        """
        with Session(self._engine) as session, session.begin():
            row = session.get(ApiKeyRow, id_or_name)
            if row is None:
                rows = session.scalars(
                    sa.select(ApiKeyRow).where(ApiKeyRow.name == id_or_name, ApiKeyRow.revoked_at.is_(None))
                ).all()
                if not rows:
                    raise KeyError(f"no API key with id or name {id_or_name!r}")
                if len(rows) > 1:
                    ids = ", ".join(r.id for r in rows)
                    raise ValueError(f"{len(rows)} live keys are named {id_or_name!r} ({ids}); revoke by id")
                row = rows[0]
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            session.flush()
            return _to_key(row)

    def add_credits(self, key_id: str, n: int) -> ApiKey:
        """Add ``n`` credits (negative to take some away) and return the key.

        An unlimited key stays unlimited. Raises KeyError for an unknown key and
        ValueError when the balance would go below zero.
        """
        with Session(self._engine) as session, session.begin():
            # One UPDATE, so that a concurrent job submission's charge cannot be lost.
            result = session.execute(
                sa.update(ApiKeyRow)
                .where(
                    ApiKeyRow.id == key_id,
                    sa.or_(ApiKeyRow.credits.is_(None), ApiKeyRow.credits + n >= 0),
                )
                .values(credits=ApiKeyRow.credits + n)
                .execution_options(synchronize_session=False)
            )
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise KeyError(f"no API key with id {key_id!r}")
            if rowcount(result) == 0:
                raise ValueError(f"key {key_id} has {row.credits} credits; cannot add {n}")
            return _to_key(row)
