import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imurehab import DataValidationError
from imurehab.fusion import METHODS, estimate_orientation, estimate_orientation_detailed
from imurehab.quaternion import quat_angle, quat_from_scipy, quat_rotate

EARTH_MAG_ENU = np.array([0.0, 20.0, -40.0])  # µT: north and down components


def rest_signals(rot: Rotation, n: int = 3000):
    acc = np.tile(rot.inv().apply([0.0, 0.0, 9.81]), (n, 1))
    mag = np.tile(rot.inv().apply(EARTH_MAG_ENU), (n, 1))
    return acc, np.zeros((n, 3)), mag


@pytest.mark.parametrize(("method", "mode"), [(m, mode) for m, modes in METHODS.items() for mode in modes])
@pytest.mark.parametrize("euler", [(30, 20, -10), (100, -20, 40), (-150, 5, 60)])
def test_rest_orientation_in_enu(method, mode, euler):
    rot = Rotation.from_euler("zyx", euler, degrees=True)
    acc, gyr, mag = rest_signals(rot)
    truth = quat_from_scipy(rot)
    q9 = estimate_orientation(acc, gyr, 100.0, mag, method=method, mode=mode)
    assert np.degrees(quat_angle(q9[-1], truth)) < 0.5
    q6 = estimate_orientation(acc, gyr, 100.0, method=method, mode=mode)
    # 6D: inclination right (gravity maps to up), heading free.
    assert np.allclose(quat_rotate(q6[-1], acc[-1]), [0, 0, 9.81], atol=0.05)


def test_detailed_result_fields_and_determinism():
    rot = Rotation.from_euler("x", 30, degrees=True)
    acc, gyr, mag = rest_signals(rot, 500)
    r1 = estimate_orientation_detailed(acc, gyr, 100.0, mag)
    r2 = estimate_orientation_detailed(acc, gyr, 100.0, mag)
    assert np.array_equal(r1.quat, r2.quat)
    assert r1.quat.shape == (500, 4) and r1.quat_6d.shape == (500, 4)
    assert r1.rest.dtype == bool and r1.rest[-1]
    assert r1.mag_disturbed is not None and r1.gyr_bias.shape == (500, 3)
    assert np.allclose(np.linalg.norm(r1.quat, axis=1), 1.0)
    r6 = estimate_orientation_detailed(acc, gyr, 100.0)
    assert r6.mag_disturbed is None and r6.quat is r6.quat_6d


def test_quaternion_signs_are_continuous():
    n = 2000
    gyr = np.tile([0.0, 0.0, 2.0], (n, 1))  # spinning about up: the quaternion passes through w = 0
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    q = estimate_orientation(acc, gyr, 100.0, mode="causal")
    assert np.all(np.sum(q[1:] * q[:-1], axis=1) > 0)
    assert q[0, 0] >= 0


def test_bad_inputs():
    acc = np.tile([0.0, 0.0, 9.81], (10, 1))
    with pytest.raises(DataValidationError, match="unknown fusion method"):
        estimate_orientation(acc, np.zeros((10, 3)), 100.0, method="kalman?")
    with pytest.raises(DataValidationError, match="supports modes"):
        estimate_orientation(acc, np.zeros((10, 3)), 100.0, method="madgwick", mode="offline")
    with pytest.raises(DataValidationError) as e:
        estimate_orientation(acc, np.zeros((9, 3)), 100.0)
    assert e.value.column == "gyr"
    bad = acc.copy()
    bad[4, 0] = np.nan
    with pytest.raises(DataValidationError) as e:
        estimate_orientation(bad, np.zeros((10, 3)), 100.0)
    assert e.value.index == 4
    with pytest.raises(DataValidationError, match="rate_hz"):
        estimate_orientation(acc, np.zeros((10, 3)), 0.0)
    assert estimate_orientation(np.zeros((0, 3)), np.zeros((0, 3)), 100.0).shape == (0, 4)
