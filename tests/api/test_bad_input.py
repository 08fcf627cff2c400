"""Unusable input on every dialect: each gets its dialect's 400 with the specific code,
and a refused request leaves nothing behind (no job row, no stored blob)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from fitroom.api.fields import error_class
from fitroom.api.pixelcut import pixelcut_code
from tests.helpers import b64, blob_files, encode, job_rows

BODY_CAP = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    return {"workers": 0, "max_body_bytes": BODY_CAP}


# --- bad images -----------------------------------------------------------------------------


def bomb_png(side: int = 30_000) -> bytes:
    """A PNG whose header declares side×side pixels (900 M) in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def bad_images(images: dict[str, bytes]) -> dict[str, bytes]:
    noise = np.random.default_rng(0).integers(0, 256, (1900, 1900, 3), dtype=np.uint8)
    gif = io.BytesIO()
    Image.new("RGB", (400, 400), "blue").save(gif, format="GIF")
    return {
        "truncated": images["person.png"][: len(images["person.png"]) // 2],
        "not_an_image": b"%PDF-1.4 this is a document, not a picture" * 20,
        "bomb": bomb_png(),
        "tiny": encode(Image.new("RGB", (100, 100), "gray")),
        "gif": gif.getvalue(),
        "eleven_megabytes": encode(Image.fromarray(noise)),  # noise does not compress
    }


# --- one submit per dialect ------------------------------------------------------------------
# An image given as bytes travels as an upload (Pixelcut) or base64 (the others); given
# as text, it is sent as the field's value (a URL or whatever else the test wants).


def _text(image: str | bytes) -> str:
    return b64(image) if isinstance(image, bytes) else image


def rvton(c: TestClient, h: dict, person: str | bytes, garment: bytes) -> httpx.Response:
    body = {"human_img": _text(person), "garm_img": _text(garment)}
    return c.post("/virtual-tryon/v1/r-vton", json=body, headers=h)


def glasses(c: TestClient, h: dict, person: str | bytes, garment: bytes = b"") -> httpx.Response:
    body = {"model_image_path": _text(person)}
    return c.post("/glass-virtual-try-on/v1/api/glass-virtual-tryon", json=body, headers=h)


def gateway(c: TestClient, h: dict, person: str | bytes, garment: bytes) -> httpx.Response:
    body = {"model_image": _text(person), "garment_image": _text(garment)}
    return c.post("/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request", json=body, headers=h)


def pixelcut(c: TestClient, h: dict, person: str | bytes, garment: bytes) -> httpx.Response:
    if isinstance(person, str):
        body = {
            "person_image_url": person,
            "garment_image_url": b64(garment),
            "wait_for_result": False,
        }
        return c.post("/v1/try-on", json=body, headers=h)
    return c.post(
        "/v1/try-on",
        data={"wait_for_result": "false"},
        files={"person_image": ("p", person), "garment_image": ("g", garment)},
        headers=h,
    )


def fashn(c: TestClient, h: dict, person: str | bytes, garment: bytes) -> httpx.Response:
    inputs = {"model_image": _text(person), "garment_image": _text(garment)}
    return c.post("/v1/run", json={"model_name": "tryon-v1.6", "inputs": inputs}, headers=h)


SENDERS: dict[str, Callable[..., httpx.Response]] = {
    "rvton": rvton,
    "glasses": glasses,
    "fashn_gateway": gateway,
    "pixelcut": pixelcut,
    "fashn": fashn,
}


def assert_refused(response: httpx.Response, dialect: str, code: str) -> None:
    """The dialect's 400 carrying ``code`` (a code of ours) in its own vocabulary."""
    assert response.status_code == 400, response.text
    body = response.json()
    if dialect == "pixelcut":
        assert set(body) == {"error", "error_code"}
        assert body["error_code"] == pixelcut_code(error_class(code)), body
    elif dialect == "fashn":
        assert set(body) == {"error", "message"}
        assert body["error"] == "BadRequest" and body["message"], body
    else:
        assert body["error"] == "Invalid request parameters"
        assert body["code"] == code, body
        assert body["detail"]


@pytest.fixture
def nothing_left_behind(client: TestClient):
    yield
    assert job_rows(client) == 0
    assert blob_files(client) == []


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("dialect", SENDERS)
@pytest.mark.parametrize(
    ("image", "code"),
    [
        ("truncated", "malformed_image"),
        ("not_an_image", "malformed_image"),
        ("bomb", "decompression_bomb"),
        ("tiny", "resolution_too_low"),
    ],
)
def test_bad_images(
    client: TestClient,
    headers: dict,
    images: dict[str, bytes],
    bad_images: dict[str, bytes],
    dialect: str,
    image: str,
    code: str,
) -> None:
    response = SENDERS[dialect](client, headers, bad_images[image], images["garment.png"])
    assert_refused(response, dialect, code)


@pytest.mark.usefixtures("nothing_left_behind")
def test_glasses_limits(client: TestClient, headers: dict, bad_images: dict[str, bytes]) -> None:
    """Glasses take JPEG and PNG up to 10 MB only."""
    response = glasses(client, headers, bad_images["gif"])
    assert_refused(response, "glasses", "unsupported_image_format")
    response = glasses(client, headers, bad_images["eleven_megabytes"])
    assert_refused(response, "glasses", "file_size_too_large")


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("dialect", SENDERS)
@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("hello, this is not an image!", "invalid_image_reference"),
        ("ftp://127.0.0.1/person.png", "invalid_image_reference"),
        ("http://10.0.0.1/person.png", "url_refused"),
        ("http://169.254.169.254/latest/meta-data/", "url_refused"),
        ("http://[::ffff:10.0.0.1]/person.png", "url_refused"),
    ],
)
def test_bad_references(
    client: TestClient,
    headers: dict,
    images: dict[str, bytes],
    dialect: str,
    reference: str,
    code: str,
) -> None:
    response = SENDERS[dialect](client, headers, reference, images["garment.png"])
    assert_refused(response, dialect, code)


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("dialect", SENDERS)
def test_oversize_body(client: TestClient, headers: dict, dialect: str) -> None:
    huge = b"A" * (BODY_CAP + 1024)
    response = SENDERS[dialect](client, headers, huge, b"A")
    assert_refused(response, dialect, "body_too_large")


# --- malformed requests ---------------------------------------------------------------------------

PERSON, GARMENT = "https://example.com/person.jpg", "https://example.com/garment.jpg"
# A valid body per dialect (whose URLs are never fetched: each test breaks the body).
SUBMITS = {
    "rvton": ("/virtual-tryon/v1/r-vton", {"human_img": PERSON, "garm_img": GARMENT}),
    "glasses": ("/glass-virtual-try-on/v1/api/glass-virtual-tryon", {"model_image_path": PERSON}),
    "fashn_gateway": (
        "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request",
        {"model_image": PERSON, "garment_image": GARMENT},
    ),
    "pixelcut": ("/v1/try-on", {"person_image_url": PERSON, "garment_image_url": GARMENT}),
    "fashn": (
        "/v1/run",
        {"model_name": "tryon-v1.6", "inputs": {"model_image": PERSON, "garment_image": GARMENT}},
    ),
}
POLLS = {
    "rvton": ("POST", "/vton-polling/v1/r-vton-get-image"),
    "glasses": ("POST", "/glass-virtual-try-on-polling/api/glass-virtual-tryon-result"),
    "fashn_gateway": ("POST", "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request-result"),
}


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("dialect", SUBMITS)
@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b"", "application/json", "invalid_request_body"),
        (b"{broken", "application/json", "invalid_request_body"),
        (b'"a string"', "application/json", "invalid_request_body"),
        (b"[]", "application/json", "invalid_request_body"),
        (b"human_img=x", "text/plain", "invalid_request_body"),
        (b"\x82", "application/json", "invalid_request_body"),  # not UTF-8
    ],
)
def test_unusable_bodies(
    client: TestClient, headers: dict, dialect: str, content: bytes, content_type: str, code: str
) -> None:
    path, _ = SUBMITS[dialect]
    response = client.post(path, content=content, headers=headers | {"Content-Type": content_type})
    if dialect == "pixelcut" and content_type == "text/plain":
        code = "unsupported_content_type"
    assert_refused(response, dialect, code)


def _without(body: dict, dialect: str) -> dict:
    """``body`` less its first required image field."""
    if dialect == "fashn":
        return body | {"inputs": {"garment_image": body["inputs"]["garment_image"]}}
    first = next(iter(body))
    return {k: v for k, v in body.items() if k != first}


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("dialect", SUBMITS)
def test_missing_fields(client: TestClient, headers: dict, dialect: str) -> None:
    path, body = SUBMITS[dialect]
    response = client.post(path, json=_without(body, dialect), headers=headers)
    assert_refused(response, dialect, "missing_parameter")


MISTYPED = {
    "rvton": [
        {"seed": "forty"}, {"steps": [30]}, {"crop": "perhaps"}, {"category": "shoes"},
        {"human_img": 7},
    ],
    "glasses": [
        {"num_images": "two"}, {"num_images": 9}, {"output_format": "webp"},
        {"glass_image_path": {}},
    ],
    "fashn_gateway": [
        {"num_samples": "1.5"}, {"segmentation_free": "nope"}, {"mode": "turbo"},
        {"category": "tops"},
    ],
    "pixelcut": [
        {"garment_mode": "dress"}, {"preprocess_garment": "no way"}, {"wait_for_result": 3},
        {"person_image_url": 5},
    ],
    "fashn": [
        {"model_name": "tryon-v2"}, {"inputs": "model_image"},
        {"webhook_url": "javascript:alert(1)"},
    ],
}


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize(
    ("dialect", "change"), [(d, change) for d, changes in MISTYPED.items() for change in changes]
)
def test_mistyped_fields_and_unknown_enums(
    client: TestClient, headers: dict, dialect: str, change: dict
) -> None:
    path, body = SUBMITS[dialect]
    response = client.post(path, json=body | change, headers=headers)
    assert_refused(response, dialect, "invalid_parameter")


@pytest.mark.usefixtures("nothing_left_behind")
@pytest.mark.parametrize("dialect", POLLS)
@pytest.mark.parametrize("body", [{}, {"id": 5, "request_id": 5}, {"id": "", "request_id": ""}])
def test_bad_poll_bodies(client: TestClient, headers: dict, dialect: str, body: dict) -> None:
    method, path = POLLS[dialect]
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Invalid request parameters"
    assert response.json()["code"] in ("missing_parameter", "invalid_parameter")
