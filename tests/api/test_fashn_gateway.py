"""FASHN through the Pixazo gateway (docs/api.md §4): the seed's example end to end,
status bodies for every status, failure codes, and the gateway's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from fitroom.api.fashn_gateway import GatewayRequest, job_spec, status_body
from fitroom.jobs.model import JobSpec, JobState, JobView, OutputView
from fitroom.options import Effort, JobKind, OutputFormat, PhotoType, Region
from tests.helpers import data_uri, download_image, poll_until

SUBMIT = "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request"
RESULT = "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request-result"


def poll(client: TestClient, request_id: str, headers: dict) -> dict:
    response = client.post(RESULT, json={"request_id": request_id}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == request_id
    assert body["status"] in {"IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED"}
    return body


@pytest.mark.slow
def test_seed_example_end_to_end(
    client: TestClient, headers: dict, image_server: str, images: dict[str, bytes]
) -> None:
    seed_example = {
        "model_image": f"{image_server}/person.jpg",
        "garment_image": f"{image_server}/garment.png",
        "category": "auto",
        "mode": "balanced",
        "garment_photo_type": "auto",
        "moderation_level": "permissive",
        "num_samples": 1,
        "segmentation_free": True,
        "output_format": "png",
    }
    by_data_uri = seed_example | {
        "model_image": data_uri(images["person.png"]),
        "garment_image": data_uri(images["garment.jpg"], "image/jpeg"),
        "category": "top",
        "mode": "fast",
        "output_format": "jpeg",
    }
    submitted = []
    for body in (seed_example, by_data_uri):
        response = client.post(SUBMIT, json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "IN_QUEUE"
        submitted.append(response.json()["request_id"])

    for request_id, mode, fmt in zip(submitted, ("balanced", "fast"), ("png", "jpeg"), strict=True):
        result = poll_until(
            lambda: poll(client, request_id, headers),
            lambda b: b["status"] in ("COMPLETED", "FAILED"),
        )
        assert result["status"] == "COMPLETED", result
        assert len(result["images"]) == 1
        item = result["images"][0]
        assert item["content_type"] == f"image/{fmt}"
        image = download_image(client, item["url"])
        assert (image.width, image.height) == (item["width"], item["height"])
        metadata = result["metadata"]
        assert metadata | {"mode": mode, "num_samples": 1, "output_format": fmt} == metadata
        assert metadata["processing_time_seconds"] >= 0


@pytest.mark.slow
def test_no_person_fails_with_pose_error(
    client: TestClient, headers: dict, image_server: str
) -> None:
    garment = f"{image_server}/garment.png"
    body = {"model_image": garment, "garment_image": garment}
    response = client.post(SUBMIT, json=body, headers=headers)
    assert response.status_code == 200, response.text
    request_id = response.json()["request_id"]
    result = poll_until(
        lambda: poll(client, request_id, headers), lambda b: b["status"] in ("COMPLETED", "FAILED")
    )
    assert result["status"] == "FAILED", result
    assert result["error_code"] == "POSE_ERROR"
    assert result["error_message"]


def test_defaults_and_translation() -> None:
    body = GatewayRequest(model_image="m", garment_image="g")
    assert (body.category, body.mode, body.garment_photo_type) == ("auto", "balanced", "auto")
    assert (body.moderation_level, body.num_samples) == ("permissive", 1)
    assert (body.segmentation_free, body.output_format) == (True, "png")
    options = job_spec(
        GatewayRequest(
            model_image="m",
            garment_image="g",
            category="outerwear",
            mode="high_quality",
            garment_photo_type="on_model",
            moderation_level="strict",
            num_samples=5,
            segmentation_free="false",
            output_format="jpeg",
        )
    ).options
    assert (options.region, options.effort, options.photo_type) == (
        Region.OUTERWEAR,
        Effort.QUALITY,
        PhotoType.WORN,
    )
    assert (options.num_outputs, options.output_format, options.seed) == (5, OutputFormat.JPEG, 42)
    assert options.extras == {"moderation_level": "strict", "segmentation_free": False}


SPEC = JobSpec(kind=JobKind.CLOTHING, dialect="fashn_gateway")
NOW = datetime.now(UTC)


def view(state: JobState, **fields) -> JobView:
    return JobView(id="r" * 32, state=state, spec=SPEC, created_at=NOW, **fields)


def test_in_queue_and_in_progress_bodies() -> None:
    assert status_body(view(JobState.QUEUED, queue_position=3, eta_seconds=7.6)) == {
        "request_id": "r" * 32,
        "status": "IN_QUEUE",
        "queue_position": 3,
        "estimated_time_remaining_seconds": 8,
    }
    assert status_body(view(JobState.RUNNING, eta_seconds=2.2)) == {
        "request_id": "r" * 32,
        "status": "IN_PROGRESS",
        "estimated_time_remaining_seconds": 2,
    }


def test_completed_body() -> None:
    done = view(
        JobState.SUCCEEDED,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=14.2),
        outputs=[OutputView("http://x/0.png", "image/png", 576, 864, 1000)],
    )
    assert status_body(done) == {
        "request_id": "r" * 32,
        "status": "COMPLETED",
        "images": [
            {"url": "http://x/0.png", "width": 576, "height": 864, "content_type": "image/png"}
        ],
        "metadata": {
            "mode": "balanced",
            "num_samples": 1,
            "output_format": "png",
            "processing_time_seconds": 14.2,
        },
    }


@pytest.mark.parametrize(
    ("state", "code", "expected"),
    [
        (JobState.FAILED, "fetch_failed", "INVALID_IMAGE_URI"),
        (JobState.FAILED, "url_refused", "INVALID_IMAGE_URI"),
        (JobState.FAILED, "invalid_image_reference", "INVALID_IMAGE_URI"),
        (JobState.FAILED, "malformed_image", "IMAGE_LOAD_ERROR"),
        (JobState.FAILED, "resolution_too_low", "IMAGE_LOAD_ERROR"),
        (JobState.FAILED, "no_person_found", "POSE_ERROR"),
        (JobState.FAILED, "no_garment_found", "GARMENT_NOT_FOUND"),
        (JobState.FAILED, "region_not_visible", "POSE_ERROR"),
        (JobState.FAILED, "worker_lost", "INTERNAL_ERROR"),
        (JobState.FAILED, "internal_error", "INTERNAL_ERROR"),
        (JobState.CANCELED, "canceled", "CANCELED"),
        (JobState.TIMED_OUT, "timed_out", "TIMEOUT"),
    ],
)
def test_failed_body_codes(state: JobState, code: str, expected: str) -> None:
    body = status_body(view(state, error_code=code, error_message="Something specific."))
    assert body == {
        "request_id": "r" * 32,
        "status": "FAILED",
        "error_code": expected,
        "error_message": "Something specific.",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", "tops"), ("mode", "quality"), ("garment_photo_type", "model"),
     ("moderation_level", "none"), ("num_samples", 6), ("output_format", "webp"),
     ("segmentation_free", "sometimes")],
)
def test_other_dialects_values_are_400(
    client: TestClient, headers: dict, field: str, value
) -> None:
    """FASHN's own names are not the gateway's: each is refused, naming the field."""
    body = {"model_image": "https://example.com/m.jpg", "garment_image": "https://x.org/g.jpg"}
    response = client.post(SUBMIT, json=body | {field: value}, headers=headers)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["error"], answer["code"]) == ("Invalid request parameters", "invalid_parameter")
    assert field in answer["detail"]


def test_result_needs_a_key(client: TestClient) -> None:
    """Unlike the two Pixazo polling endpoints, the gateway's result endpoint needs a key."""
    response = client.post(RESULT, json={"request_id": "0" * 32})
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid or missing authentication"


def test_unknown_request_id_is_404(client: TestClient, headers: dict) -> None:
    response = client.post(RESULT, json={"request_id": "fashn-req-unknown"}, headers=headers)
    assert response.status_code == 404
    assert response.json() == {
        "error": "Endpoint not found",
        "detail": "Job not found",
        "code": "job_not_found",
    }
