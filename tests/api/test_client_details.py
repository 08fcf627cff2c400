"""What official clients rely on beyond the basic try-on (docs/api.md, second round):
FASHN's credits, tryon-max and reframe; the gateway's paths without -917; Pixelcut's
remove-background and credits; errors that name the field and the fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from tests.helpers import b64, data_uri, download_image, drawn_tshirt, encode, new_key, poll_until


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def run(client: TestClient, key: str, model: str, inputs: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/run", json={"model_name": model, "inputs": inputs}, headers=bearer(key))
    assert response.status_code == 200, response.text
    job = response.json()["id"]
    return poll_until(
        lambda: client.get(f"/v1/status/{job}", headers=bearer(key)).json(),
        lambda b: b["status"] in ("completed", "failed"),
    ) | {"id": job}


# --- credits ----------------------------------------------------------------------------


def test_fashn_credits_for_the_calling_key(client: TestClient) -> None:
    counted = new_key(client, "counted", credits=7)
    body = client.get("/v1/credits", headers=bearer(counted))
    assert body.status_code == 200
    assert body.json() == {"credits": {"total": 7, "subscription": 0, "on_demand": 7}}
    unlimited = new_key(client, "unlimited")
    assert client.get("/v1/credits", headers=bearer(unlimited)).json() == {
        "credits": {"total": None, "subscription": 0, "on_demand": None}
    }


def test_fashn_credits_has_its_own_limit_of_30_per_10_seconds(client: TestClient) -> None:
    raw = new_key(client, "credits-poller", credits=1)
    for _ in range(30):
        assert client.get("/v1/credits", headers=bearer(raw)).status_code == 200
    refused = client.get("/v1/credits", headers=bearer(raw))
    assert refused.status_code == 429 and refused.json()["error"] == "RateLimitExceeded"
    assert "retry-after" in refused.headers


def test_pixelcut_credits_for_a_pixelcut_client(client: TestClient) -> None:
    raw = new_key(client, "pixelcut-credits", credits=12)
    assert client.get("/v1/credits", headers={"X-API-KEY": raw}).json() == {"credits": 12}
    # The shared path answers each vendor's clients in their own error shape, too.
    wrong = client.get("/v1/credits", headers={"X-API-KEY": "fr_000000000000_nope"})
    assert (wrong.status_code, wrong.json()["error_code"]) == (401, "invalid_auth_token")
    wrong = client.get("/v1/credits", headers=bearer("fr_000000000000_nope"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "UnauthorizedAccess")


# --- FASHN's other models -------------------------------------------------------------------


def test_tryon_max_runs_on_the_try_on_engines_and_reports_what_it_cannot_honour(
    client: TestClient, key: str, images: dict[str, bytes]
) -> None:
    inputs = {
        "model_image": data_uri(images["person.png"]),
        "product_image": data_uri(images["garment.png"]),
        "prompt": "make it silk",
        "resolution": "2k",
        "num_images": 2,
        "seed": 9,
    }
    status = run(client, key, "tryon-max", inputs)
    assert status["status"] == "completed", status
    assert len(status["output"]) == 2
    metadata = client.app.state.runtime.jobs.get(status["id"]).metadata
    assert "prompt" in metadata["not_applied"]
    assert "not upscaled" in metadata["not_applied"]["resolution"]  # the photo is 512 px


def test_reframe_crops_to_the_aspect_ratio(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    status = run(client, key, "reframe", {"image": data_uri(images["person.png"]), "aspect_ratio": "4:5"})
    assert status["status"] == "completed", status
    result = download_image(client, status["output"][0])
    assert result.size == (410, 512)
    bad = client.post(
        "/v1/run",
        json={"model_name": "reframe", "inputs": {"image": data_uri(images["person.png"]), "aspect_ratio": "wide"}},
        headers=bearer(key),
    )
    assert bad.status_code == 400 and "inputs.aspect_ratio" in bad.json()["message"]


# --- the gateway's paths without -917 -------------------------------------------------------


def test_the_gateway_answers_without_the_917_suffix(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    headers = {"X-API-KEY": key}
    body = {"model_image": data_uri(images["person.png"]), "garment_image": data_uri(images["garment.png"])}
    submitted = client.post("/fashn-virtual-try-on/v1/fashn-virtual-try-on-request", json=body, headers=headers)
    assert submitted.status_code == 200, submitted.text
    request_id = submitted.json()["request_id"]
    done = poll_until(
        lambda: client.post(
            "/fashn-virtual-try-on/v1/fashn-virtual-try-on-request-result",
            json={"request_id": request_id},
            headers=headers,
        ).json(),
        lambda b: b["status"] in ("COMPLETED", "FAILED"),
    )
    assert done["status"] == "COMPLETED", done
    unknown = client.post("/fashn-virtual-try-on/v1/nope", json={}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "Endpoint not found"


# --- Pixelcut's remove-background -------------------------------------------------------------


def test_remove_background_of_a_person_upload_keeps_transparency(
    client: TestClient, key: str, images: dict[str, bytes]
) -> None:
    response = client.post(
        "/v1/remove-background", headers={"X-API-KEY": key}, files={"image": ("p.png", images["person.png"])}
    )
    assert response.status_code == 200, response.text
    result = download_image(client, response.json()["result_url"])
    assert result.format == "PNG" and result.mode == "RGBA"
    alpha = np.asarray(result)[..., 3]
    assert alpha[:40, :40].max() < 30 and alpha[130:150, 220:240].min() > 200


def test_remove_background_of_a_product_shot_by_url_as_jpeg_cropped(client: TestClient, key: str) -> None:
    shirt = drawn_tshirt()
    body = {"image_url": b64(shirt), "format": "jpg", "crop": True, "margin": "8px"}
    response = client.post("/v1/remove-background", json=body, headers={"X-API-KEY": key})
    assert response.status_code == 200, response.text
    result = download_image(client, response.json()["result_url"])
    assert result.format == "JPEG"
    ys, xs = np.nonzero(np.any(shirt != 255, axis=2))
    assert abs(result.height - (ys.max() - ys.min() + 1 + 16)) <= 4
    assert abs(result.width - (xs.max() - xs.min() + 1 + 16)) <= 4


def test_remove_background_errors_in_pixelcuts_shape(client: TestClient, key: str) -> None:
    missing = client.post("/v1/remove-background", json={"format": "png"}, headers={"X-API-KEY": key})
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "Missing required parameter: image_url or image",
        "error_code": "missing_parameter",
    }
    flat = Image.new("RGB", (400, 300), (90, 90, 90))
    nothing = client.post("/v1/remove-background", json={"image_url": b64(encode(flat))}, headers={"X-API-KEY": key})
    assert (nothing.status_code, nothing.json()["error_code"]) == (400, "unknown_foreground")
    deep = client.post(
        "/v1/remove-background", content=b"[" * 1000, headers={"X-API-KEY": key, "Content-Type": "application/json"}
    )
    assert (deep.status_code, deep.json()["error_code"]) == (400, "invalid_request_body")


# --- errors that point to the fix -------------------------------------------------------------


def test_a_refused_private_url_says_how_to_allow_it(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    body = {"human_img": "http://10.1.2.3/person.jpg", "garm_img": b64(images["garment.png"])}
    response = client.post("/virtual-tryon/v1/r-vton", json=body, headers={"X-API-KEY": key})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("human_img (the person photo): ")
    assert "FITROOM_URL_ALLOWLIST=10.1.2.3" in detail


@pytest.mark.parametrize(
    ("path", "field", "role"),
    [
        ("/virtual-tryon/v1/r-vton", "garm_img", "the garment photo"),
        ("/glass-virtual-try-on/v1/api/glass-virtual-tryon", "glass_image_path", "the glasses photo"),
    ],
)
def test_image_errors_name_the_field_and_what_it_is_for(
    client: TestClient, key: str, images: dict[str, bytes], path: str, field: str, role: str
) -> None:
    tiny = b64(encode(Image.new("RGB", (100, 100), "gray")))
    body = (
        {"human_img": b64(images["person.png"]), "garm_img": tiny}
        if field == "garm_img"
        else {"model_image_path": b64(images["person.png"]), "glass_image_path": tiny}
    )
    response = client.post(path, json=body, headers={"X-API-KEY": key})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field} ({role}): the image is 100×100")
