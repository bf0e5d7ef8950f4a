"""One sensor's live samples with a causal 6D orientation, appended packet by packet.

Orientation is VQF (Laidig & Seel, "VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection", Information Fusion 91, 2023) run forward only, without the
magnetometer: inclination is absolute, heading is relative and drifts slowly (the joint models re-align
it). Each packet is one ``updateBatch`` call into VQF's compiled loop.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import vqf

from imurehab.errors import DataValidationError

__all__ = ["MAX_FILL_S", "SensorTrack"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_FILL_S: Final[float] = 1.0
"""Gaps (lost packets) up to this long [s] are bridged by linear interpolation so the estimate runs on."""


class _Rows:
    """A growable 2-D float array addressed by absolute row numbers (old rows can be dropped)."""

    def __init__(self, width: int) -> None:
        self._data = np.empty((256, width))
        self._n = 0  # rows held
        self.base = 0  # absolute number of row 0

    @property
    def end(self) -> int:
        """Absolute number one past the last row."""
        return self.base + self._n

    def extend(self, rows: FloatArray) -> None:
        need = self._n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), self._data.shape[1]))
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n : need] = rows
        self._n = need

    def get(self, lo: int, hi: int) -> FloatArray:
        """Rows ``lo`` to ``hi`` (absolute numbers, ``hi`` excluded); a view, do not keep it."""
        if lo < self.base:
            raise IndexError(f"row {lo} was dropped (first kept: {self.base})")
        return self._data[lo - self.base : hi - self.base]

    def drop_before(self, row: int) -> None:
        cut = min(max(0, row - self.base), self._n)
        if cut > len(self._data) // 2:
            self._data[: self._n - cut] = self._data[cut : self._n].copy()
            self._n -= cut
            self.base += cut


class SensorTrack:
    """Live samples of one sensor and their 6D orientation.

    Parameters
    ----------
    rate_hz : float
        Nominal sample rate [Hz] (VQF's sampling time is its inverse).

    Attributes
    ----------
    filled : int
        Samples interpolated into gaps so far.
    """

    def __init__(self, rate_hz: float) -> None:
        if not (np.isfinite(rate_hz) and rate_hz > 0):
            raise DataValidationError(f"rate_hz must be positive, got {rate_hz!r}", column="rate_hz")
        self.rate_hz = float(rate_hz)
        self._period_us = 1e6 / self.rate_hz
        self._vqf = vqf.VQF(1.0 / self.rate_hz)
        self._time = _Rows(1)
        self._acc = _Rows(3)
        self._gyr = _Rows(3)
        self._quat = _Rows(4)
        self.filled = 0

    @property
    def end(self) -> int:
        """Number of samples appended so far (absolute index one past the last)."""
        return self._time.end

    @property
    def last_time_us(self) -> int | None:
        """Time of the newest sample [µs], or None before the first."""
        return None if self.end == 0 else int(self._time.get(self.end - 1, self.end)[0, 0])

    def append(self, time_us: npt.ArrayLike, acc: npt.ArrayLike, gyr: npt.ArrayLike) -> int:
        """Add one packet of samples and update the orientation.

        Samples not newer than the last one held are ignored (duplicates after a reconnect); a gap of
        up to :data:`MAX_FILL_S` before the packet is bridged by linear interpolation.

        Parameters
        ----------
        time_us : array_like of int, shape (n,)
            Sample times [µs, UTC].
        acc : array_like, shape (n, 3)
            Specific force [m/s²].
        gyr : array_like, shape (n, 3)
            Angular rate [rad/s].

        Returns
        -------
        int
            Samples added (filled ones included).
        """
        t = np.asarray(time_us, dtype=np.int64).reshape(-1)
        a = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        g = np.asarray(gyr, dtype=np.float64).reshape(-1, 3)
        if not (len(t) == len(a) == len(g)):
            raise DataValidationError(f"time, acc and gyr lengths differ: {len(t)}, {len(a)}, {len(g)}")
        last = self.last_time_us
        if last is not None:
            keep = t > last
            t, a, g = t[keep], a[keep], g[keep]
        if len(t) == 0:
            return 0
        if last is not None:
            missing = round((t[0] - last) / self._period_us) - 1
            if 0 < missing <= MAX_FILL_S * self.rate_hz:
                t, a, g = self._bridge(last, t, a, g, missing)
                self.filled += missing
        out = self._vqf.updateBatch(np.ascontiguousarray(g), np.ascontiguousarray(a))
        self._time.extend(t[:, None].astype(np.float64))
        self._acc.extend(a)
        self._gyr.extend(g)
        self._quat.extend(out["quat6D"])
        return len(t)

    def _bridge(
        self, last: int, t: IntArray, a: FloatArray, g: FloatArray, missing: int
    ) -> tuple[IntArray, FloatArray, FloatArray]:
        end = self.end
        a0, g0 = self._acc.get(end - 1, end)[0], self._gyr.get(end - 1, end)[0]
        frac = np.arange(1, missing + 1) / (missing + 1)
        t_fill = np.rint(last + frac * (t[0] - last)).astype(np.int64)
        a_fill = a0 + frac[:, None] * (a[0] - a0)
        g_fill = g0 + frac[:, None] * (g[0] - g0)
        return np.concatenate([t_fill, t]), np.vstack([a_fill, a]), np.vstack([g_fill, g])

    def time_us(self, lo: int, hi: int) -> IntArray:
        """Sample times [µs] of samples ``lo`` to ``hi`` (absolute indices)."""
        return self._time.get(lo, hi)[:, 0].astype(np.int64)

    def acc(self, lo: int, hi: int) -> FloatArray:
        """Specific force [m/s²] of samples ``lo`` to ``hi``."""
        return self._acc.get(lo, hi)

    def gyr(self, lo: int, hi: int) -> FloatArray:
        """Angular rate [rad/s] of samples ``lo`` to ``hi``."""
        return self._gyr.get(lo, hi)

    def quat(self, lo: int, hi: int) -> FloatArray:
        """6D orientation (w, x, y, z), sensor → earth (ENU, own heading) of samples ``lo`` to ``hi``."""
        return self._quat.get(lo, hi)

    def index_at(self, time_us: npt.ArrayLike) -> IntArray:
        """Absolute index of the newest sample at or before each time (clipped to the samples held)."""
        times = self._time.get(self._time.base, self.end)[:, 0]
        k = np.searchsorted(times, np.asarray(time_us, dtype=np.float64), side="right") - 1
        return np.clip(k, 0, len(times) - 1).astype(np.int64) + self._time.base

    def forget_before(self, index: int) -> None:
        """Let samples before ``index`` go (memory stays bounded on long streams)."""
        for rows in (self._time, self._acc, self._gyr, self._quat):
            rows.drop_before(index)
