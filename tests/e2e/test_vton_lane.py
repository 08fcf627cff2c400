"""The fashn-vton-1.5 lane as an operator runs it: `fitroom worker --engines
fashn-vton-1.5` beside an API-only server, with the tiny random model on the CPU."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from fitroom.engines.fashn_vton.standin import write_standin_weights
from fitroom.runtime import Stores
from fitroom.settings import Settings
from tests.helpers import (
    astronaut,
    b64,
    create_key,
    drawn_tshirt,
    fitroom_bin,
    free_port,
    kill_group,
    poll_until,
    start_server,
    start_worker,
)


def test_queued_jobs_run_as_one_batch_and_seeds_reproduce(tmp_path: Path) -> None:
    data = tmp_path / "data"
    weights = write_standin_weights(tmp_path / "weights")
    env = {
        "FITROOM_VTON_WEIGHTS": str(weights),
        "FITROOM_VTON_DEVICE": "cpu",
        "FITROOM_ROUTES": "fashn:clothing=fashn-vton-1.5",
        "FITROOM_POLL_RATE": "100000",
    }
    key = create_key(data, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {key}"}
    api = start_server(data, port, env | {"FITROOM_WORKERS": "0"})
    worker = None

    def submit(seed: int) -> str:
        inputs = {
            "model_image": b64(astronaut(), "JPEG", data_uri=True),
            "garment_image": b64(drawn_tshirt(), data_uri=True),
        }
        body = {"model_name": "tryon-v1.6", "inputs": inputs | {"seed": seed, "mode": "performance"}}
        response = httpx.post(f"{base}/v1/run", json=body, headers=auth, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def result(job: str) -> np.ndarray:
        status = poll_until(
            lambda: httpx.get(f"{base}/v1/status/{job}", headers=auth, timeout=10).json(),
            lambda b: b["status"] in ("completed", "failed"),
        )
        assert status["status"] == "completed", status
        image = httpx.get(status["output"][0], timeout=10).content
        return np.asarray(Image.open(io.BytesIO(image)).convert("RGB")).astype(int)

    try:
        first, second = submit(21), submit(22)
        worker = start_worker(data, "fashn-vton-1.5", env)
        batched = [result(first), result(second)]
        again = result(submit(21))  # the same seed, now alone

        stores = Stores.open(Settings(data_dir=data))
        try:
            for job in (first, second):
                metadata: dict[str, Any] = stores.jobs.get(job).metadata
                assert metadata["batch_size"] == 2 and metadata["batch_images"] == 2, metadata
        finally:
            stores.close()
        assert np.abs(batched[0] - again).max() <= 1  # batched or alone: at most one grey level
        assert np.abs(batched[0] - batched[1]).mean() > 1  # two seeds, two images
    finally:
        for proc in (api, worker):
            if proc is not None:
                kill_group(proc)


def test_without_weights_the_lane_refuses_to_start_and_says_what_to_fetch(tmp_path: Path) -> None:
    env = {**os.environ, "FITROOM_VTON_WEIGHTS": str(tmp_path / "nothing-here")}
    worker = subprocess.run(
        [fitroom_bin(), "worker", "--engines", "fashn-vton-1.5", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert worker.returncode == 1
    assert "fashn-vton-1.5 cannot run on this machine" in worker.stderr
    assert str(tmp_path / "nothing-here" / "model.safetensors") in worker.stderr
    assert "download_weights.py" in worker.stderr

    listed = subprocess.run([fitroom_bin(), "engines", "--json"], capture_output=True, text=True, timeout=120, env=env)
    vton = next(e for e in json.loads(listed.stdout) if e["name"] == "fashn-vton-1.5")
    assert vton["ready"] is False and "dwpose/yolox_l.onnx" in vton["missing"]
