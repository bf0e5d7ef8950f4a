"""Movesense over the virtual backend: live stream with loss and link drops, log sync with entry retries.

The air records every notification it drops; the stream must report exactly the samples of the lost
messages (before the first and after the last received no host can see). A sync whose link drops mid
FETCH_LOG fetches the entry again from offset 0 and must end with the samples the sensor logged; one
whose every attempt is cut must name the entry and each attempt's reason. Nothing asserts radio timing.
"""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

import imurehab
from imurehab.ble import PolarRequest, RetryPolicy, stream
from imurehab.ble.movesense_sync import MAX_ATTEMPTS, sync_movesense
from imurehab.protocols.movesense import decode_log
from imurehab.virtual import FaultPlan, PolarScenario, VirtualBleakClient, VirtualBleakScanner
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


def expected_gaps(sensor, dropped, end):
    """(first index, count) of each run of messages not emitted, from the first emitted to index ``end``.

    By the bytes the air let through: a DATA that needs a DATA_PART2 joins the next DATA_PART2 that arrives
    before another DATA — possibly a later message's, as DATA_PART2 carries no sequence number. A joined
    message is emitted only when the next message completed is the one right after it; otherwise it is
    dropped, rightly or wrongly joined, and its samples are part of the gap.
    """
    messages = [m for ref in sorted(sensor.messages_sent) for m in sensor.messages_sent[ref]]
    completed, pending = [], None  # (message number, joined)
    for i, (_, packets) in enumerate(messages):
        for p in packets:
            if p in dropped:
                continue
            if p[0] == 2:
                pending = i if len(packets) > 1 else None
                if pending is None:
                    completed.append((i, False))
            elif pending is not None:
                completed.append((pending, True))
                pending = None
    after = [c[0] for c in completed[1:]] + [None]
    emitted = [i for (i, joined), nxt in zip(completed, after, strict=True) if not joined or nxt == i + 1]
    gaps, first = [], emitted[0]
    for a, b in itertools.pairwise(emitted):
        if b > a + 1 and 8 * (a + 1 - first) < end:
            gaps.append((8 * (a + 1 - first), 8 * (b - a - 1)))
    return gaps


def lost_on_air(air, scenario, address):
    """The notification values of ``address``'s GSP data that did not reach the host."""
    sensor = scenario.sensor(address)
    handle = sensor.characteristic(NOTIFY_UUID).handle
    dropped = {d.value for d in air.stats(address).dropped if d.handle == handle}
    packets = [p for ref in sorted(sensor.messages_sent) for _, ps in sensor.messages_sent[ref] for p in ps]
    return dropped | {p for k, p in enumerate(packets) if k in sensor.lose_data}


def stream_virtual(scenario, out, seconds, **kwargs):
    """Stream the scenario's sensors; (report, live batches by address, notifications lost by address)."""
    live = {}

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                out,
                seconds=seconds,
                on_samples=lambda b: live.setdefault(b.address, []).append(b),
                client_backend=VirtualBleakClient,
                families=scenario.families,
                policy=FAST,
                **kwargs,
            )
            return report, {a: lost_on_air(air, scenario, a) for a in scenario.addresses}

    report, lost = run(main())
    return report, live, lost


def check_stream(scenario, address, report, batches, lost):
    """The report's gaps are exactly the messages not emitted; every emitted sample is the sensor's own."""
    s = next(x for x in report.sensors if x.address == address)
    assert s.error is None and s.family == "movesense-gsp" and s.frames > 0 and s.reconnects == 0
    index = np.concatenate([b.sample_index for b in batches])
    times = np.concatenate([b.device_time_us for b in batches])
    gaps = expected_gaps(scenario.sensor(address), lost, index[-1] - index[0])
    assert [(g.first_index - index[0], g.count) for g in s.gaps] == gaps
    assert all(g.cause == "air" for g in s.gaps)
    # every sample index sits at its own sample time (104 Hz on the boot clock): nothing unaccounted
    assert np.array_equal(index - index[0], np.rint((times - times[0]) * 104 / 1e6).astype(np.int64))
    assert all(b.acc.shape == b.gyr.shape == (len(b.sample_index), 3) and b.mag is None for b in batches)
    # no misjoined tail: each sample holds the value the sensor measured at its own time
    ks = np.rint(times * 104 / 1e6).astype(np.int64)  # sample k at k/104 s; stamps floored to the ms
    truth = scenario.sensor(address).values("IMU6", ks, 104.0)
    for name in ("acc", "gyr"):  # a DATA_PART2 carries the gyroscope block's tail
        got = np.concatenate([getattr(b, name) for b in batches])
        assert np.allclose(got, truth[name], rtol=1e-6, atol=1e-5)
    return s, index


def test_stream_with_loss_reports_exactly_the_lost_messages_and_writes_them_as_missing_rows(tmp_path):
    scenario = MovesenseScenario(n_sensors=2, minutes=0.2, seed=6, faults=["loss=0.03"])
    report, live, lost = stream_virtual(scenario, tmp_path, 4.0)
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    injected = 0
    for address in scenario.addresses:
        s, index = check_stream(scenario, address, report, live[address], lost[address])
        injected += len(s.gaps)
        (rows,) = [x for x in rec.sensors if x.info.serial == s.serial]
        assert rows.info.family == "movesense-gsp" and rows.info.log_verified is None
        # the samples table holds the samples delivered live, the reported gaps as missing rows
        assert np.array_equal(rows.sample_index, index - index[0])
        jumps = np.flatnonzero(np.diff(rows.sample_index) > 1)
        assert [(int(rows.sample_index[j]) + 1, int(np.diff(rows.sample_index)[j]) - 1) for j in jumps] == [
            (g.first_index - index[0], g.count) for g in s.gaps
        ]
        assert np.array_equal(rows.acc, np.concatenate([b.acc for b in live[address]]))
        assert np.isfinite(rows.info.clock_uncertainty_us) and np.all(np.diff(rows.time_us) > 0)
    assert injected >= 2


def test_a_data_part2_joined_to_the_wrong_data_is_never_emitted(tmp_path):
    scenario = MovesenseScenario(n_sensors=1, minutes=0.2, seed=6)
    sensor = scenario.sensors[0]
    # message 3's DATA_PART2 and message 4's DATA (2 notifications per message): they join, right length
    sensor.lose_data = frozenset({7, 8})
    report, live, lost = stream_virtual(scenario, tmp_path, 2.0)
    address = scenario.addresses[0]
    s, index = check_stream(scenario, address, report, live[address], lost[address])
    stamps = [t for ref in sorted(sensor.messages_sent) for t, _ in sensor.messages_sent[ref]]
    first = stamps.index(int(live[address][0].device_time_us[0]) // 1000)
    assert len(lost[address]) == 2 and first < 3
    # messages 3 and 4 are missing rows: the misjoined one and the one whose DATA was lost
    (gap,) = s.gaps
    assert (gap.first_index - index[0], gap.count) == (8 * (3 - first), 16)
    rec = imurehab.read_recording(tmp_path, subject=report.subject, session=report.session)
    assert np.array_equal(rec.sensors[0].sample_index, index - index[0])


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


def test_a_study_session_keeps_a_polar_stream_and_a_movesense_stream_and_sync(tmp_path):
    polar = PolarScenario(n_sensors=1, minutes=0.2, seed=3)
    movesense = MovesenseScenario(n_sensors=1, minutes=0.2, seed=4, log_seconds=10)
    ids = {"subject": "P01", "session": "S1"}

    async def polar_stream():
        async with polar.start():
            return await stream(
                polar.addresses,
                tmp_path,
                seconds=2.0,
                client_backend=VirtualBleakClient,
                families=polar.families,
                polar=PolarRequest({"acc": (52.0, 8.0), "gyro": (52.0, 2000.0)}),
                policy=FAST,
                **ids,
            )

    first = run(polar_stream())
    assert first.sensors[0].error is None
    streamed, _, _ = stream_virtual(movesense, tmp_path, 2.0, **ids)
    report, _ = sync(movesense, tmp_path, **ids)
    assert report.complete and report.write_error is None, report.sensors[0].to_json()
    rec = imurehab.read_recording(tmp_path, subject="P01", session="S1")
    by_family = {s.info.family: s for s in rec.sensors}
    assert sorted(by_family) == ["movesense-gsp", "polar-pmd"]
    got = by_family["movesense-gsp"]
    # the stream was after the log, in the same boot: both land in one sensor, the log's rows verified
    truth = decode_log(movesense.sensors[0].log_file(1))["/Meas/IMU6/104"]
    logged = np.isin(got.device_time, truth.time_ns // 1000)
    assert got.info.log_verified and logged.sum() == len(truth.time_ns) and len(got.info.clocks) == 1
    assert got.device_time[~logged].min() > truth.time_ns[-1] // 1000
    assert len(got) - logged.sum() == streamed.sensors[0].samples
    assert report.sensors[0].samples == len(got) and np.all(np.diff(got.time_us) > 0)
    # one clock fitted to the stream's and the probe's arrivals spans seconds: the log's bound is finite
    assert 0 < report.sensors[0].clock_uncertainty_us == got.info.clock_uncertainty_us < 1e6
