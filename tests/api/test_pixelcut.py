"""Pixelcut try-on (docs/api.md §5): JSON and multipart end to end, waiting and
polling, content-type dispatch, and Pixelcut's error codes."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image
from starlette.testclient import TestClient

from fitroom.api.fields import error_class
from fitroom.api.pixelcut import (
    finished_response,
    pixelcut_code,
    render_error,
    status_body,
)
from fitroom.errors import FitroomError
from fitroom.jobs.model import JobSpec, JobState, JobView, OutputView
from fitroom.options import JobKind
from tests.helpers import download_image, poll_until

TRY_ON = "/v1/try-on"


@pytest.mark.slow
def test_json_waits_for_the_result(client: TestClient, key: str, image_server: str) -> None:
    """The seed's JSON request: with wait_for_result (the default) the answer is the
    result, a JPEG."""
    response = client.post(
        TRY_ON,
        json={
            "person_image_url": f"{image_server}/person.jpg",
            "garment_image_url": f"{image_server}/garment.png",
            "garment_mode": "upper",
        },
        headers={"X-API-KEY": key},
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"result_url"}
    assert download_image(client, response.json()["result_url"]).format == "JPEG"


@pytest.mark.slow
def test_multipart_files_then_poll(
    client: TestClient, key: str, images: dict[str, bytes]
) -> None:
    """Files in a form, booleans as strings, no waiting: 202, Location, then polling.
    The file wins over a URL sent beside it (this one could not be fetched)."""
    response = client.post(
        TRY_ON,
        data={
            "wait_for_result": "false",
            "preprocess_garment": "false",
            "remove_background": "true",
            "person_image_url": "http://127.0.0.1:9/unreachable.png",
        },
        files={
            "person_image": ("person.png", images["person.png"], "image/png"),
            "garment_image": ("garment.jpg", images["garment.jpg"], "image/jpeg"),
        },
        headers={"X-API-KEY": key},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/v1/try-on/job/{job_id}"

    def poll() -> dict:
        answer = client.get(response.headers["location"], headers={"X-API-KEY": key})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] in {"pending", "running", "completed", "failed"}
        return answer.json()

    result = poll_until(poll, lambda b: b["status"] in ("completed", "failed"))
    assert result["status"] == "completed", result
    assert result["job_id"] == job_id and "error" not in result
    assert download_image(client, result["result_url"]).format == "JPEG"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", b"person_image_url=x"), ("application/x-www-form-urlencoded", b"a=b"),
     (None, b"{}")],
)
def test_other_content_types_are_unsupported(
    client: TestClient, key: str, content_type: str | None, body: bytes
) -> None:
    headers = {"X-API-KEY": key} | ({"Content-Type": content_type} if content_type else {})
    response = client.post(TRY_ON, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "error": "The content type of the request was not application/json or multipart/form-data.",
        "error_code": "unsupported_content_type",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_request_body"),
        (b"[1, 2]", "invalid_request_body"),
        (b"", "invalid_request_body"),
        (b'{"garment_image_url": "https://example.com/g.jpg"}', "missing_parameter"),
        (b'{"person_image_url": "https://example.com/p.jpg"}', "missing_parameter"),
        (b'{"person_image_url": "a", "garment_image_url": "b", "garment_mode": "hat"}',
         "invalid_parameter"),
        (b'{"person_image_url": "a", "garment_image_url": "b", "wait_for_result": "later"}',
         "invalid_parameter"),
    ],
)
def test_json_body_errors(client: TestClient, key: str, body: bytes, code: str) -> None:
    response = client.post(
        TRY_ON, content=body, headers={"X-API-KEY": key, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == code
    assert set(response.json()) == {"error", "error_code"}


def test_broken_multipart_is_invalid_request_body(client: TestClient, key: str) -> None:
    response = client.post(
        TRY_ON,
        content=b"--nope\r\nthis is not a form",
        headers={"X-API-KEY": key, "Content-Type": "multipart/form-data; boundary=other"},
    )
    assert response.status_code == 400
    assert response.json()["error_code"] in {"invalid_request_body", "missing_parameter"}


def test_unknown_job_is_404(client: TestClient, key: str) -> None:
    unknown = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"  # the seed's example id
    response = client.get(f"/v1/try-on/job/{unknown}", headers={"X-API-KEY": key})
    assert response.status_code == 404
    assert response.json() == {"error": "Job not found", "error_code": "not_found"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("malformed_image", "malformed_image"),
        ("unsupported_image_format", "unsupported_image_format"),
        ("file_size_too_large", "file_size_too_large"),
        ("body_too_large", "file_size_too_large"),
        ("resolution_too_high", "resolution_too_high"),
        ("decompression_bomb", "resolution_too_high"),
        ("resolution_too_low", "invalid_parameter"),
        ("fetch_failed", "invalid_parameter"),
        ("no_person_found", "unknown_foreground"),
        ("no_garment_found", "unknown_foreground"),
        ("engine_unavailable", "internal_error"),
        ("worker_lost", "internal_error"),
    ],
)
def test_error_codes(code: str, expected: str) -> None:
    assert pixelcut_code(error_class(code)) == expected


def view(state: JobState, **fields) -> JobView:
    spec = JobSpec(kind=JobKind.CLOTHING, dialect="pixelcut")
    return JobView(id="p" * 32, state=state, spec=spec, created_at=datetime.now(UTC), **fields)


def test_status_bodies() -> None:
    assert status_body(view(JobState.QUEUED)) == {"job_id": "p" * 32, "status": "pending"}
    assert status_body(view(JobState.RUNNING)) == {"job_id": "p" * 32, "status": "running"}
    done = view(JobState.SUCCEEDED, outputs=[OutputView("http://x/0.jpg", "image/jpeg", 1, 1, 1)])
    assert status_body(done) == {
        "job_id": "p" * 32,
        "status": "completed",
        "result_url": "http://x/0.jpg",
    }
    failed = view(JobState.FAILED, error_code="no_person_found", error_message="No person.")
    assert status_body(failed) == {
        "job_id": "p" * 32,
        "status": "failed",
        "error": {"message": "No person.", "error_code": "unknown_foreground"},
    }
    timed_out = status_body(view(JobState.TIMED_OUT, error_code="timed_out"))
    assert timed_out["status"] == "failed"
    assert timed_out["error"]["error_code"] == "internal_error"


def test_a_failure_while_waiting_is_an_error_response() -> None:
    """Nothing found: the 400 the client would have got at once; anything else: 500."""
    failed = view(JobState.FAILED, error_code="no_garment_found", error_message="No garment.")
    response = finished_response(failed)
    assert (response.status_code, response.body) == (
        400,
        b'{"error":"No garment.","error_code":"unknown_foreground"}',
    )
    lost = view(JobState.FAILED, error_code="worker_lost", error_message="Lost.")
    response = finished_response(lost)
    assert (response.status_code, response.body) == (
        500,
        b'{"error":"Lost.","error_code":"internal_error"}',
    )


def test_every_code_of_ours_has_a_pixelcut_code() -> None:
    """No error class falls through unmapped into something Pixelcut does not define."""
    allowed = {
        "invalid_request_body", "missing_parameter", "invalid_parameter",
        "unsupported_content_type", "malformed_image", "unsupported_image_format",
        "file_size_too_large", "resolution_too_high", "unknown_foreground", "internal_error",
    }
    pending = [FitroomError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        assert pixelcut_code(cls) in allowed


@pytest.mark.slow
def test_no_person_while_waiting_is_unknown_foreground(
    client: TestClient, key: str, images: dict[str, bytes]
) -> None:
    """A garment photo as the person: the engine finds nobody, and the waiting client
    gets the 400 unknown_foreground it would have got had we known at once."""
    response = client.post(
        TRY_ON,
        files={
            "person_image": ("person.png", images["garment.png"], "image/png"),
            "garment_image": ("garment.png", images["garment.png"], "image/png"),
        },
        headers={"X-API-KEY": key},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "unknown_foreground"
    assert set(response.json()) == {"error", "error_code"}


def test_resolution_too_high(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    """Pixelcut takes at most 1920×1920."""
    wide = io.BytesIO()
    Image.new("RGB", (2000, 400), "white").save(wide, format="PNG")
    response = client.post(
        TRY_ON,
        files={
            "person_image": ("p.png", wide.getvalue()),
            "garment_image": ("g.png", images["garment.png"]),
        },
        headers={"X-API-KEY": key},
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "resolution_too_high"


def test_internal_error_body_has_no_internals() -> None:
    response = render_error(RuntimeError("/srv/app/secret.py: SELECT * FROM keys"))
    assert (response.status_code, response.body) == (
        500,
        b'{"error":"Internal service error","error_code":"internal_error"}',
    )
