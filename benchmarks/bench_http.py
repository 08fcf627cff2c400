"""The request path under load, measured with ``wrk`` (Debian's ``wrk`` package).

Starts ``--servers`` copies of ``fitroom serve`` (each ``--api-workers N``, no lanes) and
one ``fitroom worker`` on SQLite or PostgreSQL, with the test engines standing in for real
ones (``test-a`` serves r-vton and FASHN clothing jobs, so a job can be made to finish at
once or to stay running), and a key whose limits are raised so that no request is refused
for rate. Then, for each route, ``wrk`` for ``--seconds`` (one ``wrk -t1`` per server,
the connections split between them, run at once; requests/s summed, the slowest server's
latencies) and the median over ``--runs`` runs of requests/s, p50, p99 and the count of
non-2xx answers:

  floor         GET /not-a-route (404, no database): the framework's own cost
  poll-done     GET /v1/status/<finished job> (FASHN, keyed)
  poll-running  GET /v1/status/<running job>
  submit        POST /v1/run with a person photo (512×512 JPEG) and an undersized
                garment (100×100 PNG): refused with a 400 after a full decode, so
                nothing is stored
  accept        POST /v1/run with the photo as person and garment: accepted, both
                inputs stored, one job queued (the single worker slot is kept busy, so
                the queue only grows)
  download      GET the finished job's signed /files result URL (a 512×512 JPEG)
  healthz       GET /healthz

    .venv/bin/python benchmarks/bench_http.py [--database sqlite|postgresql] [--servers 1]
        [--api-workers 1] [--redis] [--storage file|s3] [--runs 3] [--routes ...]

PostgreSQL: the server on 127.0.0.1:5432 (a fresh database is created and dropped); more
than one server needs it. ``--redis`` (implied by several servers or API processes) puts
the rate limits and wake-ups in Redis (``--redis-url``). ``--storage s3`` keeps blobs in
an S3-compatible store: moto's server on loopback, standing in for a real one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import (  # noqa: E402
    astronaut,
    b64,
    fitroom_bin,
    free_port,
    kill_group,
    poll_until,
    server_log,
    start_worker,
    wait_for_lanes,
)

ROUTES = ("floor", "poll-done", "poll-running", "submit", "accept", "download", "healthz")


def wrk(
    urls: list[str], seconds: int, connections: int, script: Path | None = None, headers: dict[str, str] | None = None
) -> dict[str, float]:
    """One ``wrk -t1`` per URL at once, ``connections`` split between them: requests/s
    summed, the slowest one's p50 and p99, errors summed."""
    args = ["wrk", "-t1", f"-c{max(1, connections // len(urls))}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    procs = [subprocess.Popen([*args, url], stdout=subprocess.PIPE, text=True) for url in urls]
    rows = [_parse(proc.communicate()[0]) for proc in procs]
    return {
        "rps": sum(r["rps"] for r in rows),
        "p50": max(r["p50"] for r in rows),
        "p99": max(r["p99"] for r in rows),
        "non2xx": sum(r["non2xx"] for r in rows),
        "timeouts": sum(r["timeouts"] for r in rows),
    }


def _parse(out: str) -> dict[str, float]:
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "timeouts": float(errors.group(1)) if errors else 0.0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


@contextlib.contextmanager
def database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    from tests.postgres import LOCAL_URL, fresh_database

    with fresh_database(LOCAL_URL) as url:
        yield url


@contextlib.contextmanager
def object_store(kind: str) -> Iterator[dict[str, str]]:
    if kind == "file":
        yield {}
        return
    from tests.s3_server import environment, make_bucket, s3_server

    with s3_server() as endpoint:
        make_bucket(endpoint, "bench")
        yield {**environment(endpoint), "FITROOM_STORAGE_URL": "s3://bench/fitroom"}


def serve(data: Path, api_workers: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    log = server_log(data, port).open("w")
    proc = subprocess.Popen(
        [fitroom_bin(), "serve", "--port", str(port), "--data-dir", str(data), "--workers", "0"]
        + (["--api-workers", str(api_workers)] if api_workers != 1 else []),
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        time.sleep(0.2)
    raise SystemExit(f"the server did not start: {server_log(data, port).read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--servers", type=int, default=1, help="API servers (separate processes, own data dirs)")
    parser.add_argument("--api-workers", type=int, default=1, help="API processes per server")
    parser.add_argument("--redis", action="store_true", help="rate limits and wake-ups through Redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--storage", choices=("file", "s3"), default="file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    if args.servers > 1 and (args.database != "postgresql" or args.storage != "s3"):
        sys.exit("several servers share PostgreSQL and an object store: --database postgresql --storage s3")
    redis = args.redis or args.servers > 1 or args.api_workers > 1

    root = Path(tempfile.mkdtemp(prefix="fitroom-bench-http-"))
    with database(args.database) as db_url, object_store(args.storage) as store_env:
        env = {
            "FITROOM_ENGINE_MODULES": "fitroom.engines.testing.engine",
            "FITROOM_ROUTES": "clothing=test-a",
            "FITROOM_JOB_TIMEOUT_SECONDS": "3600",
            "FITROOM_WORKERS": "1",  # the worker's one engine process (the servers run none)
            "FITROOM_SECRET_KEY": "bench-secret-shared-by-every-server",
            **store_env,
        }
        if db_url:
            env["FITROOM_DATABASE_URL"] = db_url
        if redis:
            env["FITROOM_REDIS_URL"] = args.redis_url
        # SQLite lives in the data directory: one server, and the worker shares its directory.
        dirs = [root / "data"] if db_url is None else [root / f"server-{i}" for i in range(args.servers)]
        key = (
            subprocess.run(
                [fitroom_bin(), "keys", "create", "--name", "bench", "--data-dir", str(dirs[0]),
                 "--submit-rate", "1000000000", "--poll-rate", "1000000000",
                 "--concurrency-limit", "1000000000"],
                capture_output=True, text=True, check=True, env={**os.environ, **env},
            )  # fmt: skip
            .stdout.strip()
            .splitlines()[-1]
        )
        procs = []
        try:
            bases = []
            for folder in dirs:
                proc, base = serve(folder, args.api_workers, env)
                procs.append(proc)
                bases.append(base)
            # Beside the first server, whose blobs folder it shares when storage is local.
            procs.append(start_worker(dirs[0], "test-a", env))
            wait_for_lanes(bases[0], ["test-a"])
            results = measure(args, root, bases, key)
        finally:
            for proc in procs:
                kill_group(proc)

    print(
        f"{args.servers} × fitroom serve --api-workers {args.api_workers} on {args.database}, "
        f"{'Redis' if redis else 'no Redis'}, {args.storage} storage, one worker; {os.cpu_count()} cores; "
        f"wrk -c{args.connections} -d{args.seconds}s split over the servers, median of {args.runs} runs"
    )
    print(f"{'route':<14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'timeouts':>8}")
    for route, rows in results.items():
        med = {name: statistics.median(r[name] for r in rows) for name in rows[0]}
        counts = f"{med['non2xx']:>8.0f} {med['timeouts']:>8.0f}"
        print(f"{route:<14} {med['rps']:>8.0f} {med['p50']:>8.2f} {med['p99']:>8.2f} {counts}")
    if "floor" in results and "poll-done" in results:
        floor = statistics.median(r["rps"] for r in results["floor"])
        poll = statistics.median(r["rps"] for r in results["poll-done"])
        print(f"poll-done / floor: {poll / floor:.0%}")


def measure(args: argparse.Namespace, root: Path, bases: list[str], key: str) -> dict[str, list[dict[str, float]]]:
    auth = {"Authorization": f"Bearer {key}"}
    base = bases[0]
    person = b64(astronaut(), "JPEG", data_uri=True)

    body = {"model_name": "tryon-v1.6", "inputs": {"model_image": person, "garment_image": person}}
    done = httpx.post(f"{base}/v1/run", json=body, headers=auth, timeout=30).json()["id"]
    finished = poll_until(
        lambda: httpx.get(f"{base}/v1/status/{done}", headers=auth).json(), lambda b: b["status"] == "completed"
    )
    result = urlsplit(finished["output"][0])
    # The test engine sleeps on r-vton's garment description, keeping the worker's one slot
    # busy; any key's job can be polled on FASHN's status route.
    slow = {"human_img": person, "garm_img": person, "garment_des": "sleep=3600"}
    running = httpx.post(f"{base}/virtual-tryon/v1/r-vton", json=slow, headers=auth, timeout=30).json()["id"]
    poll_until(
        lambda: httpx.get(f"{base}/v1/status/{running}", headers=auth).json(), lambda b: b["status"] == "processing"
    )

    def post_script(name: str, payload: dict[str, Any], expected: int) -> Path:
        text = json.dumps(payload)
        assert httpx.post(f"{base}/v1/run", content=text, headers=auth | {"Content-Type": "application/json"},
                          timeout=30).status_code == expected  # fmt: skip
        script = root / f"{name}.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(text)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        )
        return script

    undersized = b64(astronaut()[:100, :100], data_uri=True)
    refused = {"model_name": "tryon-v1.6", "inputs": {"model_image": person, "garment_image": undersized}}
    targets = {
        "floor": ("/not-a-route", None, None),
        "poll-done": (f"/v1/status/{done}", None, auth),
        "poll-running": (f"/v1/status/{running}", None, auth),
        "submit": ("/v1/run", post_script("submit", refused, 400), None),
        "accept": ("/v1/run", post_script("accept", body, 200), None),
        "download": (f"{result.path}?{result.query}", None, None),
        "healthz": ("/healthz", None, None),
    }
    results: dict[str, list[dict[str, float]]] = {route: [] for route in args.routes}
    for _ in range(args.runs):
        for route in args.routes:
            path, script, headers = targets[route]
            results[route].append(wrk([b + path for b in bases], args.seconds, args.connections, script, headers))
    return results


if __name__ == "__main__":
    main()
