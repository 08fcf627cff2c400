"""FASHN's own API (docs/api.md §6): runs end to end by URL and data URI, base64
output, background removal, status names, error names and the API's errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from fitroom.api.fashn import error_name, render_error, status_body
from fitroom.errors import InsufficientCredits
from fitroom.jobs.model import JobSpec, JobState, JobView, OutputView
from fitroom.options import JobKind
from tests.helpers import data_uri, download_image, poll_until

STATUSES = {"starting", "in_queue", "processing", "completed", "failed", "canceled", "time_out"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}  # what the FASHN SDK sends


def status(client: TestClient, key: str, job_id: str) -> dict:
    response = client.get(f"/v1/status/{job_id}", headers=auth(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"id", "status", "output", "error"}
    assert body["status"] in STATUSES
    return body


def finished(body: dict) -> bool:
    return body["status"] not in ("starting", "in_queue", "processing")


@pytest.mark.slow
def test_runs_end_to_end(
    client: TestClient, key: str, image_server: str, images: dict[str, bytes]
) -> None:
    """A try-on by URL returning CDN-style URLs, and a background removal by data URI
    returning base64."""
    tryon = client.post(
        "/v1/run",
        json={
            "model_name": "tryon-v1.6",
            "inputs": {
                "model_image": f"{image_server}/person.jpg",
                "garment_image": f"{image_server}/garment.png",
                "category": "tops",
                "mode": "performance",
                "output_format": "jpeg",
                "seed": 7,
            },
        },
        headers=auth(key),
    )
    assert tryon.status_code == 200, tryon.text
    assert tryon.json()["error"] is None
    assert tryon.headers["x-fashn-credits-used"] == "1"

    cutout = client.post(
        "/v1/run",
        json={
            "model_name": "background-remove",
            "inputs": {"image": data_uri(images["person.png"]), "return_base64": True},
        },
        headers=auth(key),
    )
    assert cutout.status_code == 200, cutout.text

    result = poll_until(lambda: status(client, key, tryon.json()["id"]), finished)
    assert result["status"] == "completed", result
    assert result["error"] is None and len(result["output"]) == 1
    assert download_image(client, result["output"][0]).format == "JPEG"

    result = poll_until(lambda: status(client, key, cutout.json()["id"]), finished)
    assert result["status"] == "completed", result
    assert result["output"][0].startswith("data:image/png;base64,")
    assert download_image(client, result["output"][0]).format == "PNG"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model_name": "tryon-max", "inputs": {"model_image": "a", "garment_image": "b"}},
         "Missing required parameter: inputs.product_image"),
        ({"model_name": "model-swap", "inputs": {}},
         "model_name 'model-swap' is one of FASHN's models that this server does not offer; this server "
         "offers tryon-v1.6, tryon-max, background-remove, reframe."),
        ({"model_name": "tryon-v9", "inputs": {}},
         "model_name 'tryon-v9' is not a FASHN model; this server offers tryon-v1.6, tryon-max, "
         "background-remove, reframe."),
        ({"model_name": "tryon-v1.6", "inputs": {"garment_image": "b"}},
         "Missing required parameter: inputs.model_image"),
        ({"model_name": "background-remove", "inputs": {}},
         "Missing required parameter: inputs.image"),
        ({"inputs": {}}, "Missing required parameter: model_name"),
    ],
)
def test_bad_runs_are_400_bad_request(
    client: TestClient, key: str, body: dict, message: str
) -> None:
    response = client.post("/v1/run", json=body, headers=auth(key))
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest", "message": message}


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", "top"), ("garment_photo_type", "on_model"), ("mode", "fast"),
     ("moderation_level", "strict"), ("num_samples", 5), ("num_samples", 0),
     ("output_format", "webp"), ("seed", 2**32), ("seed", -1), ("return_base64", "yes please")],
)
def test_out_of_range_inputs_are_400(client: TestClient, key: str, field: str, value) -> None:
    inputs = {"model_image": "https://example.com/m.jpg", "garment_image": "https://x.org/g.jpg"}
    response = client.post(
        "/v1/run",
        json={"model_name": "tryon-v1.6", "inputs": inputs | {field: value}},
        headers=auth(key),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"
    assert f"inputs.{field}" in response.json()["message"]


def test_webhook_url_must_be_http(client: TestClient, key: str) -> None:
    response = client.post(
        "/v1/run",
        params={"webhook_url": "file:///etc/passwd"},
        json={"model_name": "background-remove", "inputs": {"image": "https://example.com/i.png"}},
        headers=auth(key),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"


def test_unknown_prediction_and_route_are_404(client: TestClient, key: str) -> None:
    response = client.get(f"/v1/status/{'0' * 32}", headers=auth(key))
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "message": "Job not found"}
    response = client.get("/v1/predictions", headers=auth(key))
    assert (response.status_code, response.json()["error"]) == (404, "NotFound")


SPEC = JobSpec(kind=JobKind.CLOTHING, dialect="fashn", cost=2)


def view(state: JobState, **fields) -> JobView:
    return JobView(id="f" * 32, state=state, spec=SPEC, created_at=datetime.now(UTC), **fields)


@pytest.mark.parametrize(
    ("state", "name"),
    [(JobState.QUEUED, "in_queue"), (JobState.RUNNING, "processing"), (JobState.FAILED, "failed"),
     (JobState.CANCELED, "canceled"), (JobState.TIMED_OUT, "time_out")],
)
def test_status_names(state: JobState, name: str) -> None:
    body = status_body(view(state, error_code="internal_error", error_message="Oops."))
    assert body["status"] == name
    assert body["output"] is None
    assert (body["error"] is None) == (state in (JobState.QUEUED, JobState.RUNNING))


def test_completed_status_body() -> None:
    outputs = [OutputView(f"http://x/{i}.png", "image/png", 1, 1, 1) for i in range(2)]
    assert status_body(view(JobState.SUCCEEDED, outputs=outputs)) == {
        "id": "f" * 32,
        "status": "completed",
        "output": ["http://x/0.png", "http://x/1.png"],
        "error": None,
    }


@pytest.mark.parametrize(
    ("state", "code", "name"),
    [
        (JobState.FAILED, "malformed_image", "ImageLoadError"),
        (JobState.FAILED, "fetch_failed", "ImageLoadError"),
        (JobState.FAILED, "no_person_found", "PoseError"),
        (JobState.FAILED, "no_garment_found", "PoseError"),
        (JobState.FAILED, "region_not_visible", "PoseError"),
        (JobState.FAILED, "invalid_parameter", "InputValidationError"),
        (JobState.FAILED, "engine_unavailable", "InternalServerError"),
        (JobState.FAILED, "worker_lost", "InternalServerError"),
        (JobState.FAILED, "internal_error", "InternalServerError"),
        (JobState.CANCELED, "canceled", "PipelineError"),
        (JobState.TIMED_OUT, "timed_out", "PollingTimeout"),
    ],
)
def test_error_names(state: JobState, code: str, name: str) -> None:
    failed = view(state, error_code=code, error_message="Specific.")
    assert error_name(failed) == name
    assert status_body(failed)["error"] == {"name": name, "message": "Specific."}


def test_out_of_credits_tells_the_sdk_not_to_retry() -> None:
    response = render_error(InsufficientCredits("Insufficient credits available"))
    assert response.status_code == 429
    assert response.headers["x-should-retry"] == "false"
    assert "retry-after" in response.headers


def test_internal_error_body_has_no_internals() -> None:
    response = render_error(RuntimeError("/srv/app/secret.py: SELECT * FROM keys"))
    assert (response.status_code, response.body) == (
        500,
        b'{"error":"InternalServerError","message":"An internal error occurred."}',
    )


@pytest.mark.parametrize("where", ["query", "body"])
def test_webhook_url_rides_on_the_job(
    client: TestClient, key: str, images: dict[str, bytes], where: str
) -> None:
    """The SDK sends webhook_url in the query; a hand-written client may put it in the body."""
    hook = "http://127.0.0.1:9/hook"
    body = {"model_name": "background-remove", "inputs": {"image": data_uri(images["person.png"])}}
    response = client.post(
        "/v1/run",
        params={"webhook_url": hook} if where == "query" else None,
        json=body | ({"webhook_url": hook} if where == "body" else {}),
        headers=auth(key),
    )
    assert response.status_code == 200, response.text
    record = client.app.state.runtime.jobs.get(response.json()["id"])
    assert record.spec.webhook_url == hook
