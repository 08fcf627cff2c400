"""Fixtures for the dialect tests: a running server, keys, and test images.

The server is the real app with its lifespan (runtime, lanes running the real engines),
built once per module because starting the engines' processes is the slow part. Images
are made by ``tests.helpers`` (``skimage.data.astronaut()`` and a drawn T-shirt and pair
of glasses) and served from a loopback HTTP server, which the server may fetch from
because the tests allowlist 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from tests.helpers import (
    encode,
    free_port,
    garment_image,
    glasses_image,
    make_settings,
    new_key,
    person_image,
)

# --- images -------------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def key(client: TestClient) -> str:
    return new_key(client, "module")


@pytest.fixture(scope="module")
def headers(key: str) -> dict[str, str]:
    """The Pixazo way of sending a key; every header works on every dialect."""
    return {"Ocp-Apim-Subscription-Key": key}


# --- polling and results ------------------------------------------------------------------------


# --- a real HTTP server, for clients that need a socket (the FASHN SDK) ---------------------


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
