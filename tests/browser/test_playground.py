"""The playground at / in a real headless Chromium against a real server: a try-on from
uploaded photos, garments compared side by side, the curl the page prints, and errors
shown next to the field they concern."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from tests.browser.conftest import Served
from tests.browser.driving import (
    done_results,
    enter_key,
    find,
    find_all,
    pick_example,
    set_field,
    text_of,
    upload,
    wait_for,
)
from tests.helpers import encode, garment_image, person_image

# Where the screenshot is copied for people to look at; the test's own copy is in its
# tmp_path. Nothing is written into the repository.
SCREENSHOT = Path("/tmp/fitroom-playground.png")


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_try_on_from_uploaded_photos(page: Any, served: Served, tmp_path: Path) -> None:
    person_png = encode(person_image())
    (tmp_path / "person.png").write_bytes(person_png)
    (tmp_path / "garment.png").write_bytes(encode(garment_image()))
    page.get(f"{served.base_url}/")
    enter_key(page, served.key)
    upload(page, "person", tmp_path / "person.png")
    upload(page, "garment", tmp_path / "garment.png")
    find(page, "#submit").click()

    # queued -> running -> done, then the result beside the inputs.
    [result_url] = wait_for(lambda: done_results(page), "the try-on result", timeout=60)
    card = find(page, ".card[data-state=done]")
    assert text_of(page, ".card .elapsed").startswith("done in")
    assert "current" not in (find(card, "li[data-phase=running]").get_attribute("class") or "")
    assert page.execute_script(
        "return ['.in-person', '.in-second', '.before'].every(s => {"
        " const i = document.querySelector('.card ' + s); return i.complete && i.naturalWidth > 0; });"
    ), "the inputs are shown beside the result"

    # The result is an image of the person, and not the input photo.
    response = httpx.get(result_url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/")
    result, person = _pixels(response.content), _pixels(person_png)
    assert result.shape == person.shape
    assert np.abs(result - person).mean() > 3, "the result is (nearly) the input photo"

    download = find(card, "a.download")
    assert download.get_attribute("href") == result_url
    assert download.get_attribute("download").startswith("fitroom-")

    # The before/after slider moves the edge between the two.
    page.execute_script(
        "const r = document.querySelector('.card .compare input[type=range]');"
        "r.value = 30; r.dispatchEvent(new Event('input'));"
    )
    assert "30%" in find(card, ".after-wrap").value_of_css_property("clip-path")

    # A second garment on the same person lands beside the first, in the same row.
    pick_example(page, "garment", "striped-tee")
    find(page, "#submit").click()
    wait_for(lambda: len(done_results(page)) == 2, "the second result", timeout=60)
    assert len(find_all(page, ".group")) == 1
    assert len(find_all(page, ".group .card")) == 2
    assert "2 try-ons" in text_of(page, ".group .count")

    screenshot = tmp_path / "playground.png"
    page.save_screenshot(str(screenshot))
    shutil.copyfile(screenshot, SCREENSHOT)
    assert Image.open(screenshot).size[0] > 1000


def test_show_as_curl_prints_the_request_the_page_sends(page: Any, served: Served, tmp_path: Path) -> None:
    page.get(f"{served.base_url}/")
    enter_key(page, served.key)
    pick_example(page, "person", "astronaut")
    pick_example(page, "garment", "red-tee")
    find(page, "#show-curl").click()
    wait_for(lambda: find(page, "#curl-dialog").get_attribute("open") is not None, "the curl dialog")
    command = text_of(page, "#curl-command")
    assert f"curl -sS -X POST '{served.base_url}/v1/run'" in command
    assert '-H "Authorization: Bearer $FITROOM_KEY"' in command
    assert "-d @body.json" in command
    assert served.key not in command  # the key stays out of screen shares and shell history
    # Download body.json as a user would, then run the printed command next to it.
    page.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    find(page, "#curl-body").click()
    body_file = tmp_path / "body.json"
    wait_for(lambda: body_file.exists() and not list(tmp_path.glob("*.crdownload")), "body.json to download")
    submit_command = command.split("\n\n")[0]
    if shutil.which("curl"):
        run = subprocess.run(
            ["bash", "-c", submit_command],
            cwd=tmp_path,
            env={**os.environ, "FITROOM_KEY": served.key},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        answer = json.loads(run.stdout)
    else:  # no curl on this machine: send the same file the same way
        answer = httpx.post(
            f"{served.base_url}/v1/run",
            content=body_file.read_bytes(),
            headers={"Authorization": f"Bearer {served.key}", "Content-Type": "application/json"},
            timeout=30,
        ).json()
    assert answer["error"] is None and len(answer["id"]) == 32, answer


def test_a_bad_key_shows_the_api_error_next_to_the_key(page: Any, served: Served) -> None:
    bad_key = "fr_000000000000_not-a-real-secret"
    page.get(f"{served.base_url}/")
    enter_key(page, bad_key)
    pick_example(page, "person", "astronaut")
    pick_example(page, "garment", "red-tee")
    find(page, "#submit").click()
    message = wait_for(lambda: text_of(page, '[data-error-for="key"]'), "the key's error")
    # The dialect's own message, word for word.
    refused = httpx.get(f"{served.base_url}/v1/status/{'0' * 32}", headers={"Authorization": f"Bearer {bad_key}"})
    assert refused.status_code == 401
    assert message == refused.json()["message"]
    assert "invalid" in find(page, "#key").get_attribute("class")
    assert not find_all(page, ".card"), "a refused request must not show a job"


def test_a_bad_option_shows_the_api_error_next_to_the_option(page: Any, served: Served) -> None:
    page.get(f"{served.base_url}/")
    enter_key(page, served.key)
    pick_example(page, "person", "astronaut")
    pick_example(page, "garment", "red-tee")
    set_field(page, "num_samples", "9")
    find(page, "#submit").click()
    message = wait_for(lambda: text_of(page, '[data-error-for="num_samples"]'), "the error next to Samples")
    assert "inputs.num_samples" in message
    assert text_of(page, '[data-error-for="general"]') == ""
    assert not find_all(page, ".card")


def test_glasses_with_the_built_in_examples(page: Any, served: Served) -> None:
    page.get(f"{served.base_url}/")
    enter_key(page, served.key)
    find(page, 'input[name=dialect][value=glasses]').click()
    pick_example(page, "person", "astronaut")
    pick_example(page, "glasses", "round-glasses")
    find(page, "#submit").click()
    wait_for(lambda: done_results(page), "the glasses result", timeout=60)
    assert text_of(page, ".card .badge") == "Glasses"
