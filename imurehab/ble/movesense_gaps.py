"""Loss accounting and sample times of a live Movesense IMU subscription, from message timestamps alone.

GSP measurement messages carry no counter: each is stamped with its **first** sample's time in whole ms
since boot (uint32, wraps after 49.7 days; spec.md). The messages of one subscription hold the same
number of samples ``n``, so between two messages received in one subscription the samples missing are
``(Δt · rate − n)`` rounded to whole messages (``n`` each): the ms rounding of the stamps (±1 ms) moves
that by under ``rate / 1000`` samples, so the count is exact while ``n > 2 · rate / 1000`` (the vendor's
8 samples per message: at every rate the profile lists, up to 1666 Hz). Across
a new subscription (after a reconnect) the first message is not on the old message grid: the missing
samples are ``Δt · rate − n`` rounded to whole samples (exact to the ms: ±1 sample above 500 Hz), cause
``"link"``. A stamp that goes back by more than a second is a sensor that rebooted (its clock restarted):
a new boot, indices go on. Losses before the first message and after the last one cannot be seen.

Examples
--------
>>> t = MeasLossTracker(rate_hz=104.0)
>>> t.start_run()
>>> for stamp in (1000, 1076, 1230, 1307):  # 8 samples each; the message stamped 1153 was lost
...     _ = t.message(stamp, 8)
>>> [(g.first_index, g.count, g.cause) for g in t.gaps], t.samples
([(16, 8, 'air')], 32)
"""

from __future__ import annotations

from dataclasses import dataclass

from imurehab.ble.report import Gap
from imurehab.protocols.movesense import messages_missing, stamp_step

__all__ = ["MeasLossTracker", "PlacedMessage", "messages_missing", "stamp_step"]


@dataclass(frozen=True)
class PlacedMessage:
    """One accepted message's place in its stream.

    Attributes
    ----------
    first_index : int
        Host-counted index of its first sample.
    timestamp_ms : int
        Its stamp, unwrapped across the uint32 rollover [ms since boot].
    boot_id : int
        Clock restarts seen before it.
    """

    first_index: int
    timestamp_ms: int
    boot_id: int


class MeasLossTracker:
    """Messages, samples and gaps of one IMU subscription over reconnects.

    Parameters
    ----------
    rate_hz : float
        Sample rate [Hz].
    measurement : str
        Named in the gaps (the resource, e.g. ``"IMU6"``).

    Attributes
    ----------
    gaps : list of Gap
        In order.
    frames, samples : int
        Messages and samples accepted.
    """

    def __init__(self, rate_hz: float, measurement: str = "") -> None:
        self.rate_hz, self.measurement = rate_hz, measurement
        self.gaps: list[Gap] = []
        self.frames = 0
        self.samples = 0
        self._boot = 0
        self._previous: tuple[int, int, int] | None = None  # raw stamp, unwrapped stamp, n
        self._next_index = 0
        self._new_run = True

    @property
    def boot_id(self) -> int:
        """Clock restarts seen so far."""
        return self._boot

    def start_run(self) -> None:
        """A new subscription: its first message is not on the previous one's message grid."""
        self._new_run = True

    def message(self, timestamp_ms: int, n_samples: int) -> PlacedMessage | None:
        """Account for one received message.

        Parameters
        ----------
        timestamp_ms : int
            Its stamp as sent (uint32) [ms since boot].
        n_samples : int
            Samples in it (≥ 1).

        Returns
        -------
        PlacedMessage or None
            Its place; None for a duplicate or late message (ignore it).
        """
        missing, cause = 0, "air"
        if self._previous is None:
            unwrapped = timestamp_ms
        else:
            raw, last, n = self._previous
            step = stamp_step(raw, timestamp_ms)
            if step is None:
                self._boot += 1
                unwrapped = timestamp_ms
            elif step < 0 or (step == 0 and not self._new_run):
                return None
            else:
                unwrapped = last + step
                if self._new_run:
                    missing, cause = max(0, round(step * self.rate_hz / 1000.0 - n)), "link"
                else:
                    missing = n * messages_missing(step, n, self.rate_hz)
        if missing:
            self.gaps.append(Gap(self._boot, self._next_index, missing, 0, cause, self.measurement))
        first = self._next_index + missing
        self._next_index = first + n_samples
        self._previous = (timestamp_ms, unwrapped, n_samples)
        self._new_run = False
        self.frames += 1
        self.samples += n_samples
        return PlacedMessage(first, unwrapped, self._boot)
