"""Fixtures for the dialect tests: a running server, keys, and test images.

The server is the real app with its lifespan (runtime, in-process workers running the
real engines), built once per module because starting the engines' worker processes is
the slow part. Images are generated here (``skimage.data.astronaut()`` and a drawn
T-shirt and pair of glasses) and served from a loopback HTTP server, which the server
may fetch from because the tests allowlist 127.0.0.1.
"""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image, ImageDraw
from skimage import data as skdata
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from fitroom.settings import Settings

# --- images -------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    """Raw base64, as the glasses vendor wants it."""
    return base64.b64encode(data).decode()


def data_uri(data: bytes, content_type: str = "image/png") -> str:
    """A data URI, as FASHN wants it."""
    return f"data:{content_type};base64,{b64(data)}"


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


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    """Test files by name; ``image_server`` serves each at ``/<name>``."""
    person = person_image()
    return {
        "person.png": encode(person),
        "person.jpg": encode(person, "JPEG"),
        "garment.png": encode(garment_image()),
        "garment.jpg": encode(garment_image(), "JPEG"),
        "glasses.png": encode(glasses_image()),
    }


# --- a loopback image server ----------------------------------------------------------------


@pytest.fixture(scope="session")
def image_server(images: dict[str, bytes]) -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving ``images``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = images.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            kind = "image/png" if self.path.endswith(".png") else "image/jpeg"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- the server -----------------------------------------------------------------------------


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: a private data dir, loopback image URLs allowed."""
    values: dict[str, Any] = {"data_dir": data_dir, "url_allowlist": "127.0.0.1"}
    return Settings(**(values | overrides))


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change its server's settings (e.g. ``workers=0``)."""
    return {}


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, settings_overrides: dict[str, Any]
) -> Iterator[TestClient]:
    """A client of a started server (lifespan run: runtime and workers up)."""
    settings = make_settings(tmp_path_factory.mktemp("data"), **settings_overrides)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def new_key(client: TestClient, name: str = "test", **limits: Any) -> str:
    """A fresh raw key in ``client``'s server; unlimited credits unless given."""
    _, raw = client.app.state.runtime.keys.create(name, **limits)
    return raw


@pytest.fixture(scope="module")
def key(client: TestClient) -> str:
    return new_key(client, "module")


@pytest.fixture(scope="module")
def headers(key: str) -> dict[str, str]:
    """The Pixazo way of sending a key; every header works on every dialect."""
    return {"Ocp-Apim-Subscription-Key": key}


def job_rows(client: TestClient) -> int:
    """How many jobs the server holds, in any state."""
    return sum(client.app.state.runtime.jobs.counts().values())


def blob_files(client: TestClient) -> list[Path]:
    blob_dir = client.app.state.settings.blob_dir
    return [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []


# --- polling and results ------------------------------------------------------------------------


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


# --- a real HTTP server, for clients that need a socket (the FASHN SDK) ---------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, settings_overrides: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    """``(base_url, app)`` of the app served by uvicorn on a free loopback port, in a
    background thread, so that signed result URLs point at a server that answers."""
    port = free_port()
    settings = make_settings(
        tmp_path_factory.mktemp("live"), host="127.0.0.1", port=port, **settings_overrides
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=30)
