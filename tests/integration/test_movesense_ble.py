"""Movesense over the virtual backend: live stream with loss and link drops, log sync with entry retries.

The air records every notification it drops; the stream must report exactly the samples of the lost
messages (before the first and after the last received no host can see). A sync whose link drops mid
FETCH_LOG fetches the entry again from offset 0 and must end with the samples the sensor logged; one
whose every attempt is cut must name the entry and each attempt's reason. Nothing asserts radio timing.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import imurehab
from imurehab.ble import RetryPolicy, stream
from imurehab.ble.movesense_sync import MAX_ATTEMPTS, sync_movesense
from imurehab.protocols.movesense import decode_log
from imurehab.virtual import FaultPlan, VirtualBleakClient, VirtualBleakScanner
from imurehab.virtual.movesense_scenario import MovesenseScenario
from imurehab.virtual.movesense_sensor import NOTIFY_UUID

pytestmark = pytest.mark.integration

FAST = RetryPolicy(
    connect_attempts=3,
    connect_timeout_s=2.0,
    backoff_initial_s=0.05,
    response_timeout_s=1.0,
    clock_span_s=1.0,
)


def run(coroutine, timeout_s=120.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def expected_gaps(sensor, dropped):
    """(first index, count) of each run of messages not delivered, between the first and last delivered.

    A message counts as delivered when its DATA arrived and either needed no DATA_PART2 or was followed
    by a DATA_PART2 before the next DATA: GSP's DATA_PART2 carries no sequence number, so a DATA whose
    DATA_PART2 was lost followed by a DATA_PART2 whose DATA was lost is joined (spec.md; docs).
    """
    messages = [m for ref in sorted(sensor.messages_sent) for m in sensor.messages_sent[ref]]
    delivered, pending = set(), None
    for i, (_, packets) in enumerate(messages):
        for p in packets:
            if p in dropped:
                continue
            if p[0] == 2:
                pending = None if len(packets) == 1 else i
                if len(packets) == 1:
                    delivered.add(i)
            elif pending is not None:
                delivered.add(pending)
                pending = None
    first, last = min(delivered), max(delivered)
    gaps, index, i = [], 0, first
    while i <= last:
        if i not in delivered:
            j = i
            while j not in delivered:
                j += 1
            gaps.append((index, 8 * (j - i)))
            index, i = index + 8 * (j - i), j
        else:
            index, i = index + 8, i + 1
    return gaps


def test_stream_with_loss_reports_exactly_the_lost_messages(tmp_path):
    scenario = MovesenseScenario(n_sensors=2, minutes=0.2, seed=6, faults=["loss=0.03"])
    live = {}

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=4.0,
                on_samples=lambda b: live.setdefault(b.address, []).append(b),
                client_backend=VirtualBleakClient,
                families=scenario.families,
                policy=FAST,
            )
            dropped = {}
            for a in scenario.addresses:
                handle = scenario.sensor(a).characteristic(NOTIFY_UUID).handle
                dropped[a] = {d.value for d in air.stats(a).dropped if d.handle == handle}
            return report, dropped

    report, dropped = run(main())
    injected = 0
    for address in scenario.addresses:
        s = next(x for x in report.sensors if x.address == address)
        assert s.error is None and s.family == "movesense-gsp" and s.frames > 0 and s.reconnects == 0
        gaps = expected_gaps(scenario.sensor(address), dropped[address])
        injected += len(gaps)
        assert [(g.first_index, g.count) for g in s.gaps] == gaps
        assert all(g.cause == "air" for g in s.gaps)
        batches = live[address]
        index = np.concatenate([b.sample_index for b in batches])
        times = np.concatenate([b.device_time_us for b in batches])
        # every sample index sits at its own sample time (104 Hz on the boot clock): nothing unaccounted
        assert np.array_equal(index - index[0], np.rint((times - times[0]) * 104 / 1e6).astype(np.int64))
        assert all(b.acc.shape == b.gyr.shape == (len(b.sample_index), 3) and b.mag is None for b in batches)
    assert injected >= 2


def test_stream_link_drop_reconnects_and_reports_the_link_gap(tmp_path):
    scenario = MovesenseScenario(n_sensors=1, minutes=0.2, seed=5, faults=["link-drop@2"])
    seen = []

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=5.0,
                on_samples=seen.append,
                client_backend=VirtualBleakClient,
                families=scenario.families,
                policy=FAST,
            )
            return report, air.stats(scenario.addresses[0]).link_drops

    report, drops = run(main())
    s = report.sensors[0]
    assert s.error is None and drops == 1 and s.reconnects == 1
    (gap,) = s.gaps
    assert gap.cause == "link" and gap.count > 0
    index = np.concatenate([b.sample_index for b in seen])
    times = np.concatenate([b.device_time_us for b in seen])
    assert np.array_equal(index - index[0], np.rint((times - times[0]) * 104 / 1e6).astype(np.int64))
    assert index[-1] - index[0] + 1 == len(index) + gap.count
    assert len(list((tmp_path / "_journal").glob("*/stream-*"))) == 2


def sync(scenario, out, plan=None, **kwargs):
    async def main():
        async with scenario.start(plan) as air:
            report = await sync_movesense(
                scenario.addresses,
                out,
                client_backend=VirtualBleakClient,
                scanner_backend=VirtualBleakScanner,
                policy=FAST,
                **kwargs,
            )
            return report, air.stats(scenario.addresses[0]).link_drops

    return run(main())


def test_sync_with_link_drops_mid_fetch_retries_the_entry_whole_and_gets_every_sample(tmp_path):
    scenario = MovesenseScenario(n_sensors=1, minutes=0.2, seed=4, log_seconds=15)
    sensor = scenario.sensors[0]
    logged = sensor.log_file(1)
    truth = decode_log(logged)["/Meas/IMU6/104"]
    report, drops = sync(scenario, tmp_path, FaultPlan(link_drop_after=(60, 200)), erase=True)
    s = report.sensors[0]
    assert drops == 2 and s.reconnects == 2 and report.complete, s.to_json()
    (entry,) = s.sessions
    assert entry.verified and entry.committed and entry.length == len(logged)
    attempts = sorted(p.name for p in (tmp_path / "_journal").glob("*/movesense-log-1/attempt-*.bin"))
    assert attempts == ["attempt-1.bin", "attempt-2.bin", "attempt-3.bin"]  # two cut short, one whole
    assert not sensor.logger.entries  # erased only after verification
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    (got,) = rec.sensors
    assert got.info.family == "movesense-gsp" and got.info.log_verified and len(got) == len(truth.time_ns)
    assert np.array_equal(got.sample_index, np.arange(len(got)))
    assert np.array_equal(got.acc, truth.acc) and np.array_equal(got.gyr, truth.gyr)
    assert np.array_equal(got.device_time, truth.time_ns // 1000)
    # the values are the simulated motion (as float32 on the wire)
    ks = np.rint(truth.time_ns / 1e9 * 104).astype(np.int64)
    expect = sensor.values("IMU6", ks, 104.0)
    assert np.allclose(got.acc, expect["acc"], rtol=1e-6, atol=1e-5)
    assert np.all(np.diff(got.time_us) > 0) and s.samples == len(got) and s.gaps == 0


def test_sync_whose_every_attempt_is_cut_reports_the_entry_not_recovered(tmp_path):
    scenario = MovesenseScenario(n_sensors=1, minutes=0.2, seed=4, log_seconds=15)
    cuts = tuple(range(60, 60 + 140 * (MAX_ATTEMPTS + 2), 140))
    report, _ = sync(scenario, tmp_path, FaultPlan(link_drop_after=cuts), erase=True)
    s = report.sensors[0]
    (entry,) = s.sessions
    assert not report.complete and not entry.verified and not entry.committed
    assert s.error is not None and s.error.reason == "incomplete"
    message = str(s.error)
    assert "entry 1" in message and all(f"attempt {n}:" in message for n in range(1, MAX_ATTEMPTS + 1))
    assert "the link dropped" in message and f"of {entry.length} bytes" in message
    assert scenario.sensors[0].logger.entries  # nothing erased
    assert not report.paths and s.samples == 0
