"""Impacts: peaks of the acceleration magnitude ‖a‖ in g, counted by g-zone.

Definition (imurehab, version :data:`~imurehab.analysis.load.LOAD_METRICS_VERSION`): an *excursion* is a
run of consecutive samples with ‖a‖ ≥ the lowest zone threshold (2 g); its *peak* is the largest ‖a‖ in
it. An excursion that starts less than the refractory time (0.15 s) after the previous peak belongs to
that impact (one foot strike often shows a heel transient and an active peak). Each impact is counted in
the zone of its peak: [2, 3), [3, 5), [5, 8) or ≥ 8 g, and in the epoch of its peak sample.

‖a‖ is the norm of the specific force (gravity included: 1 g at rest) at the native sampling rate; a
lower rate can miss the top of a short peak, so impact counts depend on the rate and on where the sensor
sits (a tibia sees several times the peak a sacrum does). The zones are a common sports-science banding,
not a standard; compare athletes with the same sensor, site and rate.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from imurehab.analysis.load._validate import FloatArray, IntArray, check_acc, check_rate
from imurehab.analysis.load.epochs import magnitude_g

__all__ = ["IMPACT_REFRACTORY_S", "IMPACT_ZONES_G", "impact_peaks"]

IMPACT_ZONES_G: Final[tuple[float, float, float, float]] = (2.0, 3.0, 5.0, 8.0)
"""Lower bounds of the impact zones [g]; the last zone is open-ended."""

IMPACT_REFRACTORY_S: Final[float] = 0.15
"""An excursion starting closer than this after the previous impact's peak belongs to it [s]."""


@njit(cache=True, nogil=True)
def _peaks(r, low, refractory, index, value):
    """Impact peaks of ``r`` [g] into ``index``/``value``; returns how many."""
    count = 0
    active = False
    cur_i = 0
    cur_v = 0.0
    for i in range(r.shape[0]):
        v = r[i]
        if v >= low:
            if not active:
                active = True
                if count > 0 and i - index[count - 1] < refractory:
                    count -= 1  # the same impact: continue it
                    cur_i = index[count]
                    cur_v = value[count]
                else:
                    cur_i = i
                    cur_v = v
            if v > cur_v:
                cur_i = i
                cur_v = v
        elif active:
            index[count] = cur_i
            value[count] = cur_v
            count += 1
            active = False
    if active:
        index[count] = cur_i
        value[count] = cur_v
        count += 1
    return count


def peaks_of_magnitude(r: FloatArray, rate_hz: float, refractory_s: float) -> tuple[IntArray, FloatArray]:
    """Impact peak sample indices and values [g] of the magnitude ``r`` [g]."""
    index = np.empty(r.shape[0] // 2 + 1, dtype=np.int64)
    value = np.empty(r.shape[0] // 2 + 1)
    n = _peaks(r, IMPACT_ZONES_G[0], math.ceil(refractory_s * rate_hz - 1e-9), index, value)
    return index[:n].copy(), value[:n].copy()


def impact_zone(peak_g: FloatArray) -> IntArray:
    """Zone number (0 = [2, 3) g, ..., 3 = ≥ 8 g) of each peak [g]."""
    return np.searchsorted(np.asarray(IMPACT_ZONES_G), peak_g, side="right") - 1


def impact_peaks(
    acc_mps2: npt.ArrayLike, rate_hz: float, *, refractory_s: float = IMPACT_REFRACTORY_S
) -> tuple[IntArray, FloatArray, IntArray]:
    """Impacts of a recording: the peak of each excursion of ‖a‖ above 2 g.

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included; ‖a‖ is divided by g = 9.80665 m/s².
    rate_hz : float
        Sampling rate [Hz] (peaks are taken at the native rate).
    refractory_s : float, default 0.15
        An excursion starting closer than this after the previous peak is part of that impact [s].

    Returns
    -------
    index : numpy.ndarray of int64
        Sample index of each impact's peak.
    peak_g : numpy.ndarray of float64
        ‖a‖ at the peak [g].
    zone : numpy.ndarray of int64
        Zone of the peak: 0 = [2, 3) g, 1 = [3, 5) g, 2 = [5, 8) g, 3 = ≥ 8 g (:data:`IMPACT_ZONES_G`).

    Examples
    --------
    >>> import numpy as np
    >>> r = np.ones(300); r[[50, 52, 150, 250]] = [2.5, 3.5, 6.0, 9.0]  # 50 and 52: one impact
    >>> acc = np.zeros((300, 3)); acc[:, 1] = r * 9.80665
    >>> index, peak, zone = impact_peaks(acc, 100.0)
    >>> index.tolist(), zone.tolist()
    ([52, 150, 250], [1, 2, 3])
    """
    acc = check_acc(acc_mps2)
    rate = check_rate(rate_hz)
    r = np.empty(acc.shape[0])
    magnitude_g(acc, r)
    index, value = peaks_of_magnitude(r, rate, refractory_s)
    return index, value, impact_zone(value)
