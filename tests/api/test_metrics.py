"""/metrics: off by default, behind a token, counting requests per dialect, route and
status, and reading the cluster-wide job figures from the store."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from tests.helpers import b64, make_settings, new_key, poll_until

TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    return {"metrics_token": TOKEN, "workers": 1, "engines": ["cpu-glasses"]}


def scrape(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    values = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_are_closed_without_the_token(tmp_path: Any, client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with TestClient(create_app(make_settings(tmp_path, workers=0))) as closed:
        assert closed.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_requests_jobs_queue_and_credits_are_counted(client: TestClient, images: dict[str, bytes]) -> None:
    before = scrape(client)
    key = new_key(client, "metered", credits=10)
    route = "/glass-virtual-try-on/v1/api/glass-virtual-tryon"
    done = []
    for _ in range(2):
        answer = client.post(route, json={"model_image_path": b64(images["person.png"])}, headers={"X-API-KEY": key})
        assert answer.status_code == 200
        done.append(answer.json()["request_id"])
    refused = client.post(route, json={"model_image_path": "not an image"}, headers={"X-API-KEY": key})
    assert refused.status_code == 400
    for job in done:
        poll_until(
            lambda job=job: client.post(
                "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result", json={"request_id": job}
            ).json(),
            lambda b: b["status"] in ("completed", "failed"),
        )
    time.sleep(1.1)  # store figures are read at most once a second
    after = scrape(client)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    ok = f'fitroom_http_requests_total{{dialect="glasses",route="{route}",status="200"}}'
    bad = f'fitroom_http_requests_total{{dialect="glasses",route="{route}",status="400"}}'
    assert (grew(ok), grew(bad)) == (2, 1)
    assert grew('fitroom_jobs{engine="cpu-glasses",error_code="",state="succeeded"}') == 2
    assert grew("fitroom_credits_charged") == 2
    assert after['fitroom_engine_processes{engine="cpu-glasses"}'] >= 1
    assert grew('fitroom_engine_run_seconds_count{engine="cpu-glasses"}') == 2
