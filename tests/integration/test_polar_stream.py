"""Live streaming from virtual Polar Verity Sense sensors through the real bleak API.

PMD frames carry no counter: the stream finds loss from frame timestamps. The air records every
notification it drops; the report must name exactly those samples (except before the first frame and
after the last one received, which no host can see). Nothing asserts radio timing.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import imurehab
from imurehab import SampleFlags
from imurehab.ble import PolarRequest, RetryPolicy, stream
from imurehab.ble.connection import Link
from imurehab.ble.polar import PolarPmdDriver
from imurehab.errors import BleError
from imurehab.protocols.polar_pmd import decode_frames
from imurehab.virtual import PolarScenario, VirtualAir, VirtualBleakClient
from imurehab.virtual.polar_sensor import DATA_UUID, PolarSensor

pytestmark = pytest.mark.integration

FAST = RetryPolicy(connect_attempts=3, connect_timeout_s=2.0, backoff_initial_s=0.05, response_timeout_s=2.0)
REQUEST = PolarRequest({"acc": (416.0, 8.0), "gyro": (416.0, 2000.0)})


def run(coroutine, timeout_s=90.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def frame_info(frame):
    s = decode_frames([frame], sample_rate_hz=416.0)
    return int(s.frame_timestamps_ns[0]), len(s)


def expected_gaps(sensor, dropped, measurement):
    """(first index, count) of each run of lost frames between the first and last frames received."""
    sent = sensor.frames_sent[measurement]
    lost = [f in dropped for f in sent]
    received = [i for i, x in enumerate(lost) if not x]
    first, last = received[0], received[-1]
    sizes = [frame_info(f)[1] for f in sent]
    gaps, index = [], 0
    i = first
    while i <= last:
        if lost[i]:
            j = i
            while lost[j]:
                j += 1
            gaps.append((index, sum(sizes[i:j])))
            index += sum(sizes[i:j])
            i = j
        else:
            index += sizes[i]
            i += 1
    hidden = sum(lost[:first]) + sum(lost[last + 1 :])
    return gaps, hidden


def test_two_polar_sensors_with_2_percent_loss_report_exactly_the_samples_lost(tmp_path):
    scenario = PolarScenario(n_sensors=2, minutes=0.2, rate_hz=208.0, seed=6, faults=["loss=0.02"])
    live = {}

    def on_samples(batch):
        kind = "acc" if batch.acc is not None else "gyro"
        assert (batch.acc if kind == "acc" else batch.gyr).shape == (len(batch.sample_index), 3)
        assert np.all(np.diff(batch.sample_index) == 1)
        live.setdefault((batch.address, kind), []).append(batch)

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=5.0,
                on_samples=on_samples,
                client_backend=VirtualBleakClient,
                families=scenario.families,
                polar=REQUEST,
            )
            dropped = {
                a: {
                    d.value
                    for d in air.stats(a).dropped
                    if d.handle == scenario.sensor(a).characteristic(DATA_UUID).handle
                }
                for a in scenario.addresses
            }
            return report, dropped

    report, dropped = run(main())
    injected = 0
    for address in scenario.addresses:
        s = next(x for x in report.sensors if x.address == address)
        assert s.error is None and s.family == "polar-pmd" and s.frames > 0
        sensor = scenario.sensor(address)
        for m in ("acc", "gyro"):
            gaps, hidden = expected_gaps(sensor, dropped[address], m)
            injected += len(gaps)
            got = [(g.first_index, g.count) for g in s.gaps if g.measurement == m]
            assert got == gaps, (m, got, gaps, hidden)
            assert all(g.cause == "air" and g.frames == 0 for g in s.gaps)
            # every sample index is placed at its own sample time: nothing lost is unaccounted for
            batches = live[(address, m)]
            index = np.concatenate([b.sample_index for b in batches])
            times = np.concatenate([b.device_time_us for b in batches])
            assert np.array_equal(index - index[0], np.rint((times - times[0]) * 416 / 1e6).astype(np.int64))
    print(f"{injected} gaps injected and reported; {sum(s.samples for s in report.sensors)} samples")
    assert injected >= 3
    check_dataset(tmp_path, report, live)


def check_dataset(out, report, live):
    """The dataset has one row per ACC sample; ACC gaps are missing rows, GYRO gaps flagged rows, exactly."""
    assert report.paths and report.write_error is None
    rec = imurehab.read_recording(out, subject=report.subject, session=report.session)
    assert {s.info.sensor_id for s in rec.sensors} == {s.sensor_id for s in report.sensors}
    for s in report.sensors:
        got = next(x for x in rec.sensors if x.info.sensor_id == s.sensor_id)
        info = got.info
        assert info.family == "polar-pmd" and info.rate_hz == 416.0 and info.serial == s.serial
        assert info.acc_range_mps2 == pytest.approx(8 * 9.80665) and info.gyr_range_rads == pytest.approx(
            np.radians(2000)
        )
        assert got.acc.shape == got.gyr.shape == (len(got), 3) and got.mag is None
        assert np.all(np.diff(got.time_us) > 0) and np.all(np.diff(got.sample_index) > 0)
        # ACC: exactly the samples received, at the indices the stream gave them; its gaps are missing rows
        acc = [b for b in live[(s.address, "acc")]]
        index = np.concatenate([b.sample_index for b in acc])
        assert np.array_equal(got.sample_index, index)
        assert np.allclose(got.acc, np.concatenate([b.acc for b in acc]))
        jumps = np.flatnonzero(np.diff(got.sample_index) > 1)
        acc_gaps = [(g.first_index, g.count) for g in s.gaps if g.measurement == "acc"]
        assert [
            (int(got.sample_index[j] + 1), int(np.diff(got.sample_index)[j] - 1)) for j in jumps
        ] == acc_gaps
        # GYRO: same rate and timebase, so every received GYRO sample is a row's value as is; rows at GYRO's
        # lost samples (and before its first / after its last received) are flagged interpolated
        gyro = live[(s.address, "gyro")]
        g_dev = np.concatenate([b.device_time_us for b in gyro])
        g_val = np.concatenate([b.gyr for b in gyro])
        period_us = 1e6 / 416
        row = np.clip(np.searchsorted(got.device_time, g_dev), 1, len(got) - 1)
        row = np.where(
            np.abs(got.device_time[row - 1] - g_dev) < np.abs(got.device_time[row] - g_dev), row - 1, row
        )
        same = np.abs(got.device_time[row] - g_dev) <= period_us / 4
        assert (~same).sum() <= sum(c for _, c in acc_gaps) + 20  # at an ACC gap, or past ACC's ends
        at = row[same]
        assert np.allclose(got.gyr[at], g_val[same])
        flagged = (got.flags & SampleFlags.INTERPOLATED) != 0
        assert not flagged[at].any()
        g_index0 = round((g_dev[0] - got.device_time[0]) / period_us)  # GYRO's first sample as an ACC row
        expect = np.zeros(len(got), bool)
        expect[: max(0, g_index0)] = True
        last = got.device_time <= g_dev[-1] + period_us / 4
        expect[~last] = True
        rows_index = np.rint((got.device_time - got.device_time[0]) / period_us).astype(np.int64)
        for first, count in [(g.first_index, g.count) for g in s.gaps if g.measurement == "gyro"]:
            lost = g_dev[0] + (np.arange(count) + first - int(gyro[0].sample_index[0])) * period_us
            lost_rows = np.rint((lost - got.device_time[0]) / period_us).astype(np.int64)
            expect |= np.isin(rows_index, lost_rows)
        assert np.array_equal(flagged, expect), (np.flatnonzero(flagged), np.flatnonzero(expect))


def test_a_link_drop_mid_stream_reconnects_and_reports_the_link_gap(tmp_path):
    scenario = PolarScenario(n_sensors=1, minutes=0.2, seed=5, faults=["link-drop@2"])
    seen = []

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=5.0,
                on_samples=seen.append,
                client_backend=VirtualBleakClient,
                polar=REQUEST,
            )
            return report, air.stats(scenario.addresses[0]).link_drops

    report, drops = run(main())
    s = report.sensors[0]
    assert s.error is None and drops == 1 and s.reconnects == 1 and s.family == "polar-pmd"
    for m in ("acc", "gyro"):
        link = [g for g in s.gaps if g.measurement == m]
        assert len(link) == 1 and link[0].cause == "link" and link[0].count > 0
        key = "acc" if m == "acc" else "gyr"
        batches = [b for b in seen if getattr(b, key) is not None]
        index = np.concatenate([b.sample_index for b in batches])
        times = np.concatenate([b.device_time_us for b in batches])
        # the indices skip exactly the samples of the sensor's grid not streamed while the link was down
        assert np.array_equal(index - index[0], np.rint((times - times[0]) * 416 / 1e6).astype(np.int64))
        assert index[-1] - index[0] + 1 == sum(len(b.sample_index) for b in batches) + link[0].count
    assert len(list((tmp_path / "_journal").glob("*/stream-*"))) == 2
    # the dataset replays both journals: the ACC link gap is missing rows, the GYRO one flagged rows
    got = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session).sensors[0]
    acc_gap = next(g for g in s.gaps if g.measurement == "acc")
    jumps = np.diff(got.sample_index)
    assert jumps[jumps > 1].tolist() == [acc_gap.count + 1] and np.all(np.diff(got.time_us) > 0)
    gyro_gap = next(g for g in s.gaps if g.measurement == "gyro")
    flagged = np.flatnonzero((got.flags & SampleFlags.INTERPOLATED) != 0)
    # Only rows at the very start (GYRO's first frame came later) or right after the gap (GYRO resumed
    # after ACC: how much later depends on the event loop, so it is measured, not assumed) are filled in
    (jump,) = np.flatnonzero(jumps > 1)

    def resumed_us(key):
        times = np.concatenate([b.device_time_us for b in seen if getattr(b, key) is not None])
        return times[np.argmax(np.diff(times)) + 1]

    late = max(0, int(np.ceil((resumed_us("gyr") - resumed_us("acc")) * 416 / 1e6)))
    after = flagged[flagged > jump]
    assert all(f < 3 for f in flagged[flagged <= jump]), flagged
    assert np.array_equal(after, np.arange(jump + 1, jump + 1 + len(after))) and len(after) <= late + 1, (
        flagged,
        late,
    )
    assert abs(gyro_gap.count - acc_gap.count) <= late + 2


@pytest.mark.parametrize(
    ("request_", "chosen", "sdk_mode"),
    [
        ({"acc": (52.0, 8.0)}, {"acc": (52.0, 8.0)}, False),
        (
            {"acc": (200.0, 6.0), "gyro": (300.0, 1000.0)},
            {"acc": (208.0, 8.0), "gyro": (208.0, 1000.0)},
            True,
        ),
        ({"acc": (1000.0, 3.0), "mag": (60.0, 50.0)}, {"acc": (416.0, 4.0), "mag": (50.0, 50.0)}, True),
    ],
)
def test_settings_negotiation_picks_the_closest_supported_values(request_, chosen, sdk_mode):
    sensor = PolarSensor("F2:00:00:00:00:07", device_id="0A0B0C0D")

    async def main():
        async with VirtualAir() as air:
            await air.add(sensor)
            driver = PolarPmdDriver(
                Link(sensor.address, backend=VirtualBleakClient, policy=FAST), FAST, PolarRequest(request_)
            )
            ident = await driver.connect()
            await driver.start(log=False)
            mode = (driver.sdk_mode, sensor.sdk_mode)
            await driver.stop()
            after = sensor.sdk_mode
            await driver.close()
            return ident, driver.chosen, mode, after

    ident, got, mode, after = run(main())
    assert ident.serial == "POLAR-0A0B0C0D"
    assert {m: (c["sample_rate_hz"], c["range"]) for m, c in got.items()} == chosen
    assert all(c["resolution_bits"] == 16 and c["channels"] == 3 and c["factor"] > 0 for c in got.values())
    assert mode == (sdk_mode, sdk_mode) and not after


def test_a_sensor_without_the_measurement_asked_is_one_clear_error(tmp_path):
    sensor = PolarSensor("F2:00:00:00:00:08", device_id="0A0B0C0E")

    async def main():
        async with VirtualAir() as air:
            await air.add(sensor)
            return await stream(
                [sensor.address],
                tmp_path,
                seconds=1.0,
                client_backend=VirtualBleakClient,
                policy=FAST,
                polar=PolarRequest({"ppi": (1.0, 1.0)}),
            )

    report = run(main())
    err = report.sensors[0].error
    assert isinstance(err, BleError) and err.reason == "unsupported" and not report.complete
