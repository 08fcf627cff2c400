"""Pixazo r-vton (docs/api.md §2): the seed's example end to end, fields, errors."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from fitroom.api.rvton import (
    RvtonRequest,
    effort_for_steps,
    job_spec,
    render_pixazo_error,
)
from fitroom.options import Effort, Region
from tests.helpers import b64, data_uri, download_image, poll_until

SUBMIT = "/virtual-tryon/v1/r-vton"
POLL = "/vton-polling/v1/r-vton-get-image"


def poll(client: TestClient, job_id: str, headers: dict | None = None) -> dict:
    response = client.post(POLL, json={"id": job_id}, headers=headers or {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"id", "status", "output", "error"}
    assert body["status"] in {"starting", "processing", "succeeded", "failed", "canceled"}
    return body


def finished(body: dict) -> bool:
    return body["status"] not in ("starting", "processing")


@pytest.mark.slow
def test_seed_example_end_to_end(
    client: TestClient, headers: dict, image_server: str, images: dict[str, bytes]
) -> None:
    """The seed's request, with our images by URL, and the same with raw base64 and a
    data URI; polled without a key as the seed's polling example does."""
    seed_example = {
        "category": "upper_body",
        "garm_img": f"{image_server}/garment.jpg",
        "human_img": f"{image_server}/person.png",
        "crop": True,
        "seed": 40,
        "steps": 30,
        "force_dc": False,
        "mask_only": False,
        "garment_des": "cute pink top",
    }
    by_base64 = seed_example | {
        "garm_img": b64(images["garment.png"]),
        "human_img": data_uri(images["person.jpg"], "image/jpeg"),
        "crop": "false",  # the vendor types its booleans and numbers as strings
        "steps": "10",
    }
    ids = []
    for body in (seed_example, by_base64):
        response = client.post(SUBMIT, json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"id"}
        ids.append(response.json()["id"])

    for job_id in ids:
        result = poll_until(lambda: poll(client, job_id), finished)
        assert result["status"] == "succeeded", result
        assert result["id"] == job_id and result["error"] is None
        download_image(client, result["output"])


def test_poll_with_the_owner_key(client: TestClient, headers: dict) -> None:
    """A key that is sent is checked; an unknown id is the vendor's 404."""
    response = client.post(POLL, json={"id": "0" * 32}, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"] == "Endpoint not found"


def test_string_forms_and_defaults() -> None:
    body = RvtonRequest.model_validate(
        {"garm_img": "g", "human_img": "h", "crop": "true", "seed": "7", "steps": "40"}
    )
    assert (body.crop, body.seed, body.steps) == (True, 7, 40)
    defaults = RvtonRequest.model_validate({"garm_img": "g", "human_img": "h"})
    assert (defaults.category, defaults.crop, defaults.seed, defaults.steps) == (
        "upper_body",
        False,
        42,
        30,
    )
    assert (defaults.force_dc, defaults.mask_only, defaults.garment_des) == (False, False, "")


@pytest.mark.parametrize(
    ("steps", "effort"),
    [(1, Effort.FAST), (15, Effort.FAST), (16, Effort.BALANCED), (30, Effort.BALANCED),
     (31, Effort.QUALITY), (40, Effort.QUALITY)],
)
def test_steps_map_to_effort(steps: int, effort: Effort) -> None:
    assert effort_for_steps(steps) is effort


def test_dresses_imply_force_dc() -> None:
    spec = job_spec(RvtonRequest(category="dresses", garm_img="g", human_img="h"))
    assert spec.options.region is Region.FULL
    assert spec.options.extras["force_dc"] is True
    spec = job_spec(
        RvtonRequest(garm_img="g", human_img="h", mask_only=True, crop=True, garment_des="x")
    )
    assert spec.options.region is Region.UPPER
    assert spec.options.extras == {"steps": 30, "force_dc": False}
    assert (spec.options.mask_only, spec.options.crop, spec.options.garment_description) == (
        True,
        True,
        "x",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("steps", 0), ("steps", 41), ("steps", "many"), ("seed", -1), ("category", "hats"),
     ("crop", "maybe"), ("garm_img", "")],
)
def test_invalid_values_are_400(client: TestClient, headers: dict, field: str, value) -> None:
    body = {"garm_img": "https://example.com/g.jpg", "human_img": "https://example.com/h.jpg"}
    response = client.post(SUBMIT, json=body | {field: value}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request parameters"
    assert response.json()["code"] == "invalid_parameter"
    assert field in response.json()["detail"]


def test_missing_image_is_400(client: TestClient, headers: dict) -> None:
    response = client.post(SUBMIT, json={"garm_img": "https://example.com/g.jpg"}, headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request parameters",
        "detail": "Missing required parameter: human_img",
        "code": "missing_parameter",
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/virtual-tryon/v1/other"), ("GET", "/vton-polling/v1/nothing-here"),
     ("GET", SUBMIT)],
)
def test_unknown_routes_are_404_endpoint_not_found(
    client: TestClient, headers: dict, method: str, path: str
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code in (404, 405)
    assert response.json()["error"] == "Endpoint not found"


def test_internal_error_body_has_no_internals() -> None:
    response = render_pixazo_error(RuntimeError("/srv/secret/path.py line 3: SELECT *"))
    assert response.status_code == 500
    assert response.body == (
        b'{"error":"An unexpected error occurred, please try again later","code":"internal_error"}'
    )
