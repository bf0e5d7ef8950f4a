"""The compiled full-session passes give what the straightforward vectorised computations give.

Each reference below is the plain chain of :mod:`imurehab.quaternion` calls (and scipy for the Cardan
angles) that the compiled loops replace; results must agree to 1e-9 degrees (or 1e-12 in quaternions).
"""

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy.ndimage import uniform_filter1d
from scipy.spatial.transform import Rotation

from imurehab.body.angles import HINGE_JOINTS, _angles_for, cardan_zxy_deg
from imurehab.body.calibration import align_heading, heading_offset, segment_frame
from imurehab.fusion.table import fuse_sensor, orientation_rows
from imurehab.quaternion import (
    quat_conjugate,
    quat_from_matrix,
    quat_interp,
    quat_multiply,
    quat_normalize,
    quat_rotate,
    quat_slerp,
    quat_to_scipy,
)
from imurehab.store import schema as col
from imurehab.types import SensorInfo, SensorSamples

ATOL_DEG = 1e-9


def random_quats(rng, n):
    return quat_normalize(rng.standard_normal((n, 4)))


def smooth_quats(rng, n, rate_hz=200.0):
    """Orientations of a limb turning smoothly (a random walk of the angular rate)."""
    w = np.cumsum(rng.standard_normal((n, 3)), axis=0) * 0.05
    q = np.empty((n, 4))
    q[0] = random_quats(rng, 1)[0]
    for i in range(1, n):
        r = w[i] / rate_hz
        angle = np.linalg.norm(r)
        dq = np.r_[np.cos(angle / 2), np.sinc(angle / 2 / np.pi) * r / 2]
        q[i] = quat_multiply(q[i - 1], dq)
    return q


def reference_cardan_zxy_deg(q_parent, q_child):
    rel = quat_multiply(quat_conjugate(q_parent), q_child)
    with np.errstate(invalid="ignore"):
        return quat_to_scipy(rel).as_euler("ZXY", degrees=True)


def reference_heading_offset(q_parent, q_child, axis_parent, axis_child, rate_hz, window_s=20.0):
    a = quat_rotate(q_parent, axis_parent)[:, :2]
    b = quat_rotate(q_child, axis_child)[:, :2]
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = np.sum(a * b, axis=1)
    width = max(1, int(window_s * rate_hz))
    if width >= len(dot):
        return np.arctan2(np.full(len(dot), cross.sum()), np.full(len(dot), dot.sum()))
    return np.arctan2(
        uniform_filter1d(cross, width, mode="nearest"), uniform_filter1d(dot, width, mode="nearest")
    )


def reference_slerp_interp(t_src, q_src, t_dst):
    hi = np.clip(np.searchsorted(t_src, t_dst, side="right"), 1, len(t_src) - 1)
    lo = hi - 1
    span = (t_src[hi] - t_src[lo]).astype(np.float64)
    frac = np.clip((t_dst - t_src[lo]).astype(np.float64) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    return quat_slerp(q_src[lo], q_src[hi], frac)


def angle_diff_deg(a, b):
    """Differences of angles [deg], treating -180 and 180 as one."""
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("seed", range(3))
def test_cardan_matches_scipy_on_random_rotations(seed):
    rng = np.random.default_rng(seed)
    qp, qc = random_quats(rng, 20_000), random_quats(rng, 20_000)
    got = cardan_zxy_deg(qp, qc)
    assert got.shape == (20_000, 3)
    assert np.max(angle_diff_deg(got, reference_cardan_zxy_deg(qp, qc))) < ATOL_DEG


def test_cardan_matches_scipy_near_the_limits_of_the_second_angle():
    rng = np.random.default_rng(3)
    # Second angle within a few degrees of ±90° (but not at gimbal lock), first and third anywhere.
    z = rng.uniform(-180, 180, 2000)
    x = np.r_[rng.uniform(85.0, 89.99, 1000), rng.uniform(-89.99, -85.0, 1000)]
    y = rng.uniform(-180, 180, 2000)
    rel = Rotation.from_euler("ZXY", np.column_stack([z, x, y]), degrees=True).as_quat()[:, [3, 0, 1, 2]]
    qp = random_quats(rng, 2000)
    qc = quat_multiply(qp, rel)
    got = cardan_zxy_deg(qp, qc)
    assert np.max(angle_diff_deg(got, reference_cardan_zxy_deg(qp, qc))) < 1e-7
    # The rotation itself is exactly what was asked for, whatever the split between first and third.
    back = Rotation.from_euler("ZXY", got, degrees=True).as_quat()[:, [3, 0, 1, 2]]
    assert np.allclose(np.abs(np.sum(back * rel, axis=1)), 1.0, atol=1e-12)


def test_cardan_at_gimbal_lock_sets_the_third_angle_to_zero_like_scipy():
    rel = Rotation.from_euler("ZXY", [[30.0, 90.0, 20.0], [-40.0, -90.0, 10.0]], degrees=True)
    q_child = rel.as_quat()[:, [3, 0, 1, 2]]
    q_parent = np.tile([1.0, 0.0, 0.0, 0.0], (2, 1))
    with pytest.warns(RuntimeWarning, match="gimbal lock"):
        got = cardan_zxy_deg(q_parent, q_child)
    with pytest.warns(UserWarning, match="Gimbal lock"):
        ref = reference_cardan_zxy_deg(q_parent, q_child)
    assert np.max(angle_diff_deg(got, ref)) < 1e-6
    assert np.all(got[:, 2] == 0.0)


def test_cardan_broadcasts_one_parent_orientation():
    rng = np.random.default_rng(4)
    qp, qc = random_quats(rng, 1)[0], random_quats(rng, 50)
    assert np.max(angle_diff_deg(cardan_zxy_deg(qp, qc), reference_cardan_zxy_deg(qp, qc))) < ATOL_DEG


@pytest.mark.parametrize("n", [100, 5000, 30_000])
def test_heading_offset_matches_the_vectorised_computation(n):
    rng = np.random.default_rng(n)
    qp, qc = smooth_quats(rng, n), smooth_quats(rng, n)
    jp, jc = quat_normalize(rng.standard_normal(4))[1:], quat_normalize(rng.standard_normal(4))[1:]
    got = heading_offset(qp, qc, jp, jc, 200.0)
    assert np.max(np.abs(got - reference_heading_offset(qp, qc, jp, jc, 200.0))) < 1e-12


@pytest.mark.parametrize("pose", ["sitting", "standing"])
@pytest.mark.parametrize("joint", ["knee", "elbow"])
def test_hinge_angles_match_the_vectorised_computation(joint, pose):
    if pose not in HINGE_JOINTS[joint].vertical_axis:
        pytest.skip("pose not defined for this joint")
    rng = np.random.default_rng(7)
    n = 30_000
    qp, qc = smooth_quats(rng, n), smooth_quats(rng, n)
    jp, jc = (v / np.linalg.norm(v) for v in rng.standard_normal((2, 3)))
    up_p, up_c = rng.standard_normal(3) * 5.0, rng.standard_normal(3) * 5.0
    jdef = HINGE_JOINTS[joint]
    got = _angles_for(jdef, pose, qp, qc, up_p, up_c, jp, jc, 200.0)

    # The chain of vectorised calls _angles_for stands for.
    vp, vc = jdef.vertical_axis[pose]
    delta = reference_heading_offset(qp, qc, jp, jc, 200.0)
    q_aligned = align_heading(qp, delta)
    frame_p, frame_c = segment_frame(jp, up_p, vp), segment_frame(jc, up_c, vc)
    ang = reference_cardan_zxy_deg(
        quat_multiply(q_aligned, quat_from_matrix(frame_p)), quat_multiply(qc, quat_from_matrix(frame_c))
    )
    ang[:, 0] *= jdef.flexion_sign

    assert np.max(angle_diff_deg(got.ang, ang)) < ATOL_DEG
    assert np.max(np.abs(got.delta - delta)) < 1e-12
    assert np.max(np.abs(got.q_parent - q_aligned)) < 1e-12
    assert np.array_equal(got.frame_parent, frame_p) and np.array_equal(got.frame_child, frame_c)


def test_quat_interp_matches_slerp_between_neighbours():
    rng = np.random.default_rng(11)
    n = 20_000
    t_src = np.cumsum(rng.integers(4000, 6000, n)).astype(np.int64)
    q_src = smooth_quats(rng, n)
    q_src[::7] *= -1.0  # sign flips between neighbours: the short way round must still be taken
    t_dst = np.sort(rng.integers(t_src[0] - 10_000, t_src[-1] + 10_000, 30_000))
    t_dst[100:200] = t_src[100:200]  # exactly on samples
    # in order (walked), in any order (bisected), as float times
    for t in (t_dst, rng.permutation(t_dst), t_dst + 0.25):
        got = quat_interp(t_src, q_src, t)
        assert np.max(np.abs(got - reference_slerp_interp(t_src, q_src, t))) < 1e-12


def test_quat_interp_keeps_the_shape_of_the_times():
    q = random_quats(np.random.default_rng(12), 3)
    t = np.array([0, 10, 20])
    assert quat_interp(t, q, 5).shape == (4,)
    assert quat_interp(t, q, [[5, 15]]).shape == (1, 2, 4)
    assert np.allclose(quat_interp(t, q, 5), reference_slerp_interp(t, q, np.array([5]))[0], atol=1e-12)


def test_cardan_of_single_rotations_keeps_their_shape():
    rng = np.random.default_rng(5)
    qp, qc = random_quats(rng, 2)
    got = cardan_zxy_deg(qp, qc)
    assert got.shape == (3,)
    assert np.max(angle_diff_deg(got, reference_cardan_zxy_deg(qp, qc))) < ATOL_DEG


def reference_orientation_rows(sensor, segment, fused):
    """The orientation rows built straight from the arrays, unknown biases (NaN) as nulls."""
    n = len(sensor)
    bias = fused.gyr_bias if fused.gyr_bias is not None else np.full((n, 3), np.nan)
    mag = fused.mag_disturbed
    return pl.DataFrame(
        {
            col.SENSOR: [sensor.sensor_id] * n,
            col.SEGMENT: [segment] * n,
            col.TIME: pl.Series(sensor.time_us).cast(pl.Datetime("us", "UTC")),
            **{name: fused.quat[:, k].copy() for k, name in enumerate(col.QUAT)},
            col.REST: fused.rest,
            col.MAG_DISTURBED: pl.Series(mag, dtype=pl.Boolean) if mag is not None else [None] * n,
            **{name: [None if np.isnan(b) else b for b in bias[:, k]] for k, name in enumerate(col.BIAS)},
        },
        schema=col.polars_schema(col.ORIENTATION),
    )


@pytest.mark.parametrize("bias", ["known", "partly unknown", "none"])
@pytest.mark.parametrize("with_mag", [False, True])
def test_orientation_rows_match_a_straightforward_construction(bias, with_mag):
    rng = np.random.default_rng(13)
    n = 3000
    sensor = SensorSamples(
        info=SensorInfo("S7", "sim", 200.0),
        time_us=1_700_000_000_000_000 + 5000 * np.arange(n, dtype=np.int64),
        acc=rng.normal(0.0, 1.0, (n, 3)) + np.array([0.0, 0.0, 9.81]),
        gyr=rng.normal(0.0, 1.0, (n, 3)),
        mag=rng.normal(0.0, 40.0, (n, 3)) if with_mag else None,
    )
    fused = fuse_sensor(sensor)
    if bias == "none":
        fused = replace(fused, gyr_bias=None)
    elif bias == "partly unknown":
        b = rng.normal(0.0, 0.01, (n, 3))
        b[rng.random((n, 3)) < 0.2] = np.nan
        fused = replace(fused, gyr_bias=b)
    for segment in ("upper_arm_right", None):
        got = orientation_rows(sensor, segment, fused)
        assert_frame_equal(got, reference_orientation_rows(sensor, segment, fused))
        assert got["q_w"].to_numpy().tobytes() == fused.quat[:, 0].tobytes()
