"""The report page as a browser shows it: headless Chromium (Debian's package) loads the saved
page, its DOM has every chart drawn and every section, and its screenshot is not blank.

The session's fixture installs Chromium when /usr/bin/chromium is missing (apt-get, as root); when
that is impossible the test fails and says so - it never passes silently.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_reports import SECTIONS

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.fail(f"{CHROMIUM} is missing and only root can install it: run apt-get install -y chromium")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            pytest.fail(f"could not install Chromium ({' '.join(command)} exited {done.returncode}):\n"
                        f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM


def headless(chromium: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(chromium), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


async def test_chromium_draws_every_chart_and_section(companies, chromium, tmp_path):
    response = await companies[0].api.send("GET", "/v1/models/1/report")
    page = tmp_path / "report.html"
    page.write_bytes(response.content)
    url = page.as_uri()

    dom = (await asyncio.to_thread(headless, chromium, tmp_path / "profile", "--dump-dom", url)).stdout
    charts = re.findall(r"<svg\b.*?</svg>", dom, re.S)
    assert len(charts) >= 5, len(charts)
    for chart in charts:
        assert re.search(r'<path[^>]* d="M', chart), chart[:300]  # something is drawn in each
    headings = re.findall(r"<h2>(.*?)</h2>", dom)
    assert headings[:len(SECTIONS)] == list(SECTIONS)
    assert "<table>" in dom and dom.count("<tr") >= 11

    shot = tmp_path / "report.png"
    await asyncio.to_thread(headless, chromium, tmp_path / "profile", f"--screenshot={shot}",
                            "--window-size=1280,2400", "--hide-scrollbars", url)
    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert pixels.mean(axis=2).std() > 20  # not a blank page
    # the curves' red (#c0392b) is on screen: the SVGs were rendered, not just parsed
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    reds = int(((r > 150) & (g < 90) & (b < 80)).sum())
    assert reds > 500, reds
