"""Lanes: a worker runs only the engines it was given, jobs wait for theirs, and a lane's
trouble stays in that lane. Real processes (``fitroom serve --workers 0`` plus
``fitroom worker --engines ...``) on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from fitroom.engines.testing.engine import calls
from tests.helpers import (
    astronaut,
    b64,
    create_key,
    download_image,
    drawn_tshirt,
    encode,
    free_port,
    kill_group,
    make_settings,
    new_key,
    poll_until,
    start_server,
    start_worker,
    wait_for_lanes,
)
from tests.postgres import fresh_database

TEST_ENGINES = "fitroom.engines.testing.engine"
RVTON, RVTON_POLL = "/virtual-tryon/v1/r-vton", "/vton-polling/v1/r-vton-get-image"
GLASSES, GLASSES_POLL = (
    "/glass-virtual-try-on/v1/api/glass-virtual-tryon",
    "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A data dir and the environment every process of one small cluster shares."""
    env = {
        "FITROOM_LANE_HEARTBEAT_SECONDS": "0.5",
        "FITROOM_POLL_RATE": "100000",
        "FITROOM_SUBMIT_RATE": "100000",
        "FITROOM_CONCURRENCY_LIMIT": "100",
    }
    if request.param == "sqlite":
        yield tmp_path / "data", env
    else:
        with fresh_database(request.getfixturevalue("postgres_admin_url")) as url:
            yield tmp_path / "data", env | {"FITROOM_DATABASE_URL": url}


def _rvton(base: str, key: str, seed: int, **extra: Any) -> str:
    body = {"human_img": b64(astronaut(), "JPEG"), "garm_img": b64(drawn_tshirt()), "seed": seed, **extra}
    response = httpx.post(base + RVTON, json=body, headers={"X-API-KEY": key}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _fashn(base: str, key: str, seed: int) -> str:
    inputs = {
        "model_image": b64(astronaut(), "JPEG", data_uri=True),
        "garment_image": b64(drawn_tshirt(), data_uri=True),
    }
    body = {"model_name": "tryon-v1.6", "inputs": inputs | {"seed": seed}}
    response = httpx.post(f"{base}/v1/run", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _rvton_status(base: str, job: str) -> dict[str, Any]:
    return httpx.post(base + RVTON_POLL, json={"id": job}, timeout=10).json()


def _fashn_status(base: str, key: str, job: str) -> dict[str, Any]:
    return httpx.get(f"{base}/v1/status/{job}", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()


def test_a_worker_runs_only_its_engines_and_the_other_jobs_wait(shared: tuple[Path, dict[str, str]]) -> None:
    data, env = shared
    env = env | {
        "FITROOM_ENGINE_MODULES": TEST_ENGINES,
        "FITROOM_ROUTES": "rvton:clothing=test-a,fashn:clothing=test-b",
    }
    key = create_key(data, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_server(data, port, env | {"FITROOM_WORKERS": "0"})
    workers = []
    try:
        a_jobs = {seed: _rvton(base, key, seed) for seed in (101, 102, 103)}
        b_jobs = {seed: _fashn(base, key, seed) for seed in (201, 202)}
        # Nobody serves either engine yet: queued, and the status says why.
        first = _rvton_status(base, a_jobs[101])
        assert first["status"] == "starting"
        assert "No running worker serves engine test-a" in first["waiting"]

        workers.append(start_worker(data, "test-a", env))
        for job in a_jobs.values():
            poll_until(
                lambda job=job: _rvton_status(base, job),
                lambda b: b["status"] != "starting" and b["status"] != "processing",
            )
        assert {_rvton_status(base, job)["status"] for job in a_jobs.values()} == {"succeeded"}
        time.sleep(1.5)  # a worker that wrongly took test-b's jobs would have started them by now
        for job in b_jobs.values():
            status = _fashn_status(base, key, job)
            assert status["status"] == "in_queue", status
            assert "No running worker serves engine test-b" in status["waiting"]
        assert calls(data, "test-b") == []
        ran_a = calls(data, "test-a")
        assert sorted(c["seed"] for c in ran_a) == [101, 102, 103]
        # The three jobs were queued before the lane started and are compatible: one batch.
        assert max(c["batch"] for c in ran_a) > 1

        workers.append(start_worker(data, "test-b", env))
        for job in b_jobs.values():
            poll_until(lambda job=job: _fashn_status(base, key, job), lambda b: b["status"] in ("completed", "failed"))
        assert {_fashn_status(base, key, job)["status"] for job in b_jobs.values()} == {"completed"}
        # Nothing ran twice, nothing ran on the wrong engine.
        assert sorted(c["seed"] for c in calls(data, "test-b")) == [201, 202]
        assert sorted(c["seed"] for c in calls(data, "test-a")) == [101, 102, 103]

        # The result is the engine's (the person inverted), served through the server.
        result = download_image(httpx.Client(), _rvton_status(base, a_jobs[101])["output"])
        sent = np.asarray(Image.open(io.BytesIO(encode(astronaut(), "JPEG"))).convert("RGB"))
        assert np.array_equal(np.asarray(result.convert("RGB")), 255 - sent)
    finally:
        for proc in (api, *workers):
            kill_group(proc)


def test_real_engines_wait_for_the_lane_of_their_engine(shared: tuple[Path, dict[str, str]]) -> None:
    data, env = shared
    key = create_key(data, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_server(data, port, env | {"FITROOM_WORKERS": "0"})
    workers = []
    try:
        clothing = _rvton(base, key, 7)
        response = httpx.post(
            base + GLASSES, json={"model_image_path": b64(astronaut(), "JPEG")}, headers={"X-API-KEY": key}, timeout=30
        )
        glasses = response.json()["request_id"]

        workers.append(start_worker(data, "cpu-glasses", env | {"FITROOM_WORKERS": "1"}))
        done = poll_until(
            lambda: httpx.post(base + GLASSES_POLL, json={"request_id": glasses}, timeout=10).json(),
            lambda b: b["status"] in ("completed", "failed"),
        )
        assert done["status"] == "completed", done
        time.sleep(1.5)
        waiting = _rvton_status(base, clothing)
        assert waiting["status"] == "starting", waiting
        assert "cpu-clothing" in waiting["waiting"]

        workers.append(start_worker(data, "cpu-clothing", env | {"FITROOM_WORKERS": "1"}))
        wait_for_lanes(base, ["cpu-clothing"])
        finished = poll_until(lambda: _rvton_status(base, clothing), lambda b: b["status"] in ("succeeded", "failed"))
        assert finished["status"] == "succeeded", finished
        assert "waiting" not in finished
    finally:
        for proc in (api, *workers):
            kill_group(proc)


def test_a_timed_out_run_stops_only_its_own_lane(tmp_path: Path) -> None:
    """One server, lanes for test-a and test-b: test-a's run past the timeout kills
    test-a's process, while test-b's process (and its loaded engine) carries on."""
    from starlette.testclient import TestClient

    from fitroom.api.app import create_app

    settings = make_settings(
        tmp_path / "data",
        engine_modules=[TEST_ENGINES],
        engines=["test-a", "test-b"],
        routes={"rvton:clothing": "test-a", "fashn:clothing": "test-b"},
        # Long enough that a first run (a lane process starting on a loaded machine)
        # never meets it; the stuck run sleeps far past it.
        job_timeout_seconds=15,
        max_attempts=1,
    )
    with TestClient(create_app(settings)) as client:
        key = new_key(client)
        auth = {"Authorization": f"Bearer {key}"}

        def fashn(seed: int) -> dict[str, Any]:
            inputs = {
                "model_image": b64(astronaut(), "JPEG", data_uri=True),
                "garment_image": b64(drawn_tshirt(), data_uri=True),
            }
            job = client.post(
                "/v1/run", json={"model_name": "tryon-v1.6", "inputs": inputs | {"seed": seed}}, headers=auth
            )
            return poll_until(
                lambda: client.get(f"/v1/status/{job.json()['id']}", headers=auth).json(),
                lambda b: b["status"] in ("completed", "failed"),
            )

        def rvton(seed: int, description: str = "") -> dict[str, Any]:
            body = {
                "human_img": b64(astronaut(), "JPEG"),
                "garm_img": b64(drawn_tshirt()),
                "seed": seed,
                "garment_des": description,
            }
            job = client.post(RVTON, json=body, headers={"X-API-KEY": key}).json()["id"]
            return poll_until(
                lambda: client.post(RVTON_POLL, json={"id": job}).json(),
                lambda b: b["status"] in ("succeeded", "failed"),
            )

        assert fashn(1)["status"] == "completed"
        b_pid = calls(settings.data_dir, "test-b")[0]["pid"]

        stuck = rvton(2, "sleep=60")
        assert stuck["status"] == "failed" and "longer than 15 seconds" in stuck["error"], stuck
        stuck_pid = calls(settings.data_dir, "test-a")[0]["pid"]

        assert fashn(3)["status"] == "completed"
        assert rvton(4)["status"] == "succeeded"
        by_seed = {c["seed"]: c["pid"] for engine in ("test-a", "test-b") for c in calls(settings.data_dir, engine)}
        assert by_seed[3] == b_pid  # test-b's process was never touched
        assert by_seed[4] != stuck_pid  # test-a's got a fresh one
