"""How fast the review app answers an edit, against stage 6's own solve of the same event.

    .venv/bin/python bench/bench_review.py [--config config.yaml] [--browser]

On the working directory of ``--config`` (default: the demo's, after ``focalflow demo &&
focalflow run``) it starts the review server on a free port and, for every event with
polarities, prints: stage 6's solve of the event alone (the solver object the server keeps
warm; best of 3), and the whole round trip of a flip through HTTP (append to a copy of
overrides.csv, rebuild the observations, solve, build the page's JSON) and of its restore.
With ``--browser`` also the time from a click on "flip" in headless Chromium to the redrawn
page. It ends with the median and maximum of each and the round trip / solve ratio.
Target (issue 12): the mechanism recomputed and redrawn in under a second. The working
directory's overrides.csv is set aside and put back afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def first_used_station(event: dict) -> dict | None:
    return next((s for s in event["stations"] if s["polarity"] in (1.0, -1.0)), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    args = parser.parse_args()

    from focalflow.cli import make_context
    from focalflow.config import load_config
    from focalflow.review.server import ReviewServer
    from focalflow.review.session import ReviewSession

    started = time.perf_counter()
    session = ReviewSession(make_context("review", load_config(args.config)), user="bench")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    session.warm_up()
    warm = time.perf_counter() - started
    overrides = session.ctx.workdir.overrides_csv
    saved = None
    if overrides.exists():
        saved = Path(tempfile.mkdtemp()) / "overrides.csv"
        shutil.move(overrides, saved)
    server = ReviewServer(session, port=0)
    server.start()
    print(f"load average {os.getloadavg()[0]:.1f}; session start {loaded:.2f} s, "
          f"warm-up solve (numba load) {warm:.2f} s")
    print(f"{'event':>12} {'obs':>4} {'solve s':>8} {'flip s':>7} {'restore s':>9}")
    solves, flips, restores, clicks = [], [], [], []
    try:
        for event_id in session.solver.events.index:
            observations = session.solver.event_observations(event_id, None)
            if not (observations["kind"] == "P").any():
                continue
            times = []
            for _ in range(3):
                started = time.perf_counter()
                session.solver.solve(event_id, observations)
                times.append(time.perf_counter() - started)
            event = session.event(event_id)
            station = first_used_station(event)
            if station is None:
                continue
            edit = {"event_id": event_id, "network": station["network"],
                    "station": station["station"], "location": station["location"]}
            started = time.perf_counter()
            post(server.url + "api/edit", {**edit, "action": "flip"})
            flip = time.perf_counter() - started
            started = time.perf_counter()
            post(server.url + "api/edit", {**edit, "action": "restore"})
            restore = time.perf_counter() - started
            solves.append(min(times))
            flips.append(flip)
            restores.append(restore)
            print(f"{event_id:>12} {len(observations):>4} {min(times):>8.3f} {flip:>7.3f} "
                  f"{restore:>9.3f}")
        if args.browser:
            clicks = browser_round_trips(server, list(session.solver.events.index)[:5])
    finally:
        server.shutdown()
        server.server_close()
        overrides.unlink(missing_ok=True)
        if saved is not None:
            shutil.move(saved, overrides)
    if not solves:
        print("no event with polarities")
        return 1
    rows = [("stage-6 solve", solves), ("flip round trip", flips),
            ("restore round trip", restores)]
    if clicks:
        rows.append(("click to redrawn page", clicks))
    print()
    for name, values in rows:
        print(f"{name:>22}: median {statistics.median(values):.3f} s, max {max(values):.3f} s")
    ratio = statistics.median(flips) / statistics.median(solves)
    print(f"{'round trip / solve':>22}: {ratio:.2f} (median); target: under 1 s per edit "
          f"(max {max(clicks or flips):.2f} s)")
    return 0


def browser_round_trips(server, event_ids: list[str]) -> list[float]:
    """Seconds from a click on a station's flip button to the redrawn page (headless Chromium)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     f"--user-data-dir={tempfile.mkdtemp()}", "--window-size=1700,1100"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    wait = WebDriverWait(driver, 120, poll_frequency=0.01)
    ready = lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready"  # noqa: E731
    times = []
    try:
        driver.get(server.url)
        wait.until(ready)
        for event_id in event_ids:
            driver.find_element(By.CSS_SELECTOR, f'#catalog tr[data-event-id="{event_id}"]').click()
            wait.until(lambda d: ready(d) and d.find_element(By.ID, "event")
                       .get_attribute("data-event-id") == event_id)
            for action in ("flip", "restore"):
                button = next(b for b in driver.find_elements(By.CSS_SELECTOR, f"button.{action}")
                              if b.is_enabled())
                revision = driver.find_element(By.ID, "event").get_attribute("data-revision")
                started = time.perf_counter()
                button.click()
                wait.until(lambda d: ready(d) and d.find_element(By.ID, "event")
                           .get_attribute("data-revision") != revision)
                times.append(time.perf_counter() - started)
    finally:
        driver.quit()
    return times


if __name__ == "__main__":
    sys.exit(main())
