import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab import DataValidationError
from imurehab.analysis.reps import segment_reps

RATE = 100.0


def set_of_reps(amplitudes, periods, rest_deg, direction, pause_s=1.0, noise=0.0, seed=0):
    """Raised-cosine excursions from rest, separated by pauses; returns trace and true ROMs."""
    parts = [np.full(int(2 * RATE), rest_deg)]
    for amp, per in zip(amplitudes, periods, strict=True):
        t = np.arange(int(per * RATE)) / RATE
        parts.append(rest_deg + direction * amp * 0.5 * (1 - np.cos(2 * np.pi * t / per)))
        parts.append(np.full(int(pause_s * RATE), rest_deg))
    trace = np.concatenate(parts)
    trace += np.random.default_rng(seed).normal(0, noise, trace.size)
    return trace


def test_knee_extension_reps_and_rom():
    amps = [70, 75, 80, 72, 60]
    trace = set_of_reps(amps, [3, 3.5, 4, 3, 2.5], rest_deg=90, direction=-1)
    reps = segment_reps(trace, RATE)
    assert [r.rep for r in reps] == [1, 2, 3, 4, 5]
    assert np.allclose([r.rom_deg for r in reps], amps, atol=0.15)  # 0.1 s smoothing costs < 0.1°
    assert all(r.max_deg == pytest.approx(90) for r in reps)
    assert all(r.start < r.peak < r.end for r in reps)
    assert all(a.end <= b.start for a, b in itertools.pairwise(reps))


def test_what_comes_before_the_first_rest_and_after_the_last_is_no_rep():
    """A calibration pose held at another angle, then rest, reps, rest, then getting up: ROM from rest."""
    amps = [100, 110, 105]
    reps_trace = set_of_reps(amps, [3, 3, 3], rest_deg=8, direction=+1)
    ramp = np.linspace(0.0, 8.0, int(RATE))  # 1 s move from the pose into rest
    trace = np.concatenate([np.zeros(int(3 * RATE)), ramp, reps_trace, np.linspace(8.0, 40.0, int(RATE))])
    reps = segment_reps(trace, RATE)
    assert len(reps) == 3
    assert np.allclose([r.rom_deg for r in reps], amps, atol=0.15)
    assert all(r.min_deg == pytest.approx(8.0, abs=0.05) for r in reps)


def test_squat_direction_is_found():
    trace = set_of_reps([90, 95, 100], [4, 4, 4], rest_deg=5, direction=+1)
    reps = segment_reps(trace, RATE)
    assert len(reps) == 3
    assert np.allclose([r.min_deg for r in reps], 5, atol=0.05)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    st.lists(st.floats(30, 120), min_size=1, max_size=12),
    st.floats(1.5, 5.0),
    st.floats(0.3, 3.0),
    st.sampled_from([-1, 1]),
)
def test_rep_count_exact_with_noise(amps, period, pause, direction):
    trace = set_of_reps(amps, [period] * len(amps), 40.0, direction, pause_s=pause, noise=0.5)
    reps = segment_reps(trace, RATE)
    assert len(reps) == len(amps)
    assert np.allclose([r.rom_deg for r in reps], amps, atol=3.0)


def test_no_reps_in_still_trace_and_bad_input():
    assert segment_reps(np.full(1000, 30.0) + np.random.default_rng(1).normal(0, 0.3, 1000), RATE) == []
    assert segment_reps([1.0, 2.0], RATE) == []
    with pytest.raises(DataValidationError):
        segment_reps(np.array([0.0, np.nan, 1.0]), RATE)
    with pytest.raises(DataValidationError):
        segment_reps(np.zeros((3, 2)), RATE)
