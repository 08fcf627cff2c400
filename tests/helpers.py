"""Everything tests share that is not a fixture: images the suite makes itself (no test
may need ../shared/testdata), servers and workers as real processes, keys, polling."""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data as skdata
from starlette.testclient import TestClient

from fitroom.settings import Settings


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


def encode(image: np.ndarray | Image.Image, fmt: str = "PNG") -> bytes:
    """An image (array or Pillow image) as file bytes."""
    picture = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buf = io.BytesIO()
    picture.save(buf, format=fmt)
    return buf.getvalue()


def b64(image: bytes | np.ndarray | Image.Image, fmt: str = "PNG", *, data_uri: bool = False) -> str:
    """File bytes (or an image, encoded as ``fmt`` first) as raw base64, the glasses
    vendor's form, or as a data URI, FASHN's."""
    data = image if isinstance(image, bytes) else encode(image, fmt)
    text = base64.b64encode(data).decode()
    return f"data:image/{fmt.lower()};base64,{text}" if data_uri else text


def data_uri(data: bytes, content_type: str = "image/png") -> str:
    """File bytes as a data URI, as FASHN wants them."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


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


def start_worker(data_dir: Path, engines: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``fitroom worker --engines ENGINES`` as a real process in its own session, its
    output in ``data_dir``'s parent (``worker-<engines>.log``). It is up once its lanes
    show in the store; ``wait_for_lanes`` waits for that."""
    log_path = data_dir.parent / f"worker-{engines.replace(',', '+')}.log"
    with log_path.open("w") as log:
        return subprocess.Popen(
            [fitroom_bin(), "worker", "--data-dir", str(data_dir), "--engines", engines],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )


def wait_for_lanes(base_url: str, engines: list[str], timeout: float = 60.0) -> None:
    """Until the server's /healthz lists a running lane for each of ``engines``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lanes = httpx.get(f"{base_url}/healthz", timeout=5).json()["lanes"]
        if all(lanes.get(engine, 0) > 0 for engine in engines):
            return
        time.sleep(0.2)
    pytest.fail(f"no running lane for {engines} within {timeout} s")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started in its own session, with every child it started."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def create_key(data_dir: Path, env: dict[str, str] | None = None, name: str = "test") -> str:
    """A new key in ``data_dir``'s store, through ``fitroom keys create``."""
    out = subprocess.run(
        [fitroom_bin(), "keys", "create", "--name", name, "--data-dir", str(data_dir)],
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


# --- drawn test images for the dialect tests -----------------------------------------------


def person_image() -> Image.Image:
    """A head-and-shoulders photo (512×512): enough body for tops and a face for glasses."""
    return Image.fromarray(skdata.astronaut())


def garment_image() -> Image.Image:
    """A red short-sleeved T-shirt, flat on white (512×512)."""
    image = Image.new("RGB", (512, 512), "white")
    shirt = [
        (176, 60), (216, 80), (256, 92), (296, 80), (336, 60),  # neckline
        (450, 140), (400, 220), (360, 190),  # right sleeve
        (360, 470), (152, 470),  # hem
        (152, 190), (112, 220), (62, 140),  # left sleeve
    ]
    ImageDraw.Draw(image).polygon(shirt, fill=(200, 30, 40), outline=(120, 10, 20))
    return image


def glasses_image() -> Image.Image:
    """A black frame with two round lenses on transparency (600×300)."""
    image = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for left in (60, 340):
        draw.ellipse((left, 70, left + 200, 230), outline=(10, 10, 10, 255), width=14)
        draw.ellipse((left + 7, 77, left + 193, 223), fill=(40, 40, 60, 90))
    draw.line((260, 130, 340, 130), fill=(10, 10, 10, 255), width=12)  # bridge
    draw.line((60, 120, 0, 110), fill=(10, 10, 10, 255), width=10)  # temples
    draw.line((540, 120, 600, 110), fill=(10, 10, 10, 255), width=10)
    return image


# --- servers and their stores -------------------------------------------------------------


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: a private data dir, loopback image URLs allowed."""
    values: dict[str, Any] = {"data_dir": data_dir, "url_allowlist": "127.0.0.1"}
    return Settings(**(values | overrides))


def new_key(client: TestClient, name: str = "test", **limits: Any) -> str:
    """A fresh raw key in ``client``'s server; unlimited credits unless given."""
    _, raw = client.app.state.runtime.keys.create(name, **limits)
    return raw


def job_rows(client: TestClient) -> int:
    """How many jobs the server holds, in any state."""
    return sum(client.app.state.runtime.jobs.counts().values())


def blob_files(client: TestClient) -> list[Path]:
    blob_dir = client.app.state.settings.blob_dir
    return [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []


# --- polling and results ------------------------------------------------------------------


def poll_until(
    fetch: Callable[[], dict], done: Callable[[dict], bool], timeout: float = 180.0
) -> dict:
    """Call ``fetch`` until ``done`` holds for its answer; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        body = fetch()
        if done(body):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"job did not finish in {timeout} s; last answer: {body}")
        time.sleep(0.3)


def download_image(client: TestClient | httpx.Client, url: str) -> Image.Image:
    """Fetch a signed result URL (or decode a data URI) and check that it decodes."""
    if url.startswith("data:"):
        data = base64.b64decode(url.partition(",")[2])
    else:
        response = client.get(url)
        assert response.status_code == 200, response.text
        data = response.content
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.width > 0 and image.height > 0
    return image


# --- the store's clock ---------------------------------------------------------------------


class FakeClock:
    """A wall clock the test moves by hand. Every reading also ticks one millisecond, so
    jobs created one after another get distinct, ordered timestamps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# Queues a job for a key in a store test (the ``submit`` fixture of tests/jobs).
Submit = Callable[..., Any]


# --- a real browser ------------------------------------------------------------------------

BROWSER_INSTALL = (
    "The browser tests drive a real headless Chromium. Install it and its driver with "
    "`apt-get install -y chromium chromium-driver` (Debian/Ubuntu), and Selenium with "
    "`pip install selenium`; or point FITROOM_TEST_CHROMIUM and FITROOM_TEST_CHROMEDRIVER "
    "at the binaries."
)
# The viewport every browser test (and the playground's screenshot) sees.
VIEWPORT = (1440, 1000)


def _executable(variable: str, *names: str) -> str | None:
    import shutil

    configured = os.environ.get(variable)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return next((found for name in names if (found := shutil.which(name))), None)


def headless_chromium() -> Any:
    """A Selenium driver for Debian's headless Chromium with a fixed viewport. Fails
    (never skips) when the browser, its driver or Selenium is missing, saying how to
    install them: no browser is ever downloaded."""
    chromium = _executable("FITROOM_TEST_CHROMIUM", "chromium", "chromium-browser")
    chromedriver = _executable("FITROOM_TEST_CHROMEDRIVER", "chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", chromedriver)) if path is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found. {BROWSER_INSTALL}", pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(f"selenium is not installed. {BROWSER_INSTALL}", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests may run as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(chromedriver)), options=options)
    # The window size includes what headless Chromium reserves for its UI; fix the
    # viewport itself, so that layouts and screenshots do not depend on the version.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False},
    )
    driver.set_script_timeout(30)
    return driver


class WebhookReceiver:
    """A loopback webhook receiver (the tests allowlist 127.0.0.1): every JSON body
    POSTed to ``url`` lands in ``received``. Use it as a context manager."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def deliveries(self) -> Counter[str]:
        """How many bodies arrived per job id since the last call."""
        counted: Counter[str] = Counter()
        while not self.received.empty():
            counted[self.received.get()["id"]] += 1
        return counted

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
