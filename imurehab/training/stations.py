"""Station labels of load epochs: the race phase (run, SkiErg, sled push, ..., Roxzone) covering each epoch.

A HYROX session's phases come from :func:`imurehab.analysis.hyrox.segment_race` (a table of ``label``,
``start``, ``end``); :func:`label_stations` gives each load epoch the label of the phase that overlaps
it longest. Sessions are HYROX races when their ``sessions.exercise`` says so (:func:`is_hyrox_session`).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.store import columns as cols
from imurehab.types import Recording

__all__ = [
    "HYROX_EXERCISE_PREFIX",
    "PHASE_END",
    "PHASE_LABEL",
    "PHASE_START",
    "hyrox_segmenter",
    "is_hyrox_session",
    "label_stations",
]

PHASE_LABEL: Final = "label"
PHASE_START: Final = "start"
PHASE_END: Final = "end"
HYROX_EXERCISE_PREFIX: Final = "hyrox"
"""A session whose ``exercise`` starts with this (case-insensitive: ``hyrox``, ``hyrox-race``) is a race."""

_US_PER_S: Final = 1_000_000


def is_hyrox_session(exercise: str | None) -> bool:
    """Whether a session with this ``sessions.exercise`` value is a HYROX race (or a simulated one).

    Parameters
    ----------
    exercise : str or None
        The session's exercise.
    """
    return exercise is not None and exercise.lower().startswith(HYROX_EXERCISE_PREFIX)


def _epoch_us(column: pl.Series, origin_us: int | None, what: str) -> npt.NDArray[np.int64]:
    if isinstance(column.dtype, pl.Datetime):
        return column.dt.convert_time_zone("UTC").dt.epoch("us").to_numpy().astype(np.int64)
    if column.dtype.is_numeric():
        if origin_us is None:
            raise ValueError(f"phase {what} times are seconds: pass origin_us (the session start)")
        return np.round(column.cast(pl.Float64).to_numpy() * _US_PER_S).astype(np.int64) + origin_us
    raise ValueError(f"phase {what} times must be Datetime or seconds, got {column.dtype}")


def label_stations(
    epochs: pl.DataFrame, phases: pl.DataFrame, *, origin_us: int | None = None
) -> pl.DataFrame:
    """Set each load epoch's ``station`` to the label of the phase that overlaps it longest.

    Parameters
    ----------
    epochs : polars.DataFrame
        Load rows with ``epoch_start`` (``Datetime("us", "UTC")``) and ``epoch_s`` [s]; each epoch is
        ``[epoch_start, epoch_start + epoch_s)``.
    phases : polars.DataFrame
        One row per race phase: ``label`` (str), ``start`` and ``end`` (``Datetime``, or seconds since
        ``origin_us`` when numeric); half-open ``[start, end)``.
    origin_us : int, optional
        Session start [µs since the Unix epoch, UTC], needed when phase times are seconds.

    Returns
    -------
    polars.DataFrame
        ``epochs`` with ``station`` replaced: the label of the longest-overlapping phase (the earlier
        phase on a tie), null where no phase overlaps the epoch.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
    >>> ep = pl.DataFrame({"epoch_start": [t0, t0.replace(minute=1)], "epoch_s": [60.0, 60.0]})
    >>> ph = pl.DataFrame({"label": ["run", "skierg"], "start": [0.0, 50.0], "end": [50.0, 200.0]})
    >>> label_stations(ep, ph, origin_us=int(t0.timestamp() * 1e6))["station"].to_list()
    ['run', 'skierg']
    """
    start = epochs.get_column(cols.EPOCH_START).dt.epoch("us").to_numpy().astype(np.int64)
    stop = start + np.round(epochs.get_column(cols.EPOCH_S).to_numpy() * _US_PER_S).astype(np.int64)
    labels = np.full(epochs.height, None, dtype=object)
    if phases.height and epochs.height:
        ordered = phases.with_row_index("_i").sort(PHASE_START, "_i")
        p_start = _epoch_us(ordered.get_column(PHASE_START), origin_us, "start")
        p_end = _epoch_us(ordered.get_column(PHASE_END), origin_us, "end")
        overlap = np.minimum(stop[:, None], p_end[None, :]) - np.maximum(start[:, None], p_start[None, :])
        best = np.argmax(overlap, axis=1)  # first maximum: the earlier phase on a tie
        hit = overlap[np.arange(epochs.height), best] > 0
        names = ordered.get_column(PHASE_LABEL).cast(pl.String).to_numpy()
        labels[hit] = names[best[hit]]
    return epochs.with_columns(pl.Series(cols.STATION, labels.tolist(), dtype=pl.String))


def hyrox_segmenter() -> tuple[Callable[[Recording], Any], str] | None:
    """The HYROX race segmentation and its version, or None while :mod:`imurehab.analysis.hyrox` is absent.

    Returns
    -------
    (callable, str) or None
        ``segment_race(recording)``, whose result has a ``phases`` DataFrame, and a version string
        (the module's ``__version__`` or ``VERSION`` if it has one, else the software version).
    """
    if importlib.util.find_spec("imurehab.analysis.hyrox") is None:
        return None
    module = importlib.import_module("imurehab.analysis.hyrox")
    segment = getattr(module, "segment_race", None)
    if segment is None:
        return None
    from imurehab._version import __version__

    version = getattr(module, "__version__", None) or getattr(module, "VERSION", None) or __version__
    return segment, f"hyrox-{version}"
