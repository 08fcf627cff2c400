"""Jobs survive the server being killed: every accepted job ends, none lost, none stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.helpers import (
    astronaut,
    b64,
    create_key,
    drawn_tshirt,
    fitroom_bin,
    free_port,
    kill_group,
    start_server,
)

SUBMIT = "/glass-virtual-try-on/v1/api/glass-virtual-tryon"
POLL = "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result"
RVTON = "/virtual-tryon/v1/r-vton"
RVTON_POLL = "/vton-polling/v1/r-vton-get-image"


def test_sigkill_while_jobs_queued_and_running_loses_nothing(tmp_path):
    data_dir = tmp_path / "data"
    env = {
        "FITROOM_LEASE_SECONDS": "2",
        "FITROOM_WORKERS": "1",
        "FITROOM_CONCURRENCY_LIMIT": "50",
        "FITROOM_SUBMIT_RATE": "1000",
        "FITROOM_POLL_RATE": "10000",
    }
    key = create_key(data_dir, name="durability")
    headers = {"Ocp-Apim-Subscription-Key": key}
    port = free_port()
    server = start_server(data_dir, port, env)
    base = f"http://127.0.0.1:{port}"
    person = b64(astronaut(), "JPEG")
    garment = b64(drawn_tshirt(), "PNG")
    accepted: list[tuple[str, str]] = []  # (poll path, id)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for i in range(8):
                if i % 2:
                    r = client.post(SUBMIT, json={"model_image_path": person})
                    assert r.status_code == 200, r.text
                    accepted.append((POLL, r.json()["request_id"]))
                else:
                    r = client.post(RVTON, json={"human_img": person, "garm_img": garment})
                    assert r.status_code == 200, r.text
                    accepted.append((RVTON_POLL, r.json()["id"]))
            # Kill as soon as a job is running, so some are mid-run and others queued.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                jobs = client.get("/healthz").json()["jobs"]
                if jobs.get("running", 0) >= 1 and jobs.get("queued", 0) >= 1:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"never saw a running and a queued job at once: {jobs}")
    finally:
        kill_group(server)

    server = start_server(data_dir, port, env)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            final: dict[str, dict] = {}
            deadline = time.monotonic() + 240
            while len(final) < len(accepted) and time.monotonic() < deadline:
                for path, job_id in accepted:
                    if job_id in final:
                        continue
                    body_key = "id" if path == RVTON_POLL else "request_id"
                    r = client.post(path, json={body_key: job_id})
                    assert r.status_code == 200, r.text
                    body = r.json()
                    if body["status"] in ("succeeded", "completed", "failed", "canceled"):
                        final[job_id] = body
                time.sleep(0.3)
    finally:
        kill_group(server)

    assert len(final) == len(accepted), f"stuck jobs: {set(j for _, j in accepted) - set(final)}"
    for job_id, body in final.items():
        if body["status"] == "failed":
            assert body.get("error"), f"job {job_id} failed without a reason: {body}"
        else:
            assert body["status"] in ("succeeded", "completed"), body
    # The jobs are simple and the killed run was retried: they should have succeeded.
    assert sum(b["status"] in ("succeeded", "completed") for b in final.values()) == len(accepted)


def test_a_clean_stop_hands_running_jobs_back_to_the_queue(tmp_path):
    from starlette.testclient import TestClient

    from fitroom.api.app import create_app
    from fitroom.jobs.model import JobState
    from fitroom.runtime import Stores
    from fitroom.settings import Settings

    settings = Settings(data_dir=tmp_path, workers=1, concurrency_limit=50, submit_rate=1000)
    app = create_app(settings)
    with TestClient(app) as client:
        _, key = app.state.runtime.keys.create("stop")
        client.headers["X-API-KEY"] = key
        body = {"human_img": b64(astronaut(), "JPEG"), "garm_img": b64(drawn_tshirt())}
        for _ in range(3):
            assert client.post(RVTON, json=body).status_code == 200
        deadline = time.monotonic() + 60
        while client.get("/healthz").json()["jobs"].get("running", 0) == 0:
            assert time.monotonic() < deadline, "no job started"
            time.sleep(0.02)
    # Lifespan ended mid-run: nothing is left "running" under a dead lease.
    stores = Stores.open(Settings(data_dir=tmp_path))
    try:
        counts = stores.jobs.counts()
    finally:
        stores.close()
    assert counts[JobState.RUNNING] == 0
    assert counts[JobState.QUEUED] + counts[JobState.SUCCEEDED] == 3


def test_a_run_past_its_timeout_is_stopped_and_the_worker_goes_on(tmp_path):
    from starlette.testclient import TestClient

    from fitroom.api.app import create_app
    from fitroom.settings import Settings

    # Far too short for any run: every job times out, each on a fresh pool.
    settings = Settings(data_dir=tmp_path, workers=1, job_timeout_seconds=0.05, concurrency_limit=50)
    app = create_app(settings)
    with TestClient(app) as client:
        _, key = app.state.runtime.keys.create("timeouts")
        client.headers["X-API-KEY"] = key
        ids = []
        for _ in range(2):
            r = client.post(SUBMIT, json={"model_image_path": b64(astronaut(), "JPEG")})
            assert r.status_code == 200, r.text
            ids.append(r.json()["request_id"])
        deadline = time.monotonic() + 60
        bodies = {}
        while len(bodies) < 2 and time.monotonic() < deadline:
            for job_id in ids:
                body = client.post(POLL, json={"request_id": job_id}).json()
                if body["status"] == "failed":
                    bodies[job_id] = body
            time.sleep(0.1)
    assert len(bodies) == 2, "the worker stopped taking jobs after a timeout"
    for body in bodies.values():
        assert "longer than" in body["error"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_engine_processes_do_not_outlive_their_server(tmp_path, sig):
    """Stopping or killing the server process alone (not its group) leaves no engine
    process behind: each holds half a gigabyte of models."""
    port = free_port()
    server = start_server(tmp_path / "data", port, {"FITROOM_WORKERS": "2"})
    try:
        key = subprocess.run(
            [fitroom_bin(), "keys", "create", "--name", "k", "--data-dir", str(tmp_path / "data")],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        base = f"http://127.0.0.1:{port}"
        r = httpx.post(base + SUBMIT, json={"model_image_path": b64(astronaut(), "JPEG")},
                       headers={"X-API-KEY": key}, timeout=30)
        job = r.json()["request_id"]
        deadline = time.monotonic() + 60
        while httpx.post(base + POLL, json={"request_id": job}).json()["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert _group_alive(server.pid), "the engine processes should be running now"
    finally:
        os.kill(server.pid, sig)
        server.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _group_alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _group_alive(server.pid)
    if alive:
        os.killpg(server.pid, signal.SIGKILL)
    assert not alive, "engine processes outlived their server"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
