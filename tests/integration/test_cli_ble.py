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


def test_scan_virtual_mixed_families_lists_each_family():
    args = ["scan", "--virtual", "--seconds", "1", "--json", "--virtual-family", "osp:1"]
    res = runner.invoke(
        app, [*args, "--virtual-family", "movella-dot:2", "--virtual-family", "movesense-gsp:1"]
    )
    assert res.exit_code == 0, res.output
    families = sorted(d["family"] for d in json.loads(res.stdout)["devices"])
    assert families == ["movella-dot", "movella-dot", "movesense-gsp", "osp"]


def test_sync_virtual_mixed_families_syncs_every_family_into_one_session(tmp_path):
    args = ["sync", "--virtual", "--out", str(tmp_path), "--virtual-minutes", "0.2", "--virtual-rate", "100"]
    args += [
        "--virtual-family",
        "osp:1",
        "--virtual-family",
        "movesense-gsp:1",
        "--virtual-family",
        "movella-dot:1",
    ]
    res = runner.invoke(app, [*args, "--session", "mix", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["complete"]
    by_family = {s["family"]: s for s in report["sensors"]}
    assert sorted(by_family) == ["movella-dot", "movesense-gsp", "osp"]
    # 12 s logged by each sensor before the sync: OSP at 100 Hz, Movesense at 104 Hz, DOT at 60 Hz
    assert by_family["osp"]["samples"] == 1200 and by_family["movella-dot"]["samples"] == 720
    assert 1200 < by_family["movesense-gsp"]["samples"] <= 1248
    sensors = pl.read_parquet(tmp_path / "sessions", hive_partitioning=True)["session"].to_list()
    assert sensors == ["mix"]
    # The table names each sensor's family (cells cut to the 80-column test terminal)
    again = [a if a != str(tmp_path) else str(tmp_path / "table") for a in args]
    table = runner.invoke(app, [*again, "--session", "mix"])
    assert table.exit_code == 0 and "family" in table.output
    assert all(f"│ {name}" in table.output for name in ("osp", "moves", "movel"))
    # A second virtual world invents a new past for the same DOT serial: its recording overlaps the
    # first one in time, which one sensor cannot record. Said plainly, nothing of either is lost.
    twice = runner.invoke(app, [*again, "--session", "mix"])
    assert twice.exit_code == 3 and "overlap in time" in twice.output and "_journal" in twice.output


def test_a_fault_a_family_cannot_suffer_is_a_usage_error_naming_it(tmp_path):
    args = ["sync", "--virtual", "--out", str(tmp_path), "--virtual-family", "osp:1", "--virtual-family"]
    res = runner.invoke(app, [*args, "movella-dot:1", "--fault", "reboot@3"])
    assert res.exit_code == 2 and "movella-dot" in res.output
    for bad in ("fitbit", "osp:0", "osp:x"):
        res = runner.invoke(app, ["scan", "--virtual", "--virtual-family", bad])
        assert res.exit_code == 2 and "--virtual-family" in res.output


def test_stream_virtual_mixed_families_asks_each_its_rate(tmp_path):
    args = ["stream", "--virtual", "--out", str(tmp_path), "--seconds", "2", "--virtual-minutes", "0.2"]
    args += [
        "--virtual-family",
        "movella-dot:1",
        "--virtual-family",
        "movesense-gsp:1",
        "--virtual-rate",
        "30",
    ]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code in (0, 3), res.output
    sensors = {s["family"]: s for s in json.loads(res.stdout)["sensors"]}
    assert sorted(sensors) == ["movella-dot", "movesense-gsp"]
    assert all(s["samples"] > 0 for s in sensors.values())


def test_sync_virtual_shaken_sensors_land_on_one_timeline(tmp_path):
    args = ["sync", "--virtual", "--out", str(tmp_path), "--virtual-minutes", "0.3", "--virtual-shake"]
    args += ["--virtual-family", "osp:1", "--virtual-family", "movella-dot:1", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    sensors = {s["family"]: s for s in json.loads(res.stdout)["sensors"]}
    osp, dot = sensors["osp"], sensors["movella-dot"]
    assert osp["alignment"] is None  # the reference: the smallest clock bound (OSP's round trips)
    assert dot["alignment"]["applied"] and len(dot["alignment"]["matches"]) == 2
    assert dot["clock_uncertainty_us"] < osp["clock_uncertainty_us"] + 200.0  # ms before the shake
    # where the virtual sensors were strapped is written into the session, as a session profile does
    placements = pl.read_parquet(tmp_path / "sessions", hive_partitioning=True)["placements"].to_list()[0]
    assert {p["sensor"]: p["segment"] for p in placements} == {
        osp["sensor_id"]: "thigh_right",
        dot["sensor_id"]: "shank_right",
    }
