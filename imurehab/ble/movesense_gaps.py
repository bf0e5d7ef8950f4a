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
from typing import Final

from imurehab.ble.report import Gap

__all__ = ["MeasLossTracker", "PlacedMessage", "messages_missing", "stamp_step"]

_WRAP: Final = 1 << 32  # the ms stamp is a uint32
_REBOOT_MS: Final = 1000  # a stamp this far back is a restarted clock, not a late message


def stamp_step(previous_ms: int, timestamp_ms: int) -> int | None:
    """How far a message's stamp is after the previous one's, across the uint32 rollover.

    Parameters
    ----------
    previous_ms, timestamp_ms : int
        The two stamps as sent (uint32) [ms since boot].

    Returns
    -------
    int or None
        The step [ms]: positive forward, 0 for the same stamp, negative for a late message (at most
        1 s back); None for a stamp further back (the sensor's clock restarted: a reboot).

    Examples
    --------
    >>> stamp_step(1000, 1076), stamp_step(2**32 - 10, 66), stamp_step(1000, 990), stamp_step(5000, 50)
    (76, 76, -10, None)
    """
    step = (timestamp_ms - previous_ms) % _WRAP
    if step < _WRAP // 2:
        return step
    return step - _WRAP if _WRAP - step <= _REBOOT_MS else None


def messages_missing(step_ms: int, n_samples: int, rate_hz: float) -> int:
    """Whole messages missing between two messages of one subscription, from their stamps' step.

    Parameters
    ----------
    step_ms : int
        The second stamp minus the first (:func:`stamp_step`, > 0) [ms].
    n_samples : int
        Samples per message.
    rate_hz : float
        Sample rate [Hz].

    Returns
    -------
    int
        Messages of ``n_samples`` between them (exact while ``n_samples > 2 · rate_hz / 1000``).

    Examples
    --------
    >>> messages_missing(76, 8, 104.0), messages_missing(230, 8, 104.0)
    (0, 2)
    """
    return max(0, round((step_ms * rate_hz / 1000.0 - n_samples) / n_samples))


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
