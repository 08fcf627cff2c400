"""API keys: shown once, hashed at rest, verified in constant time, revocable."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from fitroom.errors import Unauthenticated
from fitroom.jobs.keys import KeyStore
from fitroom.jobs.tables import ApiKeyRow


def test_created_key_verifies_and_carries_its_settings(key_store: KeyStore) -> None:
    key, raw = key_store.create(
        "shop", credits=10, submit_rate=5, submit_period=1.5, poll_rate=7, poll_period=2.0, concurrency_limit=2
    )

    assert re.fullmatch(r"fr_[0-9a-f]+_[A-Za-z0-9_-]{43}", raw)
    assert raw.startswith(f"fr_{key.id}_")
    verified = key_store.verify(raw)
    assert verified == key
    assert (verified.name, verified.credits) == ("shop", 10)
    assert (verified.submit_rate, verified.submit_period) == (5, 1.5)
    assert (verified.poll_rate, verified.poll_period, verified.concurrency_limit) == (7, 2.0, 2)
    assert not verified.revoked


def test_default_limits_are_left_to_the_server(key_store: KeyStore) -> None:
    key, _ = key_store.create("defaults")

    assert key.credits is None
    assert (key.submit_rate, key.submit_period, key.poll_rate, key.poll_period, key.concurrency_limit) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_raw_key_is_never_stored(key_store: KeyStore, engine: sa.Engine) -> None:
    _, raw = key_store.create("secret")
    secret = raw.split("_", 2)[2]

    with engine.connect() as conn:
        rows = conn.execute(sa.select(ApiKeyRow.__table__)).all()
    stored = " ".join(str(value) for row in rows for value in row)

    assert rows
    assert raw not in stored
    assert secret not in stored


def test_each_key_verifies_only_with_its_own_secret(key_store: KeyStore) -> None:
    first, first_raw = key_store.create("a")
    second, second_raw = key_store.create("b")

    assert key_store.verify(first_raw).id == first.id
    assert key_store.verify(second_raw).id == second.id
    forged = f"fr_{first.id}_{second_raw.split('_', 2)[2]}"
    with pytest.raises(Unauthenticated):
        key_store.verify(forged)


BAD_KEYS = [None, "", "fr_", "fr_abc", "fr__secret", "fr_abc_", "sk_abc_def", "Bearer x", "fr_000000000000_nope"]


def test_bad_keys_are_refused_alike(key_store: KeyStore) -> None:
    _, good = key_store.create("real")
    with pytest.raises(Unauthenticated) as wrong_secret:
        key_store.verify(good[:-1] + ("A" if good[-1] != "A" else "B"))

    for raw in BAD_KEYS:
        with pytest.raises(Unauthenticated) as refused:
            key_store.verify(raw)
        assert str(refused.value) == str(wrong_secret.value), raw


def test_revoked_key_no_longer_verifies(key_store: KeyStore) -> None:
    by_id, by_id_raw = key_store.create("one")
    _, by_name_raw = key_store.create("two")
    _, kept_raw = key_store.create("three")

    revoked = key_store.revoke(by_id.id)
    assert revoked.revoked and revoked.revoked_at is not None
    assert key_store.revoke("two").name == "two"
    assert key_store.revoke(by_id.id).revoked_at == revoked.revoked_at  # revoking again changes nothing

    for raw in (by_id_raw, by_name_raw):
        with pytest.raises(Unauthenticated):
            key_store.verify(raw)
    assert key_store.verify(kept_raw).name == "three"
    assert key_store.get(by_id.id).revoked


def test_revoke_refuses_unknown_and_ambiguous_names(key_store: KeyStore) -> None:
    key_store.create("twin")
    key_store.create("twin")

    with pytest.raises(KeyError):
        key_store.revoke("nobody")
    with pytest.raises(ValueError, match="twin"):
        key_store.revoke("twin")
    assert not any(key.revoked for key in key_store.list())


def test_list_count_and_get(key_store: KeyStore) -> None:
    assert key_store.list() == [] and key_store.count() == 0
    first, _ = key_store.create("first")
    second, _ = key_store.create("second")
    key_store.revoke(second.id)

    assert [key.id for key in key_store.list()] == [first.id, second.id]
    assert key_store.count() == 2
    assert key_store.get(first.id) == first
    assert key_store.get("missing") is None


def test_add_credits(key_store: KeyStore) -> None:
    metered, _ = key_store.create("metered", credits=1)
    unlimited, _ = key_store.create("unlimited")

    assert key_store.add_credits(metered.id, 4).credits == 5
    assert key_store.add_credits(metered.id, -5).credits == 0
    with pytest.raises(ValueError):
        key_store.add_credits(metered.id, -1)
    assert key_store.get(metered.id).credits == 0
    assert key_store.add_credits(unlimited.id, 3).credits is None
    with pytest.raises(KeyError):
        key_store.add_credits("missing", 1)
