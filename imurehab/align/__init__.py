"""Aligning sensors that share no clock by a movement they shared: a shake of the sensors held together.

:func:`align_on_shakes` takes the sensors of one session (on UTC from their own clocks, each within its
bound) and moves each onto the reference sensor's timeline by the lag the shared shake shows
(:mod:`imurehab.align.shared`; the matching itself: :mod:`imurehab.align.match`). The BLE sync applies it
when it writes a study session, so a mixed-family session whose sensors were shaken together before they
were strapped on lands on one timeline well within 1 ms (docs/sensors-mixed.md). :func:`worn_recording`
leaves the shakes out of what is computed from the body (the processing pipeline calls it).
"""

from imurehab.align.match import MIN_FIT, ShakeMatch, match_shake, shake_windows
from imurehab.align.shared import MIN_SPAN_S, Alignment, SensorAlignment, align_on_shakes
from imurehab.align.worn import shake_spans, worn_recording, worn_span

__all__ = [
    "MIN_FIT",
    "MIN_SPAN_S",
    "Alignment",
    "SensorAlignment",
    "ShakeMatch",
    "align_on_shakes",
    "match_shake",
    "shake_spans",
    "shake_windows",
    "worn_recording",
    "worn_span",
]
