"""Polls while the engines are busy: does the API stay responsive under engine load?

Starts ``fitroom serve`` on the embedded default (SQLite, lanes for the CPU engines, one
engine process per core each), creates a key whose limits are out of the way, finishes
one FASHN clothing job, then measures polls of that finished job (``GET /v1/status/ID``)
with ``wrk`` (Debian's ``wrk`` package: ``apt-get install wrk``):

- idle: no job queued or running;
- loaded: a feeder keeps the clothing lane's queue full (every engine process busy), so
  the engines would take every core if the scheduler let them.

Idle and loaded windows alternate ``--rounds`` times; the medians of each window's p50,
p99 and requests/s are printed, with the ratio of loaded to idle p99. Engine processes
run at ``FITROOM_ENGINE_NICENESS`` (default 10); ``--niceness 0`` shows the same
measurement without it.

    .venv/bin/python benchmarks/bench_poll_under_load.py [--rounds 3] [--seconds 10] [--niceness 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import astronaut, b64, drawn_tshirt, free_port, kill_group, start_server  # noqa: E402

FEED_QUEUE = 6  # queued clothing jobs the feeder keeps waiting (engine processes: 2 per lane here)


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rate,
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Feeder(threading.Thread):
    """Keeps ``FEED_QUEUE`` clothing jobs queued while ``running`` is set."""

    def __init__(self, base: str, key: str) -> None:
        super().__init__(daemon=True)
        self.base, self.key = base, key
        self.running = threading.Event()
        self.stop = threading.Event()
        self.body = {
            "model_name": "tryon-v1.6",
            "inputs": {
                "model_image": b64(astronaut(), "JPEG", data_uri=True),
                "garment_image": b64(drawn_tshirt(), data_uri=True),
            },
        }
        self.submitted = 0

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                if not self.running.is_set():
                    time.sleep(0.1)
                    continue
                queued = client.get(f"{self.base}/healthz").json()["jobs"]["queued"]
                for _ in range(max(0, FEED_QUEUE - queued)):
                    r = client.post(
                        f"{self.base}/v1/run", json=self.body, headers={"Authorization": f"Bearer {self.key}"}
                    )
                    r.raise_for_status()
                    self.submitted += 1
                time.sleep(0.2)


def wait_idle(base: str) -> None:
    while True:
        jobs = httpx.get(f"{base}/healthz").json()["jobs"]
        if jobs["queued"] == 0 and jobs["running"] == 0:
            return
        time.sleep(0.2)


def wait_busy(base: str) -> None:
    while httpx.get(f"{base}/healthz").json()["jobs"]["running"] < 2:
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--niceness", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")

    data = Path(tempfile.mkdtemp(prefix="fitroom-bench-")) / "data"
    env = {"FITROOM_ENGINE_NICENESS": str(args.niceness), "FITROOM_CONCURRENCY_LIMIT": "1000"}
    key = subprocess.run(
        [str(Path(sys.executable).with_name("fitroom")), "keys", "create", "--name", "bench", "--data-dir", str(data),
         "--submit-rate", "1000000", "--poll-rate", "100000000", "--concurrency-limit", "1000"],
        capture_output=True, text=True, check=True, env={**os.environ, **env},
    ).stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_server(data, port, env)
    base = f"http://127.0.0.1:{port}"
    feeder = Feeder(base, key)
    feeder.start()
    try:
        auth = {"Authorization": f"Bearer {key}"}
        job = httpx.post(f"{base}/v1/run", json=feeder.body, headers=auth, timeout=30).json()["id"]
        while httpx.get(f"{base}/v1/status/{job}", headers=auth).json()["status"] not in ("completed", "failed"):
            time.sleep(0.2)
        url = f"{base}/v1/status/{job}"
        idle, loaded, throughput = [], [], []
        for _ in range(args.rounds):
            wait_idle(base)
            idle.append(wrk(url, auth, args.seconds, args.connections))
            feeder.running.set()
            wait_busy(base)
            done_before = httpx.get(f"{base}/healthz").json()["jobs"]["succeeded"]
            loaded.append(wrk(url, auth, args.seconds, args.connections))
            done_after = httpx.get(f"{base}/healthz").json()["jobs"]["succeeded"]
            throughput.append((done_after - done_before) / args.seconds)
            feeder.running.clear()
        lanes = httpx.get(f"{base}/healthz").json()["lanes"]
    finally:
        feeder.stop.set()
        kill_group(server)

    def med(rows: list[dict[str, float]], name: str) -> float:
        return statistics.median(r[name] for r in rows)

    print(f"fitroom serve, embedded default, lanes {lanes}, engine niceness {args.niceness}, {os.cpu_count()} cores")
    print(
        f"GET /v1/status/<finished job>, wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds, medians"
    )
    print(f"{'window':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, rows in (("idle", idle), ("loaded", loaded)):
        print(
            f"{name:<8} {med(rows, 'rps'):>8.0f} {med(rows, 'p50'):>8.2f} {med(rows, 'p99'):>8.2f}"
            f" {med(rows, 'non2xx'):>8.0f}"
        )
    print(f"clothing jobs finished per second while loaded: {statistics.median(throughput):.2f}")
    print(f"p99 loaded / idle: {med(loaded, 'p99') / med(idle, 'p99'):.2f} (target <= 2)")


if __name__ == "__main__":
    main()
