"""The official ``fashn`` SDK, unchanged, against a live Fitroom: only the base URL
differs from code written for FASHN."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fashn import Fashn

from tests.helpers import WebhookReceiver, data_uri, download_image


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


@pytest.mark.slow
def test_sdk_runs_tryon_max_and_reframe(sdk: Fashn, images: dict[str, bytes]) -> None:
    person, garment = data_uri(images["person.png"]), data_uri(images["garment.png"])
    result = sdk.predictions.subscribe(
        model_name="tryon-max",
        inputs={"model_image": person, "product_image": garment},
        poll_interval=300,
        timeout=180_000,
    )
    assert result.status == "completed", result
    reframed = sdk.predictions.subscribe(
        model_name="reframe", inputs={"image": person, "aspect_ratio": "4:5"}, poll_interval=300, timeout=180_000
    )
    assert reframed.status == "completed", reframed


def test_sdk_webhook_url_in_the_query_gets_the_final_status(sdk: Fashn, images: dict[str, bytes]) -> None:
    """The SDK sends webhook_url as a query parameter; the final status body is POSTed
    there (a loopback receiver: the tests allowlist 127.0.0.1)."""
    with WebhookReceiver() as receiver:
        started = sdk.predictions.run(
            model_name="background-remove",
            inputs={"image": data_uri(images["person.png"])},
            webhook_url=receiver.url,
        )
        body = receiver.received.get(timeout=60)
        assert body["id"] == started.id and body["status"] == "completed" and body["output"]


def test_out_of_credits_is_not_retried_by_the_sdk(live_server: tuple[str, Any], images: dict[str, bytes]) -> None:
    """429 OutOfCredits carries x-should-retry: false, so the SDK gives up at once
    instead of waiting out Retry-After three times."""
    import time

    import fashn

    base_url, app = live_server
    _, raw = app.state.runtime.keys.create("broke", credits=0)
    client = Fashn(api_key=raw, base_url=base_url)
    started = time.monotonic()
    with pytest.raises(fashn.RateLimitError) as info:
        client.predictions.run(
            model_name="tryon-v1.6",
            inputs={"model_image": data_uri(images["person.png"]), "garment_image": data_uri(images["garment.png"])},
        )
    assert info.value.body["error"] == "OutOfCredits"
    assert time.monotonic() - started < 5
