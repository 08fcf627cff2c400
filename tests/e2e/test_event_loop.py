"""Nothing blocks the server's event loop: with asyncio's debug mode reporting any callback
that holds the loop for 0.1 s or more, real jobs run (in-process lanes with the real CPU
engines, the janitor, lease renewals, webhooks) while clients submit and poll, and no
such report appears."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from fitroom.api.app import create_app
from tests.helpers import astronaut, b64, drawn_tshirt, free_port, make_settings

SLOW = 0.1


class SlowCallbacks(logging.Handler):
    """asyncio's debug-mode reports ("Executing <Handle ...> took 0.123 seconds")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "took" in message and "seconds" in message:
            self.reports.append(message)


def test_no_callback_holds_the_loop_while_jobs_run(tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path / "data", host="127.0.0.1", port=port, workers=1, lease_seconds=2, lane_heartbeat_seconds=0.5
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW
    reports = SlowCallbacks()
    logging.getLogger("asyncio").addHandler(reports)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        app: Any = server.config.app
        _, key = app.state.runtime.keys.create("loop", submit_rate=1000, poll_rate=100000, concurrency_limit=100)
        auth = {"Authorization": f"Bearer {key}"}
        person, garment = b64(astronaut(), "JPEG", data_uri=True), b64(drawn_tshirt(), data_uri=True)
        jobs = []
        with httpx.Client(timeout=60) as client:
            for seed in range(4):
                body = {
                    "model_name": "tryon-v1.6",
                    "inputs": {"model_image": person, "garment_image": garment, "seed": seed},
                }
                jobs.append(client.post(f"{base}/v1/run", json=body, headers=auth).json()["id"])
            glasses = {"model_image_path": b64(astronaut(), "JPEG")}
            client.post(f"{base}/glass-virtual-try-on/v1/api/glass-virtual-tryon", json=glasses, headers=auth)
            done: set[str] = set()
            deadline = time.monotonic() + 180
            while len(done) < len(jobs) and time.monotonic() < deadline:
                for job in jobs:
                    status = client.get(f"{base}/v1/status/{job}", headers=auth).json()["status"]
                    if status in ("completed", "failed"):
                        done.add(job)
                client.get(f"{base}/healthz")
                time.sleep(0.05)
            assert len(done) == len(jobs), "the jobs did not finish"
            # A burst of polls after the work, while the lanes sit idle and leases lapse.
            for _ in range(50):
                client.get(f"{base}/v1/status/{jobs[0]}", headers=auth)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        logging.getLogger("asyncio").removeHandler(reports)
    assert reports.reports == [], "\n".join(reports.reports)
