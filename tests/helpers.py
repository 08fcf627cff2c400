"""Test images the suite makes itself (no test may need ../shared/testdata)."""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw
from skimage import data as skdata


def astronaut() -> np.ndarray:
    """A head-and-shoulders portrait (512×512 RGB) that ships with scikit-image."""
    return skdata.astronaut()


def drawn_tshirt(color: tuple[int, int, int] = (200, 30, 60), size=(512, 640)) -> np.ndarray:
    """A flat-lay T-shirt silhouette on white, the shape product photos have."""
    w, h = size
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    cx = w // 2
    body = [
        (cx - 0.30 * w, 0.12 * h), (cx - 0.10 * w, 0.08 * h), (cx, 0.13 * h),
        (cx + 0.10 * w, 0.08 * h), (cx + 0.30 * w, 0.12 * h), (cx + 0.46 * w, 0.30 * h),
        (cx + 0.36 * w, 0.36 * h), (cx + 0.26 * w, 0.28 * h), (cx + 0.26 * w, 0.90 * h),
        (cx - 0.26 * w, 0.90 * h), (cx - 0.26 * w, 0.28 * h), (cx - 0.36 * w, 0.36 * h),
        (cx - 0.46 * w, 0.30 * h),
    ]
    d.polygon(body, fill=color)
    return np.asarray(img)


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def b64(array: np.ndarray, fmt: str = "PNG", *, data_uri: bool = False) -> str:
    text = base64.b64encode(encode(array, fmt)).decode()
    return f"data:image/{fmt.lower()};base64,{text}" if data_uri else text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fitroom_bin() -> str:
    return str(Path(sys.executable).with_name("fitroom"))


def start_server(
    data_dir: Path, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``fitroom serve`` as a real process in its own session (so a test can kill the
    whole group, worker children included), returned once /healthz answers. Its output
    goes to ``server_log(data_dir, port)``: a pipe nobody drains would fill up and
    stall the server on its access log."""
    full_env = {**os.environ, **(env or {})}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = server_log(data_dir, port).open("w")
    proc = subprocess.Popen(
        [fitroom_bin(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    log.close()  # the child holds its own descriptor
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {server_log(data_dir, port).read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not answer /healthz within 60 s")


def server_log(data_dir: Path, port: int) -> Path:
    return data_dir.parent / f"server-{port}.log"
