"""The review page in a real browser (Debian ``chromium`` + ``chromium-driver`` through
Selenium): flipping a polarity on the page writes overrides.csv and moves the mechanism.

Skips only where Chromium or its driver is not installed
(``apt-get install -y chromium chromium-driver``).
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from focalflow.review.server import ReviewServer
from review_case import review_session, review_template

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromedriver not installed (Debian: apt-get install -y chromium "
           "chromium-driver)")


@pytest.fixture
def server(tmp_path):
    session = review_session(review_template(tmp_path), tmp_path)
    session.warm_up()  # as `focalflow review` does: kernels compiled before the first click
    server = ReviewServer(session, port=0)
    server.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1700,1100"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def page_ready(driver) -> bool:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready"


def showing(driver, event_id: str) -> bool:
    """The page is idle and shows ``event_id``."""
    from selenium.webdriver.common.by import By

    return page_ready(driver) and \
        driver.find_element(By.ID, "event").get_attribute("data-event-id") == event_id


def shown_mechanism(driver) -> dict:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "mechanism")
    return {key: box.get_attribute(f"data-{key.replace('_', '-')}")
            for key in ("strike", "dip", "rake", "quality", "polarity_misfit")}


def test_flipping_a_polarity_on_the_page_records_it_and_moves_the_mechanism(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 120)
    browser.get(server.url)
    wait.until(page_ready)
    rows = browser.find_elements(By.CSS_SELECTOR, "#catalog tbody tr")
    assert [r.get_attribute("data-event-id") for r in rows] == ["ev1", "ev2", "ev3", "ev4", "ev5"]
    browser.find_element(By.CSS_SELECTOR, '#catalog tr[data-event-id="ev1"]').click()
    wait.until(lambda d: showing(d, "ev1"))
    event = browser.find_element(By.ID, "event")
    before = shown_mechanism(browser)
    assert before["strike"] not in ("", None)
    # a station whose polarity (up) agrees with the mechanism: flipping it must cost something
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, ".station-row")
               if "up" in r.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class")
               and "misfit" not in r.find_element(By.CSS_SELECTOR, ".info").text)
    key = row.get_attribute("data-key")
    revision = event.get_attribute("data-revision")
    row.find_element(By.CSS_SELECTOR, "button.flip").click()
    wait.until(lambda d: page_ready(d) and event.get_attribute("data-revision") != revision)

    overrides = pd.read_csv(server.session.ctx.workdir.overrides_csv, dtype=str,
                            keep_default_na=False)
    network, station, location = key.split(".")
    assert overrides[["event_id", "network", "station", "location", "action", "user"]] \
        .values.tolist() == [["ev1", network, station, location, "flip", "tester"]]
    after = shown_mechanism(browser)
    assert after != before, before
    flipped = browser.find_element(By.CSS_SELECTOR, f'.station-row[data-key="{key}"]')
    assert "down" in flipped.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class")
    assert "edited: flip" in flipped.text
    assert "recomputed in" in browser.find_element(By.ID, "status").text

    browser.refresh()  # the edit is in the working directory, not in the page
    wait.until(page_ready)
    edited = browser.find_element(By.CSS_SELECTOR, '#catalog tr[data-event-id="ev1"]')
    assert edited.find_elements(By.TAG_NAME, "td")[9].text == "1"  # the Edits column
    edited.click()
    wait.until(lambda d: showing(d, "ev1"))
    assert shown_mechanism(browser) == after
    assert "flip" in browser.find_element(By.ID, "history").text
