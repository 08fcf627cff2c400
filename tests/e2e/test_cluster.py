"""A cluster on loopback behaving like one server: PostgreSQL, Redis, an S3-compatible
store (moto's server mode, standing in for a real one), two API servers with their own
data directories and no lanes, and two workers. The test engines stand in for real ones
so that every execution is counted."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fitroom.engines.testing.engine import calls
from fitroom.runtime import Stores
from fitroom.settings import Settings
from tests.helpers import (
    WebhookReceiver,
    astronaut,
    b64,
    drawn_tshirt,
    encode,
    fitroom_bin,
    free_port,
    kill_group,
    poll_until,
    start_server,
    start_worker,
    wait_for_lanes,
)
from tests.postgres import fresh_database
from tests.s3_server import environment, make_bucket, s3_server

METRICS_TOKEN = "cluster-metrics"
SUBMIT_RATE = 12


@pytest.fixture
def cluster_env(postgres_admin_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    with fresh_database(postgres_admin_url) as db_url, s3_server() as endpoint:
        make_bucket(endpoint, "fitroom-cluster")
        yield {
            **environment(endpoint),
            "FITROOM_DATABASE_URL": db_url,
            "FITROOM_REDIS_URL": redis_url,
            "FITROOM_STORAGE_URL": "s3://fitroom-cluster/test",
            "FITROOM_SECRET_KEY": secrets.token_hex(16),
            "FITROOM_ENGINE_MODULES": "fitroom.engines.testing.engine",
            "FITROOM_ROUTES": "clothing=test-a",
            "FITROOM_URL_ALLOWLIST": "127.0.0.1",
            "FITROOM_LEASE_SECONDS": "2",
            "FITROOM_LANE_HEARTBEAT_SECONDS": "0.5",
            "FITROOM_METRICS_TOKEN": METRICS_TOKEN,
            "FITROOM_POLL_RATE": "100000",
            "FITROOM_CONCURRENCY_LIMIT": "100",
        }


def test_two_servers_and_two_workers_behave_like_one_server(tmp_path: Path, cluster_env: dict[str, str]) -> None:
    env = cluster_env
    created = subprocess.run(
        [fitroom_bin(), "keys", "create", "--name", "shop", "--data-dir", str(tmp_path / "a"),
         "--credits", "100", "--submit-rate", str(SUBMIT_RATE)],
        capture_output=True, text=True, check=True, env={**os.environ, **env},
    )  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    hooks = WebhookReceiver()
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    api_env = env | {"FITROOM_WORKERS": "0"}
    servers = [start_server(tmp_path / name, port, api_env) for name, port in zip("ab", ports, strict=True)]
    metrics_ports = [free_port(), free_port()]
    workers = [
        start_worker(
            tmp_path / f"w{i}", "test-a", env | {"FITROOM_WORKERS": "1", "FITROOM_WORKER_METRICS_PORT": str(port)}
        )
        for i, port in zip((1, 2), metrics_ports, strict=True)
    ]
    processes = [*servers, *workers]
    try:
        wait_for_lanes(bases[0], ["test-a"])
        headers = {"X-API-KEY": key}
        person, garment = b64(astronaut(), "JPEG"), b64(drawn_tshirt())

        # --- one key's submit rate holds for both servers together ------------------------
        accepted: dict[str, int] = {}  # job id -> seed
        slow: set[str] = set()
        statuses = []
        for seed in range(SUBMIT_RATE + 4):
            base = bases[seed % 2]
            if seed % 3 == 0:  # FASHN, with a webhook
                inputs = {"model_image": f"data:image/jpeg;base64,{person}", "garment_image": garment, "seed": seed}
                response = httpx.post(
                    f"{base}/v1/run",
                    params={"webhook_url": hooks.url},
                    json={"model_name": "tryon-v1.6", "inputs": inputs},
                    headers=headers,
                    timeout=30,
                )
            else:  # r-vton, each run taking two seconds
                body = {"human_img": person, "garm_img": garment, "seed": seed, "garment_des": "sleep=2"}
                response = httpx.post(f"{base}/virtual-tryon/v1/r-vton", json=body, headers=headers, timeout=30)
            statuses.append(response.status_code)
            if response.status_code == 200:
                job = response.json()["id"]
                accepted[job] = seed
                if seed % 3:
                    slow.add(job)
        assert statuses.count(200) == SUBMIT_RATE and statuses.count(429) == 4, statuses

        # --- a worker SIGKILLed mid-run -------------------------------------------------------
        settings = Settings(data_dir=tmp_path / "probe", database_url=env["FITROOM_DATABASE_URL"])
        stores = Stores.open(settings)
        try:
            victim = workers[0]

            def running_on_victim() -> bool:
                return any(
                    (record := stores.jobs.get(job)) is not None
                    and record.state.value == "running"
                    and f":{victim.pid}:" in (record.lease_owner or "")
                    for job in slow
                )

            poll_until(lambda: running_on_victim(), bool, timeout=60)
            kill_group(victim)

            # --- every accepted job ends exactly once, charged once ---------------------------
            def final(job: str) -> dict[str, Any]:
                return httpx.get(f"{bases[0]}/v1/status/{job}", headers={"Authorization": f"Bearer {key}"}).json()

            for job in accepted:
                poll_until(lambda job=job: final(job), lambda b: b["status"] in ("completed", "failed"), timeout=120)
            records = {job: stores.jobs.get(job) for job in accepted}
            assert {r.state.value for r in records.values()} == {"succeeded"}, records
            assert max(r.attempts for r in records.values()) == 2  # the killed run was run again
            assert stores.keys.get(records[next(iter(records))].key_id).credits == 100 - SUBMIT_RATE
        finally:
            stores.close()

        ran = Counter(c["seed"] for worker in ("w1", "w2") for c in calls(tmp_path / worker, "test-a"))
        assert set(ran) == set(accepted.values())
        # Only the cut batch can have run twice (had the engine started on it before the
        # kill): never a job that ended on its first attempt, never three times.
        again = {seed for seed, count in ran.items() if count > 1}
        assert again <= {accepted[job] for job, r in records.items() if r.attempts == 2}
        assert max(ran.values()) <= 2

        # --- webhooks: one delivery per job that asked ------------------------------------------
        deadline = time.monotonic() + 30
        hooked = {job for job, seed in accepted.items() if seed % 3 == 0}
        delivered: Counter[str] = Counter()
        while time.monotonic() < deadline and set(delivered) != hooked:
            delivered += hooks.deliveries()
            time.sleep(0.2)
        time.sleep(2)  # a second sender, had it claimed the same delivery, would have sent it by now
        delivered += hooks.deliveries()
        assert set(delivered) == hooked and set(delivered.values()) == {1}, delivered

        # --- results download through either server ------------------------------------------
        for job in accepted:
            fetched = []
            for base in bases:
                output = httpx.get(f"{base}/v1/status/{job}", headers={"Authorization": f"Bearer {key}"}).json()
                answer = httpx.get(output["output"][0], timeout=10)
                assert answer.status_code == 200
                fetched.append(answer.content)
            assert fetched[0] == fetched[1]

        # --- wait_for_result on one server, for a job a worker ran -----------------------------
        # (the key's submit budget is spent: a second key)
        second = subprocess.run(
            [fitroom_bin(), "keys", "create", "--name", "waiter", "--data-dir", str(tmp_path / "a")],
            capture_output=True, text=True, check=True, env={**os.environ, **env},
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        started = time.monotonic()
        waited = httpx.post(
            f"{bases[0]}/v1/try-on",
            headers={"X-API-KEY": second},
            files={"person_image": ("p.png", encode(astronaut())), "garment_image": ("g.png", encode(drawn_tshirt()))},
            timeout=60,
        )
        assert waited.status_code == 200, waited.text
        assert time.monotonic() - started < 10

        # --- metrics: both servers report the cluster's figures, each its own requests ----------
        time.sleep(1.1)
        scraped = [_scrape(base) for base in bases]
        jobs_line = 'fitroom_jobs{engine="test-a",error_code="",state="succeeded"}'
        assert scraped[0][jobs_line] == scraped[1][jobs_line] == SUBMIT_RATE + 1
        assert scraped[0]["fitroom_credits_charged"] == SUBMIT_RATE + 1
        for index, base in enumerate(bases):
            run = 'fitroom_http_requests_total{dialect="fashn",route="/v1/run",status="200"}'
            sent_here = sum(
                1 for seed, status in enumerate(statuses) if seed % 2 == index and seed % 3 == 0 and status == 200
            )
            assert scraped[index].get(run, 0) == sent_here, (base, scraped[index].get(run))
        # The surviving worker's own metrics port: one run time per job it ran.
        runs = _scrape(f"http://127.0.0.1:{metrics_ports[1]}", token=None)
        assert runs['fitroom_engine_run_seconds_count{engine="test-a"}'] == len(calls(tmp_path / "w2", "test-a"))
    finally:
        for proc in processes:
            if proc.poll() is None:
                kill_group(proc)
        hooks.close()


def _scrape(base: str, token: str | None = METRICS_TOKEN) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    text = httpx.get(f"{base}/metrics", headers=headers).text
    return {
        line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
