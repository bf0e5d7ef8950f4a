"""A Movesense DataLogger started and stopped on its own, then synced, over the virtual backend.

Start sets the sensor's UTC clock and starts logging the request's path; the sensor logs with no link;
stop closes the Logbook entry; the sync downloads it whole and its samples are the sensor's. Nothing
asserts radio timing: the UTC check is against the host clock read before the start and after it.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import imurehab
from imurehab.ble import MovesenseRequest, RetryPolicy, host_time_us, sync_movesense
from imurehab.ble.movesense_logging import start_datalogger, stop_datalogger
from imurehab.protocols.movesense import decode_log
from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner
from imurehab.virtual.movesense_scenario import MovesenseScenario

pytestmark = pytest.mark.integration

FAST = RetryPolicy(
    connect_attempts=3,
    connect_timeout_s=2.0,
    backoff_initial_s=0.05,
    response_timeout_s=1.0,
    clock_span_s=1.0,
)
CLIENT = {"client_backend": VirtualBleakClient, "policy": FAST}
REQUEST = MovesenseRequest("IMU6", 52)


def run(coroutine, timeout_s=120.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def test_start_logs_with_no_link_stop_closes_the_entry_and_the_sync_gets_it_whole(tmp_path):
    scenario = MovesenseScenario(n_sensors=1, minutes=0.2, seed=3)
    address, sensor = scenario.addresses[0], scenario.sensors[0]

    async def session():
        async with scenario.start():
            off_before = sensor.utc_us() - host_time_us()
            before = host_time_us()
            serial = await start_datalogger(address, REQUEST, **CLIENT)
            utc = (before, sensor.utc_us(), host_time_us(), off_before)
            state = (sensor.logger.logging, sensor.logger.config, sensor.is_connected)
            again = await start_datalogger(address, MovesenseRequest("IMU9", 104), **CLIENT)
            await asyncio.sleep(2.0)  # the sensor logs meanwhile, with no link
            stopped = await stop_datalogger(address, **CLIENT)
            closed = [(e.log_id, e.paths, e.stop_ns is not None) for e in sensor.logger.entries]
            report = await sync_movesense(
                [address], tmp_path, client_backend=VirtualBleakClient, scanner_backend=VirtualBleakScanner,
                policy=FAST,
            )  # fmt: skip
            return serial, again, stopped, utc, state, closed, report

    serial, again, stopped, utc, state, closed, report = run(session())

    assert serial == again == stopped == scenario.serials[0]
    assert state == (True, ("/Meas/IMU6/52",), False)  # logging the request's path; disconnected
    before, sensor_utc, after, off_before = utc
    assert abs(off_before) > 1_000_000  # the scenario's sensor clock was seconds off UTC ...
    assert before - 1_000 <= sensor_utc <= after + 1_000  # ... and the start set it to the host's
    # the second start left the running log as it was: one entry, of the first request's path, now closed
    assert closed == [(1, ("/Meas/IMU6/52",), True)] and not sensor.logger.logging

    s = report.sensors[0]
    assert report.complete and s.error is None, s.to_json()
    (entry,) = s.sessions
    assert entry.verified and entry.length == len(sensor.log_file(1))
    truth = decode_log(sensor.log_file(1))["/Meas/IMU6/52"]
    assert len(truth.time_ns) >= 52  # at least a second of samples was logged
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    (got,) = rec.sensors
    assert got.info.family == "movesense-gsp" and got.info.log_verified and len(got) == len(truth.time_ns)
    assert np.array_equal(got.acc, truth.acc) and np.array_equal(got.gyr, truth.gyr)
    assert np.array_equal(got.device_time, truth.time_ns // 1000)


def test_stop_on_a_sensor_not_logging_is_fine_and_names_it(tmp_path):
    scenario = MovesenseScenario(n_sensors=1, minutes=0.2, seed=3)

    async def stop():
        async with scenario.start():
            return await stop_datalogger(scenario.addresses[0], **CLIENT)

    assert run(stop()) == scenario.serials[0]
    assert scenario.sensors[0].logger.entries == [] and not scenario.sensors[0].logger.logging
