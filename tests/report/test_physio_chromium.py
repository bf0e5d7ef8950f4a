"""The physio report as a browser renders it: headless Chromium's DOM and a screenshot.

Chromium runs with its own throw-away profile, without background networking, with every host name
unresolvable, and logs its network activity: the page must request nothing. The screenshot is kept in
the test's tmp folder and in ``test-artefacts/`` at the repository root (for CI to keep).

JavaScript: the page has none (checked in the HTML); Chromium's ``--dump-dom`` and ``--screenshot``
themselves need scripts, so the rendering is not repeated with JavaScript switched off.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from imurehab.report import physio_report
from imurehab.store import read_table

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"
WIDTH, HEIGHT = 1200, 4200

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
)


def _dataset_module():
    path = Path(__file__).with_name("test_physio_dataset.py")
    spec = importlib.util.spec_from_file_location("physio_test_dataset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ds = _dataset_module()


def chromium(work: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a local page, offline, logging its network activity to work/net.json."""
    profile = work / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={work / 'net.json'}",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)


def page_requests(work: Path) -> list[str]:
    """URLs the page asked the network for (the browser's own requests have no origin)."""
    log = json.loads((work / "net.json").read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("physio-chromium")
    ds.write_dataset(work / "data")
    report = physio_report(work / "data", ds.SUBJECT, out=work / "report.html")
    dom = chromium(work, report.path, "--dump-dom").stdout
    return work, report, dom, page_requests(work)


def test_the_rendered_page_has_every_section_and_chart(rendered):
    _, _, dom, _ = rendered
    for anchor in (
        "about",
        "summary-knee-right",
        "angles-knee-right",
        "rom-knee-right",
        "progress-knee-right",
    ):
        assert f'<section id="{anchor}">' in dom
    assert '<section id="quality">' in dom
    svgs = re.findall(r"<svg\b.*?</svg>", dom, flags=re.S)
    assert len(svgs) == 3
    angles, rom, progress = svgs
    for svg in svgs:
        assert all(d.strip() for d in re.findall(r'<path\b[^>]*\bd="([^"]*)"', svg))
    # the angle trace: one line of many points (matplotlib drops those a pixel would not show)
    trace = max(re.findall(r'<path\b[^>]*\bd="([^"]+)"', angles), key=len)
    assert len(re.findall(r"L", trace)) > 100
    # data markers are <use> of a marker path: 5 ROMs and 5 end angles; 3 session means
    assert len(re.findall(r"<use\b", rom)) >= 10 + 10  # (+ the axes' tick marks)
    assert len(re.findall(r"<use\b", progress)) >= 3
    assert ">ROM per repetition<" in rom and ">mean ROM per repetition [deg]<" in progress


def test_the_rendered_tables_hold_the_dataset_numbers(rendered):
    work, _, dom, _ = rendered
    reps = read_table(work / "data", "reps", subject=ds.SUBJECT, session="s3").sort("rep").collect()
    rows = ds.table(dom, "Repetitions")
    assert [r["ROM [deg]"] for r in rows] == [f"{v:.1f}" for v in reps.get_column("rom_deg")]
    assert [r["max [deg]"] for r in rows] == [f"{v:.1f}" for v in reps.get_column("max_deg")]
    sensors = {r["sensor"]: r for r in ds.table(dom, "Sensors")}
    assert sensors["S2"]["lost"] == str(ds.GAP.stop - ds.GAP.start)


def test_nothing_is_requested_from_the_network(rendered):
    _, _, dom, requests = rendered
    assert requests == []
    assert all(v.startswith(("#", "data:")) for v in re.findall(r'\b(?:src|href)="([^"]*)"', dom))
    assert not re.search(r"<script\b|\bon[a-z]+=\"|javascript:", dom)


def test_the_network_check_sees_a_page_that_fetches(tmp_path):
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png"></body></html>')
    chromium(tmp_path, page, "--dump-dom")
    assert page_requests(tmp_path) == ["http://example.invalid/x.png"]


def test_the_screenshot_shows_the_page(rendered):
    work, _, _, _ = rendered
    shot = work / "physio-report.png"
    chromium(
        work,
        work / "report.html",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--hide-scrollbars",
    )
    ARTEFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTEFACTS / "physio-report.png")
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, lines, bands: not a blank page
    white = max(count for count, colour in colours if colour == (255, 255, 255))
    assert 0.02 < 1 - white / (WIDTH * HEIGHT) < 0.6
    assert (ARTEFACTS / "physio-report.png").read_bytes() == shot.read_bytes()
