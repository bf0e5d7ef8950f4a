"""Clinical analysis: repetitions, range of motion, movement quality, session summaries and norms."""

from imurehab.analysis.acwr import (
    ACUTE_DAYS,
    ACWR_CAVEAT,
    ACWR_SOURCES,
    CHRONIC_DAYS,
    acwr_ewma,
    acwr_rolling,
    daily_load,
    ewma,
    ewma_lambda,
    weekly_load,
)
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
    "ACUTE_DAYS",
    "ACWR_CAVEAT",
    "ACWR_SOURCES",
    "CHRONIC_DAYS",
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
    "acwr_ewma",
    "acwr_rolling",
    "angle_key",
    "compare_sessions",
    "compensation_flag",
    "daily_load",
    "ewma",
    "ewma_lambda",
    "log_dimensionless_jerk",
    "normal_range",
    "rep_quality",
    "segment_reps",
    "sparc",
    "summarize_session",
    "watched_side",
    "weekly_load",
]
