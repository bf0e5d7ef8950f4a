"""`imurehab stream --virtual --virtual-family polar-pmd` through the command line."""

import json

import pytest
from typer.testing import CliRunner

from imurehab.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_stream_virtual_polar_reports_the_family_and_its_samples(tmp_path):
    args = ["stream", "--virtual", "--virtual-family", "polar-pmd", "--out", str(tmp_path), "--seconds", "2"]
    res = runner.invoke(app, [*args, "--virtual-minutes", "0.2", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["complete"] and len(report["sensors"]) == 2
    assert all(s["family"] == "polar-pmd" and s["samples"] > 0 for s in report["sensors"])


def test_sync_virtual_polar_downloads_each_sensors_offline_recording(tmp_path):
    args = ["sync", "--virtual", "--virtual-family", "polar-pmd:2", "--out", str(tmp_path)]
    res = runner.invoke(app, [*args, "--virtual-minutes", "0.2", "--virtual-rate", "52", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["complete"] and [s["family"] for s in report["sensors"]] == ["polar-pmd", "polar-pmd"]
    # 12 s recorded at 52 Hz before the sync (the recording stops when the sensor goes on the air)
    assert all(624 <= s["samples"] <= 630 and s["sessions"] for s in report["sensors"])
