"""The virtual OSP sensor end to end, through the real bleak API over the virtual backend.

The host side here is a minimal one written with the ``imurehab.protocols.osp`` codecs only (not
``imurehab.ble``): it writes commands, waits for RESPONSE / END indications and feeds CHUNKs to a
:class:`LogAssembler`. Every test runs its own event loop under an overall timeout; nothing asserts radio
timing, only what arrived and what the air and the device report they did.
"""

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from bleak import BleakClient

from imurehab.errors import DataValidationError
from imurehab.protocols import osp
from imurehab.protocols.osp import FrameFlag, SessionState, Status
from imurehab.simulate import simulate_session
from imurehab.virtual import (
    FaultPlan,
    OspSensor,
    VirtualAir,
    VirtualBleakClient,
    VirtualScenario,
    parse_fault,
)

pytestmark = pytest.mark.integration

TEST_TIMEOUT_S = 60.0
WAIT_S = 20.0
ADDRESS = "F1:00:00:00:00:0A"
WHOLE = 0xFFFFFFFF


def run(coroutine):
    async def bounded():
        return await asyncio.wait_for(coroutine, TEST_TIMEOUT_S)

    return asyncio.run(bounded())


@pytest.fixture(scope="module")
def samples():
    sim = simulate_session("walking", duration_s=20, rate_hz=200, sensors={"S1": "thigh_right"}, seed=1)
    return sim.recording.sensors[0]


def mark_offset(log, seconds, rate_hz=200.0):
    """Offset of the DATA frame holding the sample ``seconds`` into the log (the fault trigger)."""
    wanted, offset, before = round(seconds * rate_hz), 0, 0
    while offset < len(log):
        frame_len = int.from_bytes(log[offset + 4 : offset + 6], "little")
        if log[offset + 1] == osp.MessageType.DATA:
            n = log[offset + 6]
            if before + n > wanted:
                return offset
            before += n
        offset += frame_len
    return None


def logged_sensor(samples, **kwargs):
    sensor = OspSensor(ADDRESS, serial="OSP-TEST-1", **kwargs)
    return sensor, sensor.record_session(samples)


class Host:
    """A bare OSP host: one bleak client, its indications, chunks and live frames."""

    def __init__(self, address):
        self.client = BleakClient(address, self._on_disconnect, backend=VirtualBleakClient)
        self.control = asyncio.Queue()
        self.chunks = []
        self.frames = []
        self.link_lost = asyncio.Event()
        self.tag = 0

    def _on_disconnect(self, client):
        self.link_lost.set()

    async def connect(self):
        self.link_lost = asyncio.Event()
        await self.client.connect(timeout=WAIT_S)
        await self.client.start_notify(osp.CONTROL_POINT_UUID, lambda c, d: self.control.put_nowait(bytes(d)))
        await self.client.start_notify(osp.LOG_DATA_UUID, lambda c, d: self.chunks.append(bytes(d)))
        await self.client.start_notify(osp.DATA_UUID, lambda c, d: self.frames.append(bytes(d)))
        return self

    async def descriptor(self):
        return osp.decode_descriptor(await self.client.read_gatt_char(osp.DESCRIPTOR_UUID))

    async def command(self, cmd_class, *args, **kwargs):
        self.tag = (self.tag + 1) % 256
        cmd = cmd_class(*args, tag=self.tag, **kwargs)
        await self.client.write_gatt_char(osp.CONTROL_POINT_UUID, osp.encode_command(cmd), response=True)
        while True:
            message = await asyncio.wait_for(self.control.get(), WAIT_S)
            if message[1] == osp.MessageType.RESPONSE:
                response = osp.decode_response(message)
                if (response.opcode, response.tag) == (cmd.OPCODE, cmd.tag):
                    return response

    async def read(self, assembler, session_id, offset=None, length=WHOLE):
        """READ from the assembler's verified length; the END, or None when the link went down first."""
        self.chunks.clear()
        start = assembler.length if offset is None else offset
        accepted = await self.command(osp.ReadCommand, session_id, start, length)
        assert accepted.ok, accepted
        lost = asyncio.ensure_future(self.link_lost.wait())
        try:
            while True:
                got = asyncio.ensure_future(self.control.get())
                done, _ = await asyncio.wait({got, lost}, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
                if got not in done:
                    got.cancel()
                    assert lost in done, "neither END nor a link drop"
                    end = None
                    break
                if got.result()[1] == osp.MessageType.END:
                    end = osp.decode_end(got.result())
                    break
        finally:
            lost.cancel()
        for chunk in self.chunks:
            assembler.add(chunk)
        return end

    async def reconnect(self):
        await asyncio.wait_for(self.link_lost.wait(), WAIT_S)
        return await self.connect()


async def sync(host, session_id, assembler, max_attempts=10):
    """LIST, then READ from the verified length until the log is verified whole (reconnecting on drops)."""
    for _ in range(max_attempts):
        listed = (await host.command(osp.ListCommand, 0)).body.entries
        assert session_id in [e.session_id for e in listed]
        end = await host.read(assembler, session_id)
        if end is not None and assembler.verify(end).complete:
            return end
        if end is None:
            await host.reconnect()
    raise AssertionError("the log did not sync")


# --- descriptor, LIST, READ ------------------------------------------------------------------------


def test_descriptor_list_and_whole_log_read_are_byte_identical(samples):
    sensor, sid = logged_sensor(samples, boot_id=0x1A2B3C4D)
    expected = sensor.expected_log(sid)

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor)
            host = await Host(ADDRESS).connect()
            descriptor = await host.descriptor()
            listed = await host.command(osp.ListCommand, 0)
            beyond = await host.command(osp.ListCommand, 5)
            assembler = osp.LogAssembler(sid)
            end = await host.read(assembler, sid)
            partial = osp.LogAssembler(sid)
            middle = await host.read(partial, sid, offset=0, length=1000)
            out_of_range = await host.command(osp.ReadCommand, sid, len(expected) + 1, WHOLE)
            unknown = await host.command(osp.ReadCommand, 99, 0, WHOLE)
            bad_version = await host_write_raw(host, b"\x02\x10\x07\x00\x00")
            unknown_opcode = await host_write_raw(host, b"\x01\x30\x08")
            bad_length = await host_write_raw(host, b"\x01\x10\x09\x00")
            await host.client.disconnect()
            return (
                descriptor,
                listed,
                beyond,
                assembler,
                end,
                partial,
                middle,
                (out_of_range, unknown, bad_version, unknown_opcode, bad_length),
            )

    descriptor, listed, beyond, assembler, end, partial, middle, errors = run(scenario())
    assert (descriptor.serial, descriptor.boot_id, descriptor.session_id) == ("OSP-TEST-1", 0x1A2B3C4D, 0)
    assert (descriptor.rate_mhz, descriptor.channel_mask, descriptor.acc_range_g) == (200_000, 3, 16)
    (entry,) = listed.body.entries
    assert (listed.body.total, entry.session_id, entry.state, entry.boot_id) == (1, sid, 0, 0x1A2B3C4D)
    assert (entry.length, entry.log_crc, entry.n_samples) == (len(expected), osp.crc32(expected), 4000)
    assert (entry.first_index, entry.first_time_us) == (0, int(samples.device_time[0]))
    assert beyond.ok and beyond.body.entries == () and beyond.body.total == 1
    assert end.status == Status.OK and (end.offset, end.length) == (0, len(expected))
    assert (end.log_length, end.log_crc, end.range_crc, end.state) == (
        len(expected),
        osp.crc32(expected),
        osp.crc32(expected),
        SessionState.CLOSED,
    )
    assert assembler.verify(end).complete and assembler.take() == expected
    assert assembler.stats["chunks"] == -(-len(expected) // osp.max_chunk_data(247))
    assert (middle.length, middle.range_crc, partial.length) == (1000, osp.crc32(expected[:1000]), 1000)
    assert [e.status for e in errors] == [
        Status.OUT_OF_RANGE,
        Status.UNKNOWN_SESSION,
        Status.UNSUPPORTED_VERSION,
        Status.UNKNOWN_OPCODE,
        Status.INVALID_LENGTH,
    ]
    decoded = osp.decode_log(expected)
    assert decoded.info["last_flag"] and decoded.info["lost_samples"] == 0
    assert np.array_equal(decoded.sample_index, samples.sample_index)
    assert np.array_equal(decoded.time_ns // 1000, samples.device_time)
    assert np.abs(decoded.acc - samples.acc).max() <= descriptor.acc_scale / 2 + 1e-9


async def host_write_raw(host, data):
    """Write raw bytes (malformed commands) and return the RESPONSE they get."""
    await host.client.write_gatt_char(osp.CONTROL_POINT_UUID, data, response=True)
    return osp.decode_response(await asyncio.wait_for(host.control.get(), WAIT_S))


def test_read_resumes_by_offset_after_link_drops(samples):
    # One drop after the 60th notification (air trigger) and one when the download passes 12 s of
    # samples (the scenario's link-drop@ trigger): three READs, one verified log.
    sensor, sid = logged_sensor(samples, faults=[parse_fault("link-drop@12")])
    expected = sensor.expected_log(sid)
    mark = mark_offset(expected, 12.0)

    async def scenario():
        async with VirtualAir(seed=2) as air:
            await air.add(sensor, FaultPlan(link_drop_after=(60,)))
            host = await Host(ADDRESS).connect()
            assembler = osp.LogAssembler(sid)
            first = await host.read(assembler, sid)
            after_first = assembler.length
            await host.reconnect()
            second = await host.read(assembler, sid)
            after_second = assembler.length
            await host.reconnect()
            end = await host.read(assembler, sid)
            return first, after_first, second, after_second, end, assembler

    first, after_first, second, after_second, end, assembler = run(scenario())
    chunk = osp.max_chunk_data(247)
    assert first is None and 0 < after_first <= 60 * chunk
    assert second is None and mark < after_second <= mark + chunk  # the drop came right after the mark
    assert end.status == Status.OK and end.offset == after_second
    assert assembler.verify(end).complete and assembler.take() == expected
    assert (sensor.stats.link_drops, sensor.device_stats.reads_cut, sensor.device_stats.reads_completed) == (
        2,
        2,
        1,
    )
    assert sensor.device_stats.faults_fired == ["link-drop@12"]


def test_abort_ends_a_running_read_with_end_aborted(samples):
    sensor, sid = logged_sensor(samples)
    expected = sensor.expected_log(sid)

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor)
            host = await Host(ADDRESS).connect()
            read = osp.ReadCommand(sid, 0, WHOLE, tag=40)
            await host.client.write_gatt_char(osp.CONTROL_POINT_UUID, osp.encode_command(read), response=True)
            accepted = osp.decode_response(await asyncio.wait_for(host.control.get(), WAIT_S))
            abort = osp.AbortCommand(tag=41)
            await host.client.write_gatt_char(
                osp.CONTROL_POINT_UUID, osp.encode_command(abort), response=True
            )
            messages = [await asyncio.wait_for(host.control.get(), WAIT_S) for _ in range(2)]
            idle_abort = await host.command(osp.AbortCommand)
            return accepted, messages, list(host.chunks), idle_abort

    accepted, (first, second), chunks, idle_abort = run(scenario())
    assert accepted.ok and accepted.body.length == len(expected)
    end, response = osp.decode_end(first), osp.decode_response(second)  # END comes before ABORT's answer
    assert (end.tag, response.opcode, response.tag, response.status) == (40, 0x12, 41, Status.OK)
    assembler = osp.LogAssembler(sid)
    for chunk in chunks:
        assembler.add(chunk)
    # Timing decides whether ABORT caught the READ running; either way END tells exactly what was sent.
    assert end.status in (Status.ABORTED, Status.OK) and (end.status == Status.OK) == (
        end.length == len(expected)
    )
    assert assembler.length == end.length and end.range_crc == osp.crc32(expected[: end.length])
    assert idle_abort.ok


# --- COMMIT ------------------------------------------------------------------------------------------


def test_commit_erases_only_on_matching_length_and_crc(samples):
    sensor, sid = logged_sensor(samples)
    expected = sensor.expected_log(sid)
    crc = osp.crc32(expected)

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor)
            host = await Host(ADDRESS).connect()
            answers = [
                await host.command(osp.CommitCommand, sid, len(expected), crc ^ 1),
                await host.command(osp.CommitCommand, sid, len(expected) - 1, crc),
            ]
            still = (await host.command(osp.ListCommand, 0)).body.total
            answers.append(await host.command(osp.CommitCommand, sid, len(expected), crc))
            after = (await host.command(osp.ListCommand, 0)).body.total
            answers.append(await host.command(osp.CommitCommand, sid, len(expected), crc))
            return [a.status for a in answers], still, after

    statuses, still, after = run(scenario())
    assert statuses == [Status.CRC_MISMATCH, Status.CRC_MISMATCH, Status.OK, Status.UNKNOWN_SESSION]
    assert (still, after, sensor.sessions, sensor.device_stats.commits) == (1, 0, (), 1)
    assert sensor.expected_log(sid) == expected  # what was erased stays known for verification


# --- live streaming -----------------------------------------------------------------------------------


def test_live_stream_gaps_equal_the_injected_losses_and_the_log_fills_them(samples):
    sensor, _ = logged_sensor(samples, time_scale=10.0)
    sensor.set_stream_source(samples)

    async def scenario():
        async with VirtualAir(seed=4) as air:
            await air.add(sensor, FaultPlan(notification_loss=0.02))
            host = await Host(ADDRESS).connect()
            log = await host.command(osp.StartLogCommand, 0, 0x03)
            busy_config = await host.command(osp.StartStreamCommand, 0, 0x01)  # not what is logged
            stream = await host.command(osp.StartStreamCommand, 0, 0x03)
            twice = await host.command(osp.StartStreamCommand, 0, 0x03)
            while len(host.frames) < 300:
                await asyncio.sleep(0.05)
            stopped = await host.command(osp.StopStreamCommand)
            again = await host.command(osp.StopStreamCommand)
            log_stopped = await host.command(osp.StopLogCommand)
            sid = log.body.session_id
            assembler = osp.LogAssembler(sid)
            await sync(host, sid, assembler)
            data_handle = sensor.characteristic(osp.DATA_UUID).handle
            dropped = [d.value for d in sensor.stats.dropped if d.handle == data_handle]
            return (
                log,
                stream,
                (busy_config.status, twice.status),
                stopped,
                again,
                log_stopped,
                list(host.frames),
                dropped,
                assembler,
            )

    log, stream, busy, stopped, again, log_stopped, received, dropped, assembler = run(scenario())
    assert log.ok and stream.ok and stream.body.max_samples == 17
    assert busy == (Status.BUSY, Status.INVALID_STATE)
    assert stopped.ok and again.status == Status.INVALID_STATE and log_stopped.ok
    frames = [osp.decode_data_frame(f) for f in received]
    lost = [osp.decode_data_frame(f) for f in dropped]
    assert lost, "the seeded 2% loss dropped no live frame"
    seqs = [f.seq for f in frames]
    total = sensor.device_stats.frames_streamed
    # The sequence gaps the host sees are exactly the frames the air dropped.
    assert sorted(seqs + [f.seq for f in lost]) == list(range(total))
    assert seqs == sorted(seqs)
    # Sample-index jumps are the samples of the frames lost on the air, plus device drops (GAP_BEFORE).
    by_seq = {f.seq: f for f in lost}
    device_dropped = 0
    for a, b in itertools.pairwise(frames):
        in_air = sum(len(by_seq[s].samples) for s in range(a.seq + 1, b.seq))
        jump = b.first_index - (a.first_index + len(a.samples))
        if b.flags & FrameFlag.GAP_BEFORE:
            device_dropped += jump - in_air
        else:
            assert jump == in_air
    assert device_dropped == sensor.device_stats.stream_samples_dropped
    assert all(f.session_id == log.body.session_id for f in frames)
    last = max(frames + lost, key=lambda f: f.seq)
    assert last.flags & FrameFlag.LAST
    # The log holds every sample the live stream missed, with the same index and values.
    decoded = osp.decode_log(assembler.take())
    assert decoded.info["lost_samples"] == 0 and decoded.info["last_flag"]
    assert decoded.sample_index[-1] - decoded.sample_index[0] + 1 == log_stopped.body.n_samples
    position = {int(i): k for k, i in enumerate(decoded.sample_index)}
    scale = decoded.info["descriptor"]["acc_scale"]
    for f in lost:
        k = position[f.first_index]
        assert np.allclose(decoded.acc[k : k + len(f.samples)], f.samples[:, :3] * scale)


def test_device_tx_overflow_drops_frames_and_flags_the_next_one(samples):
    sensor, _ = logged_sensor(samples, time_scale=10.0, faults=[parse_fault("overflow@0")])

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor)
            host = await Host(ADDRESS).connect()
            await host.command(osp.StartStreamCommand, 0, 0x03)
            while sensor.device_stats.stream_frames_dropped == 0 or len(host.frames) < 40:
                await asyncio.sleep(0.05)
            await host.command(osp.StopStreamCommand)
            return [osp.decode_data_frame(f) for f in host.frames]

    frames = run(scenario())
    assert [f.seq for f in frames] == list(range(len(frames)))  # nothing lost on the air
    flagged = [b for b in frames if b.flags & FrameFlag.GAP_BEFORE]
    jumps = sum(b.first_index - a.first_index - len(a.samples) for a, b in itertools.pairwise(frames))
    assert flagged and jumps == sensor.device_stats.stream_samples_dropped > 0
    assert sensor.device_stats.faults_fired == ["overflow@0"]


# --- clock sync ---------------------------------------------------------------------------------------


async def clock_samples(host, air, count):
    out = []
    for _ in range(count):
        t1 = int(air.time * 1e6)  # the host clock of this test: air time [µs]
        reply = (await host.command(osp.ClockSyncCommand, t1)).body
        out.append((osp.ClockSample(t1, reply.t2_us, reply.t3_us, int(air.time * 1e6)), reply.boot_id))
    return out


def test_clock_sync_recovers_offset_and_drift_within_the_spec_bound():
    offset_s, drift_ppm = 12.5, 300.0
    sensor = OspSensor(ADDRESS, serial="OSP-CLOCK", clock_offset_s=offset_s, clock_drift_ppm=drift_ppm)

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor)
            host = await Host(ADDRESS).connect()
            first = await clock_samples(host, air, 8)
            await asyncio.sleep(1.5)
            second = await clock_samples(host, air, 8)
            return first, second, (await host.descriptor()).boot_id

    first, second, boot_id = run(scenario())
    d = drift_ppm * 1e-6

    def true_offset(host_us):  # device = offset + (1 + d) · air time, so device − host = offset + d · host
        return offset_s * 1e6 + d * host_us

    for sample, reply_boot in first + second:
        assert reply_boot == boot_id and sample.t3_us >= sample.t2_us and sample.delay_us >= 0
        slack = 3 + d * (sample.t4_us - sample.t1_us)  # µs rounding, and the drift over the round trip
        assert abs(sample.offset_us - true_offset(sample.host_mid_us)) <= sample.delay_us / 2 + slack
    a = osp.best_sample([s for s, _ in first])
    b = osp.best_sample([s for s, _ in second])
    span = b.host_mid_us - a.host_mid_us
    drift_bound_ppm = ((a.delay_us + b.delay_us) / 2 + 6) / span * 1e6
    assert abs((b.offset_us - a.offset_us) / span * 1e6 - drift_ppm) <= drift_bound_ppm


# --- reboot -------------------------------------------------------------------------------------------


def test_reboot_mid_read_changes_boot_keeps_the_session_and_the_read_resumes(samples):
    sensor, sid = logged_sensor(samples, faults=[parse_fault("reboot@8")])
    expected = sensor.expected_log(sid)
    old_boot = sensor.boot_id

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor, FaultPlan(reboot_downtime=0.2))
            host = await Host(ADDRESS).connect()
            before = await clock_samples(host, air, 1)
            assembler = osp.LogAssembler(sid)
            cut = await host.read(assembler, sid)
            held = assembler.length
            await host.reconnect()
            descriptor = await host.descriptor()
            listed = (await host.command(osp.ListCommand, 0)).body.entries
            after = await clock_samples(host, air, 1)
            end = await host.read(assembler, sid)
            return cut, held, descriptor, listed, before, after, end, assembler

    cut, held, descriptor, listed, before, after, end, assembler = run(scenario())
    mark = mark_offset(expected, 8.0)
    assert cut is None and mark < held <= mark + osp.max_chunk_data(247)
    assert descriptor.boot_id == sensor.boot_id != old_boot and before[0][1] == old_boot
    (entry,) = listed
    assert (entry.session_id, entry.state, entry.boot_id) == (sid, SessionState.CLOSED, old_boot)
    assert (entry.length, entry.log_crc) == (len(expected), osp.crc32(expected))
    assert after[0][1] == sensor.boot_id and after[0][0].t2_us < before[0][0].t2_us  # the clock restarted
    assert end.status == Status.OK and end.offset == held
    assert assembler.verify(end).complete and assembler.take() == expected
    assert (sensor.stats.reboots, sensor.device_stats.reboots, sensor.device_stats.reads_cut) == (1, 1, 1)


# --- logging on the air -------------------------------------------------------------------------------


def test_logging_fills_storage_then_closes_and_a_reboot_interrupts_an_open_log(samples):
    capacity = 80 + 30 * 240
    sensor = OspSensor(ADDRESS, serial="OSP-LOG", time_scale=20.0, log_capacity_bytes=capacity)
    sensor.set_stream_source(samples)

    async def scenario():
        async with VirtualAir() as air:
            await air.add(sensor, FaultPlan(reboot_downtime=0.1))
            host = await Host(ADDRESS).connect()
            started = await host.command(osp.StartLogCommand, 0, 0x03, 20, 2000)
            sid = started.body.session_id
            described = await host.descriptor()
            open_commit = await host.command(osp.CommitCommand, sid, 0, 0)
            while sensor.sessions[0].state == SessionState.OPEN:
                await asyncio.sleep(0.02)
            stop = await host.command(osp.StopLogCommand)
            full = await host.command(osp.StartLogCommand, 0, 0x03)
            assembler = osp.LogAssembler(sid)
            end = await sync(host, sid, assembler)
            commit = await host.command(osp.CommitCommand, sid, end.log_length, end.log_crc)
            second = await host.command(osp.StartLogCommand, 0, 0x01)
            while sensor.sessions[0].n_samples < 50:
                await asyncio.sleep(0.02)
            await sensor.reboot(downtime=0.1)
            await host.reconnect()
            listed = (await host.command(osp.ListCommand, 0)).body.entries
            return started, described, open_commit, stop, full, assembler, commit, second, listed

    started, described, open_commit, stop, full, assembler, commit, second, listed = run(scenario())
    assert started.ok and (started.body.acc_range_g, started.body.max_samples) == (16, 17)  # ±20 g → ±16 g
    assert described.session_id == started.body.session_id
    assert open_commit.status == Status.SESSION_OPEN
    assert stop.status == Status.INVALID_STATE and full.status == Status.STORAGE_FULL
    log = assembler.take()
    decoded = osp.decode_log(log)
    assert decoded.info["last_flag"] and decoded.info["lost_samples"] == 0 and len(log) <= capacity
    assert sensor.device_stats.storage_full == 1 and commit.ok
    assert second.ok and second.body.channel_mask == 0x01
    (entry,) = listed
    assert (entry.session_id, entry.state) == (second.body.session_id, SessionState.INTERRUPTED)
    interrupted = osp.decode_log(sensor.expected_log(entry.session_id))
    assert not interrupted.info["last_flag"] and len(sensor.expected_log(entry.session_id)) == entry.length


# --- faults and scenarios -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("link-drop@30", "link-drop", 30.0),
        (" reboot@2.5 ", "reboot", 2.5),
        ("silent@0", "silent", 0.0),
        ("overflow@4", "overflow", 4.0),
        ("loss=0.02", "loss", 0.02),
        ("drift-ppm=200", "drift-ppm", 200.0),
    ],
)
def test_parse_fault_accepts_the_grammar(text, kind, value):
    fault = parse_fault(text)
    assert (fault.kind, fault.value) == (kind, value)
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("link-drop@", "SECONDS must be a number"),
        ("link-drop@-1", "SECONDS must be >= 0"),
        ("loss=1", r"FRACTION must be in \[0, 1\)"),
        ("loss=nan", "finite"),
        ("drift-ppm=-5", "X must be in"),
        ("reboot=3", "expected one of link-drop@SECONDS"),
        ("meteor@1", "expected one of"),
        ("", "expected one of"),
    ],
)
def test_parse_fault_rejects_bad_text_clearly(text, message):
    with pytest.raises(DataValidationError, match=message):
        parse_fault(text)


def test_scenario_syncs_with_faults_and_its_state_file_rebuilds_the_devices(tmp_path):
    state = tmp_path / "scenario.json"
    params = dict(n_sensors=2, minutes=0.2, faults=["link-drop@4", "loss=0.02", "drift-ppm=200"], seed=5)
    scenario = VirtualScenario(**params, state_file=state)

    async def first_process():
        async with scenario.start() as air:
            results = []
            for address in scenario.addresses:
                host = await Host(address).connect()
                assembler = osp.LogAssembler(1)
                end = await sync(host, 1, assembler)
                results.append((assembler.take(), end))
                if address == scenario.addresses[0]:
                    assert (await host.command(osp.CommitCommand, 1, end.log_length, end.log_crc)).ok
                await host.client.disconnect()
            return results, [air.stats(a).link_drops for a in scenario.addresses]

    results, drops = run(first_process())
    for address, (log, _) in zip(scenario.addresses, results, strict=True):
        assert log == scenario.expected_log(address)
        assert scenario.sensor(address).device_stats.faults_fired == ["link-drop@4"]
    assert all(n >= 1 for n in drops)
    assert json.loads(state.read_text())["sensors"][scenario.addresses[0]]["committed"] == [1]
    drifts = [scenario.truth.sensors[s].clock_drift_ppm for s in scenario.sensor_ids]
    assert all(abs(x) <= 200 for x in drifts) and drifts[0] != drifts[1]
    for address, (log, _) in zip(scenario.addresses, results, strict=True):
        # The device clocks and the simulation's truth agree: each sample was taken when its device time
        # says (up to the simulated sampling jitter, clipped at a quarter period).
        device_s = scenario.sensor(address).true_time_of(osp.decode_log(log).time_ns / 1000.0)
        true_s = scenario.origin_monotonic + scenario.true_sample_times_s(address)
        assert np.abs(device_s - true_s).max() <= 0.25 / 200 + 1e-6
        assert abs(np.mean(device_s - true_s)) < 5e-6

    again = VirtualScenario(**params, state_file=state)  # a new host process would do exactly this
    assert again.addresses == scenario.addresses and again.names == ["imurehab-OSP-1", "imurehab-OSP-2"]
    assert [again.expected_log(a) for a in again.addresses] == [log for log, _ in results]
    first, second = again.sensors
    assert first.sessions == () and second.sessions == scenario.sensors[1].sessions
    assert second.fired_faults == (parse_fault("link-drop@4"),)
    with pytest.raises(DataValidationError, match="another virtual scenario"):
        VirtualScenario(**{**params, "seed": 6}, state_file=state)


CRASHER = textwrap.dedent(
    """
    import asyncio, sys
    from bleak import BleakClient
    from imurehab.protocols import osp
    from imurehab.virtual import VirtualBleakClient, VirtualScenario

    async def main(state):
        scenario = VirtualScenario(n_sensors=1, minutes=0.2, seed=9, state_file=state)
        async with scenario.start():
            address = scenario.addresses[0]
            responses = asyncio.Queue()
            async with BleakClient(address, backend=VirtualBleakClient) as client:
                await client.start_notify(osp.CONTROL_POINT_UUID, lambda c, d: responses.put_nowait(bytes(d)))
                entry = scenario.sensor(address).sessions[0]
                cmd = osp.CommitCommand(1, entry.length, entry.log_crc, tag=1)
                await client.write_gatt_char(osp.CONTROL_POINT_UUID, osp.encode_command(cmd), response=True)
                assert osp.decode_response(await responses.get()).ok
                print("committed", scenario.sensor(address).boot_id, flush=True)
                await asyncio.sleep(80)  # killed here

    asyncio.run(asyncio.wait_for(main(sys.argv[1]), 90))  # never hangs the test: fails instead
    """
)


def test_a_sigkilled_process_leaves_a_state_the_next_one_rebuilds(tmp_path):
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("committed"), proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=WAIT_S)
        proc.stdout.close()
        proc.stderr.close()
    reborn = VirtualScenario(n_sensors=1, minutes=0.2, seed=9, state_file=state)
    (sensor,) = reborn.sensors
    assert sensor.sessions == () and line.split()[1] == str(sensor.boot_id)
    assert len(reborn.expected_log(reborn.addresses[0])) > 0
