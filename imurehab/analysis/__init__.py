"""Clinical analysis: repetitions, range of motion, movement quality, session summaries and norms."""

from imurehab.analysis.norms import AAOS_SOURCE, NORMAL_RANGES, NormalRange, normal_range
from imurehab.analysis.quality import (
    FLAG_INCOMPLETE,
    FLAG_ROM_SHORT,
    FLAG_TOO_FAST,
    FLAG_TOO_SLOW,
    RepQuality,
    angle_key,
    compensation_flag,
    rep_quality,
    watched_side,
)
from imurehab.analysis.reps import Rep, segment_reps
from imurehab.analysis.smoothness import log_dimensionless_jerk, sparc
from imurehab.analysis.summary import (
    MEASUREMENT_MDC_SOURCE,
    NormComparison,
    SessionChange,
    SessionSummary,
    compare_sessions,
    summarize_session,
)

__all__ = [
    "AAOS_SOURCE",
    "FLAG_INCOMPLETE",
    "FLAG_ROM_SHORT",
    "FLAG_TOO_FAST",
    "FLAG_TOO_SLOW",
    "MEASUREMENT_MDC_SOURCE",
    "NORMAL_RANGES",
    "NormComparison",
    "NormalRange",
    "Rep",
    "RepQuality",
    "SessionChange",
    "SessionSummary",
    "angle_key",
    "compare_sessions",
    "compensation_flag",
    "log_dimensionless_jerk",
    "normal_range",
    "rep_quality",
    "segment_reps",
    "sparc",
    "summarize_session",
    "watched_side",
]
