"""A DOT's streamed and recorded samples in one study session: the recording wins, by span and timestamp."""

import numpy as np

from imurehab.ble.dot_clock import place_recording
from imurehab.ble.dot_dataset import DotPart, merge_parts

RATE = 60.0
PERIOD = 1e6 / RATE


def part(ks, *, recorded, utc_shift_us=0.0, key="p"):
    """Samples ``ks`` of one sensor grid (device time near the 2³² µs rollover) as a part."""
    ks = np.asarray(ks, dtype=np.int64)
    device = 2**32 - 3_000_000 + np.rint(ks * PERIOD).astype(np.int64)
    utc = 1.7e15 + ks * PERIOD + utc_shift_us
    n = len(ks)
    clock = place_recording(0, 1_700_000_000, None)
    return DotPart(key, recorded, utc, device, ks - ks[0], np.zeros((n, 3)), np.ones((n, 3)), None, clock)


def test_stream_samples_a_recording_holds_are_dropped_and_the_rest_kept_around_it():
    recording = part(range(100, 200), recorded=True, key="r")
    stream_ks = [k for k in range(50, 260) if k not in (60, 61, 230)]  # three lost on the air
    # its clock 10 ms early: stream sample 100 falls outside the recording's span, yet has its timestamp
    stream = part(stream_ks, recorded=False, utc_shift_us=-10_000.0, key="s")
    merged = merge_parts([stream, recording], RATE)
    assert [p.key for p in merged] == ["s", "r", "s"]
    before, rec, after = merged
    assert rec is recording
    assert not np.isin(before.device, rec.device).any() and not np.isin(after.device, rec.device).any()
    grid = (before.device - stream.device[0]) / PERIOD + 50
    assert np.rint(grid).astype(int).tolist() == [k for k in stream_ks if k < 100]
    # inside the span nothing of the stream stays; after it, every sample placed past its end
    assert after.utc[0] > rec.utc[-1] + PERIOD / 2 and len(after.utc) == sum(k >= 201 for k in stream_ks)
    assert np.all(np.diff(np.concatenate([p.utc for p in merged])) > 0)


def test_without_a_recording_a_stream_is_one_part_as_replayed():
    stream = part([0, 1, 2, 5, 6], recorded=False)
    (only,) = merge_parts([stream], RATE)
    assert np.array_equal(only.index, stream.index) and np.array_equal(only.device, stream.device)
