"""Hypothesis strategies for imurehab's containers and dataset tables, reusable across the test suite.

- :func:`sensor_infos`, :func:`sensor_samples`, :func:`session_infos`, :func:`recordings` build valid
  core containers (SI units, gaps in ``sample_index``, with and without magnetometer / device clock).
- :func:`table_frames` builds a polars DataFrame for any canonical store table, derived from its schema
  (nullable columns get nulls), so new columns are covered without touching this file.
- :func:`synthetic_recording` is a plain seeded builder for tests that need one big, known recording.
- :data:`DETERMINISTIC` is the settings profile for property tests: derandomized, no deadline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from imurehab.store.schema import arrow_schema, polars_schema
from imurehab.types import (
    SEGMENTS,
    ClockModel,
    Recording,
    SampleFlags,
    SensorInfo,
    SensorSamples,
    SessionInfo,
)

DETERMINISTIC = settings(
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Settings for property tests: the same examples on every run, no per-example deadline."""

FAMILIES = ("osp", "polar-pmd", "movesense-gsp", "movella-dot", "witmotion", "sim", "generic")

# Times between 2000-01-01 and 2100-01-01 UTC [µs since the Unix epoch].
MIN_TIME_US = 946_684_800_000_000
MAX_TIME_US = 4_102_444_800_000_000
_INT64 = (-(2**63), 2**63 - 1)

identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,11}", fullmatch=True)
"""Safe ids (subject, session, sensor): letters, digits, ``._-``, starting with a letter or digit."""

_short_text = st.text(max_size=10)
_positive = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)
# Components of at least 3 m/s² keep the median |acc| above the library's "was it in g?" threshold.
_acc_component = st.floats(3.0, 160.0) | st.floats(-160.0, -3.0)
_gyr_component = st.floats(-34.9, 34.9)
_mag_component = st.floats(-4900.0, 4900.0)


_finite = st.floats(-1e9, 1e9, allow_nan=False)
_times = st.integers(MIN_TIME_US, MAX_TIME_US).map(float)  # whole µs, as the ingest fits them


def clock_models() -> st.SearchStrategy[ClockModel]:
    """Valid :class:`ClockModel` (reference and span times whole µs; infinite uncertainty sometimes)."""
    return st.builds(
        ClockModel,
        boot_id=st.integers(0, 2**32 - 1),
        ref_utc_us=_times,
        offset_us=_finite,
        drift_ppm=st.floats(-1000.0, 1000.0),
        uncertainty_us=st.floats(0.0, 1e7) | st.just(math.inf),
        drift_sigma_ppm=st.floats(0.0, 500.0),
        first_utc_us=_times,
        last_utc_us=_times,
        n_samples=st.integers(0, 10_000),
        n_windows=st.integers(0, 1_000),
    )


def sensor_infos(sensor_id: st.SearchStrategy[str] = identifiers) -> st.SearchStrategy[SensorInfo]:
    """Valid :class:`SensorInfo` with optional fields sometimes missing."""
    return st.builds(
        SensorInfo,
        sensor_id=sensor_id,
        family=st.sampled_from(FAMILIES),
        rate_hz=_positive,
        model=st.none() | _short_text,
        firmware=st.none() | _short_text,
        acc_range_mps2=st.none() | _positive,
        gyr_range_rads=st.none() | _positive,
        mag_range_ut=st.none() | _positive,
        device_clock_hz=st.none() | _positive,
        serial=st.none() | st.text(min_size=1, max_size=12),
        clocks=st.lists(clock_models(), max_size=3).map(tuple),
        clock_uncertainty_us=st.none() | st.floats(0.0, 1e7) | st.just(math.inf),
        log_verified=st.none() | st.booleans(),
    )


def _increasing(draw: st.DrawFn, n: int, low: int, high: int, max_step: int) -> np.ndarray:
    """``n`` strictly increasing int64 values starting in [low, high]."""
    start = draw(st.integers(low, high))
    steps = draw(hnp.arrays(np.int64, n, elements=st.integers(1, max_step)))
    return start + np.cumsum(steps) - steps[0] if n else np.zeros(0, np.int64)


@st.composite
def sensor_samples(
    draw: st.DrawFn,
    info: SensorInfo | None = None,
    *,
    min_samples: int = 0,
    max_samples: int = 40,
    with_mag: bool | None = None,
    with_device_time: bool | None = None,
) -> SensorSamples:
    """Valid :class:`SensorSamples` in SI units; ``with_*=None`` lets hypothesis choose.

    Sample indices have random gaps (lost samples), flags are arbitrary uint16 values.
    """
    info = draw(sensor_infos()) if info is None else info
    n = draw(st.integers(min_samples, max_samples))
    with_mag = draw(st.booleans()) if with_mag is None else with_mag
    with_device_time = draw(st.booleans()) if with_device_time is None else with_device_time
    vec3 = (n, 3)
    return SensorSamples(
        info=info,
        time_us=_increasing(draw, n, MIN_TIME_US, MIN_TIME_US + 10**15, 10**6),
        acc=draw(hnp.arrays(np.float64, vec3, elements=_acc_component)),
        gyr=draw(hnp.arrays(np.float64, vec3, elements=_gyr_component)),
        mag=draw(hnp.arrays(np.float64, vec3, elements=_mag_component)) if with_mag else None,
        sample_index=_increasing(draw, n, 0, 2**40, 4),
        device_time=draw(hnp.arrays(np.int64, n, elements=st.integers(*_INT64)))
        if with_device_time
        else None,
        flags=draw(hnp.arrays(np.uint16, n, elements=st.integers(0, 0xFFFF))),
    )


@st.composite
def session_infos(draw: st.DrawFn, sensor_ids: Sequence[str] = ()) -> SessionInfo:
    """Valid :class:`SessionInfo`; placements put a random subset of ``sensor_ids`` on segments."""
    placed = draw(st.lists(st.sampled_from(list(sensor_ids)), unique=True)) if sensor_ids else []
    zone = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
    return SessionInfo(
        session_id=draw(identifiers),
        subject_id=draw(identifiers),
        start_time=draw(st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30), timezones=zone)),
        placements={s: draw(st.sampled_from(sorted(SEGMENTS))) for s in placed},
        exercise=draw(st.none() | _short_text),
    )


@st.composite
def recordings(
    draw: st.DrawFn, *, min_sensors: int = 1, max_sensors: int = 4, max_samples: int = 40
) -> Recording:
    """Valid :class:`Recording` of ``min_sensors``–``max_sensors`` sensors with unique ids."""
    ids = draw(st.lists(identifiers, min_size=min_sensors, max_size=max_sensors, unique=True))
    sensors = tuple(
        draw(sensor_samples(draw(sensor_infos(st.just(sid))), max_samples=max_samples)) for sid in ids
    )
    return Recording(session=draw(session_infos(ids)), sensors=sensors)


def _values(typ: pa.DataType) -> st.SearchStrategy[Any]:
    """Python values of one arrow type (timestamps as µs integers); nested fields may be null."""
    if pa.types.is_string(typ):
        return _short_text
    if pa.types.is_timestamp(typ):
        return st.integers(MIN_TIME_US, MAX_TIME_US)
    if pa.types.is_floating(typ):
        return st.floats(width=64)
    if pa.types.is_boolean(typ):
        return st.booleans()
    if pa.types.is_integer(typ):
        info = np.iinfo(typ.to_pandas_dtype())
        return st.integers(int(info.min), int(info.max))
    if pa.types.is_list(typ):
        return st.lists(_values(typ.value_type), max_size=3)
    if pa.types.is_struct(typ):
        return st.fixed_dictionaries({f.name: st.none() | _values(f.type) for f in typ.fields})
    raise NotImplementedError(f"no strategy for arrow type {typ}")


@st.composite
def table_frames(
    draw: st.DrawFn, table: str, *, min_rows: int = 0, max_rows: int = 12, omit_nullable: bool = False
) -> pl.DataFrame:
    """A polars DataFrame with the canonical schema of store table ``table``.

    Parameters
    ----------
    table : str
        One of :data:`imurehab.store.TABLES`.
    min_rows, max_rows : int
        Bounds on the number of rows.
    omit_nullable : bool
        Leave out a random subset of the nullable columns (as an older schema version would).
    """
    n = draw(st.integers(min_rows, max_rows))
    dtypes = polars_schema(table)
    columns = []
    for field in arrow_schema(table):
        if field.nullable and omit_nullable and draw(st.booleans()):
            continue
        element = st.none() | _values(field.type) if field.nullable else _values(field.type)
        values = draw(st.lists(element, min_size=n, max_size=n))
        if pa.types.is_timestamp(field.type):
            series = pl.Series(field.name, values, dtype=pl.Int64).cast(dtypes[field.name])
        else:
            series = pl.Series(field.name, values, dtype=dtypes[field.name], strict=True)
        columns.append(series)
    return pl.DataFrame(columns)


def synthetic_recording(
    n_samples: int = 1000,
    *,
    n_sensors: int = 3,
    seed: int = 0,
    subject: str = "001",
    session: str = "s1",
) -> Recording:
    """A seeded recording at 100 Hz: sensors alternate with and without magnetometer and device clock.

    Not physically meaningful, just plausible magnitudes (gravity on z, small rotations) in SI units.
    """
    rng = np.random.default_rng(seed)
    t0 = 1_735_689_600_000_000  # 2025-01-01 00:00 UTC [µs]
    sensors = []
    for k in range(n_sensors):
        acc = rng.normal(0.0, 0.5, (n_samples, 3))
        acc[:, 2] += 9.81
        full = k % 2 == 0
        sensors.append(
            SensorSamples(
                info=SensorInfo(
                    f"S{k + 1}", "sim", 100.0, model="sim", device_clock_hz=1e6 if full else None
                ),
                time_us=t0 + 10_000 * np.arange(n_samples, dtype=np.int64) + k,
                acc=acc,
                gyr=rng.normal(0.0, 0.3, (n_samples, 3)),
                mag=rng.normal(0.0, 40.0, (n_samples, 3)) if full else None,
                device_time=10_000 * np.arange(n_samples, dtype=np.int64) if full else None,
                flags=np.where(rng.random(n_samples) < 0.01, int(SampleFlags.ACC_SATURATED), 0).astype(
                    np.uint16
                ),
            )
        )
    info = SessionInfo(
        session_id=session,
        subject_id=subject,
        start_time=datetime(2025, 1, 1, tzinfo=UTC),
        placements={"S1": "thigh_right"} if n_sensors else {},
        exercise="seated-knee-extension",
    )
    return Recording(session=info, sensors=tuple(sensors))
