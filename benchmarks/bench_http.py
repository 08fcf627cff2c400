"""The request path under load, measured with ``wrk`` (Debian's ``wrk`` package).

Starts ``fitroom serve`` (``--api-workers N``) on SQLite or PostgreSQL, with the test
engines standing in for real ones (``test-a`` serves r-vton and FASHN clothing jobs, so
a job can be made to finish at once or to stay running), and a key whose limits are
raised so that no request is refused for rate. Then, for each route, ``wrk -t2 -c16``
for ``--seconds`` and the median over ``--runs`` runs of requests/s, p50, p99 and the
count of non-2xx answers:

  floor         GET /not-a-route (404, no database): the framework's own cost
  poll-done     GET /v1/status/<finished job> (FASHN, keyed)
  poll-running  GET /v1/status/<running job>
  submit        POST /v1/run with a person photo (512×512 JPEG) and an undersized
                garment (100×100 PNG): refused with a 400 after a full decode, so
                engines never run
  healthz       GET /healthz

    .venv/bin/python benchmarks/bench_http.py [--database sqlite|postgresql] [--api-workers 1] [--runs 3]

PostgreSQL: the server on 127.0.0.1:5432 (a fresh database is created and dropped).
With ``--api-workers`` above 1, rate limits go through Redis (``--redis-url``).
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

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import astronaut, b64, fitroom_bin, free_port, kill_group, server_log  # noqa: E402

ROUTES = ("floor", "poll-done", "poll-running", "submit", "healthz")


def wrk(
    url: str, seconds: int, connections: int, script: Path | None = None, headers: dict[str, str] | None = None
) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
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


def serve(data: Path, api_workers: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    log = server_log(data, port).open("w")
    proc = subprocess.Popen(
        [fitroom_bin(), "serve", "--port", str(port), "--data-dir", str(data)]
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
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="with --api-workers above 1")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")

    root = Path(tempfile.mkdtemp(prefix="fitroom-bench-http-"))
    data = root / "data"
    with database(args.database) as db_url:
        env = {
            "FITROOM_ENGINE_MODULES": "fitroom.engines.testing.engine",
            "FITROOM_ROUTES": "clothing=test-a",
            "FITROOM_ENGINES": "test-a",
            "FITROOM_WORKERS": "1",
            "FITROOM_JOB_TIMEOUT_SECONDS": "3600",
        }
        if db_url:
            env["FITROOM_DATABASE_URL"] = db_url
        if args.api_workers > 1:  # limits shared across the API processes
            env["FITROOM_REDIS_URL"] = args.redis_url
        key = (
            subprocess.run(
                [
                    fitroom_bin(),
                    "keys",
                    "create",
                    "--name",
                    "bench",
                    "--data-dir",
                    str(data),
                    "--submit-rate",
                    "1000000000",
                    "--poll-rate",
                    "1000000000",
                    "--concurrency-limit",
                    "1000",
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, **env},
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        proc, base = serve(data, args.api_workers, env)
        try:
            auth = {"Authorization": f"Bearer {key}"}
            person = b64(astronaut(), "JPEG", data_uri=True)

            body = {"model_name": "tryon-v1.6", "inputs": {"model_image": person, "garment_image": person}}
            done = httpx.post(f"{base}/v1/run", json=body, headers=auth, timeout=30).json()["id"]
            while httpx.get(f"{base}/v1/status/{done}", headers=auth).json()["status"] != "completed":
                time.sleep(0.1)
            # The test engine sleeps on r-vton's garment description; any key's job can then
            # be polled on FASHN's status route.
            slow = {"human_img": person, "garm_img": person, "garment_des": "sleep=3600"}
            running = httpx.post(f"{base}/virtual-tryon/v1/r-vton", json=slow, headers=auth, timeout=30).json()["id"]
            while httpx.get(f"{base}/v1/status/{running}", headers=auth).json()["status"] != "processing":
                time.sleep(0.1)

            submit_script = root / "submit.lua"
            undersized = b64(astronaut()[:100, :100], data_uri=True)
            submit_body = json.dumps(
                {"model_name": "tryon-v1.6", "inputs": {"model_image": person, "garment_image": undersized}}
            )
            submit_script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(submit_body)}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {key}"\n'
            )
            assert (
                httpx.post(
                    f"{base}/v1/run", content=submit_body, headers=auth | {"Content-Type": "application/json"}
                ).status_code
                == 400
            )

            targets = {
                "floor": (f"{base}/not-a-route", None, None),
                "poll-done": (f"{base}/v1/status/{done}", None, auth),
                "poll-running": (f"{base}/v1/status/{running}", None, auth),
                "submit": (f"{base}/v1/run", submit_script, None),
                "healthz": (f"{base}/healthz", None, None),
            }
            results: dict[str, list[dict[str, float]]] = {route: [] for route in args.routes}
            for _ in range(args.runs):
                for route in args.routes:
                    url, script, headers = targets[route]
                    results[route].append(wrk(url, args.seconds, args.connections, script, headers))
        finally:
            kill_group(proc)

    print(
        f"fitroom serve --api-workers {args.api_workers} on {args.database}, {os.cpu_count()} cores; "
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, median of {args.runs} runs"
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


if __name__ == "__main__":
    main()
