"""Daily and weekly training load, and the acute:chronic workload ratio (ACWR), rolling and EWMA.

Pure functions over a series of daily loads (one value per calendar day, rest days as 0, in the unit of
the load metric: PlayerLoad in arbitrary units, counts, ...). Definitions:

- **Rolling average, coupled** (Hulin et al. 2014, Br J Sports Med 48:708–712): acute load = mean daily
  load of the last 7 days (today included); chronic load = mean daily load of the last 28 days, which
  contain the acute week. ACWR = acute / chronic.
- **Rolling average, uncoupled** (Windt & Gabbett 2019, Br J Sports Med 53:988–990; Lolli et al. 2019,
  Br J Sports Med 53:921–922): chronic load = mean daily load of the 21 days *before* the acute week, so
  the acute week is not in both numerator and denominator.
- **Exponentially weighted moving averages** (Williams et al. 2017, "Better way to determine the
  acute:chronic workload ratio?", Br J Sports Med 51:209–210): ``EWMA_today = λ·load_today +
  (1 − λ)·EWMA_yesterday`` with ``λ = 2 / (N + 1)``, N = 7 days (acute) and 28 days (chronic); ACWR =
  EWMA_acute / EWMA_chronic. Williams et al. do not fix the starting value; here both averages start at
  the first day's load.

The ratio is NaN until a full chronic window of days is available (the first 27 days for 7:28, for
the rolling and the EWMA forms alike: the EWMA's memory of its starting value has not faded before), and
NaN where the chronic load is 0 (the ratio is undefined).

Caveats (shown to users beside every ratio): the ACWR is a descriptive number, not a validated
injury-risk predictor. Ratios inherit spurious correlation from mathematical coupling (Lolli et al.
2019), depend on the arbitrary window lengths and smoothing, and the "sweet spot" and "danger zone"
thresholds have not held up (Impellizzeri et al. 2020, "Acute:chronic workload ratio: conceptual issues
and fundamental pitfalls", Int J Sports Physiol Perform 15:907–913; Impellizzeri et al. 2021, "What role
do chronic workloads play in the acute to chronic workload ratio? Time to dismiss ACWR and its
underlying theory", Sports Med 51:581–592). imurehab therefore shows the ratios without risk zones.

Examples
--------
>>> import numpy as np
>>> loads = np.full(35, 100.0)
>>> float(acwr_rolling(loads)[-1]), float(acwr_ewma(loads)[-1])
(1.0, 1.0)
>>> bool(np.isnan(acwr_rolling(loads)[26]))
True
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "ACUTE_DAYS",
    "ACWR_CAVEAT",
    "ACWR_SOURCES",
    "CHRONIC_DAYS",
    "acwr_ewma",
    "acwr_rolling",
    "daily_load",
    "ewma",
    "ewma_lambda",
    "weekly_load",
]

FloatArray = npt.NDArray[np.float64]

ACUTE_DAYS: Final[int] = 7
"""Length of the acute window [days]."""
CHRONIC_DAYS: Final[int] = 28
"""Length of the chronic window [days]."""

ACWR_SOURCES: Final[tuple[str, ...]] = (
    "Hulin et al. 2014, Br J Sports Med 48:708-712 (rolling 7:28)",
    "Williams et al. 2017, Br J Sports Med 51:209-210 (EWMA, lambda = 2/(N+1))",
    "Lolli et al. 2019, Br J Sports Med 53:921-922 (coupling)",
    "Impellizzeri et al. 2020, Int J Sports Physiol Perform 15:907-913 (conceptual issues)",
    "Impellizzeri et al. 2021, Sports Med 51:581-592 (time to dismiss ACWR)",
)
"""Where the definitions and the caveats come from."""

ACWR_CAVEAT: Final[str] = (
    "ACWR is shown descriptively: it is not a validated injury-risk predictor. Ratios are partly "
    "spurious by mathematical coupling (Lolli et al. 2019), depend on arbitrary windows, and published "
    "risk thresholds have not held up (Impellizzeri et al. 2020, 2021). No risk zones are drawn."
)
"""One-paragraph caveat printed with every ACWR table and chart."""


def _as_series(daily: npt.ArrayLike) -> FloatArray:
    x = np.asarray(daily, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"daily loads must be one-dimensional, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("daily loads must be finite (rest days are 0, not NaN)")
    return x


def _trailing_mean(x: FloatArray, window: int, lag: int = 0) -> FloatArray:
    """Mean of ``x[t-lag-window+1 : t-lag+1]`` at each t; NaN where the window reaches before day 0."""
    out = np.full(x.size, np.nan)
    first = window - 1 + lag  # first day whose window lies inside the series
    if x.size > first:
        # Each window summed on its own (not differences of a running sum, which cancel catastrophically
        # after a large load): a daily series is short, so this costs nothing.
        means = np.lib.stride_tricks.sliding_window_view(x, window).mean(axis=1)
        out[first:] = means[: x.size - first]
    return out


def _ratio(acute: FloatArray, chronic: FloatArray, valid_from: int) -> FloatArray:
    out = np.full(acute.size, np.nan)
    ok = np.zeros(acute.size, dtype=bool)
    ok[valid_from:] = True
    ok &= np.isfinite(acute) & np.isfinite(chronic) & (chronic > 0)
    out[ok] = acute[ok] / chronic[ok]
    return out


def acwr_rolling(
    daily: npt.ArrayLike,
    *,
    acute_days: int = ACUTE_DAYS,
    chronic_days: int = CHRONIC_DAYS,
    coupled: bool = True,
) -> FloatArray:
    """Acute:chronic workload ratio from rolling averages of daily load.

    Parameters
    ----------
    daily : array_like of float, shape (D,)
        Load of each consecutive calendar day (rest days 0), any load unit.
    acute_days, chronic_days : int
        Window lengths [days] (default 7 and 28).
    coupled : bool, default True
        True: the chronic window is the last ``chronic_days`` days, acute week included (Hulin et al.
        2014). False: the chronic window is the ``chronic_days - acute_days`` days before the acute
        window (uncoupled; Windt & Gabbett 2019).

    Returns
    -------
    ndarray of float, shape (D,)
        The ratio on each day (dimensionless); NaN before day ``chronic_days - 1`` and where the chronic
        load is 0.

    Raises
    ------
    ValueError
        If ``daily`` is not a finite 1-D series or the windows are not ``0 < acute < chronic``.
    """
    x = _as_series(daily)
    if not 0 < acute_days < chronic_days:
        raise ValueError(f"need 0 < acute_days < chronic_days, got {acute_days}, {chronic_days}")
    acute = _trailing_mean(x, acute_days)
    if coupled:
        chronic = _trailing_mean(x, chronic_days)
    else:
        chronic = _trailing_mean(x, chronic_days - acute_days, lag=acute_days)
    return _ratio(acute, chronic, chronic_days - 1)


def ewma_lambda(n_days: int) -> float:
    """Decay constant λ = 2 / (N + 1) of an N-day exponentially weighted moving average.

    Parameters
    ----------
    n_days : int
        The average's nominal length N [days] (Williams et al. 2017).
    """
    if n_days < 1:
        raise ValueError(f"n_days must be at least 1, got {n_days}")
    return 2.0 / (n_days + 1.0)


def ewma(daily: npt.ArrayLike, n_days: int) -> FloatArray:
    """Exponentially weighted moving average of daily load, ``λ = 2 / (N + 1)``.

    Parameters
    ----------
    daily : array_like of float, shape (D,)
        Load of each consecutive calendar day (rest days 0).
    n_days : int
        Nominal length N [days].

    Returns
    -------
    ndarray of float, shape (D,)
        ``e[0] = daily[0]``; ``e[t] = λ·daily[t] + (1 − λ)·e[t−1]``, in the unit of the load.
    """
    x = _as_series(daily)
    lam = ewma_lambda(n_days)
    out = np.empty_like(x)
    if x.size == 0:
        return out
    # A short Python loop: a daily series is a few hundred values.
    prev = x[0]
    for t, value in enumerate(x):
        prev = lam * value + (1.0 - lam) * prev if t else value
        out[t] = prev
    return out


def acwr_ewma(
    daily: npt.ArrayLike, *, acute_days: int = ACUTE_DAYS, chronic_days: int = CHRONIC_DAYS
) -> FloatArray:
    """Acute:chronic workload ratio from exponentially weighted moving averages (Williams et al. 2017).

    Parameters
    ----------
    daily : array_like of float, shape (D,)
        Load of each consecutive calendar day (rest days 0), any load unit.
    acute_days, chronic_days : int
        Nominal lengths N of the two averages [days] (default 7 and 28; λ = 2/(N+1)).

    Returns
    -------
    ndarray of float, shape (D,)
        ``ewma(daily, acute_days) / ewma(daily, chronic_days)`` (dimensionless); NaN before day
        ``chronic_days - 1`` (warm-up from the starting value) and where the chronic average is 0.
    """
    x = _as_series(daily)
    if not 0 < acute_days < chronic_days:
        raise ValueError(f"need 0 < acute_days < chronic_days, got {acute_days}, {chronic_days}")
    return _ratio(ewma(x, acute_days), ewma(x, chronic_days), chronic_days - 1)


def daily_load(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    time: str,
    value: str,
    by: str,
    until: pl.Expr | None = None,
) -> pl.DataFrame:
    """Total load per calendar day (UTC) of each group, with rest days filled in as 0.

    Parameters
    ----------
    frame : polars.DataFrame or LazyFrame
        Rows with a ``Datetime`` column ``time``, a numeric column ``value`` and a group column ``by``
        (e.g. one row per load epoch and athlete).
    time, value, by : str
        Column names.
    until : polars.Expr, optional
        A ``Date`` expression: extend every group's days to this date (e.g. today) instead of its own
        last day, so the ratios reflect rest since.

    Returns
    -------
    polars.DataFrame
        Columns ``by``, ``date`` (``Date``, UTC) and ``value`` (sum per day, 0.0 on days without rows),
        every day from each group's first to its last (or ``until``), sorted by group and date.
    """
    lf = frame.lazy().select(
        pl.col(by), pl.col(time).dt.convert_time_zone("UTC").dt.date().alias("date"), pl.col(value)
    )
    totals = lf.group_by(by, "date").agg(pl.col(value).sum().cast(pl.Float64))
    last = pl.col("date").max() if until is None else pl.max_horizontal(pl.col("date").max(), until)
    days = (
        totals.group_by(by)
        .agg(pl.date_ranges(pl.col("date").min(), last, interval="1d").first().alias("date"))
        .explode("date")
    )
    return (
        days.join(totals, on=[by, "date"], how="left")
        .with_columns(pl.col(value).fill_null(0.0))
        .sort(by, "date")
        .collect()
    )


def weekly_load(daily: pl.DataFrame, *, value: str, by: str) -> pl.DataFrame:
    """Total load per ISO week (Monday to Sunday) of each group, from :func:`daily_load` rows.

    Parameters
    ----------
    daily : polars.DataFrame
        Columns ``by``, ``date`` (``Date``) and ``value``, as :func:`daily_load` returns.
    value, by : str
        Column names.

    Returns
    -------
    polars.DataFrame
        Columns ``by``, ``week`` (``Date`` of the week's Monday), ``value`` (sum) and ``days`` (days of
        the week present in ``daily``: fewer than 7 for a first or last partial week), sorted.
    """
    return (
        daily.group_by(by, pl.col("date").dt.truncate("1w").alias("week"))
        .agg(pl.col(value).sum(), pl.len().cast(pl.Int64).alias("days"))
        .sort(by, "week")
    )
