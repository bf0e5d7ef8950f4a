"""Log sync of virtual OSP sensors through the real bleak API: zero loss under faults, resume, clocks.

Every scenario runs in its own event loop (``asyncio.run``) under an overall timeout. Nothing asserts radio
timing: only bytes, sample indices, errors and the clock error against the simulator's truth.

Crash-resume by hand (what ``test_a_killed_sync_resumes_with_the_same_out`` automates)::

    python tests/integration/test_ble_sync.py OUT STATE   # kill -9 it mid-download
    python tests/integration/test_ble_sync.py OUT STATE   # resumes from OUT/_journal and completes
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imurehab.ble import RetryPolicy, discover, sync
from imurehab.ble.journal import LogJournal, SessionKey
from imurehab.ble.layout import JournalRoot
from imurehab.errors import BleError, JournalError, SyncIncompleteError
from imurehab.protocols.osp import CONTROL_POINT_UUID, LOG_DATA_UUID
from imurehab.store import read_recording, read_table
from imurehab.virtual import VirtualBleakClient, VirtualBleakScanner, VirtualPeripheral, VirtualScenario

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BACKENDS = {"client_backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner}
# Short timeouts so that the bad cases end quickly; the defaults are for real radios.
FAST = RetryPolicy(
    scan_timeout_s=2.0,
    connect_attempts=3,
    connect_timeout_s=2.0,
    backoff_initial_s=0.05,
    response_timeout_s=2.0,
    idle_timeout_s=2.0,
    stall_timeout_s=4.0,
)
KILL_PARAMS = {"n_sensors": 4, "minutes": 2.0, "faults": ["link-drop@20", "link-drop@70"], "seed": 11}


def run(coroutine, timeout_s=120.0):
    async def bounded():
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


def sensor_report(report, address):
    return next(s for s in report.sensors if s.address == address)


def journal_log(out, serial, session_id=1):
    return (Path(out) / "_journal" / serial / f"session-{session_id}" / "log.bin").read_bytes()


def assert_complete(scenario, out, report):
    """0 samples lost, 0 duplicated, journal byte-identical to the device's log, indices contiguous."""
    rows = read_table(out, "samples").collect()
    for address, sid in zip(scenario.addresses, scenario.sensor_ids, strict=True):
        s = sensor_report(report, address)
        assert s.complete, s.error
        assert s.crc_verified and [r.verified for r in s.sessions] == [True]
        assert journal_log(out, s.serial) == scenario.expected_log(address)
        index = rows.filter(rows["sensor"] == s.sensor_id)["sample_index"].to_numpy()
        expected = scenario.recording[sid].sample_index
        assert len(index) == len(np.unique(index)) == len(expected)  # nothing duplicated
        assert np.array_equal(np.sort(index), expected)  # nothing lost
        assert np.all(np.diff(np.sort(index)) == 1)
        assert (s.samples, s.gaps, s.lost_samples) == (len(expected), 0, 0)


def alignment_error_us(scenario, out, report):
    """Largest difference between two sensors' UTC errors against the truth, over all samples [µs]."""
    to_utc_s = time.time() - time.monotonic()
    rows = read_table(out, "samples").collect()
    errors = []
    for address, sid in zip(scenario.addresses, scenario.sensor_ids, strict=True):
        s = sensor_report(report, address)
        d = rows.filter(rows["sensor"] == s.sensor_id).sort("sample_index")
        truth_us = (scenario.true_sample_times_s(address) + scenario.origin_monotonic + to_utc_s) * 1e6
        position = np.searchsorted(scenario.recording[sid].sample_index, d["sample_index"].to_numpy())
        error = d["time"].cast(int).to_numpy() - truth_us[position]
        assert np.all(np.abs(error - np.median(error)) <= s.clock_uncertainty_us)
        # Errors are lines in time: compare them at the first and last sample.
        errors.append(error[[0, -1]])
    return float(np.max(np.ptp(np.array(errors), axis=0)))


# --- the happy path under faults -----------------------------------------------------------------


def test_sync_under_link_drops_and_loss_is_complete_and_byte_identical(tmp_path):
    scenario = VirtualScenario(
        n_sensors=4, minutes=0.5, seed=2, faults=["link-drop@5", "link-drop@12", "link-drop@21", "loss=0.02"]
    )
    events = []

    async def main():
        async with scenario.start() as air:
            report = await sync(scenario.addresses, tmp_path, progress=events.append, **BACKENDS)
            return report, {a: air.stats(a) for a in scenario.addresses}

    report, stats = run(main())
    assert_complete(scenario, tmp_path, report)
    for address in scenario.addresses:
        s = sensor_report(report, address)
        assert s.reconnects == stats[address].link_drops == 3
        assert stats[address].notifications_dropped > 0  # CHUNKs were lost and read again
    assert report.complete and report.paths
    phases = [e.phase for e in events if e.address == scenario.addresses[0]]
    assert phases[0] == "connecting" and phases[-2:] == ["writing", "done"] and "reconnecting" in phases
    last = [e for e in events if e.address == scenario.addresses[0] and e.phase == "downloaded"][-1]
    assert last.bytes_done == last.bytes_total == len(scenario.expected_log(scenario.addresses[0]))
    sessions = read_table(tmp_path, "sessions").collect()
    assert sessions.height == 1 and len(sessions["sensors"][0]) == 4


def test_sync_survives_a_device_reboot_and_a_silent_link(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.5, seed=4, faults=["reboot@8", "silent@16"])

    async def main():
        async with scenario.start():
            return await sync(scenario.addresses, tmp_path, **BACKENDS)

    report = run(main())
    assert_complete(scenario, tmp_path, report)
    for address in scenario.addresses:
        s = sensor_report(report, address)
        assert s.reconnects == 2
        assert scenario.sensor(address).device_stats.reboots == 1
        # The log's boot ended early in the download: its clock was measured only at the first connect,
        # so no drift is known for it and the reported uncertainty says so.
        (boot,) = s.clocks
        assert boot == s.sessions[0].boot_id != scenario.sensor(address).boot_id
        assert s.clock_uncertainty_us > 1_000


def test_multi_sensor_alignment_after_sync_is_below_1_ms(tmp_path):
    scenario = VirtualScenario(n_sensors=4, minutes=0.5, seed=6, faults=["drift-ppm=200"])
    drifts = [scenario.truth.sensors[s].clock_drift_ppm for s in scenario.sensor_ids]
    assert max(abs(d) for d in drifts) > 100  # the clocks really drift apart

    async def main():
        async with scenario.start():
            return await sync(scenario.addresses, tmp_path, **BACKENDS)

    report = run(main())
    assert report.complete
    for address, sid in zip(scenario.addresses, scenario.sensor_ids, strict=True):
        (model,) = sensor_report(report, address).clocks.values()
        assert model.drift_ppm == pytest.approx(scenario.truth.sensors[sid].clock_drift_ppm, abs=30)
    error = alignment_error_us(scenario, tmp_path, report)
    print(f"multi-sensor alignment error: {error:.0f} us")
    assert error < 1_000
    # The fitted clocks and their uncertainty are stored with the session and read back as they were.
    rec = read_recording(tmp_path, subject=report.subject, session=report.session)
    for address in scenario.addresses:
        s = sensor_report(report, address)
        info = rec[s.sensor_id].info
        assert (info.serial, info.log_verified) == (s.serial, True)
        assert info.clock_uncertainty_us == s.clock_uncertainty_us
        assert {c.boot_id: c for c in info.clocks} == s.clocks
        # device time → UTC through the stored model gives the stored sample times
        (clock,) = info.clocks
        utc = clock.to_utc_us(rec[s.sensor_id].device_time)
        assert np.max(np.abs(utc - rec[s.sensor_id].time_us)) <= 0.5


def test_erase_commits_verified_sessions_and_a_second_sync_has_nothing_to_do(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=8)

    async def main():
        async with scenario.start():
            first = await sync(scenario.addresses, tmp_path, erase=True, session="v1", **BACKENDS)
            left = [len(scenario.sensor(a).sessions) for a in scenario.addresses]
            second = await sync(scenario.addresses, tmp_path, session="v1", **BACKENDS)
            return first, left, second

    first, left, second = run(main())
    assert_complete(scenario, tmp_path, first)
    assert all(r.committed for s in first.sensors for r in s.sessions)
    assert left == [0, 0]
    assert second.complete and all(s.sessions == [] and s.received_bytes == 0 for s in second.sensors)
    for s in first.sensors:
        verified = json.loads((tmp_path / "_journal" / s.serial / "session-1" / "verified.json").read_text())
        assert verified["committed"] is True and verified["length"] == s.sessions[0].length


def test_discover_names_the_osp_sensors(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=9)

    async def main():
        async with scenario.start():
            return await discover(scanner_backend=VirtualBleakScanner, timeout=1.0)

    found = {d.address: d for d in run(main())}
    for address, name in zip(scenario.addresses, scenario.names, strict=True):
        assert (found[address].family, found[address].name) == ("osp", name)
        assert found[address].rssi is not None


# --- host crash and restart -----------------------------------------------------------------------


def _child(out: str, state: str, params: str | None = None) -> None:
    """Run the virtual sensors and a sync in this process (the parent kills it mid-download)."""
    scenario = VirtualScenario(**(json.loads(params) if params else KILL_PARAMS), state_file=state)

    def progress(event):
        print(json.dumps(event.__dict__), flush=True)
        if event.phase == "reading":
            time.sleep(0.002)  # gives a killer time to land mid-download

    async def main():
        async with scenario.start():
            report = await sync(scenario.addresses, out, progress=progress, **BACKENDS)
        print(json.dumps({"phase": "finished", "complete": report.complete}), flush=True)

    asyncio.run(main())


def test_a_killed_sync_resumes_with_the_same_out(tmp_path):
    out, state = tmp_path / "out", tmp_path / "scenario.json"
    child = subprocess.Popen(
        [sys.executable, __file__, str(out), str(state)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed_at = None
    try:
        for line in child.stdout:
            event = json.loads(line)
            assert event["phase"] != "finished", "the sync ended before it could be killed"
            if event["phase"] == "reading" and event["bytes_done"] >= 0.3 * max(event["bytes_total"], 1):
                child.kill()  # SIGKILL: no cleanup, no flush
                killed_at = event
                break
    finally:
        child.kill()
        _, err = child.communicate(timeout=60)
    assert killed_at is not None, err
    assert child.returncode == -9

    scenario = VirtualScenario(**KILL_PARAMS, state_file=state)
    partial = 0
    for address in scenario.addresses:
        folder = out / "_journal" / scenario.sensor(address).serial / "session-1"
        if not folder.exists():
            continue
        meta = json.loads((folder / "meta.json").read_text())
        key = SessionKey(meta["serial"], 1, meta["boot_id"], meta["first_time_us"])
        j = LogJournal.open(folder, key, study=(meta["subject"], meta["session"]))
        assert j.read_log() == scenario.expected_log(address)[: j.length]  # a verified prefix
        partial += j.verified is None
        j.close()
    assert partial > 0  # the kill landed mid-download

    async def resume():
        async with scenario.start():
            return await sync(scenario.addresses, out, **BACKENDS)

    report = run(resume())
    assert_complete(scenario, out, report)
    total = sum(len(scenario.expected_log(a)) for a in scenario.addresses)
    assert sum(s.received_bytes for s in report.sensors) < total  # resumed, not started over
    assert len(list((out / "samples").rglob("*.parquet"))) == 1  # same study partition as the killed run


# --- bad cases: one clear error each, and what arrived is kept ------------------------------------


def test_unknown_devices_are_reported_and_the_others_complete(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=10)
    ghost, kettle = "F0:00:00:00:00:99", "F0:00:00:00:00:98"

    async def main():
        async with scenario.start() as air:
            await air.add(VirtualPeripheral(kettle, "Kettle"))  # advertises, but speaks no OSP
            return await sync([*scenario.addresses, ghost, kettle], tmp_path, policy=FAST, **BACKENDS)

    report = run(main())
    s = sensor_report(report, ghost)
    assert isinstance(s.error, BleError) and s.error.reason == "not-found"
    assert str(s.error) == f"{ghost}: no such device is advertising (not-found)"
    other = sensor_report(report, kettle).error
    assert (
        isinstance(other, BleError)
        and other.reason == "unsupported"
        and "no such characteristic" in str(other)
    )
    assert all(sensor_report(report, a).complete for a in scenario.addresses)
    with pytest.raises(SyncIncompleteError, match=ghost):
        report.raise_for_incomplete()


def test_a_device_that_stops_answering_keeps_what_arrived(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.5, seed=12)
    mute = scenario.addresses[0]

    async def main():
        async with scenario.start() as air:
            sensor, gone = scenario.sensor(mute), []
            send = sensor.notify

            async def silenced(characteristic, value):  # its radio stops sending anything...
                return 0 if gone else await send(characteristic, value)

            def progress(event):  # ... a third of the way in, and then it is gone for good
                if event.address == mute and not gone and event.bytes_done > event.bytes_total / 3:
                    gone.append(air.spawn(sensor.reboot(downtime=600), name="gone"))

            sensor.notify = silenced
            return await sync(scenario.addresses, tmp_path, policy=FAST, progress=progress, **BACKENDS)

    report = run(main())
    s = sensor_report(report, mute)
    assert isinstance(s.error, BleError) and s.error.reason in ("unreachable", "stalled")
    assert not s.complete and not s.crc_verified
    kept = journal_log(tmp_path, s.serial)
    assert 0 < len(kept) < len(scenario.expected_log(mute))
    assert kept == scenario.expected_log(mute)[: len(kept)]
    rows = read_table(tmp_path, "samples").collect()
    index = rows.filter(rows["sensor"] == s.sensor_id)["sample_index"].to_numpy()
    assert len(index) == s.samples > 0 and np.array_equal(index, np.arange(len(index)))
    assert sensor_report(report, scenario.addresses[1]).complete

    # Back on the air later: a sync under other study ids completes the log into the partition it began in.
    again = VirtualScenario(n_sensors=2, minutes=0.5, seed=12)

    async def later():
        async with again.start():
            return await sync(again.addresses, tmp_path, session="later", **BACKENDS)

    second = run(later())
    assert_complete(again, tmp_path, second)
    assert {p.parent.name for p in second.paths} == {f"session={report.session}"}


def test_malformed_chunks_are_read_again_and_malformed_answers_are_one_clear_error(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.3, seed=13)
    noisy, garbled = scenario.addresses

    async def main():
        async with scenario.start():
            sensor = scenario.sensor(noisy)
            send, count = sensor.notify, [0]

            async def damaging(characteristic, value):
                count[0] += 1
                if characteristic == LOG_DATA_UUID and count[0] % 7 == 0:
                    value = value[:20] + bytes([value[20] ^ 0xFF]) + value[21:]  # a flipped byte
                return await send(characteristic, value)

            sensor.notify = damaging
            other = scenario.sensor(garbled)
            answer = other.indicate

            async def garbling(characteristic, value):
                if characteristic == CONTROL_POINT_UUID and value[1:3] == b"\x80\x18":
                    value = bytes([value[0], 0x80, 0x18, value[3], 0]) + b"\x00" * 3  # CLOCK_SYNC: wrong size
                return await answer(characteristic, value)

            other.indicate = garbling
            return await sync(scenario.addresses, tmp_path, policy=FAST, **BACKENDS)

    report = run(main())
    s = sensor_report(report, noisy)
    assert s.complete and s.rejected_chunks > 0
    assert journal_log(tmp_path, s.serial) == scenario.expected_log(noisy)
    bad = sensor_report(report, garbled)
    assert isinstance(bad.error, BleError) and bad.error.reason == "protocol"
    assert "CLOCK_SYNC: no valid response, only malformed ones" in str(bad.error)


@contextlib.contextmanager
def tiny_disk(path: Path, size: str):
    """A size-limited tmpfs at ``path`` (root only); None when it cannot be mounted here."""
    path.mkdir()
    mounted = (
        os.geteuid() == 0
        and (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
            )
        ).returncode
        == 0
    )
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_is_one_clear_error_and_the_next_sync_completes(tmp_path, monkeypatch):
    scenario = VirtualScenario(n_sensors=2, minutes=0.3, seed=14)
    with tiny_disk(tmp_path / "disk", "48k") as disk:
        out = (disk or tmp_path) / "out"
        if disk is None:  # no tmpfs to fill: the journal's writes fail after 40 kB instead
            real_write, written = os.write, [0]

            def full(fd, data):
                written[0] += len(data)
                if written[0] > 40_000:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real_write(fd, data)

            monkeypatch.setattr(os, "write", full)

        async def main():
            async with scenario.start():
                return await sync(scenario.addresses, out, **BACKENDS)

        report = run(main())
        errors = [s.error for s in report.sensors if s.error is not None]
        assert errors and all(isinstance(e, JournalError) and e.reason == "disk-full" for e in errors)
        assert "no space left" in str(errors[0])
        for address in scenario.addresses:
            serial = scenario.sensor(address).serial
            kept = journal_log(out, serial)
            assert kept == scenario.expected_log(address)[: len(kept)]
        # Space again: the next sync resumes and completes.
        if disk is None:
            monkeypatch.undo()
        else:
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        report = run(main())
        assert_complete(scenario, out, report)


def test_an_output_folder_of_another_session_is_refused(tmp_path):
    scenario = VirtualScenario(n_sensors=2, minutes=0.2, seed=15)

    async def main():
        async with scenario.start():
            return await sync(scenario.addresses, tmp_path, **BACKENDS)

    first = run(main())
    assert first.complete
    # The folder now claims to hold the log of another boot of the same sensor (its storage reset since).
    serial = sensor_report(first, scenario.addresses[0]).serial
    meta_path = tmp_path / "_journal" / serial / "session-1" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["boot_id"] ^= 0x5A5A5A5A
    meta_path.write_text(json.dumps(meta))
    before = journal_log(tmp_path, serial)
    report = run(main())
    s = sensor_report(report, scenario.addresses[0])
    assert isinstance(s.error, JournalError) and s.error.reason == "conflict"
    assert "belongs to another device log session" in str(s.error) and "boot_id" in str(s.error)
    assert journal_log(tmp_path, serial) == before  # untouched
    assert sensor_report(report, scenario.addresses[1]).complete


def test_a_folder_another_process_writes_to_is_refused(tmp_path):
    with JournalRoot(tmp_path).locked(), pytest.raises(JournalError, match="another imurehab process"):
        run(sync(["F0:00:00:00:00:01"], tmp_path, **BACKENDS))


# --- full size ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_full_size_sync_with_five_link_drops_and_a_host_kill(tmp_path):
    """4 sensors × 10 min × 200 Hz, 5 link drops, ±200 ppm clocks, a SIGKILL and a restart."""
    params = {
        "n_sensors": 4,
        "minutes": 10.0,
        "faults": [f"link-drop@{t}" for t in (60, 150, 260, 380, 520)] + ["drift-ppm=200"],
        "seed": 21,
    }
    out, state = tmp_path / "out", tmp_path / "scenario.json"
    child = subprocess.Popen(
        [sys.executable, __file__, str(out), str(state), json.dumps(params)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in child.stdout:
            event = json.loads(line)
            if event["phase"] == "reading" and event["bytes_done"] >= 0.5 * max(event["bytes_total"], 1):
                break
    finally:
        child.kill()
        child.communicate(timeout=60)
    scenario = VirtualScenario(**params, state_file=state)

    async def resume():
        async with scenario.start():
            return await sync(scenario.addresses, out, **BACKENDS)

    started = time.monotonic()
    report = run(resume(), timeout_s=600)
    assert_complete(scenario, out, report)
    for address in scenario.addresses:  # the drops fired before and after the kill
        assert [str(f) for f in scenario.sensor(address).fired_faults if f.kind == "link-drop"] == params[
            "faults"
        ][:5]
    error = alignment_error_us(scenario, out, report)
    print(f"full size: resumed in {time.monotonic() - started:.1f} s, alignment error {error:.0f} us")
    assert error < 1_000


if __name__ == "__main__":
    _child(*sys.argv[1:4])
