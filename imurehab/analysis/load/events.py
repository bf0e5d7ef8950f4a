"""Acceleration and deceleration events from the sensor's forward axis alone.

What a body-worn IMU cannot give: speed. GPS/LPS "accelerations" are changes of the athlete's speed
(e.g. > 2 m/s² for ≥ 0.5 s); an accelerometer measures specific force in its own tilting frame, and
integrating it to speed drifts within seconds. What it can honestly give, and what is computed here: the
forward component of specific force (``fwd_sign · acc[:, fwd]``, :class:`AxisMap`) with its slow part
removed and its fast part smoothed away,

    d(t) = mean of f over t ± 0.25 s  −  mean of f over t ± 5 s     [m/s²]

(the 10 s mean stands in for gravity's projection on a steadily tilted sensor; the 0.5 s mean removes
the oscillation of each step). An *acceleration event* is a run of samples with d ≥ +2 m/s² lasting
≥ 0.5 s, a *deceleration event* one with d ≤ −2 m/s²; each counts in the epoch where it starts.

Limits, stated plainly: leaning the trunk by θ adds g·sin θ to f (10° ≈ 1.7 m/s²) for as long as the lean
lasts, and a tilt change within 10 s is not removed; the events mark forward pushes and braking of the
body segment the sensor is on, not GPS-equivalent speed changes. Best on a trunk/sacrum sensor.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from imurehab.analysis.load._scratch import scratch
from imurehab.analysis.load._validate import FloatArray, IntArray, check_acc, check_rate
from imurehab.analysis.load.axes import ISB_AXES, AxisMap

__all__ = ["EVENT_MIN_DURATION_S", "EVENT_THRESHOLD_MPS2", "accel_decel_events"]

EVENT_THRESHOLD_MPS2: Final[float] = 2.0
"""|d| an event must reach [m/s²]."""
EVENT_MIN_DURATION_S: Final[float] = 0.5
"""How long d must stay beyond the threshold [s]."""
_SMOOTH_S: Final = 0.5
_GRAVITY_S: Final = 10.0


@njit(cache=True, nogil=True)
def _events(acc, axis, sign_of_axis, half_smooth, half_gravity, threshold, min_len, prefix, starts, signs):
    """Event start indices and signs (+1 acceleration, −1 deceleration); returns how many.

    The forward specific force is ``sign_of_axis · acc[:, axis]`` (read in place, not copied);
    ``prefix`` (N + 1) receives its running sum.
    """
    n = acc.shape[0]
    prefix[0] = 0.0
    for i in range(n):
        prefix[i + 1] = prefix[i] + acc[i, axis] * sign_of_axis
    count = 0
    run_sign = 0
    run_start = 0
    for i in range(n + 1):
        sign = 0
        if i < n:
            a, b = max(0, i - half_smooth), min(n, i + half_smooth + 1)
            c, e = max(0, i - half_gravity), min(n, i + half_gravity + 1)
            d = (prefix[b] - prefix[a]) / (b - a) - (prefix[e] - prefix[c]) / (e - c)
            if d >= threshold:
                sign = 1
            elif d <= -threshold:
                sign = -1
        if sign != run_sign:
            if run_sign != 0 and i - run_start >= min_len:
                starts[count] = run_start
                signs[count] = run_sign
                count += 1
            run_sign = sign
            run_start = i
    return count


def events_of(acc: FloatArray, rate_hz: float, axis_map: AxisMap) -> tuple[IntArray, IntArray]:
    """Start sample indices and signs of the events of checked ``acc`` [m/s²]."""
    n = acc.shape[0]
    starts = np.empty(n // 2 + 1, dtype=np.int64)
    signs = np.empty(n // 2 + 1, dtype=np.int64)
    count = _events(
        acc,
        axis_map.indices[0],
        axis_map.fwd_sign,
        round(_SMOOTH_S * rate_hz / 2),
        round(_GRAVITY_S * rate_hz / 2),
        EVENT_THRESHOLD_MPS2,
        max(1, round(EVENT_MIN_DURATION_S * rate_hz)),
        scratch("events_prefix", n + 1),
        starts,
        signs,
    )
    return starts[:count].copy(), signs[:count].copy()


def accel_decel_events(
    acc_mps2: npt.ArrayLike, rate_hz: float, *, axis_map: AxisMap = ISB_AXES
) -> tuple[IntArray, IntArray]:
    """Forward acceleration and deceleration events of a recording (see the module notes).

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included, uniformly sampled.
    rate_hz : float
        Sampling rate [Hz].
    axis_map : AxisMap
        Which signed sensor axis points forward (default ``+x``).

    Returns
    -------
    start : numpy.ndarray of int64
        Sample index where each event starts.
    sign : numpy.ndarray of int64
        +1 for an acceleration, −1 for a deceleration.

    Examples
    --------
    A 1 s forward push of 3 m/s², then a 1 s braking of 3 m/s²:

    >>> import numpy as np
    >>> acc = np.zeros((3000, 3)); acc[:, 1] = 9.80665
    >>> acc[1000:1100, 0] = 3.0; acc[2000:2100, 0] = -3.0
    >>> start, sign = accel_decel_events(acc, 100.0)
    >>> sign.tolist()
    [1, -1]
    """
    acc = check_acc(acc_mps2)
    return events_of(acc, check_rate(rate_hz), axis_map)
