"""Keys, limits, credits and tenancy, on every dialect (docs/api.md §1).

The server here runs no workers: submitted jobs stay queued, which is what the
concurrency and tenancy checks need, and no engine has to start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from tests.helpers import (
    b64,
    blob_files,
    data_uri,
    job_rows,
    make_settings,
    new_key,
)


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    return {"workers": 0}


@dataclass(frozen=True)
class Vendor:
    """How one dialect submits a valid job and polls it, and its error bodies."""

    name: str
    submit: Callable[[TestClient, dict, dict[str, bytes]], httpx.Response]
    poll: Callable[[TestClient, dict, str], httpx.Response]
    job_id: Callable[[dict], str]
    unauthenticated: dict  # the fixed part of its 401 body
    rate_limited: dict  # ... of its 429 for a rate limit
    concurrency_limited: dict  # ... of its 429 for too many jobs
    no_credits: tuple[int, dict]  # status and fixed part of its body
    not_found: dict  # ... of its 404 for another key's job


def fashn_images(img: dict[str, bytes]) -> dict[str, str]:
    """The two images as FASHN names them (the gateway too), as data URIs."""
    return {
        "model_image": data_uri(img["person.png"]),
        "garment_image": data_uri(img["garment.png"]),
    }


PIXAZO_401 = {"error": "Invalid or missing authentication", "code": "unauthenticated"}
PIXAZO_429 = {"error": "Rate limit exceeded, please retry later", "code": "rate_limited"}
PIXAZO_429_CONCURRENCY = PIXAZO_429 | {"code": "concurrency_limited"}
PIXAZO_403 = (403, {"error": "Access denied for this operation", "code": "insufficient_credits"})
PIXAZO_404 = {"error": "Endpoint not found", "code": "job_not_found"}

VENDORS = [
    Vendor(
        "rvton",
        submit=lambda c, h, img: c.post(
            "/virtual-tryon/v1/r-vton",
            json={"human_img": b64(img["person.png"]), "garm_img": b64(img["garment.png"])},
            headers=h,
        ),
        poll=lambda c, h, i: c.post("/vton-polling/v1/r-vton-get-image", json={"id": i}, headers=h),
        job_id=lambda body: body["id"],
        unauthenticated=PIXAZO_401,
        rate_limited=PIXAZO_429,
        concurrency_limited=PIXAZO_429_CONCURRENCY,
        no_credits=PIXAZO_403,
        not_found=PIXAZO_404,
    ),
    Vendor(
        "glasses",
        submit=lambda c, h, img: c.post(
            "/glass-virtual-try-on/v1/api/glass-virtual-tryon",
            json={"model_image_path": b64(img["person.png"])},
            headers=h,
        ),
        poll=lambda c, h, i: c.post(
            "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result",
            json={"request_id": i},
            headers=h,
        ),
        job_id=lambda body: body["request_id"],
        unauthenticated=PIXAZO_401,
        rate_limited=PIXAZO_429,
        concurrency_limited=PIXAZO_429_CONCURRENCY,
        no_credits=PIXAZO_403,
        not_found=PIXAZO_404,
    ),
    Vendor(
        "fashn_gateway",
        submit=lambda c, h, img: c.post(
            "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request",
            json=fashn_images(img),
            headers=h,
        ),
        poll=lambda c, h, i: c.post(
            "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request-result",
            json={"request_id": i},
            headers=h,
        ),
        job_id=lambda body: body["request_id"],
        unauthenticated=PIXAZO_401,
        rate_limited=PIXAZO_429,
        concurrency_limited=PIXAZO_429_CONCURRENCY,
        no_credits=PIXAZO_403,
        not_found=PIXAZO_404,
    ),
    Vendor(
        "pixelcut",
        submit=lambda c, h, img: c.post(
            "/v1/try-on",
            data={"wait_for_result": "false"},
            files={
                "person_image": ("p.png", img["person.png"]),
                "garment_image": ("g.png", img["garment.png"]),
            },
            headers=h,
        ),
        poll=lambda c, h, i: c.get(f"/v1/try-on/job/{i}", headers=h),
        job_id=lambda body: body["job_id"],
        unauthenticated={"error_code": "invalid_auth_token"},
        rate_limited={"error": "Too many requests", "error_code": "rate_limit_exceeded"},
        concurrency_limited={"error": "Too many requests", "error_code": "rate_limit_exceeded"},
        no_credits=(
            403,
            {"error": "Insufficient credits available", "error_code": "insufficient_api_credits"},
        ),
        not_found={"error": "Job not found", "error_code": "not_found"},
    ),
    Vendor(
        "fashn",
        submit=lambda c, h, img: c.post(
            "/v1/run",
            json={
                "model_name": "tryon-v1.6",
                "inputs": fashn_images(img),
            },
            headers=h,
        ),
        poll=lambda c, h, i: c.get(f"/v1/status/{i}", headers=h),
        job_id=lambda body: body["id"],
        unauthenticated={"error": "UnauthorizedAccess"},
        rate_limited={"error": "RateLimitExceeded"},
        concurrency_limited={"error": "ConcurrencyLimitExceeded"},
        no_credits=(429, {"error": "OutOfCredits"}),
        not_found={"error": "NotFound"},
    ),
]
BY_NAME = {v.name: v for v in VENDORS}
vendors = pytest.mark.parametrize("vendor", VENDORS, ids=[v.name for v in VENDORS])


def assert_body(response: httpx.Response, status: int, fixed: dict) -> dict:
    """``response`` has ``status`` and a body holding ``fixed`` and nothing but strings."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body | fixed == body, body
    assert all(isinstance(value, str) for value in body.values()), body
    return body


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        lambda k: {"Ocp-Apim-Subscription-Key": k},
        lambda k: {"ocp-apim-subscription-key": k},
        lambda k: {"X-API-KEY": k},
        lambda k: {"x-api-key": k},
        lambda k: {"Authorization": f"Bearer {k}"},
    ],
    ids=["ocp", "ocp-lower", "x-api-key", "x-api-key-lower", "bearer"],
)
@vendors
def test_every_header_carries_the_key(
    client: TestClient, key: str, images: dict[str, bytes], vendor: Vendor, header: Callable
) -> None:
    """The key is accepted in each header: an unknown job is the dialect's 404, not 401."""
    response = vendor.poll(client, header(key), "0" * 32)
    assert_body(response, 404, vendor.not_found)


@pytest.mark.parametrize("sent", [None, "fr_000000000000_wrong", "not-even-a-key", "Basic abc"])
@vendors
def test_missing_or_unknown_key_is_401(
    client: TestClient, images: dict[str, bytes], vendor: Vendor, sent: str | None
) -> None:
    if sent is None:
        headers = {}
    elif sent.startswith("Basic"):
        headers = {"Authorization": sent}
    else:
        headers = {"X-API-KEY": sent}
    response = vendor.submit(client, headers, images)
    assert_body(response, 401, vendor.unauthenticated)


@vendors
def test_revoked_key_is_401(client: TestClient, images: dict[str, bytes], vendor: Vendor) -> None:
    raw = new_key(client, f"revoked-{vendor.name}")
    client.app.state.runtime.keys.revoke(f"revoked-{vendor.name}")
    response = vendor.submit(client, {"X-API-KEY": raw}, images)
    assert_body(response, 401, vendor.unauthenticated)


def test_exact_401_bodies(client: TestClient) -> None:
    """The fixed sentences, in full, for a request with no key at all."""
    response = client.post("/virtual-tryon/v1/r-vton", json={})
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid or missing authentication"
    response = client.post("/v1/try-on", json={})
    assert (response.status_code, response.json()["error_code"]) == (401, "invalid_auth_token")
    response = client.get(f"/v1/status/{'0' * 32}")
    assert (response.status_code, response.json()["error"]) == (401, "UnauthorizedAccess")


# --- rate limits and concurrency ----------------------------------------------------------------


@vendors
def test_submit_rate_limit_is_429_with_retry_after(
    client: TestClient, vendor: Vendor, images: dict[str, bytes]
) -> None:
    """One submit a minute: the first is served (here a 400, the image is no image),
    the second refused with the dialect's 429 and a Retry-After."""
    raw = new_key(client, f"slow-{vendor.name}", submit_rate=1, submit_period=60)
    broken = {"person.png": b"not an image", "garment.png": b"not an image"}
    first = vendor.submit(client, {"X-API-KEY": raw}, broken)
    assert first.status_code == 400, first.text
    second = vendor.submit(client, {"X-API-KEY": raw}, broken)
    assert_body(second, 429, vendor.rate_limited)
    assert 1 <= int(second.headers["retry-after"]) <= 60


@vendors
def test_poll_rate_limit_is_429_with_retry_after(client: TestClient, vendor: Vendor) -> None:
    raw = new_key(client, f"slow-poll-{vendor.name}", poll_rate=2, poll_period=10)
    for _ in range(2):
        assert vendor.poll(client, {"X-API-KEY": raw}, "0" * 32).status_code == 404
    response = vendor.poll(client, {"X-API-KEY": raw}, "0" * 32)
    assert_body(response, 429, vendor.rate_limited)
    assert 1 <= int(response.headers["retry-after"]) <= 10


@vendors
def test_concurrency_limit_is_429(
    client: TestClient, vendor: Vendor, images: dict[str, bytes]
) -> None:
    """With no workers the first job stays queued; a second would pass the key's one."""
    raw = new_key(client, f"one-at-a-time-{vendor.name}", concurrency_limit=1)
    first = vendor.submit(client, {"X-API-KEY": raw}, images)
    assert first.status_code in (200, 202), first.text
    jobs, blobs = job_rows(client), len(blob_files(client))
    second = vendor.submit(client, {"X-API-KEY": raw}, images)
    assert_body(second, 429, vendor.concurrency_limited)
    assert int(second.headers["retry-after"]) >= 1
    # Refused at the final insert, after its inputs were stored: they are gone again.
    assert (job_rows(client), len(blob_files(client))) == (jobs, blobs)


# --- credits ------------------------------------------------------------------------------------


@vendors
def test_no_credits(client: TestClient, vendor: Vendor, images: dict[str, bytes]) -> None:
    raw = new_key(client, f"broke-{vendor.name}", credits=0)
    status, fixed = vendor.no_credits
    assert_body(vendor.submit(client, {"X-API-KEY": raw}, images), status, fixed)


def test_credits_are_charged_per_output(client: TestClient, images: dict[str, bytes]) -> None:
    """FASHN charges per sample: two samples need two credits; the header says what was used."""
    raw = new_key(client, "two-credits", credits=2)
    inputs = fashn_images(images)
    run = lambda n: client.post(  # noqa: E731
        "/v1/run",
        json={"model_name": "tryon-v1.6", "inputs": inputs | {"num_samples": n}},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert_body(run(3), 429, {"error": "OutOfCredits"})
    response = run(2)
    assert response.status_code == 200, response.text
    assert response.headers["x-fashn-credits-used"] == "2"
    assert_body(run(1), 429, {"error": "OutOfCredits"})


# --- tenancy and keyless polling ------------------------------------------------------------------


@pytest.fixture(scope="module")
def owned_jobs(client: TestClient, images: dict[str, bytes]) -> dict[str, str]:
    """One queued job per dialect, owned by its own key."""
    raw = new_key(client, "owner")
    jobs = {}
    for vendor in VENDORS:
        response = vendor.submit(client, {"X-API-KEY": raw}, images)
        assert response.status_code in (200, 202), response.text
        jobs[vendor.name] = vendor.job_id(response.json())
    return jobs


@vendors
def test_another_keys_job_is_404(
    client: TestClient, owned_jobs: dict[str, str], vendor: Vendor
) -> None:
    stranger = new_key(client, f"stranger-{vendor.name}")
    response = vendor.poll(client, {"X-API-KEY": stranger}, owned_jobs[vendor.name])
    assert_body(response, 404, vendor.not_found)


@pytest.mark.parametrize("name", ["rvton", "glasses"])
def test_pixazo_polling_takes_a_bare_id(
    client: TestClient, owned_jobs: dict[str, str], name: str
) -> None:
    response = BY_NAME[name].poll(client, {}, owned_jobs[name])
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("starting", "submitted")


@pytest.mark.parametrize("name", ["fashn_gateway", "pixelcut", "fashn"])
def test_other_polling_needs_a_key(
    client: TestClient, owned_jobs: dict[str, str], name: str
) -> None:
    response = BY_NAME[name].poll(client, {}, owned_jobs[name])
    assert_body(response, 401, BY_NAME[name].unauthenticated)


def test_polling_requires_key_setting(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, images: dict[str, bytes]
) -> None:
    """FITROOM_POLLING_REQUIRES_KEY=1 turns keyless polling off."""
    monkeypatch.setenv("FITROOM_POLLING_REQUIRES_KEY", "1")
    app = create_app(make_settings(tmp_path, workers=0))
    with TestClient(app, raise_server_exceptions=False) as strict:
        raw = new_key(strict, "owner")
        for name in ("rvton", "glasses"):
            vendor = BY_NAME[name]
            job_id = vendor.job_id(vendor.submit(strict, {"X-API-KEY": raw}, images).json())
            assert_body(vendor.poll(strict, {}, job_id), 401, vendor.unauthenticated)
            assert vendor.poll(strict, {"X-API-KEY": raw}, job_id).status_code == 200


def test_keyless_polls_and_wrong_keys_are_limited_per_client_address(
    tmp_path: Any, images: dict[str, bytes]
) -> None:
    """Keyless Pixazo polls, and requests with a wrong key, draw on a bucket per client
    address the size of the poll bucket: a flood meets the dialect's 429."""
    app = create_app(make_settings(tmp_path, workers=0, poll_rate=3, poll_period_seconds=10))
    with TestClient(app, raise_server_exceptions=False) as limited:
        raw = new_key(limited, "owner")
        rvton = BY_NAME["rvton"]
        job_id = rvton.job_id(rvton.submit(limited, {"X-API-KEY": raw}, images).json())
        for _ in range(3):
            assert rvton.poll(limited, {}, job_id).status_code == 200
        refused = rvton.poll(limited, {}, job_id)
        assert_body(refused, 429, rvton.rate_limited)
        assert 1 <= int(refused.headers["retry-after"]) <= 10
        # The key's own bucket is not the address's: polling with the key still works.
        assert rvton.poll(limited, {"X-API-KEY": raw}, job_id).status_code == 200

        fashn = BY_NAME["fashn"]
        wrong = {"X-API-KEY": "fr_000000000000_wrong"}
        for _ in range(3):
            assert_body(fashn.poll(limited, wrong, job_id), 401, fashn.unauthenticated)
        assert_body(fashn.poll(limited, wrong, job_id), 429, fashn.rate_limited)
