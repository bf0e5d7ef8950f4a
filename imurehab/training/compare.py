"""Compare athletes' training load: weekly totals, station splits and ACWR, from the ``load`` table.

Every query is a polars lazy scan of the ``load`` table (hive-partitioned by athlete and session), so
only the columns and athletes asked for are read. One sensor counts per session, so a session with
several sensors is not counted several times: the *reference sensor*, the one on the trunk if any, else
on the pelvis (PlayerLoad is defined for a unit worn on the upper back; Barrett et al. 2014, Int J Sports
Physiol Perform 9:945–952), else the first sensor id.

Metric totals: count-like metrics (PlayerLoad [AU], impacts, activity counts, acceleration and
deceleration events) are summed over epochs; the intensity metrics ENMO and MAD [mg], which are epoch
means, are summed as volumes ``mg × minutes of data`` [mg·min].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import polars as pl

from imurehab.analysis.acwr import ACWR_CAVEAT, ACWR_SOURCES, acwr_ewma, acwr_rolling, daily_load, weekly_load
from imurehab.errors import DatasetNotFoundError, SchemaError
from imurehab.store import columns as cols
from imurehab.store import read_table

__all__ = [
    "COMPARABLE_METRICS",
    "REFERENCE_SEGMENTS",
    "AthleteComparison",
    "MetricSpec",
    "compare_athletes",
    "load_athletes",
    "reference_sensors",
]

ATHLETE: Final = cols.SUBJECT
LOAD_VALUE: Final = "load"
MINUTES: Final = "minutes"
SESSIONS_N: Final = "sessions"
ACWR_ROLLING: Final = "acwr_rolling"
ACWR_UNCOUPLED: Final = "acwr_rolling_uncoupled"
ACWR_EWMA: Final = "acwr_ewma"

REFERENCE_SEGMENTS: Final[tuple[str, ...]] = ("trunk", "pelvis")
"""Segments whose sensor is a session's reference sensor, in order of preference."""


@dataclass(frozen=True)
class MetricSpec:
    """How a load metric is totalled.

    Attributes
    ----------
    unit : str
        Unit of the totals.
    total : {"sum", "mg_min"}
        ``sum``: epochs summed; ``mg_min``: epoch means [mg] times minutes of data, summed.
    """

    unit: str
    total: Literal["sum", "mg_min"]


COMPARABLE_METRICS: Final[dict[str, MetricSpec]] = {
    **{m: MetricSpec("AU", "sum") for m in cols.PLAYERLOADS},
    **{m: MetricSpec("impacts", "sum") for m in cols.IMPACTS},
    **{m: MetricSpec("counts", "sum") for m in (*cols.COUNTS, cols.COUNTS_VM)},
    cols.ACCEL_EVENTS: MetricSpec("events", "sum"),
    cols.DECEL_EVENTS: MetricSpec("events", "sum"),
    cols.ENMO_MG: MetricSpec("mg·min", "mg_min"),
    cols.MAD_MG: MetricSpec("mg·min", "mg_min"),
}
"""Load table columns ``imurehab compare`` accepts, and how each is totalled."""


def _minutes() -> pl.Expr:
    return pl.coalesce(pl.col(cols.COVERED_S), pl.col(cols.EPOCH_S)) / 60.0


def _value(metric: str) -> pl.Expr:
    spec = COMPARABLE_METRICS[metric]
    x = pl.col(metric).cast(pl.Float64)
    return (x * _minutes() if spec.total == "mg_min" else x).fill_null(0.0).alias(LOAD_VALUE)


def load_athletes(root: str | os.PathLike[str]) -> list[str]:
    """The athletes (subject ids) that have rows in the dataset's ``load`` table, sorted.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.

    Raises
    ------
    DatasetNotFoundError
        If there is no dataset or no ``load`` table (run ``imurehab load`` first).
    """
    lf = read_table(root, cols.LOAD).select(cols.SUBJECT).unique()
    return sorted(lf.collect().get_column(cols.SUBJECT).to_list())


def reference_sensors(root: str | os.PathLike[str], athletes: list[str] | None = None) -> pl.DataFrame:
    """The sensor whose load counts for each session (see the module docstring).

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder with ``load`` and ``sessions`` tables.
    athletes : list of str, optional
        Only these subjects.

    Returns
    -------
    polars.DataFrame
        Columns ``subject``, ``session``, ``sensor``, ``segment`` (null when not placed), sorted.
    """
    sensors = read_table(root, cols.LOAD).select(cols.SUBJECT, cols.SESSION, cols.SENSOR).unique()
    if athletes is not None:
        sensors = sensors.filter(pl.col(cols.SUBJECT).is_in(athletes))
    try:
        places = (
            read_table(root, cols.SESSIONS)
            .select(cols.SUBJECT, cols.SESSION, cols.PLACEMENTS)
            .explode(cols.PLACEMENTS)
            .select(
                cols.SUBJECT,
                cols.SESSION,
                pl.col(cols.PLACEMENTS).struct.field(cols.SENSOR),
                pl.col(cols.PLACEMENTS).struct.field(cols.SEGMENT),
            )
            .drop_nulls(cols.SENSOR)
        )
    except DatasetNotFoundError:
        places = pl.LazyFrame(
            schema={c: pl.String for c in (cols.SUBJECT, cols.SESSION, cols.SENSOR, cols.SEGMENT)}
        )
    rank = {segment: i for i, segment in enumerate(REFERENCE_SEGMENTS)}
    return (
        sensors.join(places, on=[cols.SUBJECT, cols.SESSION, cols.SENSOR], how="left")
        .with_columns(
            pl.col(cols.SEGMENT)
            .replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
            .fill_null(len(rank))
            .alias("_rank")
        )
        .sort("_rank", cols.SENSOR)
        .group_by(cols.SUBJECT, cols.SESSION, maintain_order=True)
        .first()
        .drop("_rank")
        .sort(cols.SUBJECT, cols.SESSION)
        .collect()
    )


@dataclass(frozen=True)
class AthleteComparison:
    """Load of several athletes side by side.

    Attributes
    ----------
    metric, unit : str
        The load metric compared and the unit of its totals (see :data:`COMPARABLE_METRICS`).
    athletes : tuple of str
        Subject ids, in the order asked for.
    since : datetime.date or None
        First day shown (ACWR is computed over the whole history, shown from here).
    weekly : polars.DataFrame
        ``subject``, ``week`` (Monday, UTC), ``load``, ``days`` (days of that week in the history).
    stations : polars.DataFrame
        ``subject``, ``station``, ``load``, ``minutes`` (data in the station's epochs), ``sessions``;
        empty when no epoch has a station label.
    daily : polars.DataFrame
        ``subject``, ``date``, ``load`` (rest days 0, up to the dataset's last day for every athlete),
        ``acwr_rolling`` (coupled 7:28), ``acwr_rolling_uncoupled`` and ``acwr_ewma`` (7 and 28 days).
    reference : polars.DataFrame
        The sensor counted for each session (:func:`reference_sensors`).
    """

    metric: str
    unit: str
    athletes: tuple[str, ...]
    since: date | None
    weekly: pl.DataFrame
    stations: pl.DataFrame
    daily: pl.DataFrame
    reference: pl.DataFrame

    def latest_acwr(self) -> pl.DataFrame:
        """Each athlete's last day with its three ratios (NaN where undefined), in athlete order."""
        last = self.daily.group_by(ATHLETE).agg(pl.all().sort_by("date").last())
        order = pl.DataFrame({ATHLETE: list(self.athletes)}).with_row_index("_o")
        return order.join(last, on=ATHLETE, how="left").sort("_o").drop("_o")

    def weekly_table(self) -> pl.DataFrame:
        """Weekly load side by side: one row per week (Monday, UTC), one column per athlete (null: none)."""
        return self._wide(self.weekly, "week", LOAD_VALUE)

    def station_table(self) -> pl.DataFrame:
        """Station splits side by side: one row per station, one column per athlete (load totals)."""
        return self._wide(self.stations, cols.STATION, LOAD_VALUE)

    def _wide(self, df: pl.DataFrame, index: str, value: str) -> pl.DataFrame:
        wide = df.pivot(ATHLETE, index=index, values=value, sort_columns=False) if df.height else None
        out = pl.DataFrame(
            {index: [] if wide is None else wide.get_column(index)}, schema={index: df.schema[index]}
        )
        for athlete in self.athletes:
            column = wide.get_column(athlete) if wide is not None and athlete in wide.columns else None
            out = out.with_columns(
                column.alias(athlete) if column is not None else pl.lit(None, dtype=pl.Float64).alias(athlete)
            )
        return out.sort(index)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready data (dates as ISO strings; NaN stays NaN, see ``json_safe``)."""

        def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()} for r in df.to_dicts()
            ]

        return {
            "metric": self.metric,
            "unit": self.unit,
            "athletes": list(self.athletes),
            "since": None if self.since is None else self.since.isoformat(),
            "weekly": rows(self.weekly),
            "stations": rows(self.stations),
            "acwr_latest": rows(self.latest_acwr().drop(LOAD_VALUE)),
            "daily": rows(self.daily),
            "reference_sensors": rows(self.reference),
            "acwr_caveat": ACWR_CAVEAT,
            "acwr_sources": list(ACWR_SOURCES),
        }


def _check_metric(metric: str) -> None:
    if metric not in COMPARABLE_METRICS:
        raise SchemaError(
            f"is not a load metric to compare; choose one of {', '.join(COMPARABLE_METRICS)}", column=metric
        )


def _with_ratios(daily: pl.DataFrame) -> pl.DataFrame:
    parts = []
    for (_,), group in daily.group_by(ATHLETE, maintain_order=True):
        x = group.get_column(LOAD_VALUE).to_numpy()
        parts.append(
            group.with_columns(
                pl.Series(ACWR_ROLLING, acwr_rolling(x)),
                pl.Series(ACWR_UNCOUPLED, acwr_rolling(x, coupled=False)),
                pl.Series(ACWR_EWMA, acwr_ewma(x)),
            )
        )
    if parts:
        return pl.concat(parts)
    return daily.with_columns(pl.lit(np.nan).alias(c) for c in (ACWR_ROLLING, ACWR_UNCOUPLED, ACWR_EWMA))


def compare_athletes(
    root: str | os.PathLike[str],
    athletes: list[str],
    *,
    metric: str = cols.PLAYERLOAD,
    since: date | None = None,
) -> AthleteComparison:
    """Weekly load, station splits and ACWR of several athletes, from the ``load`` table.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder with a ``load`` table (``imurehab load``).
    athletes : list of str
        Subject ids to compare (at least one).
    metric : str, default "playerload"
        One of :data:`COMPARABLE_METRICS`.
    since : datetime.date, optional
        Show weeks, days and station splits from this day (UTC) on; the ratios still use the history
        before it.

    Returns
    -------
    AthleteComparison

    Raises
    ------
    DatasetNotFoundError
        If there is no ``load`` table, or an athlete has no load (the message lists those that have).
    SchemaError
        If ``metric`` is not one of :data:`COMPARABLE_METRICS`.
    """
    _check_metric(metric)
    root = Path(root)
    known = load_athletes(root)
    if not athletes:
        raise DatasetNotFoundError("no athlete given", path=root / cols.LOAD)
    if missing := [a for a in athletes if a not in known]:
        raise DatasetNotFoundError(
            f"no load for athlete(s) {', '.join(missing)}; athletes with load: {', '.join(known) or 'none'}",
            path=root / cols.LOAD,
        )
    reference = reference_sensors(root, athletes)
    epochs = (
        read_table(root, cols.LOAD)
        .filter(pl.col(cols.SUBJECT).is_in(athletes))
        .join(
            reference.lazy().select(cols.SUBJECT, cols.SESSION, cols.SENSOR),
            on=[cols.SUBJECT, cols.SESSION, cols.SENSOR],
        )
        .select(
            cols.SUBJECT,
            cols.SESSION,
            cols.EPOCH_START,
            cols.STATION,
            _value(metric),
            _minutes().alias(MINUTES),
        )
        .collect()
    )
    last_day = epochs.select(pl.col(cols.EPOCH_START).max().dt.date()).item()
    daily = daily_load(epochs, time=cols.EPOCH_START, value=LOAD_VALUE, by=ATHLETE, until=pl.lit(last_day))
    weekly = weekly_load(daily, value=LOAD_VALUE, by=ATHLETE)
    daily = _with_ratios(daily)
    shown = epochs
    if since is not None:
        monday = pl.lit(since).dt.truncate("1w")
        weekly = weekly.filter(pl.col("week") >= monday)
        daily = daily.filter(pl.col("date") >= since)
        shown = epochs.filter(pl.col(cols.EPOCH_START).dt.date() >= since)
    stations = (
        shown.drop_nulls(cols.STATION)
        .group_by(ATHLETE, cols.STATION)
        .agg(
            pl.col(LOAD_VALUE).sum(),
            pl.col(MINUTES).sum(),
            pl.col(cols.SESSION).n_unique().cast(pl.Int64).alias(SESSIONS_N),
        )
        .sort(ATHLETE, cols.STATION)
    )
    return AthleteComparison(
        metric=metric,
        unit=COMPARABLE_METRICS[metric].unit,
        athletes=tuple(athletes),
        since=since,
        weekly=weekly,
        stations=stations,
        daily=daily,
        reference=reference,
    )
