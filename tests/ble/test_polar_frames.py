"""Polar PMD pieces of the ingest without a radio: frame round trips, loss found from timestamps."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.ble.polar import closest
from imurehab.ble.polar_gaps import PmdLossTracker
from imurehab.protocols.polar_pmd import decode_frames, encode_delta_frame

RATES = st.sampled_from([26.0, 52.0, 104.0, 208.0, 416.0])


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([("acc", 1), ("gyro", 0), ("mag", 0)]),
    st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=33),
    st.integers(10**15, 10**18),
    st.floats(1e-4, 2.0),
)
def test_the_twins_delta_frames_decode_to_the_samples_encoded(kind, samples, timestamp, factor):
    measurement, frame_type = kind
    counts = np.array(samples, dtype=np.int64)
    frame = encode_delta_frame(measurement, frame_type, timestamp, counts)
    assert len(frame) <= 244  # one notification at the twin's MTU (33 samples, worst case)
    out = decode_frames([frame], sample_rate_hz=52.0, factor=factor)
    assert np.array_equal(out.raw, counts) and int(out.time_ns[-1]) == timestamp  # last sample's time
    np.testing.assert_allclose(out.values, counts * factor)


@settings(max_examples=80, deadline=None)
@given(RATES, st.lists(st.integers(1, 40), min_size=2, max_size=60), st.data())
def test_loss_found_from_timestamps_equals_the_frames_left_out(rate, sizes, data):
    lost = data.draw(st.lists(st.booleans(), min_size=len(sizes), max_size=len(sizes)))
    lost[0] = lost[-1] = False  # before the first and after the last frame received, loss is invisible
    period = 1e9 / rate
    t0, k, tracker = 5 * 10**17, 0, PmdLossTracker("acc", rate)
    tracker.start_run()
    expected, index, run = [], 0, 0
    for n, gone in zip(sizes, lost, strict=True):
        ts = t0 + round((k + n - 1) * period)
        k += n
        if gone:
            run += n
            continue
        if run:
            expected.append((index, run))
            index += run
            run = 0
        placed = tracker.frame(ts, n)
        assert placed is not None and placed.first_index == index
        assert placed.time_ns[-1] == ts
        assert np.all(np.abs(np.diff(placed.time_ns) - period) <= 1)
        index += n
    assert [(g.first_index, g.count) for g in tracker.gaps] == expected
    assert tracker.samples == sum(n for n, gone in zip(sizes, lost, strict=True) if not gone)
    assert tracker.frame(ts, sizes[-1]) is None  # a repeated frame is ignored


def test_a_new_run_after_a_pause_counts_a_link_gap_and_a_clock_reset_a_new_boot():
    tracker = PmdLossTracker("gyro", 100.0)
    tracker.start_run()
    tracker.frame(10**15 + 9 * 10**7, 10)
    tracker.start_run()
    later = tracker.frame(10**15 + 59 * 10**7, 10)  # samples 50..59: 40 not streamed
    assert later is not None and later.first_index == 50
    assert [(g.count, g.cause, g.measurement) for g in tracker.gaps] == [(40, "link", "gyro")]
    tracker.start_run()
    reset = tracker.frame(10**12, 10)
    assert reset is not None and reset.boot_id == 1 and reset.first_index == 60


def test_closest_prefers_the_larger_of_two_as_near():
    assert closest([26, 52, 104, 208, 416], 78) == 104
    assert closest([250, 500, 1000, 2000], 1500) == 2000
