"""Our orientation estimator: an error-state Kalman filter (causal) and its RTS smoother (offline).

Model
-----
Nominal state: orientation ``q`` (w, x, y, z; sensor → ENU earth frame), gyroscope bias ``b``
[rad/s, sensor frame] and per-axis gyroscope scale-factor errors ``s`` (rate ``(ω_m − b)(1 − s)``).
``q`` is integrated from the corrected angular rate at every sample. The error state has nine
components: the attitude error ``δθ`` [rad] in the earth frame (``q_true = exp(δθ) ⊗ q``), the bias
error and the scale error. Its covariance is propagated, and measurements
are applied, once per block of about 40 ms (:attr:`EskfParams.block_s`); within a block the attitude
error's sensitivity to bias and scale errors is accumulated exactly (``−Σ R dt``, ``−Σ R diag(ω) dt``).

Measurements, each per block:

- **gravity**: the block mean of the specific force rotated into the earth frame should point up. Its
  horizontal components observe tilt (``δθ_x``, ``δθ_y``) only, never heading. Linear acceleration is
  treated as white noise of density :attr:`EskfParams.acc_motion`, inflated by the block's deviation
  of ``|a|`` from gravity, and innovations beyond the gate are down-weighted (taps, vibration).
- **rest**: when gyroscope and accelerometer have been steady for :attr:`EskfParams.rest_time_s`
  (the rest test of VQF, Laidig & Seel 2023, with its published thresholds), the mean gyroscope reading
  is a direct measurement of the bias, and gravity is trusted to the accelerometer's noise.
- **magnetic heading** (9D): the azimuth of the earth-frame horizontal field observes ``δθ_z`` only, so a
  disturbed field can never corrupt inclination. Blocks whose field norm or dip deviate from the
  reference by more than 10 % or 10° are rejected and flagged ``mag_disturbed``. Offline, the reference
  is the median over the recording; causally it is learnt from the start and follows slowly.

Offline mode runs the forward filter, then a Rauch–Tung–Striebel backward pass over the blocks
(Rauch, Tung, Striebel, AIAA J. 3(8), 1965) in error-state form; each sample's smoothed orientation is
its forward orientation corrected by the smoothed error interpolated within its block. Everything runs
in compiled code (:mod:`imurehab.fusion._kernel`).

Gaps (time jumps) up to :attr:`EskfParams.max_gap_s` are bridged with the mean rate of the samples on
both sides and extra process noise; longer gaps re-initialise the attitude from gravity (the 6D
heading is kept), and the smoother does not carry information across them. Saturated or interpolated
samples (:class:`imurehab.types.SampleFlags`) are not used as measurements; a saturated gyroscope
sample adds process noise.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.fusion import _kernel as kern
from imurehab.fusion._kernel_math import NX
from imurehab.fusion._smoother import rts_smooth

__all__ = ["EskfOutput", "EskfParams", "eskf_orientation"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_DEG: Final = np.pi / 180.0


@dataclass(frozen=True)
class EskfParams:
    """Noise figures and thresholds of the error-state Kalman filter (SI units).

    Attributes
    ----------
    gyr_noise : float
        Gyroscope white-noise density [rad/s/√Hz] (angle random walk), also the rest-measurement noise.
    gyr_scale_noise : float
        Rate-proportional attitude process noise [√s]: ``κ·√(2τ)`` for a scale/misalignment error κ
        of 0.5 % correlated over τ = 1 s.
    bias_walk : float
        Gyroscope bias random walk [rad/s/√s].
    bias_init : float
        Initial bias uncertainty [rad/s] (0.5 °/s).
    scale_init : float
        Initial uncertainty of each gyroscope axis' scale factor (1 %: a datasheet sensitivity tolerance).
    scale_walk : float
        Random walk of the scale factors [1/√s] (temperature drift).
    acc_motion : float
        Floor of the density of linear acceleration, treated as white noise while moving [m/s²/√Hz].
    acc_corr_s : float
        Correlation time of linear acceleration [s]: the density grows by ``2·acc_corr_s·σ²`` with σ²
        the recent mean squared linear acceleration (adaptive measurement noise).
    acc_tau_s : float
        Time constant of the running mean σ² [s].
    acc_rest : float
        Same at rest [m/s²/√Hz] (accelerometer noise and residual micro-motion).
    mag_heading : float
        Density of magnetic heading errors indoors [rad/√Hz] (3° RMS correlated over 1 s: 3°·√2).
    tilt_init, heading_init : float
        Initial attitude uncertainty [rad].
    gap_rate : float
        Angular-rate uncertainty while bridging lost samples [rad/s].
    sat_rate : float
        Angular-rate uncertainty of a saturated gyroscope sample [rad/s].
    max_gap_s : float
        Longest gap bridged by integration [s]; longer ones re-initialise the attitude.
    rest_gyr, rest_acc, rest_time_s, rest_tau_s : float
        Rest test: deviation thresholds [rad/s], [m/s²], minimum duration [s], low-pass time constant [s].
    mag_norm_tol, mag_dip_tol : float
        Magnetic disturbance thresholds: relative norm deviation and dip deviation [rad].
    mag_ref_tau_s : float
        Time constant with which a learnt (causal) magnetic reference follows the field [s].
    gate : float
        Normalised squared innovation above which a measurement is down-weighted.
    gravity : float
        Magnitude of gravity [m/s²].
    block_s : float
        Duration of a filter block [s]; the nominal state is still integrated at every sample.
    """

    gyr_noise: float = 0.01 * _DEG
    gyr_scale_noise: float = 0.0025 * np.sqrt(2.0)
    bias_walk: float = 1e-4
    bias_init: float = 0.5 * _DEG
    scale_init: float = 0.01
    scale_walk: float = 1e-5
    acc_motion: float = 0.3
    acc_corr_s: float = 0.1
    acc_tau_s: float = 1.0
    acc_lp_s: float = 3.0
    acc_rest: float = 0.05
    mag_heading: float = 8.0 * _DEG * np.sqrt(10.0)
    tilt_init: float = 5.0 * _DEG
    heading_init: float = 30.0 * _DEG
    gap_rate: float = 1.0
    sat_rate: float = 2.0
    max_gap_s: float = 0.5
    rest_gyr: float = 2.0 * _DEG
    rest_acc: float = 0.5
    rest_time_s: float = 1.5
    rest_tau_s: float = 0.5
    mag_norm_tol: float = 0.1
    mag_dip_tol: float = 10.0 * _DEG
    mag_ref_tau_s: float = 20.0
    gate: float = 9.0
    gravity: float = 9.80665
    block_s: float = field(default=0.04)


@dataclass(frozen=True, eq=False)
class EskfOutput:
    """Result of :func:`eskf_orientation`.

    Attributes
    ----------
    quat : ndarray, shape (N, 4)
        Orientation (w, x, y, z), sensor → ENU.
    gyr_bias : ndarray, shape (N, 3)
        Gyroscope bias estimate [rad/s], sensor frame.
    rest : ndarray of bool, shape (N,)
        Rest detected.
    mag_disturbed : ndarray of bool, shape (N,)
        Magnetic field rejected as disturbed (all False for 6D).
    """

    quat: FloatArray
    gyr_bias: FloatArray
    rest: BoolArray
    mag_disturbed: BoolArray


def _param_vector(p: EskfParams, rate_hz: float) -> FloatArray:
    prm = np.zeros(kern.N_PARAMS)
    prm[kern.P_GYR_NOISE] = p.gyr_noise
    prm[kern.P_GYR_SCALE] = p.gyr_scale_noise
    prm[kern.P_BIAS_WALK] = p.bias_walk
    prm[kern.P_BIAS_INIT] = p.bias_init
    prm[kern.P_SCALE_INIT] = p.scale_init
    prm[kern.P_SCALE_WALK] = p.scale_walk
    prm[kern.P_ACC_MOTION] = p.acc_motion
    prm[kern.P_ACC_REST] = p.acc_rest
    prm[kern.P_ACC_CORR] = p.acc_corr_s
    prm[kern.P_ACC_TAU] = p.acc_tau_s
    prm[kern.P_ACC_LP] = p.acc_lp_s
    prm[kern.P_MAG_HEADING] = p.mag_heading
    prm[kern.P_TILT_INIT] = p.tilt_init
    prm[kern.P_HEADING_INIT] = p.heading_init
    prm[kern.P_GAP_RATE] = p.gap_rate
    prm[kern.P_SAT_RATE] = p.sat_rate
    prm[kern.P_MAX_GAP] = p.max_gap_s
    prm[kern.P_REST_GYR] = p.rest_gyr
    prm[kern.P_REST_ACC] = p.rest_acc
    prm[kern.P_REST_TIME] = p.rest_time_s
    prm[kern.P_REST_TAU] = p.rest_tau_s
    prm[kern.P_MAG_NORM_TOL] = p.mag_norm_tol
    prm[kern.P_MAG_DIP_TOL] = p.mag_dip_tol
    prm[kern.P_MAG_REF_TAU] = p.mag_ref_tau_s
    prm[kern.P_GATE] = p.gate
    prm[kern.P_GRAVITY] = p.gravity
    prm[kern.P_DT_NOMINAL] = 1.0 / rate_hz
    if not np.all(np.isfinite(prm)) or any(v <= 0 for v in astuple(p)):
        raise ValueError(f"EskfParams must be positive and finite: {p}")
    return prm


def _mag_reference(acc: FloatArray, mag: FloatArray, ok: BoolArray, gravity: float) -> FloatArray:
    """Median field norm [µT] and dip [rad] over samples whose |a| is near gravity (offline reference)."""
    a_norm = np.linalg.norm(acc, axis=1)
    m_norm = np.linalg.norm(mag, axis=1)
    use = ok & (np.abs(a_norm - gravity) < 1.0) & (m_norm > 0)
    if not use.any():
        return np.zeros(3)
    sin_dip = -np.einsum("ij,ij->i", acc[use], mag[use]) / (a_norm[use] * m_norm[use])
    return np.array([np.median(m_norm[use]), np.arcsin(np.clip(np.median(sin_dip), -1, 1)), 1.0])


def eskf_orientation(
    acc: FloatArray,
    gyr: FloatArray,
    rate_hz: float,
    mag: FloatArray | None = None,
    *,
    smooth: bool,
    dt: FloatArray | None = None,
    acc_ok: BoolArray | None = None,
    gyr_ok: BoolArray | None = None,
    mag_ok: BoolArray | None = None,
    params: EskfParams | None = None,
) -> EskfOutput:
    """Run the error-state Kalman filter, and for ``smooth=True`` the RTS smoother after it.

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Specific force [m/s²] and angular rate [rad/s], sensor frame, finite (validated by the caller).
    rate_hz : float
        Nominal sampling rate [Hz].
    mag : ndarray, shape (N, 3), optional
        Magnetic field [µT], sensor frame; None for a 6D estimate.
    smooth : bool
        True: offline (forward filter + backward smoother); False: causal (forward filter only).
    dt : ndarray, shape (N,), optional
        Time since the previous sample [s] (``dt[0]`` unused); default ``1/rate_hz`` throughout.
    acc_ok, gyr_ok, mag_ok : ndarray of bool, shape (N,), optional
        False marks readings not to trust (saturated, interpolated); default all True.
    params : EskfParams, optional
        Noise figures and thresholds (default :class:`EskfParams`).

    Returns
    -------
    EskfOutput
        Orientation, bias, rest and magnetic-disturbance flags per sample.
    """
    p = EskfParams() if params is None else params
    n = acc.shape[0]
    prm = _param_vector(p, rate_hz)
    block_n = max(1, round(p.block_s * rate_hz))
    ones = np.ones(n, dtype=np.bool_)
    acc_ok = ones if acc_ok is None else np.ascontiguousarray(acc_ok, dtype=np.bool_)
    gyr_ok = ones if gyr_ok is None else np.ascontiguousarray(gyr_ok, dtype=np.bool_)
    mag_ok = ones if mag_ok is None else np.ascontiguousarray(mag_ok, dtype=np.bool_)
    dt_a = np.full(n, 1.0 / rate_hz) if dt is None else np.ascontiguousarray(dt, dtype=np.float64)
    use_mag = mag is not None
    mag_a = np.zeros((n, 3)) if mag is None else mag
    mag_ref = _mag_reference(acc, mag_a, mag_ok, p.gravity) if (use_mag and smooth) else np.zeros(3)
    # Blocks: at most one per block_n samples, plus two per gap that ends or restarts one.
    max_blocks = n // block_n + 2 + 2 * int(np.count_nonzero(dt_a[1:] > p.max_gap_s))
    q_out = np.empty((n, 4))
    bias_out = np.empty((n, 3))
    rest_out = np.zeros(n, dtype=np.bool_)
    magdist_out = np.zeros(n, dtype=np.bool_)
    gain = np.zeros((max_blocks if smooth else 1, NX, NX))
    q_filt = np.empty((max_blocks, 4))
    b_filt = np.empty((max_blocks, 6))
    q_pred = np.empty((max_blocks, 4))
    blk_end = np.zeros(max_blocks, dtype=np.int64)
    blk_reset = np.zeros(max_blocks, dtype=np.bool_)
    k = kern.eskf_forward(
        gyr, acc, mag_a, dt_a, acc_ok, gyr_ok, mag_ok, use_mag, prm, block_n, mag_ref, smooth,
        q_out, bias_out, rest_out, magdist_out, gain, q_filt, b_filt, q_pred, blk_end, blk_reset,
    )  # fmt: skip
    if smooth:
        rts_smooth(q_out, bias_out, gain, q_filt, b_filt, q_pred, blk_end, blk_reset, k)
    return EskfOutput(q_out, bias_out, rest_out, magdist_out)
