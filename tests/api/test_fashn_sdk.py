"""The official ``fashn`` SDK, unchanged, against a live Fitroom: only the base URL
differs from code written for FASHN."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fashn import Fashn

from tests.helpers import data_uri, download_image


@pytest.fixture(scope="module")
def sdk(live_server: tuple[str, Any]) -> Fashn:
    base_url, app = live_server
    _, raw = app.state.runtime.keys.create("sdk")
    return Fashn(api_key=raw, base_url=base_url)


@pytest.mark.slow
def test_subscribe_completes_and_the_output_downloads(
    sdk: Fashn, image_server: str, images: dict[str, bytes]
) -> None:
    updates: list[str] = []
    result = sdk.predictions.subscribe(
        model_name="tryon-v1.6",
        inputs={
            "model_image": f"{image_server}/person.jpg",
            "garment_image": data_uri(images["garment.png"]),
            "category": "tops",
            "mode": "performance",
        },
        poll_interval=300,
        timeout=180_000,
        on_queue_update=lambda status: updates.append(status.status),
    )
    assert result.status == "completed", result
    assert result.error is None
    assert result.credits_used == 1
    assert updates[-1] == "completed"
    assert result.output and len(result.output) == 1
    with httpx.Client() as http:
        assert download_image(http, result.output[0]).format == "PNG"


def test_sdk_errors_are_its_own_exceptions(sdk: Fashn) -> None:
    import fashn

    with pytest.raises(fashn.BadRequestError) as info:
        incomplete: Any = {"model_image": "x"}
        sdk.predictions.run(model_name="tryon-v1.6", inputs=incomplete)
    assert info.value.body == {
        "error": "BadRequest",
        "message": "Missing required parameter: inputs.garment_image",
    }
    with pytest.raises(fashn.NotFoundError):
        sdk.predictions.status("0" * 32)
    with pytest.raises(fashn.AuthenticationError):
        sdk.with_options(api_key="fr_nobody_wrong", max_retries=0).predictions.status("0" * 32)
