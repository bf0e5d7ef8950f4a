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
