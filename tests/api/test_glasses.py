"""Pixazo glasses try-on (docs/api.md §3): the seed's example end to end, fields, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from fitroom.api.glasses import GlassesRequest, job_images, job_spec, status_body
from fitroom.jobs.model import JobSpec, JobState, JobView, OutputView
from fitroom.options import JobKind, OutputFormat
from tests.helpers import b64, download_image, poll_until

SUBMIT = "/glass-virtual-try-on/v1/api/glass-virtual-tryon"
POLL = "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result"


def poll(client: TestClient, request_id: str, headers: dict) -> dict:
    response = client.post(POLL, json={"request_id": request_id}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"request_id", "status", "image_url", "content_type", "file_size", "images"}
    assert body["status"] in {"submitted", "processing", "completed", "failed"}
    return body


@pytest.mark.slow
def test_seed_example_end_to_end(
    client: TestClient, headers: dict, image_server: str, images: dict[str, bytes]
) -> None:
    """The seed's request by URL, and raw base64 (the vendor's no-prefix form) asking
    for two PNGs with the built-in pair of glasses."""
    seed_example = {
        "model_image_path": f"{image_server}/person.png",
        "glass_image_path": f"{image_server}/glasses.png",
        "num_images": 1,
        "output_format": "jpeg",
    }
    by_base64 = {
        "model_image_path": b64(images["person.jpg"]),
        "num_images": 2,
        "output_format": "png",
    }
    submitted = []
    for body in (seed_example, by_base64):
        response = client.post(SUBMIT, json=body, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer | {"request_id": "x"} == {
            "success": True,
            "request_id": "x",
            "status": "submitted",
            "message": "Request submitted",
        }
        submitted.append(answer["request_id"])

    for request_id, count, content_type in zip(
        submitted, (1, 2), ("image/jpeg", "image/png"), strict=True
    ):
        result = poll_until(
            lambda: poll(client, request_id, headers),
            lambda b: b["status"] in ("completed", "failed"),
        )
        assert result["status"] == "completed", result
        assert len(result["images"]) == count
        first = result["images"][0]
        assert (result["image_url"], result["content_type"], result["file_size"]) == (
            first["url"],
            first["content_type"],
            first["file_size"],
        )
        for item in result["images"]:
            assert item["content_type"] == content_type
            image = download_image(client, item["url"])
            assert (image.width, image.height) == (item["width"], item["height"])


@pytest.mark.slow
def test_no_face_fails_with_an_error(
    client: TestClient, headers: dict, images: dict[str, bytes]
) -> None:
    body = {"model_image_path": b64(images["garment.png"])}
    response = client.post(SUBMIT, json=body, headers=headers)
    assert response.status_code == 200, response.text
    request_id = response.json()["request_id"]
    result = poll_until(
        lambda: poll(client, request_id, headers), lambda b: b["status"] in ("completed", "failed")
    )
    assert result["status"] == "failed", result
    assert result["error"] and result["images"] == [] and result["image_url"] is None


def test_defaults_and_translation() -> None:
    body = GlassesRequest(model_image_path="m")
    assert (body.glass_image_path, body.num_images, body.output_format) == (None, 1, "jpeg")
    spec = job_spec(GlassesRequest(model_image_path="m", num_images="3", output_format="png"))
    assert spec.kind is JobKind.GLASSES
    assert (spec.options.num_outputs, spec.options.output_format) == (3, OutputFormat.PNG)
    assert set(job_images(body)) == {"person"}
    assert set(job_images(GlassesRequest(model_image_path="m", glass_image_path="g"))) == {
        "person",
        "glasses",
    }


def view(state: JobState, **fields) -> JobView:
    spec = JobSpec(kind=JobKind.GLASSES, dialect="glasses")
    return JobView(id="j" * 32, state=state, spec=spec, created_at=datetime.now(UTC), **fields)


@pytest.mark.parametrize(
    ("state", "status"),
    [(JobState.QUEUED, "submitted"), (JobState.RUNNING, "processing"),
     (JobState.FAILED, "failed"), (JobState.CANCELED, "failed"), (JobState.TIMED_OUT, "failed")],
)
def test_status_names(state: JobState, status: str) -> None:
    body = status_body(view(state, error_code="no_face_found", error_message="No face."))
    assert body["status"] == status
    assert body["images"] == [] and body["image_url"] is None
    assert (body["error"] is not None) == (status == "failed")


def test_completed_body_lists_every_image() -> None:
    outputs = [OutputView(f"http://x/{i}.jpg", "image/jpeg", 10, 20, 300 + i) for i in range(2)]
    body = status_body(view(JobState.SUCCEEDED, outputs=outputs))
    assert body == {
        "request_id": "j" * 32,
        "status": "completed",
        "image_url": "http://x/0.jpg",
        "content_type": "image/jpeg",
        "file_size": 300,
        "images": [
            {"url": f"http://x/{i}.jpg", "content_type": "image/jpeg", "file_size": 300 + i,
             "width": 10, "height": 20}
            for i in range(2)
        ],
        "error": None,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_images", 0), ("num_images", 5), ("output_format", "gif"), ("model_image_path", 3)],
)
def test_invalid_values_are_400(client: TestClient, headers: dict, field: str, value) -> None:
    body = {"model_image_path": "https://example.com/m.png"} | {field: value}
    response = client.post(SUBMIT, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request parameters"
    assert response.json()["code"] == "invalid_parameter"


def test_poll_without_request_id_is_400(client: TestClient, headers: dict) -> None:
    response = client.post(POLL, json={}, headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request parameters",
        "detail": "Missing required parameter: request_id",
        "code": "missing_parameter",
    }


def test_unknown_route_is_404(client: TestClient, headers: dict) -> None:
    response = client.post("/glass-virtual-try-on/v2/whatever", headers=headers)
    assert response.status_code == 404
    assert response.json() == {"error": "Endpoint not found", "code": "not_found"}
