"""Local blob storage and its signed, expiring URLs."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from fitroom.errors import BlobNotFound, SignatureInvalid
from fitroom.storage.local import LocalStorage
from fitroom.storage.signing import UrlSigner

BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def signer() -> UrlSigner:
    return UrlSigner(b"test-secret")


@pytest.fixture
def storage(tmp_path: Path, signer: UrlSigner) -> LocalStorage:
    return LocalStorage(tmp_path / "blobs", signer, BASE_URL + "/")


def test_put_then_get_and_info(storage: LocalStorage) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    info = storage.put("jobs/abc/outputs/0.png", b"\x89PNG...", "image/png")
    assert (info.key, info.size, info.content_type) == ("jobs/abc/outputs/0.png", 7, "image/png")
    assert before <= info.modified_at <= datetime.now(UTC) + timedelta(seconds=2)
    assert storage.get("jobs/abc/outputs/0.png") == (b"\x89PNG...", "image/png")
    assert storage.info("jobs/abc/outputs/0.png") == info


def test_put_replaces(storage: LocalStorage) -> None:
    storage.put("a/0.jpg", b"old", "image/jpeg")
    storage.put("a/0.jpg", b"new!", "image/jpeg")
    assert storage.get("a/0.jpg") == (b"new!", "image/jpeg")
    assert storage.info("a/0.jpg").size == 4


def test_content_type_is_kept_whatever_the_key(storage: LocalStorage) -> None:
    storage.put("jobs/a/inputs/person", b"x", "image/webp")
    storage.put("jobs/a/inputs/garment~1.png", b"y", "image/jpeg")
    assert storage.get("jobs/a/inputs/person") == (b"x", "image/webp")
    assert storage.info("jobs/a/inputs/garment~1.png").content_type == "image/jpeg"
    storage.put("jobs/a/inputs/person", b"xx", "image/png")
    assert storage.get("jobs/a/inputs/person") == (b"xx", "image/png")


def test_missing_blob(storage: LocalStorage) -> None:
    with pytest.raises(BlobNotFound):
        storage.get("jobs/none/0.png")
    with pytest.raises(BlobNotFound):
        storage.info("jobs/none/0.png")
    storage.put("jobs/x/0.png", b"x", "image/png")
    with pytest.raises(BlobNotFound):  # a folder is not a blob
        storage.get("jobs/x")


def test_delete_prefix_deletes_one_job_only(storage: LocalStorage) -> None:
    for key in ("jobs/a/inputs/person", "jobs/a/outputs/0.png", "jobs/a/outputs/1.png"):
        storage.put(key, b"x", "image/png")
    storage.put("jobs/ab/outputs/0.png", b"y", "image/png")
    assert storage.delete_prefix("jobs/a/") == 3
    with pytest.raises(BlobNotFound):
        storage.get("jobs/a/outputs/0.png")
    assert storage.get("jobs/ab/outputs/0.png")[0] == b"y"
    assert not (storage.root / "jobs" / "a").exists()
    assert storage.delete_prefix("jobs/a/") == 0


def test_delete_prefix_matches_partial_names(storage: LocalStorage) -> None:
    for key in ("jobs/a/0.png", "jobs/ab/0.png", "jobs/b/0.png", "jobs/b/10.png", "jobs/b/2.png"):
        storage.put(key, b"x", "image/png")
    assert storage.delete_prefix("jobs/a") == 2
    assert storage.delete_prefix("jobs/b/1") == 1
    assert storage.get("jobs/b/0.png") == (b"x", "image/png")
    assert storage.get("jobs/b/2.png") == (b"x", "image/png")
    assert sorted(p.name for p in (storage.root / "jobs").iterdir()) == ["b"]


def test_delete_prefix_removes_what_a_crashed_put_left(storage: LocalStorage) -> None:
    storage.put("jobs/a/0.png", b"x", "image/png")
    (storage.root / "jobs" / "a" / ".1.png~k3j4h5g6.tmp").write_bytes(b"half a bl")
    assert storage.delete_prefix("jobs/a/") == 1
    assert not (storage.root / "jobs" / "a").exists()


def test_put_is_atomic_for_concurrent_readers(storage: LocalStorage) -> None:
    """A reader polling while blobs are rewritten sees either the old or the new bytes,
    never a partial file, and no temporary file is ever visible as a blob."""
    old, new = b"a" * 2_000_000, b"b" * 3_000_000
    storage.put("jobs/j/0.png", old, "image/png")
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(storage.get("jobs/j/0.png")[0])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(20):
            storage.put("jobs/j/0.png", new if i % 2 == 0 else old, "image/png")
    finally:
        done.set()
        reader.join()
    assert seen <= {old, new}
    assert not [n for n in os.listdir(storage.root / "jobs" / "j") if n.endswith(".tmp")]


def test_failed_put_leaves_no_blob_and_no_temporary_file(storage: LocalStorage) -> None:
    storage.put("jobs/j/keep.png", b"x", "image/png")
    with pytest.raises(TypeError):
        storage.put("jobs/j/0.png", object(), "image/png")  # type: ignore[arg-type]
    assert not [n for n in os.listdir(storage.root / "jobs" / "j") if n.endswith(".tmp")]
    with pytest.raises(BlobNotFound):
        storage.get("jobs/j/0.png")


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../outside.png", "jobs/../../outside.png", "jobs/./0.png",
     "jobs//0.png", "jobs/a/", "jobs\\..\\0.png", "jobs/.0.png~type", "a\x00b"],
)
def test_keys_that_could_escape_or_collide_are_refused(storage: LocalStorage, key: str) -> None:
    with pytest.raises(ValueError):
        storage.put(key, b"x", "image/png")
    with pytest.raises(BlobNotFound):
        storage.get(key)
    with pytest.raises(BlobNotFound):
        storage.info(key)
    with pytest.raises(ValueError):
        storage.url(key, 60)


def test_traversal_cannot_read_or_delete_outside_the_root(
    storage: LocalStorage, tmp_path: Path
) -> None:
    (tmp_path / "secret.png").write_bytes(b"secret")
    storage.put("jobs/a/0.png", b"x", "image/png")
    with pytest.raises(BlobNotFound):
        storage.get("../secret.png")
    with pytest.raises(BlobNotFound):
        storage.get("jobs/a/../../../secret.png")
    with pytest.raises(ValueError):
        storage.delete_prefix("../")
    with pytest.raises(ValueError):
        storage.delete_prefix("jobs/../../secret")
    assert (tmp_path / "secret.png").read_bytes() == b"secret"


def _url_parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    assert split.path.startswith("/files/")
    return unquote(split.path.removeprefix("/files/")), int(query["expires"][0]), query["sig"][0]


def test_signed_url_verifies(storage: LocalStorage, signer: UrlSigner) -> None:
    storage.put("jobs/a/outputs/0.png", b"x", "image/png")
    url = storage.url("jobs/a/outputs/0.png", 3600)
    assert url.startswith(BASE_URL + "/files/jobs/a/outputs/0.png?")
    key, expires, sig = _url_parts(url)
    assert key == "jobs/a/outputs/0.png"
    assert abs(expires - (time.time() + 3600)) < 5
    signer.verify(key, expires, sig)
    assert storage.get(key)[0] == b"x"


def test_tampered_or_expired_urls_are_refused(storage: LocalStorage, signer: UrlSigner) -> None:
    key, expires, sig = _url_parts(storage.url("jobs/a/outputs/0.png", 3600))
    tampered_sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    for args in [
        ("jobs/a/outputs/1.png", expires, sig),  # another blob
        ("jobs/b/outputs/0.png", expires, sig),  # another job
        (key, expires + 1, sig),  # a later expiry
        (key, expires, tampered_sig),
        (key, expires, sig.upper()),
        (key, expires, ""),
        (key, expires, "ü" * len(sig)),
    ]:
        with pytest.raises(SignatureInvalid):
            signer.verify(*args)
    with pytest.raises(SignatureInvalid, match="expired"):
        signer.verify(key, expires, sig, now=expires)
    signer.verify(key, expires, sig, now=expires - 1)


def test_another_secret_does_not_verify(signer: UrlSigner) -> None:
    sig = signer.sign("jobs/a/0.png", 2_000_000_000)
    with pytest.raises(SignatureInvalid):
        UrlSigner(b"other-secret").verify("jobs/a/0.png", 2_000_000_000, sig, now=0)
