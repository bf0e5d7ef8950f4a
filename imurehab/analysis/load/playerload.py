"""PlayerLoad: the accumulated rate of change of acceleration, 3D, 2D and per body axis.

Definition (Boyd, Ball & Aughey 2011, Int J Sports Physiol Perform 6:311–321; Catapult Sports,
"PlayerLoad" definition): with the forward, sideways and up accelerations in g sampled at 100 Hz,

    PlayerLoad = Σᵢ √((fwdᵢ − fwdᵢ₋₁)² + (sideᵢ − sideᵢ₋₁)² + (upᵢ − upᵢ₋₁)²) / 100   [arbitrary units]

PlayerLoad 2D leaves out the up term; the per-axis values are Σ |Δaxis| / 100. Catapult's own devices
filter the signal before this sum, so their figures differ from the published formula (issue 7 quotes
≈ 15 %); imurehab computes the published formula, unfiltered.

Other sampling rates: the formula is defined at 100 Hz, so a signal at another rate is first resampled
to 100 Hz (:func:`scipy.signal.resample_poly`, Kaiser-windowed FIR anti-alias filter, ``padtype="line"``):
above 100 Hz this removes the content a 100 Hz sensor could not see, below it adds none. For motion
band-limited well under the lower Nyquist frequency the result is within 1 % of the 100 Hz value
(tests/analysis/test_load_playerload.py).
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from numba import njit

from imurehab.analysis.load._resample import resample
from imurehab.analysis.load._validate import FloatArray, IntArray, check_acc, check_rate
from imurehab.analysis.load.axes import ISB_AXES, STANDARD_GRAVITY, AxisMap
from imurehab.errors import DataValidationError

__all__ = ["PLAYERLOAD_AXES", "PLAYERLOAD_RATE_HZ", "playerload"]

PLAYERLOAD_RATE_HZ: Final[float] = 100.0
"""The sampling rate the PlayerLoad formula is defined at [Hz]."""

PlayerLoadAxes = Literal["3d", "2d", "fwd", "side", "up"]
PLAYERLOAD_AXES: Final[tuple[str, ...]] = ("3d", "2d", "fwd", "side", "up")
"""The variants of :func:`playerload`, in the order of ``columns.PLAYERLOADS``."""

_SCALE: Final = 1.0 / (100.0 * STANDARD_GRAVITY)  # m/s² differences → g, then the formula's / 100


@njit(cache=True, nogil=True)
def playerload_epochs(acc, time_us, bounds, fwd, side, up, max_dt_us, out):
    """PlayerLoad per epoch into ``out`` (E, 5): 3D, 2D, fwd, side, up.

    ``acc`` (N, 3) [m/s²]; epoch e holds samples ``bounds[e]:bounds[e + 1]``. The increment between
    samples i − 1 and i belongs to the epoch of sample i; it is skipped when the samples are more than
    ``max_dt_us`` apart (a gap: not a 100 Hz difference).
    """
    for e in range(bounds.shape[0] - 1):
        s3 = 0.0
        s2 = 0.0
        sf = 0.0
        ss = 0.0
        su = 0.0
        for i in range(max(bounds[e], 1), bounds[e + 1]):
            if time_us[i] - time_us[i - 1] > max_dt_us:
                continue
            df = acc[i, fwd] - acc[i - 1, fwd]
            ds = acc[i, side] - acc[i - 1, side]
            du = acc[i, up] - acc[i - 1, up]
            h = df * df + ds * ds
            s3 += math.sqrt(h + du * du)
            s2 += math.sqrt(h)
            sf += abs(df)
            ss += abs(ds)
            su += abs(du)
        out[e, 0] = s3 * _SCALE
        out[e, 1] = s2 * _SCALE
        out[e, 2] = sf * _SCALE
        out[e, 3] = ss * _SCALE
        out[e, 4] = su * _SCALE


def playerload_per_epoch(
    acc: FloatArray, time_us: IntArray, bounds: IntArray, axis_map: AxisMap
) -> FloatArray:
    """PlayerLoad (E, 5) per epoch of checked arrays; epochs as sample-index ``bounds`` (E + 1)."""
    max_dt_us = round(1.5e6 / PLAYERLOAD_RATE_HZ)
    fwd, side, up = axis_map.indices
    out = np.empty((bounds.shape[0] - 1, 5))
    playerload_epochs(acc, time_us, bounds, fwd, side, up, max_dt_us, out)
    return out


def playerload(
    acc_mps2: npt.ArrayLike,
    rate_hz: float,
    *,
    axes: PlayerLoadAxes = "3d",
    axis_map: AxisMap = ISB_AXES,
) -> float:
    """PlayerLoad of a recording: the published formula, accumulated over all samples.

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²] (gravity included), uniformly sampled without gaps.
        Converted to g with g = 9.80665 m/s².
    rate_hz : float
        Sampling rate [Hz]. At rates other than 100 Hz the signal is resampled to 100 Hz first
        (polyphase FIR, see the module notes).
    axes : {"3d", "2d", "fwd", "side", "up"}
        ``"3d"``: √(Δfwd² + Δside² + Δup²); ``"2d"``: √(Δfwd² + Δside²) (no vertical); ``"fwd"``,
        ``"side"``, ``"up"``: |Δ| of that axis alone. Each summed and divided by 100.
    axis_map : AxisMap
        Which sensor axis is forward, side and up (default :data:`ISB_AXES`: x forward, z side, y up).
        Irrelevant for ``"3d"``.

    Returns
    -------
    float
        PlayerLoad [arbitrary units, AU].

    Notes
    -----
    Boyd, Ball & Aughey (2011), Int J Sports Physiol Perform 6:311–321; Catapult Sports' definition of
    PlayerLoad. Version: :data:`~imurehab.analysis.load.LOAD_METRICS_VERSION`.

    Examples
    --------
    A step of 1 g along the forward axis at 100 Hz adds 1/100:

    >>> import numpy as np
    >>> acc = np.zeros((4, 3)); acc[2:, 0] = 9.80665
    >>> round(playerload(acc, 100.0), 12), round(playerload(acc, 100.0, axes="up"), 12)
    (0.01, 0.0)
    """
    if axes not in PLAYERLOAD_AXES:
        raise DataValidationError(f"axes must be one of {', '.join(PLAYERLOAD_AXES)}, got {axes!r}")
    acc = resample(check_acc(acc_mps2), check_rate(rate_hz), PLAYERLOAD_RATE_HZ)
    n = acc.shape[0]
    time_us = np.arange(n, dtype=np.int64) * round(1e6 / PLAYERLOAD_RATE_HZ)
    bounds = np.array([0, n], dtype=np.int64)
    return float(playerload_per_epoch(acc, time_us, bounds, axis_map)[0, PLAYERLOAD_AXES.index(axes)])
