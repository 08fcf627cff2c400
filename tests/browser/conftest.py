"""A real ``fitroom serve`` and a real headless Chromium for the playground tests.

The browser is Debian's ``chromium`` driven through its ``chromium-driver`` by Selenium:
nothing is downloaded at test time. If any of the three is missing the tests fail (never
skip) and say how to install it, because a skipped browser test looks like a passing one.
One server and one browser serve the whole directory; each test gets a fresh page.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import create_key, free_port, headless_chromium, kill_group, start_server


@dataclass(frozen=True)
class Served:
    base_url: str
    key: str  # a raw API key of the key named KEY_NAME
    admin_token: str
    data_dir: Path


KEY_NAME = "shop-owner"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``fitroom serve`` with an admin token, one engine process per lane, and the two
    CPU engines the playground uses."""
    root = tmp_path_factory.mktemp("playground")
    data_dir = root / "data"
    token = secrets.token_urlsafe(24)
    env = {
        "FITROOM_ADMIN_TOKEN": token,
        "FITROOM_WORKERS": "1",
        "FITROOM_ENGINES": "cpu-clothing,cpu-glasses",
    }
    key = create_key(data_dir, env, name=KEY_NAME)
    port = free_port()
    proc = start_server(data_dir, port, env)
    try:
        yield Served(base_url=f"http://127.0.0.1:{port}", key=key, admin_token=token, data_dir=data_dir)
    finally:
        kill_group(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    driver = headless_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """The browser on a blank slate: nothing stored from an earlier test."""
    browser.get(f"{served.base_url}/healthz")
    browser.execute_script("localStorage.clear(); sessionStorage.clear();")
    browser.get_log("browser")  # drop what earlier tests logged
    yield browser
    errors = [e for e in browser.get_log("browser") if e.get("source") == "javascript"]
    assert not errors, f"the page's script failed: {errors}"
