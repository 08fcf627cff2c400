"""The S3 storage against an S3-compatible server (moto's server mode, standing in for a
real object store), through the same interface as the local one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fitroom.errors import BlobNotFound
from fitroom.storage import open_storage
from fitroom.storage.signing import UrlSigner
from tests.s3_server import environment, make_bucket, s3_server


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        make_bucket(url, "fitroom-test")
        yield url


@pytest.fixture
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in environment(endpoint).items():
        monkeypatch.setenv(name, value)
    return endpoint


def test_put_get_info_and_delete_by_prefix(aws: str) -> None:
    storage = open_storage("s3://fitroom-test/tenant-a", UrlSigner(b"k"), "http://server")
    info = storage.put("jobs/j1/outputs/0.png", b"png bytes", "image/png")
    assert (info.size, info.content_type) == (9, "image/png")
    assert storage.get("jobs/j1/outputs/0.png") == (b"png bytes", "image/png")
    storage.put("jobs/j1/inputs/person", b"p", "image/jpeg")
    storage.put("jobs/j2/outputs/0.png", b"other job", "image/png")
    assert storage.delete_prefix("jobs/j1/") == 2
    with pytest.raises(BlobNotFound):
        storage.get("jobs/j1/outputs/0.png")
    with pytest.raises(BlobNotFound):
        storage.info("jobs/j1/inputs/person")
    assert storage.get("jobs/j2/outputs/0.png")[0] == b"other job"
    # The prefix keeps tenants apart in one bucket.
    other = open_storage("s3://fitroom-test/tenant-b", UrlSigner(b"k"), "http://server")
    with pytest.raises(BlobNotFound):
        other.get("jobs/j2/outputs/0.png")


def test_signed_urls_are_this_servers_and_presigned_ones_the_stores(aws: str) -> None:
    signer = UrlSigner(b"k")
    proxied = open_storage("s3://fitroom-test/urls", signer, "http://fitroom.example")
    proxied.put("jobs/j/outputs/0.png", b"result", "image/png")
    url = proxied.url("jobs/j/outputs/0.png", 3600)
    assert url.startswith("http://fitroom.example/files/jobs/j/outputs/0.png?expires=")

    direct = open_storage("s3://fitroom-test/urls", signer, "http://fitroom.example", presigned_urls=True)
    presigned = direct.url("jobs/j/outputs/0.png", 3600)
    assert presigned.startswith(aws)
    answer = httpx.get(presigned)
    assert (answer.status_code, answer.content) == (200, b"result")
    # The store enforces the expiry (moto, standing in, does not): the URL carries it.
    query = parse_qs(urlsplit(direct.url("jobs/j/outputs/0.png", 60)).query)
    if "X-Amz-Expires" in query:  # signature version 4
        assert query["X-Amz-Expires"] == ["60"]
    else:  # version 2: an absolute time
        assert abs(int(query["Expires"][0]) - (time.time() + 60)) < 5


def test_a_bad_storage_url_is_refused_with_the_forms_it_takes() -> None:
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        open_storage("ftp://x", UrlSigner(b"k"), "http://s")
    with pytest.raises(ValueError, match="names a bucket"):
        open_storage("s3:///nobucket", UrlSigner(b"k"), "http://s")
