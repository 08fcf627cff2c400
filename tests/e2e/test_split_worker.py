"""The path to a cluster: API servers without workers and `fitroom worker` processes
sharing one PostgreSQL database and one storage."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx

from tests.helpers import astronaut, b64, fitroom_bin, free_port, start_server
from tests.postgres import fresh_database


def test_api_only_server_and_separate_worker_on_postgresql(tmp_path, postgres_admin_url):
    data = tmp_path / "shared"
    with fresh_database(postgres_admin_url) as db_url:
        env = {"FITROOM_DATABASE_URL": db_url, "FITROOM_WORKERS": "0"}
        full_env = {**os.environ, **env}
        key = subprocess.run(
            [fitroom_bin(), "keys", "create", "--name", "cluster", "--data-dir", str(data)],
            env=full_env, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        port = free_port()
        api = start_server(data, port, env)
        worker = None
        try:
            base = f"http://127.0.0.1:{port}"
            headers = {"X-API-KEY": key}
            r = httpx.post(
                f"{base}/glass-virtual-try-on/v1/api/glass-virtual-tryon",
                json={"model_image_path": b64(astronaut(), "JPEG")}, headers=headers, timeout=30,
            )
            assert r.status_code == 200, r.text
            job = r.json()["request_id"]
            poll = f"{base}/glass-virtual-try-on-polling/api/glass-virtual-tryon-result"
            time.sleep(1.0)
            assert httpx.post(poll, json={"request_id": job}).json()["status"] == "submitted"

            worker = subprocess.Popen(
                [fitroom_bin(), "worker", "--data-dir", str(data), "--slots", "1"],
                env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                body = httpx.post(poll, json={"request_id": job}).json()
                if body["status"] in ("completed", "failed"):
                    break
                time.sleep(0.3)
            assert body["status"] == "completed", body
            image = httpx.get(body["image_url"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        finally:
            for proc in (api, worker):
                if proc is not None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
