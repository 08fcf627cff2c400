"""``fitroom serve --api-workers N``: N API processes on one port, the lanes once beside
them, rate limits shared through Redis, and Pixelcut's wait_for_result answered by an API
process other than the one whose lanes ran the job."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from tests.helpers import astronaut, b64, drawn_tshirt, encode, fitroom_bin, free_port, kill_group, start_server


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_two_api_processes_share_limits_and_results(tmp_path: Path, redis_url: str) -> None:
    data = tmp_path / "data"
    env = {"FITROOM_API_WORKERS": "2", "FITROOM_REDIS_URL": redis_url, "FITROOM_WORKERS": "1"}
    created = subprocess.run(
        [fitroom_bin(), "keys", "create", "--name", "shared", "--data-dir", str(data), "--submit-rate", "4"],
        capture_output=True, text=True, check=True, env={**os.environ, **env},
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_server(data, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        # Two API processes and one lanes process under the server.
        assert len(_children(server.pid)) >= 3

        headers = {"X-API-KEY": key}
        answer = httpx.post(
            f"{base}/v1/try-on",
            headers=headers,
            files={"person_image": ("p.png", encode(astronaut())), "garment_image": ("g.png", encode(drawn_tshirt()))},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text  # waited for a job run in the lanes process
        assert httpx.get(answer.json()["result_url"], timeout=10).status_code == 200

        statuses = []
        for _ in range(6):  # fresh connections land on either process
            body = {"model_image_path": b64(astronaut(), "JPEG")}
            with httpx.Client() as client:
                statuses.append(
                    client.post(f"{base}/glass-virtual-try-on/v1/api/glass-virtual-tryon", json=body, headers=headers)
                )
        # 4 submits a minute for the whole server: the try-on above and 3 of these.
        assert [s.status_code for s in statuses] == [200, 200, 200, 429, 429, 429], [s.text for s in statuses]
    finally:
        kill_group(server)


def test_several_api_processes_without_redis_are_refused(tmp_path: Path) -> None:
    refused = subprocess.run(
        [fitroom_bin(), "serve", "--api-workers", "2", "--data-dir", str(tmp_path), "--port", str(free_port())],
        capture_output=True, text=True, timeout=120,
    )
    assert refused.returncode == 2
    assert "FITROOM_REDIS_URL" in refused.stderr and "N times the documented rate" in " ".join(refused.stderr.split())
