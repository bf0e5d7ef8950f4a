"""Loss accounting and sample times of a live Polar PMD stream, from frame timestamps alone.

PMD frames carry no counter; each is stamped with the time of its **last** sample (ns since 2000-01-01,
spec.md §6). Polar's own rule spaces a frame's samples back to the previous frame's timestamp, which is
right only when no frame was lost in between: after a lost frame it would spread the frame's samples
over the lost ones' time too. So, per measurement stream:

- a frame is *contiguous* when ``ts − previous ts`` is ``n`` sample periods within half a period (the
  gap before its first sample is at most 1.5 periods); its samples are spaced by Polar's rule;
- otherwise its samples are spaced back from ``ts`` by the period, and the gap between the previous
  frame's last sample and this frame's first one, when larger than 1.5 periods, is loss:
  ``round(gap / period) − 1`` samples (``"air"`` within a stream run, ``"link"`` across a reconnect);
- the period starts nominal (``1 / rate``) and follows the spacing of contiguous frames (a real sensor's
  rate is not exactly nominal).

Sample indices are counted by the host: they go on across runs and skip the lost samples. A clock that
goes back (a sensor that lost power and reset its clock) starts a new boot. Losses before the first
frame received and after the last one cannot be seen.

Examples
--------
>>> t = PmdLossTracker("acc", rate_hz=100.0)
>>> t.start_run()
>>> period = 10_000_000  # ns
>>> for last in (9, 19, 39, 49):  # frames of 10 samples; the one ending at sample 29 was lost
...     _ = t.frame(1_000_000_000 + last * period, 10)
>>> [(g.first_index, g.count, g.cause) for g in t.gaps], t.samples
([(20, 10, 'air')], 40)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.ble.report import Gap
from imurehab.protocols.polar_pmd.timing import NO_PREVIOUS, sample_times

__all__ = ["FrameTimes", "PmdLossTracker"]

_RATE_CHANGE: Final = 0.25  # a new run's nominal period this far from the estimate replaces it
_LOSS_PERIODS: Final = 1.5  # a gap above this many periods is loss (the brief of issue 8)
_FOLLOW: Final = 0.1  # weight of a contiguous frame's spacing in the period estimate


@dataclass(frozen=True)
class FrameTimes:
    """One accepted frame's place in its stream.

    Attributes
    ----------
    first_index : int
        Host-counted index of its first sample.
    time_ns : ndarray of int64
        Each sample's sensor time [ns since 2000-01-01].
    boot_id : int
        Clock resets seen before it.
    """

    first_index: int
    time_ns: npt.NDArray[np.int64]
    boot_id: int


class PmdLossTracker:
    """Frames, samples and gaps of one measurement stream (ACC, GYRO or MAG) over reconnects.

    Parameters
    ----------
    measurement : str
        ``"acc"``, ``"gyro"`` or ``"mag"`` (named in the gaps).
    rate_hz : float
        Nominal sample rate [Hz].

    Attributes
    ----------
    gaps : list of Gap
        In order.
    frames, samples : int
        Accepted.
    period_ns : float
        The current estimate of the sample period [ns].
    """

    def __init__(self, measurement: str, rate_hz: float) -> None:
        self.measurement = measurement
        self.gaps: list[Gap] = []
        self.frames = 0
        self.samples = 0
        self.period_ns = 1e9 / rate_hz
        self._boot = 0
        self._previous_ts: int | None = None
        self._last_time: int | None = None
        self._next_index = 0

    def start_run(self, rate_hz: float | None = None) -> None:
        """A new start of the measurement: Polar forgets the previous timestamp (spec.md §6).

        Parameters
        ----------
        rate_hz : float, optional
            The nominal rate of the new run, when it changed [Hz].
        """
        if rate_hz is not None and abs(1e9 / rate_hz - self.period_ns) > _RATE_CHANGE * self.period_ns:
            self.period_ns = 1e9 / rate_hz
        self._previous_ts = None

    def frame(self, timestamp_ns: int, n_samples: int) -> FrameTimes | None:
        """Account for one received frame.

        Parameters
        ----------
        timestamp_ns : int
            Its timestamp: the last sample's sensor time [ns since 2000-01-01].
        n_samples : int
            Samples in it (≥ 1).

        Returns
        -------
        FrameTimes or None
            Its samples' indices and times; None for a duplicate or stale frame (ignore it).
        """
        previous = self._previous_ts
        if previous is not None and timestamp_ns <= previous:
            return None
        period = self.period_ns
        contiguous = False
        if previous is not None:
            spacing = (timestamp_ns - previous) / n_samples
            # The gap before this frame's first sample, spaced by the period, is at most 1.5 periods.
            contiguous = abs(timestamp_ns - previous - n_samples * period) <= (_LOSS_PERIODS - 1) * period
            if contiguous:
                self.period_ns = period = (1 - _FOLLOW) * period + _FOLLOW * spacing
        prev = np.array([previous if contiguous else NO_PREVIOUS], dtype=np.int64)
        times, _ = sample_times(
            np.array([timestamp_ns], dtype=np.int64),
            np.array([n_samples], dtype=np.int64),
            prev,
            1e9 / period,
        )
        assert times is not None
        missing = 0
        if not contiguous and self._last_time is not None:
            gap = int(times[0]) - self._last_time
            if gap < -period / 2:
                self._boot += 1  # the clock went back: a reset sensor; indices go on, times restart
            elif gap > _LOSS_PERIODS * period:
                missing = max(0, round(gap / period) - 1)
                cause = "air" if previous is not None else "link"
                self.gaps.append(Gap(self._boot, self._next_index, missing, 0, cause, self.measurement))
        first = self._next_index + missing
        self._next_index = first + n_samples
        self._previous_ts = self._last_time = timestamp_ns
        self.frames += 1
        self.samples += n_samples
        return FrameTimes(first, times, self._boot)
