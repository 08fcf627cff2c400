"""/docs in a real headless Chromium, with no internet: Swagger UI's assets come from an
installed package, the operations render, and "Authorize" plus "Try it out" run a call."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import create_key, free_port, headless_chromium, kill_group, start_server


def test_docs_render_offline_and_try_it_out_completes(tmp_path) -> None:
    data = tmp_path / "data"
    key = create_key(data, {"FITROOM_WORKERS": "0"})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(data, port, {"FITROOM_WORKERS": "0"})
    driver = headless_chromium()
    try:
        page = httpx.get(f"{base}/docs").text
        assert "cdn" not in page.lower() and "/docs-assets/swagger-ui-bundle.js" in page
        assert httpx.get(f"{base}/docs-assets/swagger-ui-bundle.js").status_code == 200

        driver.get(f"{base}/docs")
        wait = WebDriverWait(driver, 30)
        wait.until(ready.presence_of_all_elements_located((By.CSS_SELECTOR, ".opblock")))
        assert len(driver.find_elements(By.CSS_SELECTOR, ".opblock")) >= 12
        assert "/v1/run" in driver.page_source and "/virtual-tryon/v1/r-vton" in driver.page_source

        # Authorize with the key as X-API-KEY.
        driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
        field = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input[type=text]")))
        field.send_keys(key)
        driver.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper button.authorize").click()
        driver.find_element(By.CSS_SELECTOR, ".modal-ux button.close-modal").click()

        # Try it out on GET /v1/credits: Swagger sends the key and shows our 200.
        block = driver.find_element(By.ID, "operations-fashn-credits_v1_credits_get")
        block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, "button.try-out__btn"))[0].click()
        wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, "button.execute"))[0].click()
        status = wait.until(
            lambda d: block.find_elements(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status")
        )
        assert status[0].text.strip().startswith("200")
        assert '"credits"' in block.find_element(By.CSS_SELECTOR, ".live-responses-table").text
    finally:
        driver.quit()
        kill_group(server)
