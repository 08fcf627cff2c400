"""A Redis server for tests: the one on 127.0.0.1:6379 when it answers, else a throwaway
``redis-server`` started on a free port; when neither can be had, the tests fail with the
reason (never skip). ``throwaway_redis`` always starts its own, for tests that stop it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOCAL_URL = "redis://127.0.0.1:6379/0"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def throwaway_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(URL, process) of a fresh ``redis-server`` on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "no Redis for the tests: nothing answers on 127.0.0.1:6379 and redis-server is not installed"
        )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="fitroom-redis-") as folder:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not _answers("127.0.0.1", port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0", proc
        finally:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def redis_server() -> Iterator[str]:
    if _answers("127.0.0.1", 6379):
        yield LOCAL_URL
        return
    with throwaway_redis() as (url, _):
        yield url
