"""Working arrays of the load metrics, reused on a thread while a caller asks for it.

A sensor-hour at 100 Hz needs ≈ 9 MB of working arrays (‖a‖, the 30 Hz signal of the counts, the
running sum of the events). Freshly allocated, each large array is handed back to the operating system
when freed and its pages are faulted in again by the next one, ≈ 3 ms of CPU per sensor-hour. Inside
:func:`reusing` (the load's worker threads run there) :func:`scratch` hands out the same arrays again;
outside it, new ones. An array is handed out again only when nothing holds it any more.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

import numpy as np

_local = threading.local()


def scratch(key: str, n: int, dtype: type = np.float64) -> np.ndarray:
    """A 1-D working array of ``n`` values: this thread's array ``key`` if reusing and free, else new."""
    arrays: dict[str, np.ndarray] | None = getattr(_local, "arrays", None)
    if arrays is None:
        return np.empty(n, dtype=dtype)
    held = arrays.get(key)
    # 3 references = the dict's, ``held`` and getrefcount's argument: no view handed out is alive
    if held is None or held.dtype != dtype or held.shape[0] < n or sys.getrefcount(held) > 3:
        held = arrays[key] = np.empty(n, dtype=dtype)
    return held[:n]


def start_reusing() -> None:
    """From now on, :func:`scratch` reuses this thread's arrays (for a worker's initializer)."""
    _local.arrays = {}


@contextlib.contextmanager
def reusing() -> Iterator[None]:
    """Inside the block, :func:`scratch` reuses this thread's arrays; they are released at the end."""
    start_reusing()
    try:
        yield
    finally:
        del _local.arrays
