"""Checks shared by the load metrics: acceleration arrays, rates, times, epoch lengths."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError, NonFiniteError, ShapeError, TimeOrderError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def check_acc(acc_mps2: npt.ArrayLike) -> FloatArray:
    """``acc_mps2`` as a contiguous float64 (N, 3) array with finite values, N ≥ 1.

    C- and Fortran-ordered arrays are taken as they are (a dataset's columns are read into a
    Fortran-ordered array, whose columns are contiguous); any other layout is copied to C order.
    """
    acc = np.asarray(acc_mps2, dtype=np.float64)
    if not (acc.flags.c_contiguous or acc.flags.f_contiguous):
        acc = np.ascontiguousarray(acc)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ShapeError(f"must have shape (N, 3), got {acc.shape}", column="acc_mps2")
    if acc.shape[0] == 0:
        raise ShapeError("holds no samples", column="acc_mps2")
    # One pass without a temporary array: a NaN or infinity makes the sum non-finite (so can an
    # overflow of huge finite values, which the exact check below then clears).
    with np.errstate(over="ignore", invalid="ignore"):
        total = acc.sum()
    if not np.isfinite(total) and not np.isfinite(acc).all():
        bad = int(np.flatnonzero(~np.isfinite(acc).all(axis=1))[0])
        raise NonFiniteError("holds NaN or infinite values", column="acc_mps2", index=bad)
    return acc


def check_rate(rate_hz: float) -> float:
    """``rate_hz`` as a float if it is finite and positive."""
    rate = float(rate_hz)
    if not np.isfinite(rate) or rate <= 0.0:
        raise DataValidationError(f"rate_hz must be a positive number, got {rate_hz!r}", column="rate_hz")
    return rate


def check_epoch(epoch_s: float) -> int:
    """The epoch length in whole microseconds, if ``epoch_s`` is positive and a whole number of µs."""
    epoch_us = round(float(epoch_s) * 1e6)
    if not np.isfinite(epoch_s) or epoch_us <= 0 or abs(epoch_us - float(epoch_s) * 1e6) > 1e-3:
        raise DataValidationError(
            f"epoch_s must be a positive whole number of microseconds, got {epoch_s!r}", column="epoch_s"
        )
    return epoch_us


def check_time(time: npt.ArrayLike, n: int) -> IntArray:
    """``time`` (datetime64 or int64 µs since the UTC epoch) as strictly increasing int64 µs, length ``n``."""
    arr = np.asarray(time)
    if np.issubdtype(arr.dtype, np.datetime64):
        arr = arr.astype("datetime64[us]").astype(np.int64)
    elif not np.issubdtype(arr.dtype, np.integer):
        raise DataValidationError(
            f"must be datetime64 or integer microseconds, got dtype {arr.dtype}", column="time"
        )
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.shape != (n,):
        raise ShapeError(f"must have shape ({n},) like acc_mps2, got {arr.shape}", column="time")
    if n > 1 and not (arr[1:] > arr[:-1]).all():
        raise TimeOrderError(
            "is not strictly increasing", column="time", index=int(np.argmin(arr[1:] > arr[:-1])) + 1
        )
    return arr
