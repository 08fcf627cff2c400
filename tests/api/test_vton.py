"""The four clothing dialects on the fashn-vton-1.5 engine, when routes send clothing
there: the server's lane runs the tiny random model and stand-in DWPose models on the
CPU, and every dialect's request completes with an image of the person photo's size."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from fitroom.engines.fashn_vton.standin import write_standin_weights
from tests.helpers import b64, data_uri, download_image, poll_until


@pytest.fixture(scope="module")
def settings_overrides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    weights = write_standin_weights(tmp_path_factory.mktemp("vton") / "weights")
    return {
        "vton_weights": weights,
        "vton_device": "cpu",
        "engines": ["fashn-vton-1.5", "cpu-cutout"],
        "routes": {"clothing": "fashn-vton-1.5"},
    }


def person_size(images: dict[str, bytes]) -> tuple[int, int]:
    return Image.open(io.BytesIO(images["person.png"])).size


def test_fashn_run_completes_on_the_vton_engine(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    body = {
        "model_name": "tryon-v1.6",
        "inputs": {
            "model_image": data_uri(images["person.png"]),
            "garment_image": data_uri(images["garment.png"]),
            "mode": "performance",
            "seed": 5,
        },
    }
    run = client.post("/v1/run", json=body, headers=auth)
    assert run.status_code == 200, run.text
    job = run.json()["id"]
    status = poll_until(
        lambda: client.get(f"/v1/status/{job}", headers=auth).json(), lambda b: b["status"] in ("completed", "failed")
    )
    assert status["status"] == "completed", status
    assert download_image(client, status["output"][0]).size == person_size(images)
    record = client.app.state.runtime.jobs.get(job)
    assert record.engine == "fashn-vton-1.5"
    assert record.metadata["engine"] == "fashn-vton-1.5"
    assert record.metadata["applied"]["steps"] == 20  # performance mode


def test_rvton_completes_with_its_own_steps(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    body = {"human_img": b64(images["person.png"]), "garm_img": b64(images["garment.png"]), "steps": 12, "seed": 3}
    job = client.post("/virtual-tryon/v1/r-vton", json=body, headers={"X-API-KEY": key}).json()["id"]
    status = poll_until(
        lambda: client.post("/vton-polling/v1/r-vton-get-image", json={"id": job}).json(),
        lambda b: b["status"] in ("succeeded", "failed"),
    )
    assert status["status"] == "succeeded", status
    assert download_image(client, status["output"]).size == person_size(images)
    assert client.app.state.runtime.jobs.get(job).metadata["applied"]["steps"] == 12


def test_the_fashn_gateway_completes(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    headers = {"X-API-KEY": key}
    body = {
        "model_image": data_uri(images["person.png"]),
        "garment_image": data_uri(images["garment.png"]),
        "mode": "fast",
    }
    job = client.post("/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request", json=body, headers=headers)
    request_id = job.json()["request_id"]
    status = poll_until(
        lambda: client.post(
            "/fashn-virtual-try-on-917/v1/fashn-virtual-try-on-request-result",
            json={"request_id": request_id},
            headers=headers,
        ).json(),
        lambda b: b["status"] in ("COMPLETED", "FAILED"),
    )
    assert status["status"] == "COMPLETED", status
    image = status["images"][0]
    assert (image["width"], image["height"]) == person_size(images)
    assert download_image(client, image["url"]).size == person_size(images)


def test_pixelcut_waits_for_the_vton_result(client: TestClient, key: str, images: dict[str, bytes]) -> None:
    response = client.post(
        "/v1/try-on",
        headers={"X-API-KEY": key},
        files={"person_image": ("p.png", images["person.png"]), "garment_image": ("g.png", images["garment.png"])},
        data={"garment_mode": "upper"},
    )
    assert response.status_code == 200, response.text
    result = download_image(client, response.json()["result_url"])
    assert result.format == "JPEG" and result.size == person_size(images)


def test_background_removal_still_goes_to_the_cpu_cutout(
    client: TestClient, key: str, images: dict[str, bytes]
) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    body = {"model_name": "background-remove", "inputs": {"image": data_uri(images["person.png"])}}
    job = client.post("/v1/run", json=body, headers=auth).json()["id"]
    status = poll_until(
        lambda: client.get(f"/v1/status/{job}", headers=auth).json(), lambda b: b["status"] in ("completed", "failed")
    )
    assert status["status"] == "completed", status
    assert client.app.state.runtime.jobs.get(job).engine == "cpu-cutout"


def test_weights_folder_layout_is_the_published_one(settings_overrides: dict[str, Any]) -> None:
    folder = Path(settings_overrides["vton_weights"])
    assert (folder / "model.safetensors").is_file()
    assert (folder / "dwpose" / "yolox_l.onnx").is_file() and (folder / "dwpose" / "dw-ll_ucoco_384.onnx").is_file()
