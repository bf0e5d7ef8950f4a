"""A profile's session on virtual OSP sensors: start, then sync + process + report, under a link drop.

Only the profile's sensors are connected to: an extra virtual sensor on the air must have no connection
(the air counts them, :attr:`~imurehab.virtual.LinkStats.connections`). Nothing asserts radio timing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from imurehab.ble import RetryPolicy
from imurehab.cli.session import register
from imurehab.session import (
    ProfileError,
    bind_virtual,
    parse_profile,
    start_session,
    sync_session,
    virtual_scenario,
)
from imurehab.store import read_recording, read_table
from imurehab.virtual import MovesenseScenario, PolarScenario, VirtualBleakClient, VirtualBleakScanner

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BACKENDS = {"client_backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner}
FAST = RetryPolicy(
    scan_timeout_s=2.0,
    connect_attempts=3,
    connect_timeout_s=2.0,
    backoff_initial_s=0.05,
    response_timeout_s=2.0,
    idle_timeout_s=2.0,
    stall_timeout_s=4.0,
)
PROFILE = parse_profile(
    """
subject = "P017"
exercises = ["seated-knee-extension"]
calibration_pose = "sitting"

[[sensors]]
address = "AA:00:00:00:00:01"
segment = "thigh"
side = "right"

[[sensors]]
address = "AA:00:00:00:00:02"
segment = "shank"
side = "right"
"""
)


def run(coroutine, timeout_s=120.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def profile_scenario(**kw):
    """The profile's scenario: its two sensors and one extra, not in the profile."""
    return virtual_scenario(PROFILE, minutes=0.5, extra=1, **kw)


def connections(scenario):
    """Links opened to each sensor of ``scenario``, by address (counted by the air)."""
    return {s.address: s.stats.connections for s in scenario.sensors}


def test_start_then_sync_places_processes_and_reports_connecting_only_the_profile(tmp_path):
    scenario = profile_scenario(faults=["link-drop@10"], seed=5)
    bound = bind_virtual(PROFILE, scenario)
    extra = scenario.addresses[2]
    assert extra not in {s.address for s in bound.sensors}

    async def session():
        async with scenario.start():
            started = await start_session(bound, tmp_path, policy=FAST, **BACKENDS)
            synced = await sync_session(bound, tmp_path, policy=FAST, **BACKENDS)
            return started, synced

    started, synced = run(session())

    assert started.complete and [s.done for s in started.sensors] == [True, True]
    serials = dict(zip(scenario.addresses, scenario.serials, strict=True))
    assert all(
        (tmp_path / "_journal" / serials[s.address] / "clock.jsonl").is_file() for s in started.sensors
    )

    assert synced.complete, synced.missing
    assert synced.session == started.session  # the sync lands in the session the start opened
    assert [s.done for s in synced.stopped] == [True, True]
    for sensor in synced.sync.sensors:
        assert sensor.crc_verified and sensor.reconnects >= 1  # the link drop was survived
        logged = len(scenario.expected_log(sensor.address))
        assert sensor.journal_bytes >= logged  # the simulated session, whole, and what the start logged

    # Only the profile's sensors were ever connected to (start, stop, download).
    links = connections(scenario)
    assert links[extra] == 0 and scenario.sensor(extra).device_stats.commands == 0
    assert all(links[s.address] >= 3 for s in bound.sensors)

    rec = read_recording(tmp_path, subject="P017", session=synced.session)
    assert rec.session.placements == {serials[s.address]: s.placement for s in bound.sensors}
    assert rec.session.exercise == "seated-knee-extension"

    assert synced.processed.status == "processed"
    reps = read_table(tmp_path, "reps", subject="P017", session=synced.session).collect()
    truth = [r for r in scenario.truth.reps if (r.joint, r.side) == ("knee", "right")]
    assert reps.height == synced.processed.reps == len(truth) >= 3
    assert reps["rom_deg"].is_between(40.0, 120.0).all() and "flags" in reps.columns
    page = synced.report.path.read_text(encoding="utf-8")
    assert synced.report.path == tmp_path / "reports" / f"P017-{synced.session}.html"
    assert "P017" in page and "seated-knee-extension" in page.lower().replace(" ", "-")


def test_a_sensor_missing_leaves_the_sync_incomplete_but_the_rest_is_processed(tmp_path):
    scenario = profile_scenario(seed=6)
    absent = "F0:00:00:00:00:99"  # in the profile, not on the air
    bound = bind_virtual(PROFILE, scenario)
    pelvis = dataclasses.replace(bound.sensors[0], address=absent, segment="pelvis", side=None)
    bound = dataclasses.replace(bound, sensors=(*bound.sensors, pelvis))

    async def session():
        async with scenario.start():
            return await sync_session(bound, tmp_path, session="visit1", policy=FAST, **BACKENDS)

    synced = run(session())

    assert not synced.complete
    assert len(synced.missing) == 1 and synced.missing[0].startswith(f"{absent} (pelvis): ")
    assert "run the sync again" in synced.missing[0]
    assert synced.processed.status == "processed" and synced.processed.reps >= 3  # thigh + shank: the knee
    assert synced.report is not None and synced.report.path.is_file()
    assert sorted(synced.placements.values()) == ["shank_right", "thigh_right"]
    assert connections(scenario)[scenario.addresses[2]] == 0


def test_polar_sensors_named_by_address_record_offline_and_sync_into_the_profile(tmp_path):
    scenario = PolarScenario(n_sensors=3, minutes=0.2, seed=2)
    profile = parse_profile(  # no family: told from the advertisement
        PROFILE.to_toml()
        .replace("AA:00:00:00:00:01", scenario.addresses[0])
        .replace("AA:00:00:00:00:02", scenario.addresses[1])
    )

    async def session():
        async with scenario.start():
            started = await start_session(profile, tmp_path, policy=FAST, **BACKENDS)
            await asyncio.sleep(2.0)  # the sensors record meanwhile
            return started, await sync_session(profile, tmp_path, policy=FAST, **BACKENDS)

    started, synced = run(session())
    assert [(s.family, s.done) for s in started.sensors] == [("polar-pmd", True)] * 2
    assert [s.done for s in synced.stopped] == [True, True]
    assert all(s.complete and s.samples > 0 for s in synced.sync.sensors), synced.missing
    assert sorted(synced.placements.values()) == ["shank_right", "thigh_right"]
    assert connections(scenario)[scenario.addresses[2]] == 0


def test_movesense_sensors_named_by_address_log_onboard_and_sync_into_the_profile(tmp_path):
    scenario = MovesenseScenario(n_sensors=3, minutes=0.2, seed=2)
    profile = parse_profile(  # no family: told from the advertisement
        PROFILE.to_toml()
        .replace("AA:00:00:00:00:01", scenario.addresses[0])
        .replace("AA:00:00:00:00:02", scenario.addresses[1])
    )

    async def session():
        async with scenario.start():
            started = await start_session(profile, tmp_path, policy=FAST, **BACKENDS)
            await asyncio.sleep(2.0)  # the DataLoggers log meanwhile, with no link
            return started, await sync_session(profile, tmp_path, policy=FAST, **BACKENDS)

    started, synced = run(session())
    assert [(s.family, s.done) for s in started.sensors] == [("movesense-gsp", True)] * 2
    assert [s.serial for s in started.sensors] == scenario.serials[:2]
    assert [s.done for s in synced.stopped] == [True, True]
    assert all(s.complete and s.samples > 0 for s in synced.sync.sensors), synced.missing
    assert sorted(synced.placements.values()) == ["shank_right", "thigh_right"]
    for sensor in scenario.sensors[:2]:  # one entry each, of the default request, closed by the stop
        assert [(e.paths, e.stop_ns is not None) for e in sensor.logger.entries] == [
            (("/Meas/IMU6/104",), True)
        ]
    extra = scenario.sensors[2]
    assert connections(scenario)[extra.address] == 0 and extra.logger.entries == []


def test_an_exercise_not_in_the_profile_is_refused_before_any_connection(tmp_path):
    with pytest.raises(ProfileError, match="squat"):
        run(sync_session(PROFILE, tmp_path, exercise="squat", policy=FAST, **BACKENDS))
    assert not tmp_path.joinpath("_journal").exists()


runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """The commands under test."""

    register(app)
    return app


def test_cli_session_start_and_sync_virtual_with_the_example_profile(tmp_path):
    example = str(REPO / "examples" / "profiles" / "knee-rehab.toml")
    virtual = ["--virtual", "--virtual-minutes", "0.4", "--fault", "link-drop@8", "--out", str(tmp_path)]
    started = runner.invoke(cli(), ["session", "start", example, *virtual, "--json"])
    assert started.exit_code == 0, started.output
    start = json.loads(started.stdout)
    assert start["complete"] and set(start["virtual"]["sensors"]) == {"thigh_right", "shank_right"}
    assert len(start["virtual"]["not_in_profile"]) == 1

    synced = runner.invoke(cli(), ["session", "sync", example, *virtual, "--json"])
    assert synced.exit_code == 0, synced.output
    result = json.loads(synced.stdout)
    assert result["complete"] and result["missing"] == [] and result["session"] == start["session"]
    assert all(s["reconnects"] >= 1 and s["crc_verified"] for s in result["sync"]["sensors"])
    assert result["processed"]["reps"] >= 2 and Path(result["report"]).is_file()
    sessions = pl.read_parquet(next((tmp_path / "sessions").rglob("*.parquet")))
    assert sorted(p["segment"] for p in sessions["placements"][0]) == ["shank_right", "thigh_right"]


def test_cli_a_broken_profile_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('subject = "P1"\n[[sensors]]\naddress = "A1"\nsegment = "knee"\n')
    res = runner.invoke(cli(), ["session", "sync", str(bad), "--virtual", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "sensors[1].segment" in res.output
