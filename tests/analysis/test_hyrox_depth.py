"""Wall-ball depth: the pelvis' hip drop per rep on a synthetic squatting pelvis of known vertical travel."""

from __future__ import annotations

import numpy as np
import pytest

from imurehab.analysis.hyrox.depth import hip_drops, short_reps

RATE = 100.0
G = 9.81


def _smooth_step(u: np.ndarray) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


def _squatting_pelvis(drops_m: np.ndarray, rng: np.random.Generator):
    """Specific force [m/s²] of a pelvis sensor squatting ``drops_m`` deep, and the sample of each bottom.

    Per rep: down in 0.9 s, up in 0.6 s, 1.2–1.6 s standing (throw and catch). The hips move back 0.3 m
    per metre down and the pelvis tilts forward 50° per metre down (18° at 0.35 m); the sensor sits
    rotated on the body; white noise 0.05 m/s² and a constant bias of 0.1 m/s² on each axis.
    """
    starts = 2.0 + np.cumsum(np.r_[0.0, rng.uniform(2.7, 3.1, drops_m.size - 1)])
    t = np.arange(int((starts[-1] + 5.0) * RATE)) / RATE
    down = np.zeros(t.size)
    for s, h in zip(starts, drops_m, strict=True):
        down += h * (_smooth_step((t - s) / 0.9) - _smooth_step((t - s - 0.9) / 0.6))
    z, x = -down, -0.3 * down
    acc_world = np.stack(
        [np.gradient(np.gradient(x, t), t), np.zeros(t.size), np.gradient(np.gradient(z, t), t) + G], axis=1
    )
    tilt = np.radians(50.0) * down
    c, s = np.cos(tilt), np.sin(tilt)
    # world → pelvis frame: undo the forward tilt about the lateral (y) axis
    ax, ay, az = acc_world.T
    body = np.stack([c * ax - s * az, ay, s * ax + c * az], axis=1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))  # how the sensor sits on the pelvis
    acc = body @ q + rng.normal(0.0, 0.05, (t.size, 3)) + 0.1
    bottoms = np.round((starts + 0.9) * RATE).astype(np.int64)
    return acc, bottoms


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hip_drops_measure_the_known_vertical_travel(seed):
    rng = np.random.default_rng(seed)
    drops = rng.uniform(0.3, 0.4, 24)
    shallow = np.array([5, 11, 19])
    drops[shallow] = rng.uniform(0.1, 0.2, shallow.size)
    acc, bottoms = _squatting_pelvis(drops, rng)
    found = hip_drops(acc, RATE, bottoms)
    assert found == pytest.approx(drops, rel=0.1, abs=0.01)
    assert np.flatnonzero(short_reps(acc, RATE, bottoms, "pelvis")).tolist() == shallow.tolist()


def test_all_full_reps_are_valid_and_the_tilt_sees_them_too():
    rng = np.random.default_rng(7)
    drops = rng.uniform(0.3, 0.4, 15)
    acc, bottoms = _squatting_pelvis(drops, rng)
    assert not short_reps(acc, RATE, bottoms, "pelvis").any()
    # the same samples judged as a thigh (by tilt): the pelvis' 15–20° tilt is the same for every rep
    assert not short_reps(acc, RATE, bottoms, "thigh").any()


def test_no_peaks_and_bad_placement():
    acc = np.tile([0.0, 0.0, G], (500, 1))
    assert hip_drops(acc, RATE, np.zeros(0, dtype=np.int64)).size == 0
    assert short_reps(acc, RATE, np.zeros(0, dtype=np.int64), "pelvis").size == 0
    with pytest.raises(ValueError, match="placement"):
        short_reps(acc, RATE, np.array([100, 300]), "wrist")
