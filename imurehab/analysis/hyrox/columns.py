"""Column names of the race segmentation's tables.

``start``, ``end``, ``duration_s`` and ``playerload`` come from :mod:`imurehab.store.columns`.
"""

from typing import Final

__all__ = [
    "CADENCE_PER_MIN",
    "COUNT",
    "INDEX",
    "LABEL",
    "LOAD_SENSOR",
    "NO_REPS",
    "UNIT",
    "VALID",
    "VS_FIRST",
    "VS_MEDIAN",
]

LABEL: Final = "label"
"""Phase label: ``run``, ``roxzone`` or a station of :data:`STATIONS`."""
INDEX: Final = "index"
"""Run or station number 1–8 (a Roxzone carries the number of the station it leads to or comes from)."""
UNIT: Final = "unit"
COUNT: Final = "count"
"""Reps, strokes, pulls or steps counted (all performed ones, no-reps included)."""
VALID: Final = "valid"
"""Wall balls only: reps counted minus detected no-reps (null elsewhere, or without a thigh/pelvis)."""
NO_REPS: Final = "no_reps"
CADENCE_PER_MIN: Final = "cadence_per_min"
"""Counted units per minute of station time."""
LOAD_SENSOR: Final = "load_sensor"
VS_FIRST: Final = "vs_first"
"""Run duration / duration of run 1."""
VS_MEDIAN: Final = "vs_median"
"""Run duration / median run duration."""
