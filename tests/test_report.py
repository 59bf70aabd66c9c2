"""report/index.html opened in headless Chromium: the table and every image render.

Needs the Debian ``chromium`` package (``apt-get install -y chromium``); skips without it.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib.image as mpimg
import pytest

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.products.results import write_products
from focalflow.workdir import WorkDir
from results_case import MECHANISMS, build_workdir

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = build_workdir(tmp_path_factory.mktemp("report") / "work")
    config = config_from_dict({"workdir": str(root), "output": {"dpi": 50}}, base_dir=root)
    run_stage("6_run_hash", write_products, config)
    return WorkDir(root).report_dir / "index.html"


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium, offline, with a throw-away profile."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium)")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def body_attributes(dom: str) -> dict:
    body = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body))


def test_table_and_images_render_in_chromium(report, tmp_path):
    result = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    rendered = body_attributes(result.stdout)
    html_text = report.read_text()
    assert int(rendered["rows"]) == len(MECHANISMS) + 1
    assert int(rendered["images-ok"]) == html_text.count("<img ")
    assert int(rendered["images-broken"]) == 0


def test_screenshot_is_not_blank(report, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1000",
                      report.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    image = mpimg.imread(shot)[..., :3]
    assert image.shape[:2] == (1000, 1400)
    assert (image < 0.9).any(axis=-1).mean() > 0.02 and image.std() > 0.05


def test_table_sorts_by_a_column(report, tmp_path):
    result = chromium(tmp_path, "--dump-dom", report.as_uri() + "#sort=mag-desc")
    table = result.stdout.split('<table class="events">', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    order = re.findall(r"<tr><td[^>]*>(?:<a[^>]*>)?(ev\d)", body)
    magnitudes = {event: values[3] for event, values in MECHANISMS.items()}
    magnitudes["ev5"] = 0.8
    assert order == sorted(magnitudes, key=magnitudes.get, reverse=True)
