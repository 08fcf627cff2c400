"""Result files: signed, expiring URLs; retention removes everything a job left. Each
test runs on the local directory and on an S3-compatible store (moto's server)."""

from __future__ import annotations

import contextlib
import io
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from fitroom.errors import BlobNotFound
from fitroom.jobs.janitor import Janitor
from fitroom.settings import Settings
from tests.helpers import astronaut, b64
from tests.s3_server import environment, make_bucket, s3_server

SUBMIT = "/glass-virtual-try-on/v1/api/glass-virtual-tryon"
POLL = "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result"


@pytest.fixture(scope="module", params=["file", "s3"])
def served(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        overrides = {}
        if request.param == "s3":
            endpoint = stack.enter_context(s3_server())
            make_bucket(endpoint, "results")
            patch = stack.enter_context(pytest.MonkeyPatch.context())
            for name, value in environment(endpoint).items():
                patch.setenv(name, value)
            overrides["storage_url"] = "s3://results/fitroom"
        settings = Settings(data_dir=tmp_path_factory.mktemp("results"), workers=1, **overrides)
        yield from _served(settings)


def _served(settings: Settings):
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        _, key = app.state.runtime.keys.create("results")
        client.headers["X-API-KEY"] = key
        r = client.post(SUBMIT, json={"model_image_path": b64(astronaut(), "JPEG")})
        assert r.status_code == 200, r.text
        job_id = r.json()["request_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = client.post(POLL, json={"request_id": job_id}).json()
            if body["status"] in ("completed", "failed"):
                break
            time.sleep(0.2)
        assert body["status"] == "completed", body
        yield client, app, job_id, body


def _path(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_signed_url_serves_the_result(served):
    client, _, _, body = served
    path, query = _path(body["image_url"])
    r = client.get(path, params=query)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(r.content)).size == (512, 512)


@pytest.mark.parametrize("part", ["sig", "expires", "path"])
def test_tampered_signed_url_is_refused(served, part):
    client, _, _, body = served
    path, query = _path(body["image_url"])
    if part == "sig":
        query["sig"] = ("0" if query["sig"][0] != "0" else "1") + query["sig"][1:]
    elif part == "expires":
        query["expires"] = str(int(query["expires"]) + 3600)
    else:
        path = path.replace("/0.", "/1.")
    r = client.get(f"{path}?{urlencode(query)}")
    assert r.status_code == 403


def test_expired_signed_url_is_refused(served):
    client, app, job_id, body = served
    path, _ = _path(body["image_url"])
    key = path.removeprefix("/files/")
    past = int(time.time()) - 1
    sig = app.state.runtime.signer.sign(key, past)
    assert client.get(path, params={"expires": past, "sig": sig}).status_code == 403


def test_each_poll_issues_fresh_urls(served):
    client, _, job_id, body = served
    time.sleep(1.1)
    again = client.post(POLL, json={"request_id": job_id}).json()
    assert again["image_url"] != body["image_url"]


def test_retention_deletes_rows_and_blobs(served):
    client, app, job_id, body = served
    runtime = app.state.runtime
    janitor = Janitor(
        runtime.stores.settings,
        jobs=runtime.jobs,
        lanes=runtime.stores.lanes,
        storage=runtime.storage,
        on_purged=runtime.service.forget,
    )
    assert janitor.purge(now=datetime.now(UTC)) == 0  # nothing is old yet
    purged = janitor.purge(now=datetime.now(UTC) + timedelta(hours=73))
    assert purged >= 1
    assert runtime.jobs.get(job_id) is None
    key = _path(body["image_url"])[0].removeprefix("/files/")
    with pytest.raises(BlobNotFound):
        runtime.storage.info(key)
    assert runtime.storage.delete_prefix(f"jobs/{job_id}/") == 0  # nothing of the job is left
    path, query = _path(body["image_url"])
    assert client.get(path, params=query).status_code == 404
    r = client.post(POLL, json={"request_id": job_id})
    assert r.status_code == 404
    assert r.json()["error"] == "Endpoint not found"
