"""Live streaming from virtual OSP sensors through the real bleak API: exact gaps, reconnects, stopping.

The air records every notification it drops; the stream's gap report must name exactly those. Nothing
asserts radio timing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from imurehab.ble import RetryPolicy, stream, sync
from imurehab.errors import BleError
from imurehab.protocols.osp import DATA_UUID, FrameFlag, decode_data_frame
from imurehab.store import read_table
from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner, VirtualScenario

pytestmark = pytest.mark.integration

STUDY = {"subject": "p01", "session": "home1"}
FAST = RetryPolicy(connect_attempts=3, connect_timeout_s=2.0, backoff_initial_s=0.05, response_timeout_s=2.0)


def run(coroutine, timeout_s=120.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def sensor_report(report, address):
    return next(s for s in report.sensors if s.address == address)


def dropped_frames(air, scenario, address):
    """The live DATA frames the air lost for one sensor, decoded."""
    handle = scenario.sensor(address).characteristic(DATA_UUID).handle
    return [decode_data_frame(d.value) for d in air.stats(address).dropped if d.handle == handle]


def indices(frames):
    return {f.first_index + k for f in frames for k in range(len(f.samples))}


def test_live_gaps_equal_the_injected_losses_and_a_following_sync_fills_them(tmp_path):
    scenario = VirtualScenario(n_sensors=4, minutes=0.2, seed=31, faults=["loss=0.02"])
    live = {}

    def on_samples(batch):
        assert np.all(np.diff(batch.sample_index) == 1) and batch.acc.shape == (len(batch.sample_index), 3)
        live[batch.sensor_id] = live.get(batch.sensor_id, 0) + len(batch.sample_index)

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=6.0,
                on_samples=on_samples,
                log=True,
                client_backend=VirtualBleakClient,
                **STUDY,
            )
            lost = {a: dropped_frames(air, scenario, a) for a in scenario.addresses}
            synced = await sync(
                scenario.addresses,
                tmp_path,
                client_backend=VirtualBleakClient,
                scanner_backend=VirtualBleakScanner,
                **STUDY,
            )
            return report, lost, synced

    report, lost, synced = run(main())
    injected = sum(len(frames) for frames in lost.values())
    print(f"live: {sum(s.frames for s in report.sensors)} frames received, {injected} lost on the air")
    assert injected >= 3  # 2 % of ~70 frames × 4 sensors
    rows = read_table(tmp_path, "samples").collect()
    for address in scenario.addresses:
        s = sensor_report(report, address)
        assert s.error is None and s.frames > 0 and live[s.sensor_id] == s.samples
        tail = [f for f in lost[address] if f.flags & FrameFlag.LAST]
        counted = [f for f in lost[address] if not f.flags & FrameFlag.LAST]
        assert s.tail_lost == bool(tail)
        assert s.lost_frames == len(counted)
        assert s.lost("air") == sum(len(f.samples) for f in counted)
        assert (s.lost("device"), s.lost("link")) == (0, 0)
        missing = {g.first_index + k for g in s.gaps for k in range(g.count)}
        assert missing == indices(counted)
        # The sync brought the log kept while streaming: every live gap is filled.
        have = set(rows.filter(rows["sensor"] == s.sensor_id)["sample_index"].to_list())
        assert indices(lost[address]) <= have
        srt = np.sort(np.fromiter(have, np.int64))
        assert np.all(np.diff(srt) == 1)
    assert synced.complete
    assert all(len(s.sessions) == 2 for s in synced.sensors)  # the pre-logged session and the live one


def test_a_dropped_link_is_reconnected_resubscribed_and_its_gap_counted(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=32, faults=["link-drop@1.5"])

    async def main():
        async with scenario.start() as air:
            report = await stream(
                scenario.addresses,
                tmp_path,
                seconds=4.0,
                log=True,
                client_backend=VirtualBleakClient,
                **STUDY,
            )
            return report, {a: air.stats(a).link_drops for a in scenario.addresses}

    report, drops = run(main())
    for address in scenario.addresses:
        s = sensor_report(report, address)
        assert s.error is None and s.reconnects == drops[address] == 1
        link = [g for g in s.gaps if g.cause == "link"]
        assert len(link) == 1 and link[0].count > 0  # logging went on while the link was down
        assert s.frames > 0 and not s.tail_lost
    assert len(list((tmp_path / "_journal").glob("*/stream-*"))) == 4  # one stream run per connection


def test_device_drops_are_reported_as_such(tmp_path):
    scenario = VirtualScenario(n_sensors=1, minutes=0.2, seed=33, faults=["overflow@1"])

    async def main():
        async with scenario.start():
            return await stream(scenario.addresses, tmp_path, seconds=3.0, client_backend=VirtualBleakClient)

    report = run(main())
    s = report.sensors[0]
    stats = scenario.sensor(scenario.addresses[0]).device_stats
    assert stats.stream_samples_dropped > 0
    assert s.lost("device") == stats.stream_samples_dropped
    assert (s.lost("air"), s.lost_frames) == (0, 0)


def test_stop_event_stops_cleanly_and_cancellation_keeps_what_arrived(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=34)

    async def main():
        async with scenario.start() as air:
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(1.5, stop.set)
            stopped = await stream(
                scenario.addresses, tmp_path / "a", stop_event=stop, client_backend=VirtualBleakClient
            )
            task = asyncio.ensure_future(
                stream(scenario.addresses, tmp_path / "b", client_backend=VirtualBleakClient)
            )
            await asyncio.sleep(1.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            sent = [air.stats(a).notifications_sent for a in scenario.addresses]
            await asyncio.sleep(0.3)
            quiet = [air.stats(a).notifications_sent for a in scenario.addresses] == sent
            return stopped, quiet

    stopped, quiet = run(main())
    assert not stopped.interrupted and stopped.complete
    assert all(s.samples > 0 and not s.tail_lost for s in stopped.sensors)
    assert quiet  # the cancelled stream was stopped on the sensors, not left running
    for folder, expected in (
        (tmp_path / "a", sum(s.samples for s in stopped.sensors)),
        (tmp_path / "b", None),
    ):
        rows = read_table(folder, "samples").collect()
        assert rows.height > 0 and (expected is None or rows.height == expected)
    frames = sorted(Path(tmp_path / "b" / "_journal").glob("*/stream-*/frames.bin"))
    assert len(frames) == 2 and all(f.stat().st_size > 0 for f in frames)


def test_an_unknown_device_is_one_clear_error_and_the_others_stream(tmp_path):
    scenario = VirtualScenario(n_sensors=1, minutes=0.2, seed=35)
    ghost = "F0:00:00:00:00:98"

    async def main():
        async with scenario.start():
            return await stream(
                [ghost, *scenario.addresses],
                tmp_path,
                seconds=1.5,
                policy=FAST,
                client_backend=VirtualBleakClient,
            )

    report = run(main())
    bad = sensor_report(report, ghost)
    assert isinstance(bad.error, BleError) and bad.error.reason == "not-found"
    assert not report.complete and report.to_json()["sensors"][0]["error"]["reason"] == "not-found"
    assert sensor_report(report, scenario.addresses[0]).samples > 0
