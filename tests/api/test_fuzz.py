"""Schemathesis over every operation of our OpenAPI document, valid and invalid inputs:
no 5xx, and every answer in the shape of the dialect that owns the path.

Bounded and derandomized so that it is a quick, repeatable check (well under a minute).
The server runs no workers and waits briefly for Pixelcut results: the point is the
HTTP layer, not the engines.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.generation import GenerationMode

from fitroom.api.app import create_app
from fitroom.api.rvton import (
    BAD_REQUEST,
    FORBIDDEN,
    INTERNAL,
    NOT_FOUND,
    TOO_MANY,
    UNAUTHORIZED,
)
from fitroom.settings import Settings
from tests.helpers import b64, drawn_tshirt

PIXAZO_PREFIXES = (
    "/virtual-tryon/",
    "/vton-polling/",
    "/glass-virtual-try-on/",
    "/glass-virtual-try-on-polling/",
    "/fashn-virtual-try-on-917/",
    "/fashn-virtual-try-on/",
)
PIXAZO_SENTENCES = {BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, TOO_MANY, INTERNAL}
PIXELCUT_CODES = {
    "invalid_request_body", "missing_parameter", "invalid_parameter", "unsupported_content_type",
    "malformed_image", "unsupported_image_format", "file_size_too_large", "resolution_too_high",
    "unknown_foreground", "invalid_auth_token", "insufficient_api_credits", "not_found",
    "rate_limit_exceeded", "internal_error",
}
FASHN_NAMES = {
    "BadRequest", "UnauthorizedAccess", "NotFound", "RateLimitExceeded",
    "ConcurrencyLimitExceeded", "OutOfCredits", "InternalServerError",
}


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, Any]:
    return {"workers": 0, "pixelcut_wait_seconds": 0.2}


@pytest.fixture(scope="module")
def fuzz_key(live_server: tuple[str, Any]) -> str:
    _, app = live_server
    _, raw = app.state.runtime.keys.create(
        "fuzz", submit_rate=100_000, poll_rate=100_000, concurrency_limit=100_000
    )
    return raw


# The document does not depend on settings or a running server: load it once, here, to
# give each operation its own test.
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(data_dir="unused")).openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def cases(operation: Any) -> st.SearchStrategy:
    """Valid and invalid requests for ``operation``."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    try:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    except Exception:  # an operation with nothing to get wrong has no negative cases
        pass
    return st.one_of(strategies)


def assert_dialect_shape(path: str, status: int, body: Any) -> None:
    """Errors in the owning vendor's error body; successes as JSON objects."""
    assert isinstance(body, dict), body
    if status < 400:
        return
    if path.startswith(PIXAZO_PREFIXES):
        assert body["error"] in PIXAZO_SENTENCES, body
    elif path == "/v1/credits":
        # Shared: Pixelcut's for a request with X-API-KEY alone, FASHN's once a bearer
        # token comes too (the fuzzer sends the security schemes' headers as well).
        assert set(body) in ({"error", "error_code"}, {"error", "message"}), body
    elif path.startswith(("/v1/try-on", "/v1/remove-background")):
        assert set(body) == {"error", "error_code"} and body["error_code"] in PIXELCUT_CODES, body
    elif path.startswith("/v1/"):
        assert set(body) == {"error", "message"} and body["error"] in FASHN_NAMES, body


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_server_errors_and_dialect_shapes(
    operation: Any, live_server: tuple[str, Any], fuzz_key: str
) -> None:
    base_url, _ = live_server

    @given(case=cases(operation))
    @settings(
        max_examples=40,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers={"X-API-KEY": fuzz_key}, timeout=30)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        if case.path.startswith("/files/"):
            return  # result files: bytes or a small JSON refusal, in no vendor's shape
        assert_dialect_shape(case.formatted_path, response.status_code, response.json())

    check()


# Bodies that once broke a dialect (a 500 and a dropped connection): kept here so every
# operation that takes a body meets them again.
HOSTILE_BODIES = {
    "nested arrays": b"[" * 1000,
    "nested objects": b'{"a":' * 1000,
    "5,000-digit integer": b'{"seed": ' + b"9" * 5000 + b"}",
    "not UTF-8": b'{"a": "\xff\xfe"}',
}
BODY_OPERATIONS = [op for op in OPERATIONS if op.method.upper() == "POST"]


@pytest.mark.parametrize("name", HOSTILE_BODIES)
@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_hostile_json_bodies_are_a_400_in_the_dialects_shape(
    operation: Any, name: str, live_server: tuple[str, Any], fuzz_key: str
) -> None:
    base_url, _ = live_server
    path = operation.path.replace("{job_id}", "0" * 32).replace("{id}", "0" * 32)
    response = httpx.post(
        base_url + path,
        content=HOSTILE_BODIES[name],
        headers={"X-API-KEY": fuzz_key, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, (path, response.text)
    assert_dialect_shape(path, response.status_code, response.json())


def sixteen_bit_grey_png() -> str:
    """A 16-bit greyscale portrait-sized gradient PNG, as data URI: it once decoded as
    solid white."""
    values = np.linspace(0, 65535, 400 * 300).reshape(400, 300).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_16_bit_greyscale_photo_is_accepted_by_every_clothing_dialect(
    live_server: tuple[str, Any], fuzz_key: str
) -> None:
    """Accepted as an image (its decoding is pinned in tests/images/test_decode.py)."""
    base_url, _ = live_server
    grey, garment = sixteen_bit_grey_png(), b64(drawn_tshirt(), data_uri=True)
    headers = {"X-API-KEY": fuzz_key}
    requests = [
        ("/virtual-tryon/v1/r-vton", {"human_img": grey, "garm_img": garment}),
        ("/fashn-virtual-try-on/v1/fashn-virtual-try-on-request", {"model_image": grey, "garment_image": garment}),
        ("/v1/try-on", {"person_image_url": grey, "garment_image_url": garment, "wait_for_result": False}),
        ("/v1/run", {"model_name": "tryon-v1.6", "inputs": {"model_image": grey, "garment_image": garment}}),
    ]
    for path, body in requests:
        response = httpx.post(base_url + path, json=body, headers=headers, timeout=30)
        assert response.status_code in (200, 202), (path, response.text)
