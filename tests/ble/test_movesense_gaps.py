"""Movesense live loss accounting from first-sample ms timestamps (no counter), and log verification."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imurehab.ble.movesense_entries import verify_log
from imurehab.ble.movesense_gaps import MeasLossTracker
from imurehab.ble.movesense_stream import MeasStream
from imurehab.protocols.movesense import assemble_log, encode_log, encode_meas, encode_sbem, reassemble


def stamps(rate, n, messages, boot_ms):
    """Each message's stamp: its first sample's time, rounded down to the ms (as the sensor does)."""
    return [(boot_ms * rate // 1000 + m * n) * 1000 // rate for m in range(messages)]


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([13, 26, 52, 104, 208, 416, 833, 1666]),
    n=st.integers(1, 12),
    lost=st.lists(st.booleans(), min_size=3, max_size=80),
    boot_ms=st.integers(0, 2**32 - 1),
)
def test_lost_messages_are_reported_exactly_at_every_rate(rate, n, lost, boot_ms):
    assume(n > 2 * rate / 1000)  # the ms stamps pin whole messages only then (see movesense_gaps)
    lost[0] = lost[-1] = False  # loss before the first and after the last message received is unseen
    t = MeasLossTracker(float(rate))
    t.start_run()
    sent = zip(stamps(rate, n, len(lost), boot_ms), lost, strict=True)
    placed = [t.message(s % 2**32, n) for s, gone in sent if not gone]
    index = np.concatenate([p.first_index + np.arange(n) for p in placed])
    expect = np.flatnonzero(~np.repeat(np.array(lost), n))
    assert np.array_equal(index, expect)
    assert sum(g.count for g in t.gaps) == n * sum(lost) and all(g.cause == "air" for g in t.gaps)
    assert all(p.timestamp_ms >= placed[0].timestamp_ms for p in placed)  # unwrapped across 2^32 ms


def test_duplicates_are_ignored_and_a_clock_restart_is_a_new_boot():
    t = MeasLossTracker(104.0)
    t.start_run()
    assert t.message(1000, 8).first_index == 0
    assert t.message(1000, 8) is None and t.message(990, 8) is None
    assert t.message(1076, 8).first_index == 8
    restarted = t.message(50, 8)
    assert restarted.boot_id == 1 and restarted.first_index == 16 and not t.gaps


def test_a_new_subscription_counts_the_link_gap_in_samples():
    t = MeasLossTracker(104.0)
    t.start_run()
    t.message(1000, 8)
    t.start_run()
    t.message(1000 + 1000, 8)  # one second later: 104 samples on, 8 of them received before
    (gap,) = t.gaps
    assert (gap.first_index, gap.count, gap.cause) == (8, 96, "link")


def _log():
    rows = np.arange(48, dtype=float).reshape(16, 3)
    packets = encode_meas("/Meas/IMU6/104", 1, [1000, 1076], acc=rows, gyr=rows / 100, max_notification=512)
    payloads = reassemble(packets, "/Meas/IMU6/104").payloads  # one DATA a message: nothing to join
    return encode_sbem({1: "/Meas/IMU6/104"}, [(1, bytes(p)) for p in payloads])


def test_verify_log_passes_a_whole_file_and_names_what_is_wrong():
    data = _log()
    chunks = encode_log(3, data, chunk_bytes=40)
    assert verify_log(*assemble_log(chunks), len(data)) is None
    assert "missing" in verify_log(*assemble_log(chunks[:1] + chunks[2:]), len(data))
    assert "end-of-log" in verify_log(*assemble_log(chunks[:-1]), len(data))
    assert "missing" in verify_log(*assemble_log(chunks[:-2] + chunks[-1:]), len(data))
    zeros = np.zeros((16, 3))
    gap = encode_meas("/Meas/IMU6/104", 1, [1000, 1230], acc=zeros, gyr=zeros, max_notification=512)
    payloads = reassemble(gap, "/Meas/IMU6/104").payloads
    jumped = encode_sbem({1: "/Meas/IMU6/104"}, [(1, bytes(p)) for p in payloads])
    assert "timestamps jump" in verify_log(*assemble_log(encode_log(3, jumped)), len(jumped))


PATH = "/Meas/IMU6/104"


def _sent(messages):
    """Notifications of IMU6 messages of 8 samples (2 each: DATA, DATA_PART2), every value unique."""
    acc = np.arange(messages * 8 * 3, dtype=float).reshape(-1, 3) + 100.0
    gyr = -np.arange(messages * 8 * 3, dtype=float).reshape(-1, 3) * 1e-3
    ts = stamps(104, 8, messages, 3_600_000)
    return ts, gyr, encode_meas(PATH, 5, ts, acc=acc, gyr=gyr)


def _emitted(packets, lost):
    s = MeasStream(PATH)
    s.start_run(5)
    return s, [m for k, p in enumerate(packets) if k not in lost for m in s.feed(k, p)]


def test_a_data_part2_after_the_wrong_data_is_never_emitted_and_counted_exactly():
    ts, gyr, packets = _sent(6)
    assert len(packets) == 12  # every message needs its DATA_PART2
    s, out = _emitted(packets, {3, 4})  # message 1's DATA_PART2 and message 2's DATA: right length joined
    assert [ts.index(m.timestamp_ms) for m in out] == [0, 3, 4]  # 5 is held: nothing follows it
    assert [m.first_index for m in out] == [0, 24, 32]
    assert [(g.first_index, g.count, g.cause) for g in s.tracker.gaps] == [(8, 16, "air")]
    for m in out:
        j = ts.index(m.timestamp_ms)
        assert np.allclose(m.gyr, gyr[8 * j : 8 * j + 8])
    # without the hold, message 1's head and message 2's tail would have been one message of 8 samples
    assert len(packets[2]) + len(packets[5]) == len(packets[0]) + len(packets[1])


@settings(max_examples=200, deadline=None)
@given(lost=st.lists(st.booleans(), min_size=6, max_size=80))
def test_every_emitted_sample_is_its_own_message_and_the_gaps_are_the_rest(lost):
    messages = len(lost) // 2
    ts, gyr, packets = _sent(messages)
    s, out = _emitted(packets, {k for k, gone in enumerate(lost[: 2 * messages]) if gone})
    got = [ts.index(m.timestamp_ms) for m in out]
    for m, j in zip(out, got, strict=True):
        assert np.allclose(m.gyr, gyr[8 * j : 8 * j + 8])  # no tail of another message
        assert m.first_index - out[0].first_index == 8 * (j - got[0])
    missing = sorted(set(range(got[0], got[-1] + 1)) - set(got)) if out else []
    assert sum(g.count for g in s.tracker.gaps) == 8 * len(missing)
    for g in s.tracker.gaps:
        assert all(8 * (j - got[0]) not in range(g.first_index, g.first_index + g.count) for j in got)
