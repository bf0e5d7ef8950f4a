"""`imurehab scan/sync/stream --virtual` through the command line."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from imurehab.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_scan_virtual_lists_the_sensors():
    res = runner.invoke(app, ["scan", "--virtual", "--virtual-sensors", "3", "--seconds", "1", "--json"])
    assert res.exit_code == 0, res.output
    devices = json.loads(res.stdout)["devices"]
    assert len(devices) == 3 and {d["family"] for d in devices} == {"osp"}


def test_sync_virtual_with_a_link_drop_is_complete_and_resumable(tmp_path):
    args = ["sync", "--virtual", "--out", str(tmp_path), "--virtual-sensors", "2", "--virtual-minutes", "0.3"]
    args += ["--fault", "link-drop@5", "--fault", "drift-ppm=100", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["complete"]
    assert all(
        s["crc_verified"] and s["samples"] == 0.3 * 60 * 200 and s["reconnects"] >= 1
        for s in report["sensors"]
    )
    rows = pl.scan_parquet(f"{tmp_path}/samples/**/*.parquet").select(pl.len()).collect().item()
    assert rows == 2 * 0.3 * 60 * 200
    again = runner.invoke(app, args)  # everything is journaled and verified: nothing lost, nothing doubled
    assert again.exit_code == 0, again.output


def test_stream_virtual_reports_losses_and_exits_partial(tmp_path):
    args = ["stream", "--virtual", "--out", str(tmp_path), "--seconds", "2", "--fault", "loss=0.05", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code in (0, 3), res.output
    report = json.loads(res.stdout)
    lost = sum(
        sum(s["lost_samples"].values()) if isinstance(s["lost_samples"], dict) else s["lost_samples"]
        for s in report["sensors"]
    )
    assert (res.exit_code == 3) == (lost > 0 or not report["complete"])


def test_sync_needs_virtual_or_addresses(tmp_path):
    res = runner.invoke(app, ["sync", "--out", str(tmp_path)])
    assert res.exit_code == 2
