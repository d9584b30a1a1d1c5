"""The explorer in a real browser: `marketsim explore` on 127.0.0.1, driven by Debian's headless
Chromium through Selenium (chromium + chromium-driver; .ci/run installs them with apt).

Skips, saying why, only where the browser, its driver or the viz/test extras are missing.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ERROR_TEXT = re.compile(r"Traceback|Error:|Exception|error in step", re.IGNORECASE)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="Debian chromium + chromium-driver not installed (apt-get install -y chromium "
                              "chromium-driver; .ci/run does this)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    pytest.importorskip("solara", reason="the [viz] extra is not installed")
    port = _free_port()
    log = tmp_path_factory.mktemp("explorer") / "server.log"
    exe = Path(sys.executable).with_name("marketsim")
    cmd = [str(exe), "explore", "--port", str(port)] if exe.exists() else \
        [sys.executable, "-m", "marketsim.cli", "explore", "--port", str(port)]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"explorer did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group started above: marketsim + solara
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the [test] extra) is not installed")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


def _body(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def _wait_for(driver, pattern: str, timeout: float = 90) -> str:
    t0 = time.time()
    deadline = t0 + timeout
    while True:
        text = _body(driver)
        if re.search(pattern, text):
            print(f"{pattern!r} after {time.time() - t0:.1f} s")
            return text
        assert not ERROR_TEXT.search(text), f"error on the page:\n{text[:3000]}"
        if time.time() > deadline:
            raise AssertionError(f"{pattern!r} not on the page after {timeout} s:\n{text[:3000]}")
        time.sleep(0.3)


def _figures(driver) -> list:
    """Matplotlib figures solara has drawn (PNG images with real content)."""
    from selenium.webdriver.common.by import By

    imgs = driver.find_elements(By.CSS_SELECTOR, "img")
    return [i for i in imgs if (i.get_attribute("src") or "").startswith(("data:image/png", "blob:"))
            and driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i)
            and i.size["width"] > 200 and i.size["height"] > 150]


def _button(driver, label: str):
    from selenium.webdriver.common.by import By

    for b in driver.find_elements(By.TAG_NAME, "button"):
        if b.text.strip().lower() == label.lower():
            return b
    raise AssertionError(f"no {label!r} button; buttons: {[b.text for b in driver.find_elements(By.TAG_NAME, 'button')]}")


def test_explorer_in_chromium(explorer, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, log = explorer
    browser.get(url)
    text = _wait_for(browser, r"Week 0\b", timeout=180)  # first load may compile the numba kernels
    for word in ("policy", "users", "officers", "import volume", "seed", "Reset", "Step"):
        assert word.lower() in text.lower(), word
    assert re.search(r"users: 3,000", text) and re.search(r"officers: 40", text)  # values shown
    time.sleep(1.0)
    figs = _figures(browser)
    assert len(figs) >= 2, f"the maps and the plots expected, found {len(figs)} figures"
    assert all(f.size["width"] >= 600 for f in figs), [f.size for f in figs]  # full width, not a grid cell
    alts = " ".join(f.get_attribute("src")[:30] for f in figs)
    assert alts  # drawn images, not placeholders

    _button(browser, "Step").click()
    text = _wait_for(browser, r"Week 1\b")
    assert "policy targeted_deterrence" in text.replace("  ", " ")

    # a second browser session gets its own model (week 0), the first one keeps its week 1
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(url)
    _wait_for(browser, r"Week 0\b", timeout=60)
    browser.close()
    browser.switch_to.window(first)
    assert re.search(r"Week 1\b", _body(browser))

    # changing the policy builds a new city: back to week 0 under the new policy
    select = browser.find_element(By.XPATH, "//*[contains(@class,'v-select')][.//label[normalize-space()='policy']]")
    select.find_element(By.CSS_SELECTOR, ".v-select__slot").click()
    option = None
    deadline = time.time() + 10
    while option is None and time.time() < deadline:
        for item in browser.find_elements(By.CSS_SELECTOR, ".v-menu__content .v-list-item"):
            if item.text.strip() == "aggressive_interdiction" and item.is_displayed():
                option = item
        time.sleep(0.2)
    assert option is not None, "policy menu did not open"
    option.click()
    text = _wait_for(browser, r"Week 0\b[\s\S]*policy\s+aggressive_interdiction")
    time.sleep(1.0)
    assert len(_figures(browser)) >= 2
    assert not ERROR_TEXT.search(text)

    shot = tmp_path / "explorer.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log, server_log[-3000:]
    assert "Could not load URL" not in server_log, "front-end assets fetched from a CDN (install solara-assets)"
