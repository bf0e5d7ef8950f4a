"""Journals → dataset: decode, merge log and stream by sample index, map to UTC per boot, write."""

from __future__ import annotations

import numpy as np
import pytest

from imurehab.ble.clock import ClockLog
from imurehab.ble.dataset import whole_frames, write_study
from imurehab.ble.journal import SessionKey
from imurehab.ble.layout import JournalRoot
from imurehab.protocols.osp import ClockSample, Descriptor, encode_descriptor, encode_frames, encode_log
from imurehab.store import read_recording, read_table

RATE_MHZ = 100_000  # 100 Hz
SERIAL = "OSP-TEST-1"
STUDY = ("p01", "v1")
UTC0 = 1_800_000_000_000_000


def descriptor(boot_id, session_id=1):
    return Descriptor(
        channel_mask=3,
        rate_mhz=RATE_MHZ,
        acc_scale=0.001,
        gyr_scale=0.0001,
        mag_scale=0.0,
        boot_id=boot_id,
        session_id=session_id,
        serial=SERIAL,
        imu_model="ICM-42688-P",
        firmware="1.0",
    )


def raw_samples(n, start=0):
    k = np.arange(start, start + n)
    raw = np.zeros((n, 6), np.int16)
    raw[:, 2] = 9807  # 9.807 m/s² on z
    raw[:, 3] = (k % 200) - 100
    return raw


def add_log(root, boot_id, session_id, first_index, n, first_time_us):
    desc = descriptor(boot_id, session_id)
    log = encode_log(
        desc,
        raw_samples(n, first_index),
        first_index=first_index,
        first_time_us=first_time_us,
        samples_per_frame=17,
    )
    j = root.log_journal(SessionKey(SERIAL, session_id, boot_id, first_time_us), STUDY)
    j.append(log)
    j.close()
    return log


def add_clock(root, boot_id, boot_utc_us, drift_ppm=0.0):
    """Round trips of a clock that reads 0 at ``boot_utc_us`` (UTC) and drifts, over 60 s."""
    samples = []
    for k in range(30):
        utc = boot_utc_us + 5_000_000 + k * 2_000_000
        device = round((utc + 200 - boot_utc_us) * (1 + drift_ppm * 1e-6))
        samples.append(ClockSample(utc, device, device + 20, utc + 420))
    ClockLog(root.device_dir(SERIAL) / "clock.jsonl").append(boot_id, samples)


def test_whole_frames_stops_at_a_cut_frame():
    log = encode_log(descriptor(1), raw_samples(40), first_index=0, first_time_us=0, samples_per_frame=17)
    assert whole_frames(log) == len(log)
    assert whole_frames(log[:-5]) == len(log) - (36 + 6 * 2 * 6)  # the last frame holds 6 samples
    assert whole_frames(b"") == 0


def test_a_log_is_written_in_utc_with_the_clock_of_its_boot(tmp_path):
    root = JournalRoot(tmp_path)
    add_log(root, boot_id=11, session_id=1, first_index=0, n=1000, first_time_us=1_000_000)
    add_clock(root, 11, UTC0, drift_ppm=100.0)
    written = write_study(root, STUDY)
    summary = written.sensors[SERIAL]
    assert (summary.samples, summary.gaps, summary.lost_samples, summary.error) == (1000, 0, 0, None)
    rec = read_recording(tmp_path, subject="p01", session="v1")
    s = rec[SERIAL]
    assert np.array_equal(s.sample_index, np.arange(1000))
    # Device µs d ↔ UTC0 + d / (1 + 100 ppm): sample k at device 1 s + 10 ms·k.
    expected = UTC0 + (1_000_000 + 10_000 * np.arange(1000)) / (1 + 100e-6)
    assert np.max(np.abs(s.time_us - expected)) <= 2
    assert np.array_equal(s.device_time, 1_000_000 + 10_000 * np.arange(1000))
    assert s.acc[0, 2] == pytest.approx(9.807) and s.info.model == "ICM-42688-P"
    assert summary.clock_uncertainty_us < 1_000


def test_stream_gaps_are_filled_from_the_log_and_the_log_wins(tmp_path):
    root = JournalRoot(tmp_path)
    log = add_log(root, boot_id=11, session_id=2, first_index=100, n=500, first_time_us=0)
    add_clock(root, 11, UTC0)
    frames = encode_frames(
        raw_samples(500, 100),
        channel_mask=3,
        first_index=100,
        first_time_us=0,
        rate_mhz=RATE_MHZ,
        samples_per_frame=10,
    )
    del frames[3:7]  # lost on the air
    stream = root.stream_journal(SERIAL, 11, UTC0, STUDY)
    stream.append(encode_descriptor(descriptor(11, 0)))
    for f in frames:
        stream.append(f)
    stream.close()
    summary = write_study(root, STUDY).sensors[SERIAL]
    assert (summary.samples, summary.gaps) == (500, 0)
    rows = read_table(tmp_path, "samples").collect()
    assert rows["sample_index"].to_list() == list(range(100, 600))
    assert len(log) > 0


def test_only_a_stream_keeps_its_gaps(tmp_path):
    root = JournalRoot(tmp_path)
    add_clock(root, 11, UTC0)
    frames = encode_frames(
        raw_samples(100),
        channel_mask=3,
        first_index=0,
        first_time_us=0,
        rate_mhz=RATE_MHZ,
        samples_per_frame=10,
    )
    stream = root.stream_journal(SERIAL, 11, UTC0, STUDY)
    stream.append(encode_descriptor(descriptor(11, 0)))
    for f in frames[:4] + frames[5:]:
        stream.append(f)
    stream.append(frames[-1][:20])  # a frame torn by a kill
    stream.close()
    summary = write_study(root, STUDY).sensors[SERIAL]
    assert (summary.samples, summary.gaps, summary.lost_samples) == (90, 1, 10)


def test_two_boots_keep_the_index_increasing_across_the_reboot(tmp_path):
    root = JournalRoot(tmp_path)
    add_log(root, boot_id=11, session_id=1, first_index=0, n=600, first_time_us=2_000_000)
    add_clock(root, 11, UTC0)
    # Rebooted 0.5 s after the last sample of boot 11: the new clock reads 0 at UTC0 + 8.5 s.
    add_log(root, boot_id=22, session_id=2, first_index=0, n=300, first_time_us=100_000)
    add_clock(root, 22, UTC0 + 8_500_000)
    written = write_study(root, STUDY)
    s = read_recording(tmp_path, subject="p01", session="v1")[SERIAL]
    assert written.sensors[SERIAL].boots == [11, 22]
    assert np.all(np.diff(s.time_us) > 0) and np.all(np.diff(s.sample_index) > 0)
    # 0.61 s from the last sample of boot 11 (7.99 s) to the first of boot 22 (8.6 s) at 100 Hz: the
    # index jumps by 61, as if the 60 samples the device never took were lost.
    assert int(s.sample_index[600] - s.sample_index[599]) == 61
    assert written.sensors[SERIAL].gaps == 0  # the reboot is not a gap within a boot


def test_a_boot_never_measured_is_placed_before_the_next_one_with_unbounded_uncertainty(tmp_path):
    root = JournalRoot(tmp_path)
    add_log(root, boot_id=11, session_id=1, first_index=0, n=200, first_time_us=0)
    add_log(root, boot_id=22, session_id=2, first_index=0, n=200, first_time_us=0)
    add_clock(root, 22, UTC0)
    summary = write_study(root, STUDY).sensors[SERIAL]
    s = read_recording(tmp_path, subject="p01", session="v1")[SERIAL]
    assert s.time_us[199] == UTC0 - 10_000 and s.time_us[200] == UTC0  # one period before boot 22
    assert summary.clock_uncertainty_us == float("inf")


def test_nothing_to_decode_writes_nothing(tmp_path):
    root = JournalRoot(tmp_path)
    add_log(root, boot_id=11, session_id=1, first_index=0, n=10, first_time_us=0)
    assert write_study(root, ("p01", "other")).paths == []
    written = write_study(root, STUDY)  # no clock measured for any boot
    assert written.paths == [] and "no clock measurement" in written.sensors[SERIAL].error
