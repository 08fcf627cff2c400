"""Schemathesis over every operation of our OpenAPI document, valid and invalid inputs:
no 5xx, and every answer in the shape of the dialect that owns the path.

Bounded and derandomized so that it is a quick, repeatable check (well under a minute).
The server runs no workers and waits briefly for Pixelcut results: the point is the
HTTP layer, not the engines.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
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

PIXAZO_PREFIXES = (
    "/virtual-tryon/",
    "/vton-polling/",
    "/glass-virtual-try-on/",
    "/glass-virtual-try-on-polling/",
    "/fashn-virtual-try-on-917/",
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
    elif path.startswith("/v1/try-on"):
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
