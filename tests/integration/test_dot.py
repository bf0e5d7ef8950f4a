"""Movella DOT over the virtual air through the real bleak API: live stream, the sensors' own sync, export.

Every fault is injected by the virtual air or the virtual DOT and recorded there; the tests compare what
the host reports with what was injected: every sample is either delivered or named in a gap, every
exported packet is either recovered or listed with the reason it could not be. Nothing asserts timing.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import imurehab
from imurehab.ble import RetryPolicy, stream
from imurehab.ble.connection import Link
from imurehab.ble.dot import DotDriver, DotRequest
from imurehab.ble.dot_download import MAX_FULL_REQUESTS, DotFileResult
from imurehab.ble.dot_sync import start_recording, stop_recording, sync_dot, sync_sensors
from imurehab.errors import BleError
from imurehab.protocols.movella_dot import decode_measurements
from imurehab.virtual import PolarScenario, VirtualBleakClient, VirtualBleakScanner
from imurehab.virtual.dot_scenario import DotScenario
from imurehab.virtual.dot_sensor import DotSensor

pytestmark = pytest.mark.integration

FAST = RetryPolicy(
    connect_attempts=3,
    connect_timeout_s=2.0,
    backoff_initial_s=0.05,
    response_timeout_s=2.0,
    idle_timeout_s=0.5,
    clock_span_s=1.0,
    scan_timeout_s=2.0,
)
BACKENDS = {"client_backend": VirtualBleakClient, "policy": FAST}


def run(coroutine, timeout_s=90.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def grid_of(sensor: DotSensor, value: bytes, mode: int = 21) -> int:
    """The grid index of a notified sample (its timestamp back on the sensor's grid)."""
    raw = int(decode_measurements([value], mode).time_us[0])
    sent = sensor.sample_time_us(np.array(sensor.sent)) % 2**32
    return sensor.sent[int(np.flatnonzero(sent == raw)[0])]


def test_live_stream_with_loss_a_link_drop_and_a_rollover_reports_every_lost_sample_and_writes_it(tmp_path):
    scenario = DotScenario(
        n_sensors=2, minutes=0.2, seed=4, faults=["loss=0.03", "link-drop@1.5"], clock_near_wrap_s=2.5
    )
    live: dict[str, list] = {}

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=5.0,
                on_samples=lambda b: live.setdefault(b.address, []).append(b),
                families=scenario.families,
                **BACKENDS,
            )
            lost = {
                a: [grid_of(scenario.sensor(a), d.value) for d in air.stats(a).dropped]
                for a in scenario.addresses
            }
            return report, lost, {a: air.stats(a).link_drops for a in scenario.addresses}

    report, lost, drops = run(main())
    assert report.write_error is None and report.paths
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    for address in scenario.addresses:
        s = next(x for x in report.sensors if x.address == address)
        sensor = scenario.sensor(address)
        assert s.error is None and s.family == "movella-dot" and s.reconnects == drops[address] == 1
        batches = live[address]
        index = np.concatenate([b.sample_index for b in batches])
        device = np.concatenate([b.device_time_us for b in batches])
        received = np.rint((device - sensor.sample_time_us(0)) * sensor.rate_hz / 1e6).astype(np.int64)
        assert np.array_equal(device, sensor.sample_time_us(received))  # placed on the sensor's own grid
        first, last = int(received[0]), int(received[-1])
        assert np.array_equal(index, received - first)
        # every grid sample between the first and last received is delivered or in exactly one gap
        missing = sorted(set(range(first, last + 1)) - set(received.tolist()))
        expected: list[tuple[int, int]] = []
        for k in missing:
            if expected and sum(expected[-1]) == k - first:
                expected[-1] = (expected[-1][0], expected[-1][1] + 1)
            else:
                expected.append((k - first, 1))
        assert [(g.first_index, g.count) for g in s.gaps] == expected
        # an air gap is samples the air's loss model dropped; the link gap holds those never sent while
        # the link was down (and any sent just as it went down, lost in flight with the connection)
        not_sent = set(range(first, last + 1)) - set(sensor.sent)
        air_lost = set(lost[address])
        for g in s.gaps:
            ks = set(range(g.first_index + first, g.first_index + first + g.count))
            assert (g.cause == "air") == (ks <= air_lost)
            assert g.cause == "air" or ks & not_sent or len(ks) <= 8  # in flight: what the air still held
        assert sum(g.cause == "link" for g in s.gaps) == 1 and sum(g.cause == "air" for g in s.gaps) >= 2
        # the µs clock wrapped during the stream and was unwrapped: one straight time line
        assert device[0] < 2**32 < device[-1]
        assert s.samples == len(received)
        # the samples table holds every delivered sample; the reported gaps are exactly its missing rows
        got = next(x for x in rec.sensors if x.info.serial == s.serial)
        assert got.info.family == "movella-dot" and got.info.log_verified is None
        assert np.array_equal(got.sample_index, index) and np.array_equal(got.device_time, device)
        jumps = np.flatnonzero(np.diff(got.sample_index) > 1)
        missing_rows = [(int(got.sample_index[j]) + 1, int(np.diff(got.sample_index)[j]) - 1) for j in jumps]
        assert missing_rows == [(g.first_index, g.count) for g in s.gaps]
        q = sensor.quantities(received, ["acc", "gyr"])
        assert np.array_equal(got.acc, q["acc"].astype(np.float32).astype(np.float64))
        assert np.all(np.diff(got.time_us) > 0)


def test_a_polar_stream_and_a_dot_sync_into_one_study_session_keep_both(tmp_path):
    polar = PolarScenario(n_sensors=1, minutes=0.2, seed=3)
    dots = DotScenario(n_sensors=2, minutes=0.2, seed=5)
    study = {"subject": "sub01", "session": "ses01"}

    async def main():
        async with polar.start():
            streamed = await stream(
                polar.addresses,
                tmp_path,
                seconds=2.0,
                client_backend=VirtualBleakClient,
                families=polar.families,
                **study,
            )
        async with dots.start():
            await record(dots, 2.0)
            synced = await sync_dot(
                dots.addresses, tmp_path, scanner_backend=VirtualBleakScanner, **study, **BACKENDS
            )
        return streamed, synced

    streamed, synced = run(main())
    assert streamed.write_error is None and synced.complete and synced.write_error is None
    rec = imurehab.read_recording(tmp_path, **study)
    families = sorted(x.info.family for x in rec.sensors)
    assert families == ["movella-dot", "movella-dot", "polar-pmd"]
    polar_rows = next(x for x in rec.sensors if x.info.family == "polar-pmd")
    assert len(polar_rows) > 0 and polar_rows.info.serial == streamed.sensors[0].serial
    for s in synced.sensors:
        got = next(x for x in rec.sensors if x.info.serial == s.serial)
        assert len(got) == s.samples == s.sessions[0].data_numbers


def test_the_host_sets_the_output_rate_and_a_synced_sensor_that_keeps_its_rate_is_refused():
    scenario = DotScenario(n_sensors=1, minutes=0.2, seed=2)
    (address,) = scenario.addresses

    async def stream_at(rate_hz):
        driver = DotDriver(
            Link(address, backend=VirtualBleakClient, policy=FAST), FAST, DotRequest(21, rate_hz)
        )
        times = []
        driver.on_frame = lambda host_ns, value: times.append(
            int(driver.decode(host_ns, value).device_time_us[0])
        )
        try:
            await driver.connect()
            await driver.start(log=False)
            await asyncio.sleep(1.0)
            await driver.stop()
        finally:
            await driver.close()
        return times

    async def main():
        async with scenario.start():
            times = await stream_at(30.0)
            rate = scenario.sensors[0].rate_hz
            assert all((await sync_sensors(scenario.addresses, **BACKENDS)).values())
            with pytest.raises(BleError) as refused:
                await stream_at(60.0)
            return times, rate, refused.value

    times, rate, refused = run(main())
    assert rate == 30.0 and len(times) > 5
    assert set(np.diff(times).tolist()) <= {33_333, 33_334}  # samples on the 30 Hz grid
    assert refused.reason == "device" and "30 Hz" in str(refused) and "60 Hz" in str(refused)


async def record(scenario, seconds, *, sync=False):
    if sync:
        states = await sync_sensors(scenario.addresses, **BACKENDS)
        assert all(states.values())
    await start_recording(scenario.addresses, **BACKENDS)
    await asyncio.sleep(seconds)
    assert set((await stop_recording(scenario.addresses, **BACKENDS)).values()) == {"success"}


@pytest.mark.parametrize("resumes", [True, False], ids=["retransmission-resumes", "retransmission-refused"])
def test_export_with_corrupt_packets_and_a_link_drop_recovers_every_sample(tmp_path, resumes):
    scenario = DotScenario(
        n_sensors=2,
        minutes=0.2,
        seed=7,
        faults=["corrupt=0.05", "link-drop@1"],  # the link drops while the clock is measured
        export_link_drops=[60],  # and again in the middle of the export
        retransmission_on_new_link=resumes,
    )

    async def main():
        async with scenario.start() as air:
            await record(scenario, 3.0)
            report = await sync_dot(
                scenario.addresses, tmp_path, scanner_backend=VirtualBleakScanner, erase=True, **BACKENDS
            )
            return report, {a: air.stats(a).link_drops for a in scenario.addresses}

    report, drops = run(main())
    assert report.complete and report.paths
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    for s in report.sensors:
        sensor = scenario.sensor(s.address)
        (file,) = s.sessions
        assert isinstance(file, DotFileResult) and file.verified and file.committed and not file.unrecovered
        assert (
            file.rejected > 0 and s.rejected_chunks == file.rejected and s.reconnects == drops[s.address] == 2
        )
        assert sensor.flash.files == []  # erased only after verification
        # a sensor that forgets the export on a link drop refuses the Retransmission on the new link:
        # the whole file is asked again (bounded), and nothing is lost either way
        assert file.full_requests == sensor.refused_retransmissions
        assert (file.full_requests >= 1) == (not resumes) and file.full_requests <= MAX_FULL_REQUESTS
        got = next(x for x in rec.sensors if x.info.sensor_id == s.sensor_id)
        assert got.info.family == "movella-dot" and got.info.log_verified
        n = file.data_numbers
        assert len(got) == n == s.samples and np.array_equal(got.sample_index, np.arange(n))
        # the exported samples are the simulated ones (float32 on the wire)
        ks = np.arange(n) + sensor_first_k(sensor, got)
        q = sensor.quantities(ks, ["acc", "gyr"])
        assert np.array_equal(got.acc, q["acc"].astype(np.float32).astype(np.float64))
        assert np.allclose(got.gyr, q["gyr"], atol=1e-6)
        assert np.all(np.diff(got.time_us) > 0)


def sensor_first_k(sensor: DotSensor, got) -> int:
    """The grid index of the first exported sample (from its device time, modulo the rollover)."""
    raw = int(got.device_time[0]) % 2**32
    k = round(((raw - sensor.sample_time_us(0)) % 2**32) * sensor.rate_hz / 1e6)
    assert int(sensor.sample_time_us(k)) % 2**32 == raw
    return k


def test_packets_the_sensor_cannot_read_are_reported_with_the_reason_and_nothing_is_erased(tmp_path):
    scenario = DotScenario(n_sensors=1, minutes=0.2, seed=8, invalid_data_numbers=[30, 31, 90])

    async def main():
        async with scenario.start():
            await record(scenario, 2.5)
            return await sync_dot(
                scenario.addresses, tmp_path, scanner_backend=VirtualBleakScanner, erase=True, **BACKENDS
            )

    report = run(main())
    (s,) = report.sensors
    (file,) = s.sessions
    assert not report.complete and not file.verified and not file.committed
    assert (
        file.unrecovered == [30, 31, 90]
        and "30–31, 90" in file.reason
        and "ExportFileDataInvalid" in file.reason
    )
    assert s.error is not None and s.error.reason == "incomplete" and "30–31, 90" in str(s.error)
    assert len(scenario.sensor(s.address).flash.files) == 1
    # what was recovered is written; the samples not recovered are missing rows
    got = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session).sensors[0]
    assert len(got) == file.data_numbers - 3 and s.gaps == 2 and s.lost_samples == 3
    assert not np.isin([30, 31, 90], got.sample_index).any() and not got.info.log_verified


def test_own_sync_aligns_the_clocks_and_a_recording_across_the_rollover_is_unwrapped(tmp_path):
    scenario = DotScenario(n_sensors=2, minutes=0.2, seed=9, faults=["drift-ppm=50"], clock_near_wrap_s=2.0)

    async def main():
        async with scenario.start():
            a, b = scenario.sensors
            before = abs(a.device_time_us() - b.device_time_us())
            await record(scenario, 3.0, sync=True)
            after = abs(a.device_time_us() - b.device_time_us())
            report = await sync_dot(
                scenario.addresses, tmp_path, scanner_backend=VirtualBleakScanner, **BACKENDS
            )
            return report, before, after

    report, before, after = run(main())
    assert report.complete
    assert before > 1000 and after < 200  # σ 20 µs after the sync (seeded), ms apart before
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    t = [s.device_time for s in rec.sensors]
    assert all(x[0] < 2**32 < x[-1] for x in t)  # recorded across the rollover, unwrapped
    assert all(np.ptp(np.diff(x)) <= 1 for x in t)  # evenly spaced by the rate (µs rounding)
    shared = np.intersect1d(t[0], t[1])  # synced: both sample on the root's grid
    assert len(shared) >= min(map(len, t)) - 2
