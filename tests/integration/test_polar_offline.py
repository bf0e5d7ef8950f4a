"""Offline recording on virtual Polar Verity Sense sensors, synced over PFTP through the real bleak API.

The sensors record ACC and GYRO into .REC files (split into parts); the sync lists, fetches, verifies and
erases them, with notifications lost and a link dropped in the middle of a GET. The rows must equal the
samples the sensors stored, and a file that never arrives whole must be reported. Nothing asserts
radio timing.
"""

from __future__ import annotations

import asyncio

import numpy as np
import polars as pl
import pytest

from imurehab.ble import RetryPolicy
from imurehab.ble.polar import PolarRequest
from imurehab.ble.polar_offline import (
    GET_ATTEMPTS,
    start_offline_recording,
    stop_offline_recording,
    sync_polar,
)
from imurehab.protocols.polar_pmd import decode_offline_recording
from imurehab.virtual import PolarScenario, VirtualBleakClient, VirtualBleakScanner

pytestmark = pytest.mark.integration

FAST = RetryPolicy(connect_attempts=4, connect_timeout_s=2.0, backoff_initial_s=0.05, response_timeout_s=2.0)
REQUEST = PolarRequest({"acc": (52.0, 8.0), "gyro": (52.0, 2000.0)})


def run(coroutine, timeout_s=120.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def stored(sensor, stem):
    """The recording the sensor stored for one measurement, parts in order."""
    paths = sorted(p for p in sensor.psftp.files if p.rsplit("/", 1)[1].startswith(stem))
    paths.sort(key=lambda p: int(p.rsplit("/", 1)[1][len(stem) : -4] or 0))
    return decode_offline_recording([sensor.psftp.files[p] for p in paths]), len(paths)


async def record_and_sync(scenario, out, seconds=3.0, **kwargs):
    async with scenario.start():
        for address in scenario.addresses:
            await start_offline_recording(address, REQUEST, client_backend=VirtualBleakClient, policy=FAST)
        await asyncio.sleep(seconds)
        for address in scenario.addresses:
            await stop_offline_recording(
                address, ["acc", "gyro"], client_backend=VirtualBleakClient, policy=FAST
            )
        truth = {a: {m: stored(scenario.sensor(a), m) for m in ("ACC", "GYRO")} for a in scenario.addresses}
        report = await sync_polar(
            scenario.addresses,
            out,
            client_backend=VirtualBleakClient,
            scanner_backend=VirtualBleakScanner,
            policy=FAST,
            subject="s01",
            session="v1",
            **kwargs,
        )
        left = {a: dict(scenario.sensor(a).psftp.files) for a in scenario.addresses}
    return report, truth, left


def test_sync_with_loss_and_a_link_drop_recovers_every_sample(tmp_path) -> None:
    # The air's losses are seeded per notification: after the clock probe's 12 ACC frames and the listing,
    # seed 2 loses a frame of a file GET on each sensor (notifications 18 and 19), and the link drops after
    # the 21st, during the files' GETs; below: a reconnect and a file fetched again.
    scenario = PolarScenario(
        n_sensors=2, minutes=0.2, seed=2, faults=["loss=0.03"], link_drop_after=(21,), max_file_bytes=300
    )
    report, truth, left = run(record_and_sync(scenario, tmp_path, erase=True))
    assert report.complete, report.to_json()
    samples = pl.read_parquet(tmp_path / "samples", hive_partitioning=True)
    for address, sensor in zip(scenario.addresses, report.sensors, strict=True):
        acc, acc_parts = truth[address]["ACC"]
        gyro, _ = truth[address]["GYRO"]
        assert acc_parts > 1  # a split recording
        assert sensor.crc_verified and all(s.committed for s in sensor.sessions)
        assert not [p for p in left[address] if p.endswith(".REC")]  # erased after verification
        rows = samples.filter(pl.col("sensor") == sensor.sensor_id).sort("sample_index")
        assert sensor.samples == len(rows) == len(acc.samples) and sensor.lost_samples == 0
        np.testing.assert_allclose(
            rows.select("acc_x", "acc_y", "acc_z").to_numpy(), acc.samples.si(), rtol=1e-6
        )
        same_time = np.isin(
            gyro.samples.time_ns, acc.samples.time_ns
        )  # one sample grid; either may run longer
        gyr = rows.filter(pl.Series(np.isin(acc.samples.time_ns, gyro.samples.time_ns)))
        np.testing.assert_allclose(
            gyr.select("gyr_x", "gyr_y", "gyr_z").to_numpy(), gyro.samples.si()[same_time], rtol=1e-6
        )
        assert np.array_equal(rows["device_time"].to_numpy().astype(np.int64), acc.samples.time_ns // 1000)
        assert np.isfinite(sensor.clock_uncertainty_us)
    assert sum(s.reconnects for s in report.sensors) >= 1
    assert sum(s.rejected_chunks for s in report.sensors) >= 1  # a lost frame was seen and fetched again


def test_retries_exhausted_are_reported_not_silent(tmp_path) -> None:
    scenario = PolarScenario(n_sensors=1, minutes=0.2, seed=2, faults=["loss=0.5"])
    report, _truth, left = run(record_and_sync(scenario, tmp_path, seconds=5.0, erase=True))
    sensor = report.sensors[0]
    assert not report.complete and sensor.error is not None
    assert sensor.error.reason in ("stalled", "protocol") and f"{GET_ATTEMPTS} attempts" in str(sensor.error)
    assert not sensor.crc_verified and not any(s.committed for s in sensor.sessions)
    assert [p for p in left[scenario.addresses[0]] if p.endswith(".REC")]  # nothing erased
