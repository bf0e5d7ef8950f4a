"""The per-epoch ``load`` table of one sensor, and aggregation of its rows over longer spans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.analysis.load._resample import resample, resampled_times
from imurehab.analysis.load._scratch import scratch
from imurehab.analysis.load._validate import check_acc, check_epoch, check_rate, check_time
from imurehab.analysis.load.axes import ISB_AXES, LOAD_METRICS_VERSION, AxisMap
from imurehab.analysis.load.cadence import cadence_per_epoch
from imurehab.analysis.load.counts import counts_10hz, counts_per_epoch
from imurehab.analysis.load.epochs import enmo_mad_per_epoch, epoch_bounds, magnitude_g
from imurehab.analysis.load.events import events_of
from imurehab.analysis.load.impacts import IMPACT_REFRACTORY_S, impact_zone, peaks_of_magnitude
from imurehab.analysis.load.playerload import PLAYERLOAD_RATE_HZ, playerload_per_epoch
from imurehab.errors import DataValidationError
from imurehab.store import columns as cols
from imurehab.store.schema import polars_schema

__all__ = ["SUMMED_COLUMNS", "WEIGHTED_MEAN_COLUMNS", "aggregate_load", "load_epochs"]

SUMMED_COLUMNS: tuple[str, ...] = (
    cols.COVERED_S,
    *cols.PLAYERLOADS,
    *cols.IMPACTS,
    *cols.COUNTS,
    cols.COUNTS_VM,
    cols.ACCEL_EVENTS,
    cols.DECEL_EVENTS,
)
"""Columns :func:`aggregate_load` sums (totals over the span)."""

WEIGHTED_MEAN_COLUMNS: tuple[str, ...] = (
    cols.ENMO_MG,
    cols.MAD_MG,
    cols.STEP_CADENCE_SPM,
    cols.STROKE_CADENCE_SPM,
)
"""Columns :func:`aggregate_load` averages, weighted by ``covered_s`` over the rows where they are set."""


def _playerload_rows(
    acc: np.ndarray, time_us: np.ndarray, rate_hz: float, index: np.ndarray, epoch_us: int, axis_map: AxisMap
) -> np.ndarray:
    """PlayerLoad (E, 5) for the epochs ``index``, at 100 Hz (resampled first at other rates)."""
    acc100 = resample(acc, rate_hz, PLAYERLOAD_RATE_HZ)
    if acc100 is acc:
        _, bounds = epoch_bounds(time_us, epoch_us)
        return playerload_per_epoch(acc, time_us, bounds, axis_map)
    time100 = resampled_times(time_us, rate_hz, PLAYERLOAD_RATE_HZ, acc100.shape[0])
    index100, bounds100 = epoch_bounds(time100, epoch_us)
    values = playerload_per_epoch(acc100, time100, bounds100, axis_map)
    # the resampled stream may reach a sliver past the last original epoch: those rows are dropped
    pos = np.clip(np.searchsorted(index100, index), 0, index100.shape[0] - 1)
    found = index100[pos] == index
    return np.where(found[:, None], values[pos], 0.0)


def load_epochs(
    acc_mps2: npt.ArrayLike,
    time: npt.ArrayLike,
    *,
    rate_hz: float,
    epoch_s: float = 60.0,
    sensor: str,
    axis_map: AxisMap = ISB_AXES,
    mad_window_s: float = 5.0,
    impact_refractory_s: float = IMPACT_REFRACTORY_S,
) -> pl.DataFrame:
    """Load metrics per epoch of one sensor: rows of the ``load`` table.

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included (the ``samples`` table's
        ``acc_x, acc_y, acc_z``); converted to g with g = 9.80665 m/s².
    time : array_like, shape (N,)
        Sample times, strictly increasing: ``datetime64`` (any unit, read as UTC) or int64 µs since
        1970-01-01 UTC.
    rate_hz : float
        Nominal sampling rate [Hz].
    epoch_s : float, default 60.0
        Epoch length [s]. Epochs are aligned to whole multiples of ``epoch_s`` since 1970-01-01 UTC, so
        they line up across sensors and sessions.
    sensor : str
        Sensor id written in the ``sensor`` column.
    axis_map : AxisMap
        Body directions of the sensor axes (default x forward, z side, y up), for PlayerLoad 2D / per
        axis and acceleration events.
    mad_window_s : float, default 5.0
        MAD is computed over windows of this length (aligned like the epochs; GGIR's 5 s) and averaged
        over the epoch, weighted by samples. Must divide ``epoch_s``; epochs shorter than it use one
        window per epoch.
    impact_refractory_s : float, default 0.15
        Refractory time of impacts [s] (:func:`~imurehab.analysis.load.impact_peaks`).

    Returns
    -------
    polars.DataFrame
        One row per epoch that holds samples, sorted by ``epoch_start``, with exactly the columns of the
        ``load`` table (:func:`imurehab.store.schema.polars_schema`); ``station`` is null. Edge epochs
        (and epochs with gaps) are kept: ``covered_s`` = samples in the epoch / ``rate_hz`` says how
        much of ``epoch_s`` they hold; sums (PlayerLoad, counts, impacts, events) are over what is there,
        means (ENMO, MAD) over the samples there. Definitions: docs/load-metrics.md.

    Raises
    ------
    DataValidationError
        For arrays of the wrong shape, non-finite values, times not increasing, or bad parameters.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.datetime64("2024-05-01T10:00:30", "us") + np.arange(9000) * np.timedelta64(10_000, "us")
    >>> acc = np.tile([0.0, 9.80665, 0.0], (9000, 1))
    >>> df = load_epochs(acc, t, rate_hz=100.0, sensor="S1")
    >>> df.select("epoch_start", "covered_s", "playerload").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.datetime(2024, 5, 1, 10, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 30.0, 0.0),
     (datetime.datetime(2024, 5, 1, 10, 1, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 60.0, 0.0)]
    """
    acc = check_acc(acc_mps2)
    time_us = check_time(time, acc.shape[0])
    rate = check_rate(rate_hz)
    epoch_us = check_epoch(epoch_s)
    window_us = min(check_epoch(mad_window_s), epoch_us)
    if epoch_us % window_us:
        raise DataValidationError(
            f"mad_window_s={mad_window_s} must divide epoch_s={epoch_s}", column="mad_window_s"
        )
    index, bounds = epoch_bounds(time_us, epoch_us)
    _, window_bounds = epoch_bounds(time_us, window_us)
    n_epochs = index.shape[0]
    r = scratch("magnitude", acc.shape[0])
    magnitude_g(acc, r)
    enmo_mad = enmo_mad_per_epoch(r, bounds, window_bounds)
    player = _playerload_rows(acc, time_us, rate, index, epoch_us, axis_map)
    edges = np.append(index * epoch_us, index[-1] * epoch_us + epoch_us)
    counts = counts_per_epoch(*counts_10hz(acc, rate, time_us), edges)
    peak_index, peak_g = peaks_of_magnitude(r, rate, impact_refractory_s)
    impacts = _per_epoch_counts(bounds, peak_index, impact_zone(peak_g), 4)
    event_start, event_sign = events_of(acc, rate, axis_map)
    events = _per_epoch_counts(bounds, event_start, (event_sign < 0).astype(np.int64), 2)
    steps, strokes = cadence_per_epoch(r, bounds, rate)
    data = {
        cols.EPOCH_START: pl.Series(index * epoch_us).cast(pl.Datetime("us", "UTC")),
        cols.EPOCH_S: np.full(n_epochs, epoch_us / 1e6),
        cols.ENMO_MG: enmo_mad[:, 0],
        cols.MAD_MG: enmo_mad[:, 1],
        cols.COVERED_S: np.diff(bounds) / rate,
        **{name: player[:, k] for k, name in enumerate(cols.PLAYERLOADS)},
        **{name: impacts[:, k] for k, name in enumerate(cols.IMPACTS)},
        **{name: counts[:, k] for k, name in enumerate(cols.COUNTS)},
        cols.COUNTS_VM: np.sqrt((counts.astype(np.float64) ** 2).sum(axis=1)),
        cols.ACCEL_EVENTS: events[:, 0],
        cols.DECEL_EVENTS: events[:, 1],
        cols.STEP_CADENCE_SPM: pl.Series(steps, nan_to_null=True),
        cols.STROKE_CADENCE_SPM: pl.Series(strokes, nan_to_null=True),
    }
    return _as_load_rows(pl.DataFrame(data), sensor)


def _per_epoch_counts(bounds: np.ndarray, sample: np.ndarray, kind: np.ndarray, kinds: int) -> np.ndarray:
    """How many events of each kind (0..kinds − 1) fall in each epoch, by their sample index (E, kinds)."""
    epoch = np.searchsorted(bounds, sample, side="right") - 1
    flat = np.bincount(epoch * kinds + kind, minlength=(bounds.shape[0] - 1) * kinds)
    return flat.reshape(-1, kinds).astype(np.int64)


def _as_load_rows(metrics: pl.DataFrame, sensor: str) -> pl.DataFrame:
    """``metrics`` with the identifying columns added, in the ``load`` table's columns, order and types."""
    constants = {cols.SENSOR: sensor, cols.LOAD_VERSION: LOAD_METRICS_VERSION}
    return metrics.select(
        pl.col(name).cast(dtype)
        if name in metrics.columns
        else pl.lit(constants.get(name), dtype=dtype).alias(name)
        for name, dtype in polars_schema(cols.LOAD).items()
    )


Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def aggregate_load(frame: Frame, by: str | pl.Expr | Sequence[str | pl.Expr] = cols.SENSOR) -> Frame:
    """Aggregate ``load`` rows over longer spans (session, station, day, week...).

    Parameters
    ----------
    frame : polars.DataFrame or polars.LazyFrame
        Rows of the ``load`` table (e.g. from :func:`load_epochs` or a dataset read).
    by : str, polars.Expr or sequence of them, default "sensor"
        The group keys, e.g. ``["subject", "session", "sensor"]``, ``"station"`` or
        ``pl.col("epoch_start").dt.truncate("1w")``.

    Returns
    -------
    polars.DataFrame or polars.LazyFrame
        Like ``frame``: one row per group, sorted by the keys, with ``start`` (first epoch start),
        ``end`` (end of the last epoch), ``load_version`` (the distinct versions joined by ","), the
        :data:`SUMMED_COLUMNS` summed (``covered_s`` the seconds of data; ``counts_vm`` the sum of the
        epochs' vector magnitudes, as daily VM counts are) and the :data:`WEIGHTED_MEAN_COLUMNS`
        averaged weighted by ``covered_s`` over the rows where they are not null (null if none).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(12_000, dtype=np.int64) * 10_000  # 120 s at 100 Hz from the UTC epoch
    >>> acc = np.tile([0.0, 9.80665, 0.0], (12_000, 1))
    >>> aggregate_load(load_epochs(acc, t, rate_hz=100.0, sensor="S1")).select("covered_s", "enmo_mg").rows()
    [(120.0, 0.0)]
    """
    keys = [by] if isinstance(by, str | pl.Expr) else list(by)
    weight = pl.col(cols.COVERED_S)
    aggregations = [
        pl.col(cols.EPOCH_START).min().alias(cols.START),
        (pl.col(cols.EPOCH_START) + pl.duration(microseconds=pl.col(cols.EPOCH_S) * 1e6))
        .max()
        .alias(cols.END),
        pl.col(cols.LOAD_VERSION).drop_nulls().unique().sort().str.join(",").alias(cols.LOAD_VERSION),
        *(pl.when(pl.col(c).count() > 0).then(pl.col(c).sum()).alias(c) for c in SUMMED_COLUMNS),
        *(
            pl.when(pl.col(c).count() > 0)
            .then((pl.col(c) * weight).sum() / weight.filter(pl.col(c).is_not_null()).sum())
            .alias(c)
            for c in WEIGHTED_MEAN_COLUMNS
        ),
    ]
    return frame.group_by(keys, maintain_order=False).agg(aggregations).sort(keys)
