"""Unwrapping a device's wrapping unsigned counter into a monotonic int64 time line."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError


def unwrap_counter(
    raw: npt.ArrayLike, *, bits: int, previous: int | None = None, family: str = "movella-dot"
) -> tuple[npt.NDArray[np.int64], int]:
    """Unwrap consecutive readings of a wrapping ``bits``-bit device counter.

    Each step is taken modulo ``2**bits``, so a reading smaller than the one before counts as one
    rollover. A backwards step smaller than half the range cannot be a rollover (the packets are out
    of order or repeated) and is refused.

    Parameters
    ----------
    raw : array_like of int, shape (N,)
        Counter readings in arrival order, each in ``[0, 2**bits)`` [device ticks].
    bits : int
        Counter width (32 for the DOT µs clock and the Movesense ms clock).
    previous : int, optional
        The unwrapped value of the reading just before ``raw[0]`` (from an earlier call), so the time
        line continues across calls. Without it the first reading starts the time line unchanged.
    family : str
        Family named in errors.

    Returns
    -------
    unwrapped : ndarray of int64, shape (N,)
        Monotonic (non-decreasing) counter values [device ticks].
    rollovers : int
        How many times the counter wrapped, counted from ``previous`` (or from ``raw[0]``).

    Raises
    ------
    ProtocolError
        ``"sequence"`` for a backwards step smaller than half the counter range; ``"value"`` for a
        reading outside the counter range.

    Examples
    --------
    >>> t, n = unwrap_counter([2**32 - 10, 5], bits=32)
    >>> t.tolist(), n
    ([4294967286, 4294967301], 1)
    """
    span = 1 << bits
    values = np.asarray(raw, dtype=np.int64).reshape(-1)
    if values.size and (values.min() < 0 or values.max() >= span):
        raise ProtocolError(f"counter reading outside [0, 2^{bits})", family=family, reason="value")
    if values.size == 0:
        return values, 0
    before = values[:1] if previous is None else np.array([previous % span], dtype=np.int64)
    steps = np.diff(np.concatenate([before, values]))
    back = np.flatnonzero((steps < 0) & (steps > -(span >> 1)))
    if back.size:
        i = int(back[0])
        raise ProtocolError(
            f"reading {i} steps back from {int(before[0]) if i == 0 else int(values[i - 1])} to "
            f"{int(values[i])}: packets out of order",
            family=family,
            reason="sequence",
        )
    steps = steps[1:]
    start = int(values[0]) if previous is None else previous + (int(values[0]) - previous) % span
    base = start if previous is None else previous
    out = np.empty(values.size, dtype=np.int64)
    out[0] = start
    np.cumsum(steps % span, out=out[1:])
    out[1:] += start
    rollovers = int(out[-1] // span) - int(base // span)
    return out, rollovers
