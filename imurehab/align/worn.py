"""When the sensors were worn: the session between the shakes that put them on one timeline.

Sensors shaken together before they are strapped on (and after they are taken off) record that shake as
if it were movement of the body. It is not the patient's movement, so it is left out of what is computed
from the body. Left in, it can mislead: on simulated sessions whose data jumped from the hand's
orientation to the body's, knee ROM per rep was off by 10–33°; with a continuous strapping-on the
simulated pipeline was unaffected (``tests/align/test_worn.py``). :func:`shake_spans`
finds every stretch in which all the sensors rotated as one rigid body (pairwise, the same test as the
alignment: :func:`~imurehab.align.match.match_shake`, ≥ 99 % of the angular-rate variance explained by one
rotation and one lag), and :func:`worn_recording` keeps the longest part of the session between them.
Sensors on different body segments do not pass that test: they rotate about different axes or at
different rates; two on one segment do, but not with all the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Final

import numpy as np

from imurehab.align.match import match_shake, shared_windows
from imurehab.types import Recording, SensorSamples, us_to_datetime

__all__ = ["MARGIN_S", "shake_spans", "worn_recording", "worn_span"]

MARGIN_S: Final = 1.0
"""Left out on both sides of a shake's fitted stretch as well [s]: its ramps, picking the sensors up."""
_SEARCH_US: Final = 50_000.0


def shake_spans(sensors: Sequence[SensorSamples], *, search_us: float = _SEARCH_US) -> list[tuple[int, int]]:
    """Stretches in which all the sensors rotated as one rigid body (held together in the hand).

    Pairs that rotated as one are merged into stretches; a stretch counts only when every sensor is in
    one of its pairs: two sensors strapped on one segment move rigidly together all session long, and
    that is body movement, not a shake.

    Parameters
    ----------
    sensors : sequence of SensorSamples
        The session's sensors, on one timeline (their clocks, or aligned).
    search_us : float
        Largest lag between two sensors' timelines to consider [µs].

    Returns
    -------
    list of (int, int)
        ``(start, end)`` [µs since the Unix epoch] in time order, each the fitted stretch widened by
        :data:`MARGIN_S` on both sides.
    """
    spans: list[tuple[int, int, frozenset[int]]] = []
    a = sensors[0] if sensors else None  # a bundle holds every sensor: pairs with the first one suffice
    for j in range(1, len(sensors)):
        for window in shared_windows(a, sensors[j]):  # type: ignore[arg-type]
            m = match_shake(a, sensors[j], window, search_us)  # type: ignore[arg-type]
            if m is not None:
                lo, hi = round(m.start_us - MARGIN_S * 1e6), round(m.end_us + MARGIN_S * 1e6)
                spans.append((lo, hi, frozenset((0, j))))
    merged: list[tuple[int, int, frozenset[int]]] = []
    for lo, hi, who in sorted(spans, key=lambda s: s[:2]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi), merged[-1][2] | who)
        else:
            merged.append((lo, hi, who))
    every = frozenset(range(len(sensors)))
    return [(lo, hi) for lo, hi, who in merged if who == every]


def worn_span(sensors: Sequence[SensorSamples]) -> tuple[int, int] | None:
    """The longest stretch of the session free of shakes [µs since the Unix epoch] (None without a shake).

    Parameters
    ----------
    sensors : sequence of SensorSamples
        The session's sensors, on one timeline.
    """
    shakes = shake_spans(sensors)
    if not shakes or not sensors:
        return None
    first = min(int(s.time_us[0]) for s in sensors)
    last = max(int(s.time_us[-1]) for s in sensors)
    edges = [first, *(x for span in shakes for x in span), last]
    free = [(lo, hi) for lo, hi in zip(edges[::2], edges[1::2], strict=True) if hi > lo]
    return max(free, key=lambda f: f[1] - f[0]) if free else None


def _between(s: SensorSamples, lo: int, hi: int) -> SensorSamples:
    keep = (s.time_us >= lo) & (s.time_us <= hi)
    arrays = {
        name: getattr(s, name)[keep]
        for name in ("time_us", "acc", "gyr", "mag", "sample_index", "device_time", "flags")
        if getattr(s, name) is not None
    }
    return dataclasses.replace(s, **arrays)


def worn_recording(rec: Recording) -> tuple[Recording, str | None]:
    """The recording without the sensors' shakes: its longest part between them.

    Parameters
    ----------
    rec : Recording
        A session.

    Returns
    -------
    (Recording, str or None)
        The recording cut to :func:`worn_span` and a note saying what was left out; the recording as
        given and None when there was no shake (or nothing would be left of a sensor).
    """
    span = worn_span(rec.sensors)
    if span is None:
        return rec, None
    lo, hi = span
    cut = [_between(s, lo, hi) for s in rec.sensors]
    if any(len(s) < 2 for s in cut):
        return rec, None
    left = sum(len(s) for s in rec.sensors) - sum(len(s) for s in cut)
    if left == 0:
        return rec, None
    first, last = (us_to_datetime(int(np.int64(t))) for t in span)
    note = (
        f"sensors shaken together (held in the hand, not worn): only {first:%H:%M:%S} to {last:%H:%M:%S} "
        f"UTC analysed, {left} samples left out"
    )
    return dataclasses.replace(rec, sensors=tuple(cut)), note
