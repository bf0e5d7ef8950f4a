"""Orientation of each sensor from its accelerometer, gyroscope and (optionally) magnetometer.

Conventions: the earth frame is ENU (x east, y north, z up); the result is a Hamilton unit quaternion,
scalar first (w, x, y, z), that rotates sensor-frame vectors into the earth frame. Without a
magnetometer (6D) the heading is relative: it starts at an arbitrary value and may drift slowly.

The methods:

- ``"eskf"`` (default) — our error-state Kalman filter with gyroscope bias and scale-factor states, rest
  detection and heading-only magnetometer updates with disturbance rejection; offline mode adds a
  Rauch–Tung–Striebel smoother (:mod:`imurehab.fusion.eskf`). Chosen as default by measurement on the
  BROAD benchmark (docs/fusion.md). It handles time gaps (``time_s``/``gaps``) and saturated samples
  (``flags``).

- ``"vqf"`` — VQF (Laidig & Seel, "VQF: Highly accurate IMU orientation estimation with bias estimation
  and magnetic disturbance rejection", Information Fusion 91, 2023), from the ``vqf`` package. Causal mode
  runs ``VQF``; offline mode runs ``offlineVQF``, which uses the whole recording (forward-backward).
  VQF's own frame is ENU with scalar-first quaternions, so no mapping is needed.
- ``"madgwick"`` — Madgwick's gradient-descent filter (Madgwick et al., IEEE ICORR 2011), from the
  ``ahrs`` package; causal only. ahrs' 9D earth frame is north-west-up, mapped to ENU here.

The wrapped filters know nothing of gaps or saturation: across a gap longer than
:attr:`EskfParams.max_gap_s <imurehab.fusion.eskf.EskfParams>` (or one marked in ``gaps``) they are
restarted, and ``flags`` are ignored.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.fusion._timing import Timing, sample_timing
from imurehab.fusion.eskf import EskfOutput, EskfParams, eskf_orientation
from imurehab.quaternion import quat_multiply, quat_normalize

__all__ = ["METHODS", "FusionResult", "estimate_orientation", "estimate_orientation_detailed"]

Mode = Literal["offline", "causal"]

METHODS: Final[dict[str, tuple[str, ...]]] = {
    "eskf": ("offline", "causal"),
    "vqf": ("offline", "causal"),
    "madgwick": ("causal",),
}
"""Estimator names and the modes each supports."""

DEFAULT_METHOD: Final[str] = "eskf"

# ahrs' Madgwick 9D earth frame is x north, y west, z up: a +90° turn about up maps it onto ENU.
_NWU_TO_ENU: Final = np.array([np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)])


@dataclass(frozen=True, eq=False)
class FusionResult:
    """Orientation estimates of one sensor, with per-sample quality information.

    Attributes
    ----------
    quat : ndarray, shape (N, 4)
        Unit quaternions (w, x, y, z), sensor → ENU earth frame; 9D when a magnetometer was given.
    quat_6d : ndarray, shape (N, 4)
        The 6D estimate (accelerometer and gyroscope only; heading relative), which joint angles use
        indoors where magnetometers are unreliable. The same array as ``quat`` for 6D input.
    rest : ndarray of bool, shape (N,)
        True where the estimator detected rest.
    mag_disturbed : ndarray of bool, shape (N,), or None
        True where a magnetic disturbance was detected; None for 6D estimates.
    gyr_bias : ndarray, shape (N, 3), or None
        Gyroscope bias estimate in the sensor frame [rad/s], where the estimator provides one.
    method : str
        Estimator name.
    mode : str
        ``"offline"`` or ``"causal"``.
    """

    quat: npt.NDArray[np.float64]
    quat_6d: npt.NDArray[np.float64]
    rest: npt.NDArray[np.bool_]
    mag_disturbed: npt.NDArray[np.bool_] | None
    gyr_bias: npt.NDArray[np.float64] | None
    method: str
    mode: str


def _check_inputs(
    acc: npt.ArrayLike, gyr: npt.ArrayLike, mag: npt.ArrayLike | None, rate_hz: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    arrays = []
    n = None
    for name, a in (("acc", acc), ("gyr", gyr), ("mag", mag)):
        if a is None:
            arrays.append(None)
            continue
        arr = np.ascontiguousarray(a, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3 or (n is not None and arr.shape[0] != n):
            raise DataValidationError(
                f"must have shape (N, 3) with the same N as acc, got {arr.shape}", column=name
            )
        if not np.isfinite(arr).all():
            raise DataValidationError(
                "holds NaN or inf", column=name, index=int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
            )
        n = arr.shape[0]
        arrays.append(arr)
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise DataValidationError(f"rate_hz must be positive and finite, got {rate_hz!r}", column="rate_hz")
    return arrays[0], arrays[1], arrays[2]  # type: ignore[return-value]


def estimate_orientation_detailed(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    rate_hz: float,
    mag: npt.ArrayLike | None = None,
    *,
    mode: Mode = "offline",
    method: str | None = None,
    time_s: npt.ArrayLike | None = None,
    gaps: npt.ArrayLike | None = None,
    flags: npt.ArrayLike | None = None,
) -> FusionResult:
    """Estimate a sensor's orientation, with rest, magnetic-disturbance and gyro-bias information.

    Parameters are as for :func:`estimate_orientation`.

    Returns
    -------
    FusionResult
        Quaternions and per-sample quality information; for 9D input both the 9D and the 6D estimate.
    """
    return _estimate(acc, gyr, rate_hz, mag, mode, method, time_s, gaps, flags, need_6d=True)


def estimate_orientation(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    rate_hz: float,
    mag: npt.ArrayLike | None = None,
    *,
    mode: Mode = "offline",
    method: str | None = None,
    time_s: npt.ArrayLike | None = None,
    gaps: npt.ArrayLike | None = None,
    flags: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Estimate a sensor's orientation from its inertial (and magnetic) samples.

    Parameters
    ----------
    acc : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included.
    gyr : array_like, shape (N, 3)
        Angular rate in the sensor frame [rad/s].
    rate_hz : float
        Nominal sampling rate [Hz]; without ``time_s`` samples are taken as evenly spaced.
    mag : array_like, shape (N, 3), optional
        Magnetic flux density in the sensor frame [µT]. Without it the estimate is 6D: heading relative.
    mode : {"offline", "causal"}
        ``"offline"`` may use the whole recording (past and future samples); ``"causal"`` uses only past
        samples, as a live stream must.
    method : str, optional
        Estimator name from :data:`METHODS`; default ``"eskf"``.
    time_s : array_like, shape (N,), optional
        Sample times [s], strictly increasing: jumps are gaps. Short gaps (≤ 0.5 s) are bridged, longer
        ones restart the attitude from gravity (keeping the 6D heading).
    gaps : array_like of bool, shape (N,), optional
        True where samples were lost just before this one, for a gap of unknown length (a restart).
    flags : array_like of int, shape (N,), optional
        :class:`imurehab.types.SampleFlags` per sample: saturated or interpolated readings are not used
        as measurements, and a saturated gyroscope sample widens the attitude uncertainty.

    Returns
    -------
    ndarray, shape (N, 4)
        Unit quaternions (w, x, y, z) rotating sensor-frame vectors into the ENU earth frame; the same
        input always gives bit-identical output.

    Examples
    --------
    >>> import numpy as np
    >>> acc = np.tile([0.0, 0.0, 9.81], (200, 1)); gyr = np.zeros((200, 3))
    >>> q = estimate_orientation(acc, gyr, rate_hz=100.0)
    >>> np.allclose(np.abs(q[-1]), [1, 0, 0, 0], atol=1e-6)
    True
    """
    return _estimate(acc, gyr, rate_hz, mag, mode, method, time_s, gaps, flags, need_6d=False).quat


def _estimate(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    rate_hz: float,
    mag: npt.ArrayLike | None,
    mode: str,
    method: str | None,
    time_s: npt.ArrayLike | None,
    gaps: npt.ArrayLike | None,
    flags: npt.ArrayLike | None,
    *,
    need_6d: bool,
) -> FusionResult:
    acc_a, gyr_a, mag_a = _check_inputs(acc, gyr, mag, rate_hz)
    method = DEFAULT_METHOD if method is None else method
    if method not in METHODS:
        raise DataValidationError(f"unknown fusion method {method!r}; expected one of {sorted(METHODS)}")
    if mode not in METHODS[method]:
        raise DataValidationError(f"method {method!r} supports modes {METHODS[method]}, not {mode!r}")
    n = acc_a.shape[0]
    if n == 0:
        empty = np.zeros((0, 4))
        no_mag = None if mag_a is None else np.zeros(0, bool)
        return FusionResult(empty, empty, np.zeros(0, bool), no_mag, None, method, mode)
    timing = sample_timing(n, rate_hz, time_s, gaps, flags)
    if method == "eskf":
        return _run_eskf(acc_a, gyr_a, mag_a, rate_hz, mode, timing, need_6d)
    parts = [
        _run_vqf(acc_a[a:b], gyr_a[a:b], None if mag_a is None else mag_a[a:b], rate_hz, mode)
        if method == "vqf"
        else _run_madgwick(acc_a[a:b], gyr_a[a:b], None if mag_a is None else mag_a[a:b], rate_hz)
        for a, b in timing.segments(EskfParams().max_gap_s)
    ]
    return parts[0] if len(parts) == 1 else _concat(parts)


def _concat(parts: list[FusionResult]) -> FusionResult:
    def cat(name: str) -> npt.NDArray[np.generic] | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else np.concatenate(values)

    quat_6d = cat("quat_6d")
    quat = quat_6d if parts[0].quat is parts[0].quat_6d else cat("quat")
    return FusionResult(
        quat, quat_6d, cat("rest"), cat("mag_disturbed"), cat("gyr_bias"), parts[0].method, parts[0].mode
    )  # type: ignore[arg-type]


def _run_eskf(
    acc: npt.NDArray[np.float64],
    gyr: npt.NDArray[np.float64],
    mag: npt.NDArray[np.float64] | None,
    rate_hz: float,
    mode: str,
    timing: Timing,
    need_6d: bool,
) -> FusionResult:
    def run(m: npt.NDArray[np.float64] | None) -> EskfOutput:
        return eskf_orientation(
            acc, gyr, rate_hz, m, smooth=mode == "offline", dt=timing.dt,
            acc_ok=timing.acc_ok, gyr_ok=timing.gyr_ok, mag_ok=timing.mag_ok,
        )  # fmt: skip

    out = run(mag)
    quat = _canonical_sign(out.quat)
    if mag is None:
        return FusionResult(quat, quat, out.rest, None, out.gyr_bias, "eskf", mode)
    # The 6D estimate is a second pass; callers that only want the 9D quaternions skip it.
    quat_6d = _canonical_sign(run(None).quat) if need_6d else quat
    return FusionResult(quat, quat_6d, out.rest, out.mag_disturbed, out.gyr_bias, "eskf", mode)


def _run_vqf(
    acc: npt.NDArray[np.float64],
    gyr: npt.NDArray[np.float64],
    mag: npt.NDArray[np.float64] | None,
    rate_hz: float,
    mode: str,
) -> FusionResult:
    import vqf

    ts = 1.0 / rate_hz
    if mode == "offline":
        out = vqf.offlineVQF(gyr, acc, mag, ts)
    else:
        out = vqf.VQF(ts).updateBatch(gyr, acc, mag)
    quat_6d = _canonical_sign(out["quat6D"])
    mag_dist = None if mag is None else np.asarray(out["magDistDetected"], dtype=bool)
    return FusionResult(
        quat=quat_6d if mag is None else _canonical_sign(out["quat9D"]),
        quat_6d=quat_6d,
        rest=np.asarray(out["restDetected"], dtype=bool),
        mag_disturbed=mag_dist,
        gyr_bias=np.asarray(out["bias"], dtype=np.float64),
        method="vqf",
        mode=mode,
    )


def _run_madgwick(
    acc: npt.NDArray[np.float64],
    gyr: npt.NDArray[np.float64],
    mag: npt.NDArray[np.float64] | None,
    rate_hz: float,
) -> FusionResult:
    quat_6d = _madgwick(acc, gyr, None, rate_hz)
    quat = quat_6d if mag is None else quat_multiply(_NWU_TO_ENU, _madgwick(acc, gyr, mag, rate_hz))
    n = quat.shape[0]
    return FusionResult(
        quat=_canonical_sign(quat_normalize(quat)),
        quat_6d=_canonical_sign(quat_normalize(quat_6d)),
        rest=np.zeros(n, dtype=bool),
        mag_disturbed=None if mag is None else np.zeros(n, dtype=bool),
        gyr_bias=None,
        method="madgwick",
        mode="causal",
    )


def _madgwick(
    acc: npt.NDArray[np.float64],
    gyr: npt.NDArray[np.float64],
    mag: npt.NDArray[np.float64] | None,
    rate_hz: float,
) -> npt.NDArray[np.float64]:
    from ahrs.filters import Madgwick

    # ahrs warns about its own defaults on every call; nothing in them concerns the caller.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(Madgwick(gyr=gyr, acc=acc, mag=mag, frequency=rate_hz).Q, dtype=np.float64)


def _canonical_sign(q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Make consecutive quaternions' signs continuous, starting with w ≥ 0 (q and −q are one rotation)."""
    q = np.array(q, dtype=np.float64)
    if q.shape[0] == 0:
        return q
    dots = np.einsum("ij,ij->i", q[1:], q[:-1])
    flips = np.concatenate([[q[0, 0] < 0], dots < 0])
    sign = np.where(np.logical_xor.accumulate(flips), -1.0, 1.0)
    return q * sign[:, None]
