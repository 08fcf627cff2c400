"""FASHN webhooks: the status body is POSTed when the job ends, through the SSRF guard,
and a webhook that cannot be delivered never holds the job up."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from fitroom.settings import Settings
from tests.helpers import astronaut, b64, drawn_tshirt


class Recorder(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the stdlib's name
        length = int(self.headers.get("content-length", 0))
        Recorder.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def hook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("hooks"), workers=1, url_allowlist="127.0.0.1")
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        _, key = app.state.runtime.keys.create("hooks")
        c.headers["Authorization"] = f"Bearer {key}"
        c.app_state = app.state
        yield c


def _run(client, webhook_url: str) -> str:
    inputs = {
        "model_image": b64(astronaut(), "JPEG", data_uri=True),
        "garment_image": b64(drawn_tshirt(), data_uri=True),
        "category": "tops",
    }
    r = client.post("/v1/run", json={"model_name": "tryon-v1.6", "inputs": inputs, "webhook_url": webhook_url})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _wait(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_webhook_receives_the_status_body_when_the_job_ends(client, hook_server):
    job_id = _run(client, hook_server)
    body = _wait(lambda: next((b for b in Recorder.received if b.get("id") == job_id), None))
    status = client.get(f"/v1/status/{job_id}").json()
    assert body["status"] == status["status"] == "completed"
    assert body["error"] is None and len(body["output"]) == 1
    record = client.app_state.runtime.jobs.get(job_id)
    assert record.webhook_state == "delivered"


def test_webhook_to_a_refused_address_fails_without_holding_the_job(client):
    job_id = _run(client, "http://169.254.169.254/latest/meta-data/")
    status = _wait(lambda: (s := client.get(f"/v1/status/{job_id}").json())["status"] == "completed" and s)
    assert status["status"] == "completed"
    jobs = client.app_state.runtime.jobs
    # A refused address is final at once: retrying cannot make it public.
    record = _wait(lambda: (r := jobs.get(job_id)).webhook_state != "pending" and r, timeout=60)
    assert record.webhook_state == "failed"
