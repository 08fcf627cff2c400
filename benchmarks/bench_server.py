"""Server throughput and end-to-end latency, as medians of several runs.

Starts `fitroom serve` (embedded default: SQLite, local files, in-process workers, CPU
engines) in a temporary data dir and measures, from this process over loopback:

- submit requests/s: r-vton submits (base64 JPEG person 512×512 + PNG garment) sent by
  16 concurrent clients; jobs queue up behind the engines, so this is the API's rate;
- poll requests/s: r-vton polls of one job by 16 concurrent clients;
- end-to-end latency: one job at a time, submit → poll every 50 ms → result downloaded,
  for the clothing (r-vton) and glasses dialects.

Usage: python benchmarks/bench_server.py [--runs 5] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import (  # noqa: E402
    astronaut,
    b64,
    drawn_tshirt,
    fitroom_bin,
    free_port,
    start_server,
)

ENV = {
    "FITROOM_SUBMIT_RATE": "1000000",
    "FITROOM_POLL_RATE": "1000000",
    "FITROOM_CONCURRENCY_LIMIT": "1000000",
}


async def _rate(client: httpx.AsyncClient, n: int, make) -> float:
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            r = await make(i)
            r.raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - start)


async def _end_to_end(client: httpx.AsyncClient, submit, poll, done) -> float:
    start = time.perf_counter()
    job = await submit()
    while True:
        body = await poll(job)
        url = done(body)
        if url:
            (await client.get(url)).raise_for_status()
            return time.perf_counter() - start
        await asyncio.sleep(0.05)


async def bench(base: str, key: str, runs: int, requests: int) -> None:
    person = b64(astronaut(), "JPEG")
    garment = b64(drawn_tshirt(), "PNG")
    rvton = {"human_img": person, "garm_img": garment, "category": "upper_body"}
    async with httpx.AsyncClient(base_url=base, headers={"X-API-KEY": key}, timeout=120) as c:
        first = (await c.post("/virtual-tryon/v1/r-vton", json=rvton)).json()["id"]

        async def submit_rvton():
            return (await c.post("/virtual-tryon/v1/r-vton", json=rvton)).json()["id"]

        async def poll_rvton(job):
            return (await c.post("/vton-polling/v1/r-vton-get-image", json={"id": job})).json()

        async def submit_glasses():
            r = await c.post("/glass-virtual-try-on/v1/api/glass-virtual-tryon", json={"model_image_path": person})
            return r.json()["request_id"]

        async def poll_glasses(job):
            r = await c.post("/glass-virtual-try-on-polling/api/glass-virtual-tryon-result", json={"request_id": job})
            return r.json()

        def rvton_done(body):
            if body["status"] == "failed":
                raise RuntimeError(body)
            return body["output"] if body["status"] == "succeeded" else None

        def glasses_done(body):
            if body["status"] == "failed":
                raise RuntimeError(body)
            return body["image_url"] if body["status"] == "completed" else None

        # Warm the engines (first job in each child process loads the models).
        for _ in range(2):
            await _end_to_end(c, submit_rvton, poll_rvton, rvton_done)
            await _end_to_end(c, submit_glasses, poll_glasses, glasses_done)

        polls = [
            await _rate(c, requests, lambda i: c.post("/vton-polling/v1/r-vton-get-image", json={"id": first}))
            for _ in range(runs)
        ]
        latency_c = [await _end_to_end(c, submit_rvton, poll_rvton, rvton_done) for _ in range(runs)]
        latency_g = [await _end_to_end(c, submit_glasses, poll_glasses, glasses_done) for _ in range(runs)]
        submits = [
            await _rate(c, requests, lambda i: c.post("/virtual-tryon/v1/r-vton", json=rvton)) for _ in range(runs)
        ]

    med = statistics.median
    print(f"inputs: person 512x512 JPEG (base64), garment 512x640 PNG (base64); {runs} runs")
    print(f"submit  r-vton          {med(submits):8.1f} req/s  (median of {runs} x {requests}, 16 concurrent)")
    print(f"poll    r-vton          {med(polls):8.1f} req/s  (median of {runs} x {requests}, 16 concurrent)")
    print(f"e2e     r-vton clothing {med(latency_c) * 1000:8.0f} ms    (submit -> result downloaded, idle queue)")
    print(f"e2e     glasses         {med(latency_g) * 1000:8.0f} ms    (submit -> result downloaded, idle queue)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        key = subprocess.run(
            [fitroom_bin(), "keys", "create", "--name", "bench", "--data-dir", str(data)],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        port = free_port()
        server = start_server(data, port, ENV)
        try:
            asyncio.run(bench(f"http://127.0.0.1:{port}", key, args.runs, args.requests))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
