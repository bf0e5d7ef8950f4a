"""The BROAD error metric on synthetic data with known errors, and the trial reader on real data."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from imurehab.fusion.broad import (
    broad_data_dir,
    broad_errors,
    broad_trial_paths,
    heading_offset,
    read_broad_trial,
    trial_category,
)
from imurehab.quaternion import quat_from_scipy, quat_multiply


def qz(angle):
    return np.array([np.cos(angle / 2), 0.0, 0.0, np.sin(angle / 2)])


def random_orientations(n, seed=0):
    return quat_from_scipy(Rotation.random(n, random_state=seed))


def test_known_tilt_and_heading_errors():
    ref = random_orientations(500)
    tilt = quat_from_scipy(Rotation.from_rotvec([0.02, 0.0, 0.0]))  # 1.146° about earth x
    est = quat_multiply(quat_multiply(qz(0.05), tilt), ref)  # plus 2.865° about earth z
    e = broad_errors(est, ref)
    # Both rotations are in the earth frame; heading and inclination separate them.
    assert e.heading_deg == pytest.approx(np.degrees(0.05), rel=1e-3)
    assert e.inclination_deg == pytest.approx(np.degrees(0.02), rel=1e-3)
    assert e.total_deg == pytest.approx(np.degrees(np.hypot(0.05, 0.02)), rel=1e-3)
    e6 = broad_errors(est, ref, remove_heading=True)
    assert e6.heading_offset_deg == pytest.approx(-np.degrees(0.05), abs=0.01)
    assert e6.total_deg == pytest.approx(np.degrees(0.02), rel=1e-2)


def test_nan_reference_and_movement_mask_are_ignored():
    ref = random_orientations(100, seed=1)
    est = quat_multiply(qz(0.1), ref)
    est[:50] = quat_multiply(qz(1.0), ref[:50])  # large errors outside the movement phase
    ref_nan = ref.copy()
    ref_nan[60:70] = np.nan
    movement = np.arange(100) >= 50
    e = broad_errors(est, ref_nan, movement)
    assert e.n_samples == 40
    assert e.total_deg == pytest.approx(np.degrees(0.1), rel=1e-9)


@given(st.floats(-3.0, 3.0), st.integers(0, 2**31 - 1))
def test_heading_offset_closed_form_matches_brute_force(delta, seed):
    rng = np.random.default_rng(seed)
    ref = random_orientations(200, seed=seed % 1000)
    noise = quat_from_scipy(Rotation.from_rotvec(rng.normal(0.0, 0.05, (200, 3))))
    est = quat_multiply(quat_multiply(qz(delta), noise), ref)
    est[rng.random(200) < 0.5] *= -1.0  # q and -q are one rotation
    found = heading_offset(est, ref)
    grid = np.linspace(-np.pi, np.pi, 20001)
    w, z = [], []
    from imurehab.quaternion import quat_conjugate

    q_e = quat_multiply(est, quat_conjugate(ref))
    w, z = q_e[:, 0], q_e[:, 3]
    score = [np.sum((np.cos(g / 2) * w - np.sin(g / 2) * z) ** 2) for g in grid]
    best = grid[int(np.argmax(score))]
    assert np.angle(np.exp(1j * (found - best))) == pytest.approx(0.0, abs=1e-3)
    assert np.angle(np.exp(1j * (found + delta))) == pytest.approx(0.0, abs=0.05)


def test_trial_categories():
    assert trial_category("01_undisturbed_slow_rotation_A") == "rotation"
    assert trial_category("14_undisturbed_slow_translation_with_breaks_B") == "translation"
    assert trial_category("21_undisturbed_fast_combined") == "combined"
    assert trial_category("26_disturbed_phone_vibration_A") == "vibration"
    assert trial_category("28_disturbed_stationary_magnet_A") == "magnet"


BROAD = broad_data_dir()
needs_broad = pytest.mark.skipif(
    BROAD is None, reason="BROAD data not found in <repo>/../shared/data/broad (or $IMUREHAB_BROAD_DIR)"
)


@needs_broad
def test_reader_gives_project_units_and_frames():
    paths = broad_trial_paths(BROAD)
    trial = read_broad_trial(paths[0])
    n = trial.acc.shape[0]
    assert trial.gyr.shape == trial.mag.shape == (n, 3) and trial.quat_ref.shape == (n, 4)
    assert trial.movement.dtype == bool and 0 < trial.movement.mean() < 1
    assert trial.rate_hz == pytest.approx(285.714, rel=1e-4)
    still = ~trial.movement
    # At rest the reference maps the measured specific force onto +up (ENU, gravity included).
    from imurehab.quaternion import quat_rotate

    up = quat_rotate(trial.quat_ref[still][:2000], trial.acc[still][:2000])
    up = up[np.isfinite(up).all(axis=1)]
    assert np.median(up[:, 2]) == pytest.approx(9.81, abs=0.2)
    assert np.median(np.abs(up[:, :2])) < 0.3
