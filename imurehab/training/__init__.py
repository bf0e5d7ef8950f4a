"""Training load for coaches: the ``load`` table kept up to date, and athletes compared over weeks.

:func:`update_load` composes store reads → :mod:`imurehab.analysis.load` → store writes, doing only what
changed since the last update; :func:`compare_athletes` queries the ``load`` table for weekly totals,
station splits and the acute:chronic workload ratio (shown descriptively; see
:mod:`imurehab.analysis.acwr` for its caveats). ``imurehab load`` and ``imurehab compare`` call these.
"""

from imurehab.training.compare import (
    COMPARABLE_METRICS,
    REFERENCE_SEGMENTS,
    AthleteComparison,
    MetricSpec,
    compare_athletes,
    load_athletes,
    reference_sensors,
)
from imurehab.training.provenance import LoadSource
from imurehab.training.stations import is_hyrox_session, label_stations
from imurehab.training.update import (
    DEFAULT_EPOCH_S,
    EpochFunction,
    LoadMetrics,
    LoadUpdateReport,
    SessionLoadOutcome,
    compute_session_load,
    default_metrics,
    update_load,
)

__all__ = [
    "COMPARABLE_METRICS",
    "DEFAULT_EPOCH_S",
    "REFERENCE_SEGMENTS",
    "AthleteComparison",
    "EpochFunction",
    "LoadMetrics",
    "LoadSource",
    "LoadUpdateReport",
    "MetricSpec",
    "SessionLoadOutcome",
    "compare_athletes",
    "compute_session_load",
    "default_metrics",
    "is_hyrox_session",
    "label_stations",
    "load_athletes",
    "reference_sensors",
    "update_load",
]
