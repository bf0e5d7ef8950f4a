"""Sample timing and trust flags for the estimators: time steps, gaps and readings not to trust."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.types import SampleFlags

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Timing:
    """Per-sample time steps and trust masks.

    Attributes
    ----------
    dt : ndarray, shape (N,)
        Time since the previous sample [s] (``dt[0]`` is the nominal step); ``inf`` after a gap of unknown
        length.
    acc_ok, gyr_ok, mag_ok : ndarray of bool, shape (N,)
        False where the reading is saturated or interpolated.
    """

    dt: FloatArray
    acc_ok: BoolArray
    gyr_ok: BoolArray
    mag_ok: BoolArray

    def segments(self, max_gap_s: float) -> list[tuple[int, int]]:
        """Index ranges ``[start, stop)`` between gaps longer than ``max_gap_s`` [s]."""
        cuts = np.flatnonzero(self.dt[1:] > max_gap_s) + 1
        bounds = [0, *cuts.tolist(), self.dt.shape[0]]
        return list(itertools.pairwise(bounds))


def sample_timing(
    n: int,
    rate_hz: float,
    time_s: npt.ArrayLike | None,
    gaps: npt.ArrayLike | None,
    flags: npt.ArrayLike | None,
) -> Timing:
    """Validate the optional timing inputs of the estimators and turn them into a :class:`Timing`.

    Parameters
    ----------
    n : int
        Number of samples.
    rate_hz : float
        Nominal sampling rate [Hz].
    time_s : array_like, shape (N,), optional
        Sample times [s], strictly increasing.
    gaps : array_like of bool, shape (N,), optional
        True where samples were lost just before this one (gap of unknown length).
    flags : array_like of int, shape (N,), optional
        :class:`imurehab.types.SampleFlags` per sample.
    """
    dt = np.full(n, 1.0 / rate_hz)
    if time_s is not None:
        t = np.asarray(time_s, dtype=np.float64)
        if t.shape != (n,):
            raise DataValidationError(f"must have shape ({n},), got {t.shape}", column="time_s")
        if not np.isfinite(t).all():
            raise DataValidationError("holds NaN or inf", column="time_s")
        step = np.diff(t)
        if (step <= 0).any():
            raise DataValidationError(
                "must be strictly increasing", column="time_s", index=int(np.flatnonzero(step <= 0)[0]) + 1
            )
        dt[1:] = step
    if gaps is not None:
        g = np.asarray(gaps, dtype=bool)
        if g.shape != (n,):
            raise DataValidationError(f"must have shape ({n},), got {g.shape}", column="gaps")
        dt[1:][g[1:]] = np.inf
    ok = np.ones(n, dtype=bool)
    acc_ok, gyr_ok, mag_ok = ok, ok, ok
    if flags is not None:
        f = np.asarray(flags)
        if f.shape != (n,) or (f.size and f.dtype.kind not in "iu"):
            raise DataValidationError(
                f"must be integers of shape ({n},), got {f.dtype} {f.shape}", column="flags"
            )
        f = f.astype(np.int64)
        interp = (f & SampleFlags.INTERPOLATED) != 0
        acc_ok = ((f & SampleFlags.ACC_SATURATED) == 0) & ~interp
        gyr_ok = ((f & SampleFlags.GYR_SATURATED) == 0) & ~interp
        mag_ok = ((f & SampleFlags.MAG_SATURATED) == 0) & ~interp
    return Timing(dt, acc_ok, gyr_ok, mag_ok)
