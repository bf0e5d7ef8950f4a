"""Live-stream gap accounting: what the air lost, what the device dropped, what a reconnect missed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imurehab.ble.gaps import GapTracker
from imurehab.protocols.osp import FrameFlag
from tests.strategies import DETERMINISTIC

GAP, LAST = int(FrameFlag.GAP_BEFORE), int(FrameFlag.LAST)


@st.composite
def streams(draw, device_drops: bool):
    """Frames a device sent in one run (seq from 0) and which of them the air lost (never the last)."""
    n = draw(st.integers(1, 17))
    count = draw(st.integers(2, 120))
    index = draw(st.integers(0, 10**9))
    frames = []
    for seq in range(count):
        skipped = draw(st.integers(0, 30)) if device_drops and seq and draw(st.booleans()) else 0
        index += skipped
        flags = (GAP if skipped else 0) | (LAST if seq == count - 1 else 0)
        frames.append((seq, index, n, flags))
        index += n
    lost = draw(st.sets(st.integers(0, count - 2), max_size=count - 1))
    return frames, lost


def feed(frames, lost, tracker=None, boot=1):
    tracker = tracker or GapTracker()
    tracker.start_run(boot)
    for i, frame in enumerate(frames):
        if i not in lost:
            assert tracker.frame(*frame)
    return tracker


@DETERMINISTIC
@given(streams(device_drops=False))
def test_air_losses_are_counted_exactly(stream):
    frames, lost = stream
    t = feed(frames, lost)
    assert t.frames == len(frames) - len(lost)
    assert sum(g.frames for g in t.gaps) == len(lost)
    assert sum(g.count for g in t.gaps) == sum(frames[i][2] for i in lost)
    assert {g.cause for g in t.gaps} <= {"air"}
    assert t.last_flag
    # Each gap names exactly the samples of the lost frames.
    missing = {k for g in t.gaps for k in range(g.first_index, g.first_index + g.count)}
    assert missing == {k for i in lost for k in range(frames[i][1], frames[i][1] + frames[i][2])}


@DETERMINISTIC
@given(streams(device_drops=True))
def test_air_and_device_losses_add_up_to_every_missing_index(stream):
    frames, lost = stream
    t = feed(frames, lost)
    received = [f for i, f in enumerate(frames) if i not in lost]
    assert sum(g.frames for g in t.gaps) == len(lost)
    if 0 not in lost:  # a lost head is counted as whole frames; everything after it is exact
        span = received[-1][1] + received[-1][2] - received[0][1]
        assert sum(g.count for g in t.gaps) == span - sum(f[2] for f in received)
    if not lost:
        dropped = sum(frames[i][1] - frames[i - 1][1] - frames[i - 1][2] for i in range(1, len(frames)))
        assert {g.cause for g in t.gaps} <= {"device"}
        assert sum(g.count for g in t.gaps) == dropped


@DETERMINISTIC
@given(streams(device_drops=False), streams(device_drops=False), st.integers(0, 500))
def test_a_reconnect_gap_is_counted_as_link(first, second, downtime):
    frames1, lost1 = first
    frames2, lost2 = second
    end1 = frames1[-1][1] + frames1[-1][2]
    shift = end1 + downtime - frames2[0][1]
    frames2 = [(seq, index + shift, n, flags) for seq, index, n, flags in frames2]
    t = feed(frames1, lost1)
    feed(frames2, lost2, t)
    assert sum(g.count for g in t.gaps if g.cause == "link") == downtime
    air = sum(g.count for g in t.gaps if g.cause == "air")
    assert air == sum(frames1[i][2] for i in lost1) + sum(frames2[i][2] for i in lost2)
    assert sum(g.frames for g in t.gaps) == len(lost1) + len(lost2)


def test_a_new_boot_restarts_the_index():
    t = GapTracker()
    t.start_run(1)
    assert t.frame(0, 500, 10, 0)
    t.start_run(2)
    assert t.frame(0, 0, 10, 0)  # not a negative gap: the device rebooted
    assert t.gaps == []


def test_duplicates_and_stale_frames_are_ignored():
    t = GapTracker()
    t.start_run(1)
    assert t.frame(0, 0, 10, 0) and t.frame(1, 10, 10, 0)
    assert not t.frame(1, 10, 10, 0)
    assert not t.frame(0, 0, 10, 0)
    assert (t.frames, t.samples, t.gaps) == (2, 20, [])


def test_sequence_numbers_wrap():
    t = GapTracker()
    t.start_run(1)
    t._seq, t._next_index, t._n = 2**32 - 2, 1000, 10  # as after 4 billion frames
    assert t.frame(2**32 - 1, 1000, 10, 0)
    assert t.frame(1, 1020, 10, 0)  # seq 0 lost across the wrap
    assert [(g.first_index, g.count, g.frames) for g in t.gaps] == [(1010, 10, 1)]
