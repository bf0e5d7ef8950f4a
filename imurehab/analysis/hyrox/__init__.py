"""HYROX race segmentation: runs, Roxzones and the 8 stations from a wrist, pelvis and/or thigh IMU.

:func:`segment_race` takes a :class:`~imurehab.types.Recording` (or :class:`RaceSensor` arrays) and returns
a :class:`RaceSegmentation`: ``.phases`` (label, index, start, end as UTC datetimes), ``.stations``
(duration, reps/strokes/steps, cadence, PlayerLoad) and ``.runs`` (pace fade). The method exploits the
fixed race order (a left-to-right hidden Markov model over 1 s activity features, re-estimated on the race
itself). It was developed and evaluated on the imurehab simulator; validation on real races is pending.
Details and accuracy: ``docs/hyrox.md``.
"""

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
from imurehab.analysis.hyrox.counts import COUNTING, CycleCount, StationCounting, count_cycles, squat_depths
from imurehab.analysis.hyrox.evaluate import Boundary, Phase, boundary_offsets, label_agreement
from imurehab.analysis.hyrox.features import FEATURE_NAMES, FRAME_S, SensorFeatures, sensor_features
from imurehab.analysis.hyrox.inputs import PLACEMENTS, RaceSensor, race_sensors
from imurehab.analysis.hyrox.race import MIN_RACE_S, VERSION, RaceSegmentation, segment_race
from imurehab.analysis.hyrox.sequence import CLASSES, ROXZONE, RUN, STATIONS

__all__ = [
    "CADENCE_PER_MIN",
    "CLASSES",
    "COUNT",
    "COUNTING",
    "FEATURE_NAMES",
    "FRAME_S",
    "INDEX",
    "LABEL",
    "LOAD_SENSOR",
    "MIN_RACE_S",
    "NO_REPS",
    "PLACEMENTS",
    "ROXZONE",
    "RUN",
    "STATIONS",
    "UNIT",
    "VALID",
    "VERSION",
    "VS_FIRST",
    "VS_MEDIAN",
    "Boundary",
    "CycleCount",
    "Phase",
    "RaceSegmentation",
    "RaceSensor",
    "SensorFeatures",
    "StationCounting",
    "boundary_offsets",
    "count_cycles",
    "label_agreement",
    "race_sensors",
    "segment_race",
    "sensor_features",
    "squat_depths",
]
