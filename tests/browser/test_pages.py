"""The playground's and the operator view's HTTP side, without a browser: what ships,
what the pages may load, the examples, and who may read /admin/api/overview."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from fitroom.api.app import create_app
from fitroom.api.playground.admin import ADMIN_RATE
from fitroom.settings import Settings
from tests.helpers import b64, garment_image, make_settings, new_key, person_image

TOKEN = "a-long-operator-token-for-the-tests"
OVERVIEW = "/admin/api/overview"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with the operator view on and no lanes: submitted jobs stay queued."""
    settings = make_settings(tmp_path_factory.mktemp("pages"), workers=0, admin_token=TOKEN)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _off(data_dir: Path, token: str | None) -> TestClient:
    return TestClient(create_app(make_settings(data_dir, workers=0, admin_token=token)), raise_server_exceptions=False)


# --- the playground page ------------------------------------------------------------------


def test_the_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    references = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert references
    for reference in references:
        assert reference.startswith(("/", "#")), f"{reference} is not served by Fitroom"
        if reference.startswith("/playground/"):
            assert client.get(reference).status_code == 200, reference


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/playground/playground.js", "text/javascript"), ("/playground/playground.css", "text/css"),
     ("/playground/admin.js", "text/javascript"), ("/playground/favicon.svg", "image/svg+xml")],
)
def test_assets_are_served_from_the_package(client: TestClient, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["/playground/nothing.js", "/playground/index.html", "/playground/admin.html", "/playground/..%2Fadmin.py",
     "/playground/examples/astronaut.png", "/playground/examples/..%2F..%2Fsettings.py"],
)
def test_only_shipped_files_are_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_examples_are_images_the_dialects_take(client: TestClient) -> None:
    catalogue = client.get("/playground/examples").json()
    roles = {entry["role"] for entry in catalogue}
    assert roles == {"person", "garment", "glasses"}
    for entry in catalogue:
        response = client.get(entry["url"])
        assert response.status_code == 200, entry
        image = Image.open(io.BytesIO(response.content))
        # The glasses API asks for JPEG or PNG of at least 300×300 on the person, and
        # 300 px on the glasses' shorter side.
        assert image.format in ("JPEG", "PNG")
        assert min(image.size) >= 300, entry
        if entry["role"] == "glasses":
            assert image.mode == "RGBA"


# --- the operator view -----------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, ""])
def test_admin_is_off_without_a_token(tmp_path: Path, token: str | None) -> None:
    with _off(tmp_path, token) as client:
        page = client.get("/admin")
        assert page.status_code == 404
        assert "FITROOM_ADMIN_TOKEN" in page.text  # says how to turn it on
        api = client.get(OVERVIEW, headers={"Authorization": "Bearer "})
        assert api.status_code == 404


def test_the_token_is_a_secret_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_token=TOKEN)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"X-API-KEY": TOKEN},
     {"Authorization": "Bearer " + TOKEN[:-1]}, {"Authorization": "Bearer tökén".encode("latin-1")}],
)
def test_admin_api_needs_the_token(client: TestClient, headers: dict[str, str | bytes]) -> None:
    response = client.get(OVERVIEW, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["cache-control"] == "no-store"


def test_admin_page_itself_holds_no_data(client: TestClient) -> None:
    page = client.get("/admin")
    assert page.status_code == 200
    assert 'id="token"' in page.text


def test_overview_lists_keys_jobs_and_queues(client: TestClient) -> None:
    raw = new_key(client, "boutique", credits=10)
    key_id, secret = raw.split("_")[1], raw.split("_", 2)[2]
    body = {
        "model_name": "tryon-v1.6",
        "inputs": {
            "model_image": b64(person_image(), data_uri=True),
            "garment_image": b64(garment_image(), data_uri=True),
        },
    }
    submitted = client.post("/v1/run", json=body, headers={"Authorization": f"Bearer {raw}"})
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.json()["id"]

    response = client.get(OVERVIEW, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    overview = response.json()
    [key] = [k for k in overview["keys"] if k["id"] == key_id]
    assert key == key | {"name": "boutique", "credits": 9, "jobs": 1, "credits_spent": 1, "revoked_at": None}
    [job] = [j for j in overview["jobs"] if j["id"] == job_id]
    assert job | {"key_name": "boutique", "dialect": "fashn", "state": "queued", "engine": "cpu-clothing"} == job
    assert job["run_seconds"] is None and job["queued_seconds"] >= 0
    # No lane runs here (workers=0): the job waits, and the queue says so.
    assert {"engine": "cpu-clothing", "queued": 1, "running": 0, "processes": 0} in overview["queues"]
    assert overview["lanes"] == []
    assert overview["counts"]["queued"] >= 1
    assert secret not in response.text and "hash" not in response.text


@pytest.mark.parametrize("jobs", ["0", "-1", "abc", "501", "1.5"])
def test_overview_refuses_a_bad_job_count(client: TestClient, jobs: str) -> None:
    response = client.get(OVERVIEW, params={"jobs": jobs}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert "jobs" in response.json()["message"]


def test_guessing_the_token_is_slowed_down(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, workers=0, admin_token=TOKEN))) as client:
        answers = [client.get(OVERVIEW, headers={"Authorization": "Bearer guess"}) for _ in range(ADMIN_RATE + 1)]
        assert {a.status_code for a in answers[:ADMIN_RATE]} == {401}
        assert answers[-1].status_code == 429
        assert int(answers[-1].headers["retry-after"]) >= 1
        # Even the right token waits: the bucket counts requests, not failures.
        assert client.get(OVERVIEW, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429
