"""A causal repetition detector with cues: hysteresis on the distance from rest, in the template's direction.

The angle is smoothed causally (moving mean over :data:`SMOOTH_S`) and turned into an *excursion*
``e = s·(angle − rest)`` with ``s = +1`` for templates whose repetitions increase the angle and ``−1``
for those that decrease it. Between repetitions the detector tracks the lowest excursion since the last
one ended (the *base*: where this repetition starts from, so a slowly wandering rest does no harm).

- A repetition begins when ``e`` rises :attr:`RepDetector.enter_deg` above the base.
- It *turns* when ``e`` falls back by ``max(3°, 10 % of its height)`` from its peak; a repetition short
  of the template's target then gets a ``deeper`` cue at once.
- It ends when ``e`` is back within ``max(10 % of its height, enter_deg / 2)`` of the base: the ``rep``
  event (number, ROM = peak − base, duration between the crossings of that same level going out and
  coming back, peak angle, flags) and tempo cues follow.

Compensation checks watch other quantities sample by sample during a repetition and fire once each per
repetition when the change since the repetition's base sample exceeds the check's limit.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.feedback.events import CueEvent

__all__ = ["SMOOTH_S", "RepDetector", "RepTargets", "WatchedChannel"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SMOOTH_S: Final[float] = 0.05
"""Causal moving-mean window of the angle [s] (adds half of it, 25 ms, of delay)."""
_TURN_MIN_DEG: Final[float] = 3.0
_TURN_FRACTION: Final[float] = 0.1
_END_FRACTION: Final[float] = 0.1
SETTLE_DEG_S: Final[float] = 5.0
"""Angular speed below which the joint counts as settled at the start and end of a repetition [deg/s]."""
_SETTLE_MAX_S: Final[float] = 1.0  # a repetition ends at most this long after its return crossing [s]
_HISTORY_S: Final[float] = 60.0  # rest history kept to find where a repetition started [s]


@dataclass(frozen=True)
class RepTargets:
    """What a full repetition looks like, from an exercise template.

    Attributes
    ----------
    direction : {"increase", "decrease"}
        Which way a repetition moves the angle from rest.
    target_deg, target_rom_deg : float or None
        Angle a full repetition reaches, smallest full ROM [deg].
    tolerance_deg : float
        Allowed shortfall [deg].
    min_rep_s, max_rep_s : float
        Tempo limits [s].
    cues : Mapping of str to str
        Texts for ``deeper``, ``slower``, ``faster`` and ``rep``.
    """

    direction: str
    target_deg: float | None
    target_rom_deg: float | None
    tolerance_deg: float
    min_rep_s: float
    max_rep_s: float
    cues: Mapping[str, str]


@dataclass(frozen=True)
class WatchedChannel:
    """A compensation check bound to a live signal.

    Attributes
    ----------
    name : str
        The check's name (flag ``compensation:<name>``).
    cue : str
        Text for the patient.
    max_change_deg : float
        Limit of the change since the repetition's start [deg].
    vector : bool
        True when the signal is a unit vector per sample (change = angle between vectors), False for an
        angle in degrees (change = absolute difference).
    """

    name: str
    cue: str
    max_change_deg: float
    vector: bool


def _change_deg(ref: FloatArray, now: FloatArray, vector: bool) -> float:
    if vector:
        return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(ref, now))))))
    return abs(float(now[0] - ref[0]))


class RepDetector:
    """Counts repetitions on a live angle and says what to cue (see the module notes).

    Parameters
    ----------
    targets : RepTargets
        The template's targets and cue texts.
    rest_deg : float
        The angle at rest from the calibration [deg].
    rate_hz : float
        Sample rate [Hz].
    channels : sequence of WatchedChannel
        Compensation checks, in the order their signals are given to :meth:`update`.
    context : Mapping
        Added to every event's values (e.g. ``joint``, ``side``).

    Attributes
    ----------
    enter_deg : float
        Excursion above the base that starts a repetition [deg]: 30 % of the expected ROM, within
        8–25° (15° when the template sets no target).
    count : int
        Repetitions completed.
    """

    def __init__(
        self,
        targets: RepTargets,
        rest_deg: float,
        rate_hz: float,
        channels: Sequence[WatchedChannel] = (),
        context: Mapping[str, object] | None = None,
    ) -> None:
        self.targets, self.rest_deg, self.channels = targets, float(rest_deg), tuple(channels)
        self.context = dict(context or {})
        self.sign = 1.0 if targets.direction == "increase" else -1.0
        self.enter_deg = self._enter_deg()
        self.count = 0
        self._width = max(1, round(SMOOTH_S * rate_hz))
        self._tail = np.empty(0)
        self._rate = float(rate_hz)
        self._stail = np.empty(0)
        self._phase = "rest"  # → "out" → "back" → "rest"
        self._turned = False
        self._low, self._low_t, self._back_t = math.inf, 0, 0
        self._base = math.inf
        self._base_watch: list[FloatArray] = []
        self._peak = -math.inf
        self._peak_t = 0
        self._fired: set[str] = set()
        self._flags: list[str] = []
        # Samples since the base was last lowered: to find where the repetition left it.
        self._history = max(1, round(_HISTORY_S * rate_hz))
        self._since_base: deque[tuple[int, float, float]] = deque(maxlen=self._history)

    def _enter_deg(self) -> float:
        tg = self.targets
        expected = tg.target_rom_deg
        if expected is None and tg.target_deg is not None:
            expected = abs(tg.target_deg - self.rest_deg)
        return 15.0 if not expected else float(np.clip(0.3 * expected, 8.0, 25.0))

    @property
    def at_rest(self) -> bool:
        """True between repetitions (no repetition under way)."""
        return self._phase == "rest"

    def rebase(self, rest_deg: float) -> None:
        """Start over from a new rest angle, keeping the count: the angle's definition changed.

        Call between repetitions (:attr:`at_rest`); the smoothing and the base restart with the next
        sample.

        Parameters
        ----------
        rest_deg : float
            The angle at rest under the new calibration [deg].
        """
        self.rest_deg = float(rest_deg)
        self.enter_deg = self._enter_deg()
        self._tail, self._stail = np.empty(0), np.empty(0)
        self._base = math.inf
        self._since_base.clear()

    def _smooth(self, angle: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Causal moving mean of the angle [deg] and its rate of change over the window [deg/s]."""
        w = self._width
        x = np.concatenate([self._tail, angle])
        c = np.cumsum(np.concatenate([[0.0], x]))
        idx = np.arange(1, len(x) + 1)
        lo = np.maximum(0, idx - w)
        smooth = ((c[idx] - c[lo]) / (idx - lo))[len(x) - len(angle) :]
        self._tail = x[len(x) - (w - 1) :] if w > 1 else np.empty(0)
        s = np.concatenate([self._stail, smooth])
        prev = np.concatenate([np.full(w, s[0]), s])[: len(s)]
        speed = ((s - prev) * self._rate / w)[len(s) - len(smooth) :]
        self._stail = s[len(s) - w :]
        return smooth, speed

    def update(
        self, time_us: IntArray, angle_deg: FloatArray, watched: Sequence[FloatArray | None] = ()
    ) -> list[CueEvent]:
        """Feed new angle samples; returns the events they trigger, in time order.

        Parameters
        ----------
        time_us : ndarray of int64, shape (n,)
            Sample times [µs, UTC].
        angle_deg : ndarray, shape (n,)
            The counted angle [deg].
        watched : sequence of (ndarray or None)
            Per channel, its signal at the same times: shape (n, 3) unit vectors or (n, 1) degrees;
            None when the channel has no data (its check is skipped).

        Returns
        -------
        list of CueEvent
        """
        events: list[CueEvent] = []
        smooth, speed = self._smooth(np.asarray(angle_deg, dtype=np.float64))
        exc = self.sign * (smooth - self.rest_deg)
        for i in range(len(exc)):
            e, t, v = float(exc[i]), int(time_us[i]), float(speed[i])
            if not math.isfinite(e):
                continue
            if self._phase == "rest":
                if e < self._base:
                    self._base = e
                    self._since_base.clear()
                    self._base_watch = [None if w is None else w[i] for w in watched]
                self._since_base.append((t, e, abs(v)))
                if e - self._base >= self.enter_deg:
                    self._phase, self._turned, self._peak, self._peak_t = "out", False, e, t
                    self._fired, self._flags = set(), []
                continue
            events += self._check(t, i, watched)
            if self._phase == "out":
                if e > self._peak:
                    self._peak, self._peak_t = e, t
                height = self._peak - self._base
                if not self._turned and e < self._peak - max(_TURN_MIN_DEG, _TURN_FRACTION * height):
                    self._turned = True
                    events += self._on_turn(t)
                if e - self._base <= self._level():
                    self._phase, self._low, self._low_t, self._back_t = "back", e, t, t
                continue
            # Back near the base: the repetition ends once the joint settles or turns for the next one.
            if e < self._low:
                self._low, self._low_t = e, t
            if abs(v) < SETTLE_DEG_S or t - self._back_t > _SETTLE_MAX_S * 1e6:
                events += self._on_end(t, t, e)
            elif e > self._low + _TURN_MIN_DEG / 3:
                events += self._on_end(t, self._low_t, self._low)
        return events

    def _level(self) -> float:
        """Height above the base of the onset and the return [deg]."""
        return max(_END_FRACTION * (self._peak - self._base), 0.5 * self.enter_deg)

    def _angle(self, excursion: float) -> float:
        return self.rest_deg + self.sign * excursion

    def _short(self) -> bool:
        tg, peak_deg, rom = self.targets, self._angle(self._peak), self._peak - self._base
        short = tg.target_deg is not None and self.sign * (tg.target_deg - peak_deg) > tg.tolerance_deg
        return short or (tg.target_rom_deg is not None and rom < tg.target_rom_deg - tg.tolerance_deg)

    def _on_turn(self, t: int) -> list[CueEvent]:
        if not self._short():
            return []
        self._flags.append("rom_short")
        values = {
            **self.context,
            "rep": self.count + 1,
            "peak_deg": round(self._angle(self._peak), 2),
            "target_deg": self.targets.target_deg,
            "rom_deg": round(self._peak - self._base, 2),
        }
        return [CueEvent(t, "deeper", self.targets.cues.get("deeper", "Go a little further"), values)]

    def _check(self, t: int, i: int, watched: Sequence[FloatArray | None]) -> list[CueEvent]:
        out = []
        for ch, ref, sig in zip(self.channels, self._base_watch, watched, strict=False):
            if ch.name in self._fired or ref is None or sig is None or not np.all(np.isfinite(sig[i])):
                continue
            change = _change_deg(ref, sig[i], ch.vector)
            if change > ch.max_change_deg:
                self._fired.add(ch.name)
                self._flags.append(f"compensation:{ch.name}")
                values = {
                    **self.context,
                    "rep": self.count + 1,
                    "check": ch.name,
                    "change_deg": round(change, 2),
                }
                out.append(CueEvent(t, "compensation", ch.cue, values))
        return out

    def _on_end(self, t: int, end_t: int, e: float) -> list[CueEvent]:
        level = self._base + self._level()
        calm = [tt for tt, ee, vv in self._since_base if ee <= level and vv < SETTLE_DEG_S]
        low = [tt for tt, ee, _ in self._since_base if ee <= level]
        start = (calm or low or [self._since_base[0][0]])[-1]
        duration = (end_t - start) / 1e6
        self.count += 1
        rom = self._peak - self._base
        tg = self.targets
        events = []
        cue = None
        if duration < tg.min_rep_s:
            self._flags.append("too_fast")
            cue = CueEvent(
                t,
                "slower",
                tg.cues.get("slower", "Slow down"),
                {
                    **self.context,
                    "rep": self.count,
                    "duration_s": round(duration, 3),
                    "min_rep_s": tg.min_rep_s,
                },
            )
        elif duration > tg.max_rep_s:
            self._flags.append("too_slow")
            cue = CueEvent(
                t,
                "faster",
                tg.cues.get("faster", "A little quicker"),
                {
                    **self.context,
                    "rep": self.count,
                    "duration_s": round(duration, 3),
                    "max_rep_s": tg.max_rep_s,
                },
            )
        values = {
            **self.context,
            "rep": self.count,
            "rom_deg": round(rom, 2),
            "peak_deg": round(self._angle(self._peak), 2),
            "start_deg": round(self._angle(self._base), 2),
            "duration_s": round(duration, 3),
            "peak_time_us": self._peak_t,
            "flags": tuple(self._flags),
        }
        text = f"{tg.cues.get('rep', 'Rep')}: {self.count}, {rom:.0f}°"
        events.append(CueEvent(t, "rep", text, values))
        if cue is not None:
            events.append(cue)
        self._phase = "rest"
        self._base = e
        self._since_base.clear()
        self._since_base.append((t, e, 0.0))
        return events
