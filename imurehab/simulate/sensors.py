"""What a strapped IMU measures: kinematics at its sample instants, soft-tissue wobble, errors, clock.

The sensor frame is the segment frame rotated by the mounting: ``R_sensor = R_segment · W(θ) · R_mount``
(W the soft-tissue wobble rotation, identity when rigid), and its origin sits at ``mount_position`` on the
segment plus the wobble displacement. At each true sample instant t the body is evaluated at t and t ± h,
with h = 1/(8·rate) (an internal rate eight times the output rate), giving

- the mount point's acceleration ``a`` by a central second difference (error O(h²));
- the segment's angular velocity ω and acceleration α in its own frame from the relative rotations
  between t − h, t and t + h (``ω ≈ [log(R(t−h)ᵀR(t)) + log(R(t)ᵀR(t+h))]/2h``).

The measured quantities are then, in the sensor frame:

- specific force ``f = R_sensorᵀ (a − g)`` with ``g = (0, 0, −9.80665)`` m/s² in ENU, so a resting sensor
  reads +9.81 m/s² along the earth's up axis;
- angular rate ``ω_s = R_mountᵀ (Wᵀ ω + J_r(θ) θ̇)`` (J_r the right Jacobian of SO(3));
- magnetic flux density ``m = R_sensorᵀ B(p, t)`` with B the earth field plus any dipole disturbances.

Evaluating at the true instants (not interpolating a grid) keeps jitter and clock drift exact. Samples are
processed in chunks so memory stays bounded for long sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

from imurehab.quaternion import (
    quat_from_rotvec,
    quat_multiply,
    quat_relative,
    quat_rotate,
    quat_rotate_inverse,
    quat_to_rotvec,
)
from imurehab.simulate.body import Skeleton
from imurehab.simulate.error_model import ChannelStream, SensorErrorModel, SoftTissue
from imurehab.simulate.field import GRAVITY, EarthField, MagneticDipole, field_at
from imurehab.simulate.program import Program, evaluate_pose

__all__ = ["OVERSAMPLING", "SensorMount", "SensorSignals", "simulate_sensor"]

FloatArray = npt.NDArray[np.float64]

OVERSAMPLING = 8
"""Internal rate / output rate: the finite-difference step is ``1 / (OVERSAMPLING · rate)``."""

_CHUNK = 8192


@dataclass(frozen=True)
class SensorMount:
    """Where and how a sensor is strapped on a segment.

    Parameters
    ----------
    segment : str
        Segment name (``"shank_right"``).
    position_m : tuple of float, optional
        Sensor origin in the segment frame [m]; None: a typical strap site
        (:meth:`~imurehab.simulate.body.Skeleton.default_mount_position`).
    rotation : tuple of float, optional
        Sensor → segment rotation (w, x, y, z); None: sensor axes parallel to the segment axes, then
        rotated by a random misalignment (``misalignment_deg`` of the session).
    """

    segment: str
    position_m: tuple[float, float, float] | None = None
    rotation: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, eq=False)
class SensorSignals:
    """One sensor's simulated output and its truth, before packaging into a recording."""

    device_time_us: npt.NDArray[np.int64]
    acc: FloatArray
    gyr: FloatArray
    mag: FloatArray | None
    acc_saturated: npt.NDArray[np.bool_]
    gyr_saturated: npt.NDArray[np.bool_]
    mag_saturated: npt.NDArray[np.bool_]
    time_s: FloatArray
    quat: FloatArray
    clock_offset_s: float
    clock_drift_ppm: float
    acc_matrix: FloatArray
    gyr_matrix: FloatArray
    mag_matrix: FloatArray
    acc_bias: npt.NDArray[np.float32]
    gyr_bias: npt.NDArray[np.float32]
    mag_bias: FloatArray
    field_ut: FloatArray | None


def _right_jacobian(theta: FloatArray, rate: FloatArray) -> FloatArray:
    """``J_r(θ)·θ̇`` for rotation vectors θ (n, 3): the body rate of ``Exp(θ(t))``."""
    phi = np.linalg.norm(theta, axis=1, keepdims=True)
    small = phi < 1e-4
    p = np.where(small, 1.0, phi)
    c1 = np.where(small, 0.5 - phi**2 / 24.0, (1.0 - np.cos(p)) / p**2)
    c2 = np.where(small, 1.0 / 6.0 - phi**2 / 120.0, (p - np.sin(p)) / p**3)
    cross = np.cross(theta, rate)
    return rate - c1 * cross + c2 * np.cross(theta, cross)


class _Oscillator:
    """Three independent damped oscillators ``ÿ + 2ζω ẏ + ω² y = u``, exact for inputs held per sample."""

    def __init__(self, tissue: SoftTissue, dt: float) -> None:
        w = 2 * np.pi * tissue.frequency_hz
        self.w, self.zeta = w, tissue.damping
        a = np.array([[0.0, 1.0], [-w * w, -2 * tissue.damping * w]])
        sys_d = signal.cont2discrete(
            (a, np.array([[0.0], [1.0]]), np.eye(2), np.zeros((2, 1))), dt, method="zoh"
        )
        num, den = signal.ss2tf(*sys_d[:4])
        self.num, self.den = num, den
        self.zi = [np.zeros((2, 3)), np.zeros((2, 3))]

    def run(self, u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Position, velocity and acceleration for the input chunk ``u`` (n, 3)."""
        pos, self.zi[0] = signal.lfilter(self.num[0], self.den, u, axis=0, zi=self.zi[0])
        vel, self.zi[1] = signal.lfilter(self.num[1], self.den, u, axis=0, zi=self.zi[1])
        acc = u - 2 * self.zeta * self.w * vel - self.w**2 * pos
        return pos, vel, acc


def simulate_sensor(
    *,
    program: Program,
    skeleton: Skeleton,
    facing_deg: float,
    segment: str,
    mount_position: FloatArray,
    mount_quat: FloatArray,
    errors: SensorErrorModel,
    rate_hz: float,
    n_samples: int,
    earth: EarthField,
    disturbances: tuple[MagneticDipole, ...],
    with_mag: bool,
    rng: np.random.Generator,
) -> SensorSignals:
    """Simulate one sensor over a session.

    Parameters
    ----------
    program : Program
        The commanded movement.
    skeleton : Skeleton
        Body geometry.
    facing_deg : float
        Compass azimuth the body reference frame faces [deg].
    segment : str
        Segment the sensor is strapped to.
    mount_position : ndarray, shape (3,)
        Sensor origin in the segment frame [m].
    mount_quat : ndarray, shape (4,)
        Sensor → segment rotation (w, x, y, z).
    errors : SensorErrorModel
        Error model.
    rate_hz : float
        Nominal output rate [Hz].
    n_samples : int
        Number of samples.
    earth : EarthField
        Undisturbed geomagnetic field.
    disturbances : tuple of MagneticDipole
        Local magnetic disturbances.
    with_mag : bool
        Whether the sensor has a magnetometer.
    rng : numpy.random.Generator
        This sensor's own random stream (clock, constant errors, noise, in that order).
    """
    clock = errors.clock
    offset = float(rng.uniform(0.0, clock.offset_max_s)) if clock.offset_max_s > 0 else 0.0
    drift_ppm = (
        float(rng.uniform(-clock.drift_max_ppm, clock.drift_max_ppm)) if clock.drift_max_ppm > 0 else 0.0
    )
    k = np.arange(n_samples, dtype=np.float64)
    t_true = (k / rate_hz) / (1.0 + drift_ppm * 1e-6)
    if clock.jitter_s > 0:
        t_true += np.clip(rng.normal(0.0, clock.jitter_s, n_samples), -0.25 / rate_hz, 0.25 / rate_hz)
    device_time_us = np.round(1e6 * (offset + k / rate_hz)).astype(np.int64)

    streams = [ChannelStream(ch, rate_hz, rng) for ch in (errors.acc, errors.gyr, errors.mag)]
    tissue = errors.soft_tissue
    osc = (_Oscillator(tissue, 1.0 / rate_hz), _Oscillator(tissue, 1.0 / rate_hz)) if tissue.enabled else None
    radial = np.array([mount_position[0], 0.0, mount_position[2]])
    radial = radial / np.linalg.norm(radial) if np.linalg.norm(radial) > 1e-9 else np.array([1.0, 0.0, 0.0])
    h = 1.0 / (OVERSAMPLING * rate_hz)
    disturbed = bool(disturbances)

    n = n_samples
    out = {name: np.empty((n, 3)) for name in ("acc", "gyr", "mag", "acc_bias", "gyr_bias")}
    sat = {name: np.zeros(n, dtype=bool) for name in ("acc", "gyr", "mag")}
    quat = np.empty((n, 4))
    field_ut = np.empty((n, 3)) if disturbed else None
    for k0 in range(0, n, _CHUNK):
        k1 = min(k0 + _CHUNK, n)
        t = t_true[k0:k1]
        m = t.shape[0]
        quats, origins = evaluate_pose(
            program, skeleton, facing_deg, np.concatenate([t - h, t, t + h]), [segment]
        )
        q_seg, org = quats[segment], origins[segment]
        pm = org + quat_rotate(q_seg, mount_position)
        acc_mount = (pm[:m] - 2.0 * pm[m : 2 * m] + pm[2 * m :]) / (h * h)
        q_prev, q_now, q_next = q_seg[:m], q_seg[m : 2 * m], q_seg[2 * m :]
        w_minus = quat_to_rotvec(quat_relative(q_prev, q_now)) / h
        w_plus = quat_to_rotvec(quat_relative(q_now, q_next)) / h
        omega = 0.5 * (w_minus + w_plus)
        position = pm[m : 2 * m]
        if osc is None:
            q_sensor = quat_multiply(q_now, mount_quat)
            gyr = quat_rotate_inverse(mount_quat, omega)
            acc_earth = acc_mount
        else:
            alpha = (w_plus - w_minus) / h
            drive = quat_rotate_inverse(q_now, acc_mount)
            x, xd, xdd = osc[0].run(-tissue.translation * drive)
            th, thd, _ = osc[1].run(-(osc[1].w ** 2) * tissue.tilt_rad_per_mps2 * np.cross(radial, drive))
            wobble = quat_from_rotvec(th)
            q_sensor = quat_multiply(quat_multiply(q_now, wobble), mount_quat)
            gyr = quat_rotate_inverse(
                mount_quat, quat_rotate_inverse(wobble, omega) + _right_jacobian(th, thd)
            )
            rel = xdd + 2 * np.cross(omega, xd) + np.cross(alpha, x) + np.cross(omega, np.cross(omega, x))
            acc_earth = acc_mount + quat_rotate(q_now, rel)
            position = position + quat_rotate(q_now, x)
        quat[k0:k1] = q_sensor
        true_vec = {"acc": quat_rotate_inverse(q_sensor, acc_earth - GRAVITY), "gyr": gyr}
        if with_mag:
            b_earth = field_at(earth, disturbances, position, t)
            if field_ut is not None:
                field_ut[k0:k1] = b_earth
            true_vec["mag"] = quat_rotate_inverse(q_sensor, b_earth)
        for name, stream in zip(("acc", "gyr", "mag"), streams, strict=True):
            if name not in true_vec:
                continue
            y, s, bias = stream.apply(true_vec[name])
            out[name][k0:k1], sat[name][k0:k1] = y, s
            if name != "mag":
                out[f"{name}_bias"][k0:k1] = bias

    return SensorSignals(
        device_time_us=device_time_us,
        acc=out["acc"],
        gyr=out["gyr"],
        mag=out["mag"] if with_mag else None,
        acc_saturated=sat["acc"],
        gyr_saturated=sat["gyr"],
        mag_saturated=sat["mag"],
        time_s=t_true,
        quat=quat,
        clock_offset_s=offset,
        clock_drift_ppm=drift_ppm,
        acc_matrix=streams[0].matrix,
        gyr_matrix=streams[1].matrix,
        mag_matrix=streams[2].matrix,
        acc_bias=out["acc_bias"].astype(np.float32),
        gyr_bias=out["gyr_bias"].astype(np.float32),
        mag_bias=streams[2].bias0,
        field_ut=field_ut if with_mag else None,
    )
