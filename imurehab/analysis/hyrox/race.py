"""``segment_race``: a HYROX race's runs, Roxzones and stations, with counts, cadence, load and pace fade.

Developed and evaluated on the imurehab simulator only (``benchmarks/hyrox_accuracy.py``,
``docs/hyrox.md``); validation on real races is pending.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.analysis.hyrox.columns import (
    CADENCE_PER_MIN,
    COUNT,
    INDEX,
    LABEL,
    LOAD_SENSOR,
    NO_REPS,
    UNIT,
    VALID,
    VS_FIRST,
    VS_MEDIAN,
)
from imurehab.analysis.hyrox.counts import COUNTING, count_cycles
from imurehab.analysis.hyrox.decode import decode_race
from imurehab.analysis.hyrox.depth import short_reps
from imurehab.analysis.hyrox.features import FRAME_S, sensor_features
from imurehab.analysis.hyrox.inputs import RaceSensor, race_sensors
from imurehab.analysis.hyrox.sequence import RUN, STATIONS
from imurehab.analysis.load import playerload
from imurehab.errors import DataValidationError
from imurehab.store import columns as cols
from imurehab.types import Recording

__all__ = [
    "MIN_RACE_S",
    "VERSION",
    "RaceSegmentation",
    "segment_race",
]

VERSION: Final = "1"
"""Version of the segmentation method (the load table records it with the station labels)."""
MIN_RACE_S: Final = 120.0
"""Shortest recording [s] the segmentation accepts (8 runs and 8 stations need room)."""

_TIME = pl.Datetime("us", "UTC")
_LOAD_ORDER = ("pelvis", "thigh", "wrist")


@dataclass(frozen=True, eq=False)
class RaceSegmentation:
    """A segmented HYROX race.

    Attributes
    ----------
    phases : polars.DataFrame
        One row per phase in time order: ``label`` (str), ``index`` (int 1–8), ``start``, ``end``
        (``Datetime[us, UTC]``, half-open), ``duration_s``.
    stations : polars.DataFrame
        One row per station found: ``index``, ``label``, ``start``, ``end``, ``duration_s``, ``unit``,
        ``count``, ``valid`` and ``no_reps`` (wall balls), ``cadence_per_min``, ``playerload`` [AU]
        (PlayerLoad 3D of ``load_sensor``, :func:`imurehab.analysis.load.playerload`), ``load_sensor``.
    runs : polars.DataFrame
        ``index``, ``start``, ``end``, ``duration_s``, ``vs_first`` and ``vs_median`` (pace fade: a run
        taking 1.1× the first is 10 % slower).
    placements : tuple of str
        Sensors used (``"wrist"``, ``"pelvis"``, ``"thigh"``).
    """

    phases: pl.DataFrame
    stations: pl.DataFrame
    runs: pl.DataFrame
    placements: tuple[str, ...]

    def labels_at(self, time_us: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Phase label at each time [µs since the Unix epoch, UTC] (None outside the race)."""
        t = np.asarray(time_us, dtype=np.int64)
        out = np.full(t.shape, None, dtype=object)
        start = self.phases.get_column(cols.START).dt.epoch("us").to_numpy()
        end = self.phases.get_column(cols.END).dt.epoch("us").to_numpy()
        for label, a, b in zip(self.phases.get_column(LABEL).to_list(), start, end, strict=True):
            out[(t >= a) & (t < b)] = label
        return out


def _frames(sensors: Sequence[RaceSensor]) -> tuple[int, int]:
    t0 = min(int(s.time_us[0]) for s in sensors)
    t1 = max(int(s.time_us[-1]) for s in sensors)
    span = (t1 - t0) / 1e6
    if span < MIN_RACE_S:
        raise DataValidationError(
            f"the recording spans {span:.1f} s; a race segmentation needs at least {MIN_RACE_S:g} s",
            column="time_us",
        )
    return t0, int(np.floor(span / FRAME_S)) + 1


def _phase_rows(
    path: npt.NDArray[np.int64], labels: tuple[str, ...], index: tuple[int, ...], t0: int, t_end: int
) -> list[tuple[str, int, int, int]]:
    rows: list[tuple[str, int, int, int]] = []
    bounds = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [path.size]])
    for a, b in zip(starts, stops, strict=True):
        state = int(path[a])
        if labels[state] == "rest":
            continue
        start_us = t0 if a == 0 else t0 + int((a - 0.5) * FRAME_S * 1e6)
        end_us = t_end if b == path.size else t0 + int((b - 0.5) * FRAME_S * 1e6)
        key = (labels[state], index[state])
        if rows and (rows[-1][0], rows[-1][1]) == key:
            rows[-1] = (*key, rows[-1][2], end_us)
        else:
            rows.append((*key, start_us, end_us))
    return rows


def _slice(
    sensor: RaceSensor, a: int, b: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None, float]:
    i, j = np.searchsorted(sensor.time_us, [a, b])
    t = sensor.time_us[i:j]
    rate = (t.size - 1) / ((t[-1] - t[0]) / 1e6) if t.size > 1 and t[-1] > t[0] else 0.0
    gyr = None if sensor.gyr_rads is None else sensor.gyr_rads[i:j]
    return sensor.acc_mps2[i:j], gyr, rate


def _station_row(label: str, index: int, a: int, b: int, sensors: dict[str, RaceSensor]) -> dict[str, object]:
    rule = COUNTING[label]
    duration = (b - a) / 1e6
    row: dict[str, object] = {
        INDEX: index,
        LABEL: label,
        cols.START: a,
        cols.END: b,
        cols.DURATION_S: duration,
        UNIT: rule.unit,
        COUNT: None,
        VALID: None,
        NO_REPS: None,
        CADENCE_PER_MIN: None,
        cols.PLAYERLOAD: None,
        LOAD_SENSOR: None,
    }
    counter = next((p for p in rule.placements if p in sensors), None)
    if counter is not None:
        lead = a - round(rule.lead_s * 1e6)
        acc, gyr, rate = _slice(sensors[counter], lead, b)
        if rate > 0:
            found = count_cycles(acc, gyr, rate, rule.search_s(), rotation=rule.rotation)
            count = int(found.peaks.size) * rule.per_cycle(found.period_s)
            row[COUNT] = count
            row[CADENCE_PER_MIN] = count / duration * 60.0 if duration > 0 else None
            depth_sensor = next((p for p in ("thigh", "pelvis") if p in sensors), None)
            if label == "wall-balls" and depth_sensor is not None and found.peaks.size:
                d_acc, _, d_rate = _slice(sensors[depth_sensor], lead, b)
                peaks = (
                    found.peaks
                    if depth_sensor == counter
                    else np.round(found.peaks * d_rate / rate).astype(np.int64)
                )
                clipped = np.clip(peaks, 0, d_acc.shape[0] - 1)
                short = int(np.sum(short_reps(d_acc, d_rate, clipped, depth_sensor)))
                row[NO_REPS] = short
                row[VALID] = count - short
    loader = next((p for p in _LOAD_ORDER if p in sensors), None)
    if loader is not None:
        acc, _, rate = _slice(sensors[loader], a, b)
        if acc.shape[0] > 1 and rate > 0:
            row[cols.PLAYERLOAD] = float(playerload(acc, rate))
            row[LOAD_SENSOR] = sensors[loader].sensor_id
    return row


def segment_race(
    source: Recording | Sequence[RaceSensor],
    *,
    use: Collection[str] | None = None,
) -> RaceSegmentation:
    """Segment a HYROX race into its 8 runs, Roxzones and 8 stations, and measure each station.

    Parameters
    ----------
    source : Recording or sequence of RaceSensor
        A recording with a wrist (forearm or hand segment), pelvis (sacrum) and/or thigh sensor, or
        those sensors' arrays as :class:`RaceSensor`. Accelerometer required; gyroscope used when present.
        The recording should cover the race (extra rest before and after is recognised and left out).
    use : collection of str, optional
        Restrict to some placements (``{"wrist"}``, ``{"pelvis", "thigh"}``); default all available.

    Returns
    -------
    RaceSegmentation
        ``.phases`` (label, index, start, end as UTC datetimes), ``.stations`` (duration, counts,
        cadence, PlayerLoad), ``.runs`` (durations and pace fade).

    Raises
    ------
    DataValidationError
        No wrist, pelvis or thigh sensor; no accelerometer data; a recording shorter than
        :data:`MIN_RACE_S`.

    Notes
    -----
    The race order is fixed (rulebook), so the segmentation decodes a left-to-right hidden Markov model
    of that order over 1 s frames of activity features, re-estimating each class from the race itself
    (:mod:`imurehab.analysis.hyrox.decode`). It was developed on simulated races; real-race validation is
    pending. Accuracy per sensor combination: ``docs/hyrox.md``.

    Examples
    --------
    >>> from imurehab.simulate import simulate_session
    >>> from imurehab.simulate.hyrox_race import HyroxRaceOptions
    >>> sim = simulate_session("hyrox-race", options=HyroxRaceOptions(scale=0.05), with_mag=False, seed=2)
    >>> race = segment_race(sim.recording)
    >>> race.phases.filter(race.phases["label"] == "run").height
    8
    """
    sensors = race_sensors(source, use)
    t0, n_frames = _frames(sensors)
    t_end = max(int(s.time_us[-1]) for s in sensors) + 1
    feats = np.concatenate(
        [sensor_features((s.time_us - t0) / 1e6, s.acc_mps2, s.gyr_rads, n_frames).values for s in sensors],
        axis=1,
    )
    path, labels, index = decode_race(
        feats,
        detect_absent=any(s.placement == "wrist" for s in sensors),
        posture=[s.placement != "wrist" for s in sensors],
    )
    rows = _phase_rows(path, labels, index, t0, t_end)
    phases = pl.DataFrame(
        {
            LABEL: [r[0] for r in rows],
            INDEX: [r[1] for r in rows],
            cols.START: [r[2] for r in rows],
            cols.END: [r[3] for r in rows],
        },
        schema={LABEL: pl.String, INDEX: pl.Int32, cols.START: pl.Int64, cols.END: pl.Int64},
    ).with_columns(
        ((pl.col(cols.END) - pl.col(cols.START)) / 1e6).alias(cols.DURATION_S),
        pl.col(cols.START).cast(_TIME),
        pl.col(cols.END).cast(_TIME),
    )
    by_place = {s.placement: s for s in sensors}
    station_rows = [_station_row(r[0], r[1], r[2], r[3], by_place) for r in rows if r[0] in STATIONS]
    stations = pl.DataFrame(
        station_rows,
        schema={
            INDEX: pl.Int32,
            LABEL: pl.String,
            cols.START: pl.Int64,
            cols.END: pl.Int64,
            cols.DURATION_S: pl.Float64,
            UNIT: pl.String,
            COUNT: pl.Int64,
            VALID: pl.Int64,
            NO_REPS: pl.Int64,
            CADENCE_PER_MIN: pl.Float64,
            cols.PLAYERLOAD: pl.Float64,
            LOAD_SENSOR: pl.String,
        },
    ).with_columns(pl.col(cols.START).cast(_TIME), pl.col(cols.END).cast(_TIME))
    runs = phases.filter(pl.col(LABEL) == RUN).select(INDEX, cols.START, cols.END, cols.DURATION_S)
    if runs.height:
        d = runs.get_column(cols.DURATION_S)
        runs = runs.with_columns(
            (pl.col(cols.DURATION_S) / d[0]).alias(VS_FIRST),
            (pl.col(cols.DURATION_S) / d.median()).alias(VS_MEDIAN),
        )
    return RaceSegmentation(phases, stations, runs, tuple(s.placement for s in sensors))
