"""A DOT's live samples in order: µs timestamps unwrapped across the rollover, loss, clock epochs.

Each payload notification carries one sample stamped with the sensor's uint32 µs SampleTimeFine; the
modes with acc and gyr carry no counter. Timestamps are unwrapped across the 2³² µs rollover (≈ 71.6
min) from the previous sample's, and fed to the same loss tracker as Polar
(:class:`~imurehab.ble.polar_gaps.PmdLossTracker`, one sample per frame: a jump above 1.5 periods is
``round(gap / period) − 1`` lost samples). A clock that goes back by less than half its range is a
sensor that restarted: a new clock epoch. Shared by the live driver (:mod:`imurehab.ble.dot`) and the
replay of its journals (:mod:`imurehab.ble.dot_dataset`), so the rows written are placed exactly as the
stream reported them.
"""

from __future__ import annotations

from imurehab.ble.polar_gaps import PmdLossTracker
from imurehab.errors import ProtocolError
from imurehab.protocols.movella_dot import DotSamples, decode_measurements

__all__ = ["DotTimeline"]


class DotTimeline:
    """A DOT's live samples in order (see the module notes).

    Parameters
    ----------
    rate_hz : float
        Nominal output rate [Hz].

    Attributes
    ----------
    tracker : PmdLossTracker
        Indices and gaps (one sample per notification).
    rollovers : int
        2³² µs rollovers unwrapped so far.

    Examples
    --------
    >>> import numpy as np
    >>> from imurehab.protocols.movella_dot import encode_measurement
    >>> t = DotTimeline(60.0)
    >>> t.tracker.start_run()
    >>> stamps = [2**32 - 16_667, 0, 33_333]  # across the rollover; the sample at 16 666 µs was lost
    >>> packets = encode_measurement(21, stamps, acc=np.zeros((3, 3)), gyr=np.zeros((3, 3)))
    >>> [(p[1], p[2]) for p in (t.place(v, 21) for v in packets) if p is not None]
    [(0, 0), (1, 0), (3, 0)]
    >>> [(g.first_index, g.count) for g in t.tracker.gaps], t.rollovers
    ([(2, 1)], 1)
    """

    def __init__(self, rate_hz: float) -> None:
        self.tracker = PmdLossTracker("", rate_hz)
        self.rollovers = 0
        self._last_us: int | None = None

    def place(self, value: bytes, mode: int) -> tuple[DotSamples, int, int] | None:
        """Decode one payload notification and place it: (sample, its index, its clock epoch).

        Parameters
        ----------
        value : bytes
            The notification.
        mode : int
            The payload mode it was streamed in.

        Returns
        -------
        (DotSamples, int, int) or None
            The sample (time unwrapped [µs]), its host-counted index (lost samples skipped) and its
            clock epoch; None for a repeat or stale sample.

        Raises
        ------
        ProtocolError
            For a notification that is not one sample of the mode.
        """
        try:
            samples = decode_measurements([value], mode, previous_timestamp_us=self._last_us)
        except ProtocolError as err:
            if err.reason != "sequence":
                raise
            samples = decode_measurements([value], mode)  # the clock restarted
        assert samples.time_us is not None
        device_us = int(samples.time_us[0])
        placed = self.tracker.frame(device_us * 1000, 1)
        if placed is None:
            return None
        self.rollovers += samples.rollovers
        self._last_us = device_us
        return samples, placed.first_index, placed.boot_id
