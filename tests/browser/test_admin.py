"""The operator view at /admin in a real headless Chromium: after a try-on it lists the
key with its usage and the job, and a wrong token is refused on the page."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.browser.conftest import KEY_NAME, Served
from tests.browser.driving import find, find_all, text_of, wait_for
from tests.helpers import b64, garment_image, person_image


def _try_on(served: Served) -> str:
    """A finished try-on by the test key, through FASHN's API; its job id."""
    headers = {"Authorization": f"Bearer {served.key}"}
    body = {
        "model_name": "tryon-v1.6",
        "inputs": {
            "model_image": b64(person_image(), data_uri=True),
            "garment_image": b64(garment_image(), data_uri=True),
            "category": "tops",
        },
    }
    response = httpx.post(f"{served.base_url}/v1/run", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(f"{served.base_url}/v1/status/{job_id}", headers=headers, timeout=10).json()
        if status["status"] not in ("starting", "in_queue", "processing"):
            assert status["status"] == "completed", status
            return job_id
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_admin_lists_the_key_after_a_try_on(page: Any, served: Served) -> None:
    job_id = _try_on(served)
    key_id = served.key.split("_")[1]
    page.get(f"{served.base_url}/admin")

    find(page, "#token").send_keys("not-the-token")
    find(page, "#open").click()
    assert "wrong admin token" in wait_for(lambda: text_of(page, '[data-error-for="token"]'), "the token error")

    token = find(page, "#token")
    token.clear()
    token.send_keys(served.admin_token)
    find(page, "#open").click()
    row = wait_for(lambda: find_all(page, f'#keys tr[data-key="{key_id}"]'), "the key's row")[0]
    cells = [td.text for td in row.find_elements("css selector", "td")]
    assert cells[0] == KEY_NAME and cells[1] == key_id
    assert cells[2] == "unlimited"
    assert int(cells[3]) >= 1 and int(cells[4]) >= 1  # jobs, credits spent

    job = wait_for(lambda: find_all(page, f'#jobs td[title="{job_id}"]'), "the job's row")[0]
    job_row = job.find_element("xpath", "..")
    assert "succeeded" in job_row.text and "cpu-clothing" in job_row.text and KEY_NAME in job_row.text
    assert "cpu-clothing" in text_of(page, "#queues") and "cpu-clothing" in text_of(page, "#lanes")
    # Neither the key's secret nor the admin token is ever part of the page.
    secret = served.key.split("_", 2)[2]
    assert secret not in page.page_source and served.admin_token not in page.page_source
