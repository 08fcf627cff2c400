"""Small helpers for driving the playground: waiting on the page, filling its form.

They use only the WebDriver object the fixtures hand over (CSS selectors as plain
strings), so no test module imports Selenium itself: without it, the fixtures fail with
install instructions instead of an import error at collection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
CSS = "css selector"


def wait_for(check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """``check()`` once it returns something truthy; fails the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def find(driver: Any, selector: str) -> Any:
    return driver.find_element(CSS, selector)


def find_all(driver: Any, selector: str) -> list[Any]:
    return driver.find_elements(CSS, selector)


def text_of(driver: Any, selector: str) -> str:
    """An element's text as the DOM holds it (also while it is scrolled out of view)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                                 selector).strip()


def enter_key(driver: Any, key: str) -> None:
    field = find(driver, "#key")
    field.clear()
    field.send_keys(key)


def upload(driver: Any, slot: str, path: Path) -> None:
    """Choose ``path`` in a drop zone's file input, as the file dialog would."""
    find(driver, f"#{slot}-file").send_keys(str(path))
    wait_for(lambda: driver.execute_script(
        f"const i = document.querySelector('.slot[data-slot={slot}] .preview');"
        "return !i.hidden && i.complete && i.naturalWidth > 0;"
    ), f"the {slot} preview")


def pick_example(driver: Any, role: str, name: str) -> None:
    button = wait_for(lambda: find_all(driver, f'.examples[data-role={role}] button[data-name="{name}"]'),
                      f"the {name} example")[0]
    button.click()
    wait_for(lambda: "chosen" in (button.get_attribute("class") or ""), f"the {name} example to be chosen")


def set_field(driver: Any, name: str, value: str) -> None:
    """Set a form field by name, whether or not it is folded away, and tell the page."""
    driver.execute_script(
        "const f = document.querySelector('#tryon').elements[arguments[0]];"
        "f.value = arguments[1]; f.dispatchEvent(new Event('input', {bubbles: true}));",
        name,
        value,
    )


def done_results(driver: Any) -> list[str]:
    """The URLs of the result images that have finished loading in finished cards."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.card[data-state=done] img.result')]"
        ".filter(i => i.complete && i.naturalWidth > 0).map(i => i.src);"
    )
