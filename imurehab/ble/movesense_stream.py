"""A Movesense IMU subscription's notifications → whole, placed messages, with DATA_PART2 joins checked.

A message longer than one notification comes as DATA then DATA_PART2 with the same reference, and
DATA_PART2 carries **no sequence number**, so a DATA that lost its DATA_PART2 can join the DATA_PART2 of a
message whose DATA was lost. The codec's :class:`~imurehab.protocols.movesense.MessageJoiner` holds each
joined message until the next message arrives and keeps it only when no message is missing in between
(the offline decoder runs the same rule); a dropped one's samples are part of the gap the loss tracker
counts (``n`` samples more than the messages lost on the air). A held message is never emitted before
that check. A DATA that needs no DATA_PART2 (its samples are whole) is placed at once.

The live driver (:mod:`imurehab.ble.movesense`), the sync's clock probe and the dataset's journal replay
(:mod:`imurehab.ble.movesense_dataset`) all run this one state machine, so the replay of a journal gives
the messages, indices and gaps the live stream gave.

Examples
--------
>>> import numpy as np
>>> from imurehab.protocols.movesense import encode_meas
>>> rows = np.tile([0.0, 0.0, 9.81], (48, 1))
>>> sent = encode_meas("/Meas/IMU6/104", 7, [1000, 1076, 1153, 1230, 1307, 1384], acc=rows, gyr=rows * 0)
>>> s = MeasStream("/Meas/IMU6/104")
>>> s.start_run(7)
>>> lost = {3, 4}  # message 1's DATA_PART2 and message 2's DATA: they would join
>>> out = [m for i, p in enumerate(sent) if i not in lost for m in s.feed(i, p)]
>>> [m.first_index for m in out], [(g.first_index, g.count) for g in s.tracker.gaps]
([0, 24, 32], [(8, 16)])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.ble.movesense_gaps import MeasLossTracker
from imurehab.protocols.movesense import MeasSamples, MessageJoiner, decode_meas, meas_resource

__all__ = ["MeasMessage", "MeasStream"]


@dataclass(frozen=True, eq=False)
class MeasMessage:
    """One message accepted and placed.

    Attributes
    ----------
    host_ns : int
        Arrival of the notification that completed it [ns since the Unix epoch].
    run : int
        Subscriptions started before it (its stream run).
    first_index : int
        Host-counted index of its first sample (lost samples skipped).
    boot_id : int
        Clock restarts seen before it.
    timestamp_ms : int
        Its stamp, unwrapped [ms since boot].
    device_us : ndarray of int64, shape (n,)
        Each sample's time [µs since boot].
    acc, gyr, mag : ndarray, shape (n, 3), or None
        m/s², rad/s, µT.
    """

    host_ns: int
    run: int
    first_index: int
    boot_id: int
    timestamp_ms: int
    device_us: npt.NDArray[np.int64]
    acc: npt.NDArray[np.float64] | None
    gyr: npt.NDArray[np.float64] | None
    mag: npt.NDArray[np.float64] | None


class MeasStream:
    """Notifications of one measurement path over subscriptions (runs): reassembled, checked, placed.

    Parameters
    ----------
    path : str
        The subscribed path, ``/Meas/<resource>/<rate>``.

    Attributes
    ----------
    tracker : MeasLossTracker
        Messages, samples and gaps.
    """

    def __init__(self, path: str) -> None:
        resource, rate = meas_resource(path)
        if rate is None:
            raise ValueError(f"{path} names no rate")
        self.path, self.rate_hz = path, float(rate)
        self.tracker = MeasLossTracker(self.rate_hz, resource)
        self._joiner: MessageJoiner[int] = MessageJoiner(path)
        self._runs = -1
        self.last_placed_ms: int | None = None

    @property
    def reference(self) -> int | None:
        """The current subscription's reference (None before the first run)."""
        return self._joiner.reference

    @property
    def held_ms(self) -> int | None:
        """Stamp of the joined message waiting for the next one (None when none waits) [ms, as sent]."""
        return self._joiner.held_ms

    def start_run(self, reference: int) -> None:
        """A new subscription: its reference; what the previous one left waiting is dropped.

        Parameters
        ----------
        reference : int
            The SUBSCRIBE's reference (1..255).
        """
        self._joiner.start_run(reference)
        self._runs += 1
        self.tracker.start_run()

    def feed(self, host_ns: int, value: bytes) -> list[MeasMessage]:
        """Take one notification; the messages it lets through, in order (often none, at most two).

        Parameters
        ----------
        host_ns : int
            When it arrived [ns since the Unix epoch].
        value : bytes
            The notification (DATA or DATA_PART2; others and other references are ignored).

        Raises
        ------
        ProtocolError
            For a message that is no whole samples or holds non-finite values (it is not accepted).
        """
        out: list[MeasMessage] = []
        for arrived_ns, payload in self._joiner.feed(host_ns, value):
            out += self._place(arrived_ns, decode_meas([payload], self.path))
        return out

    def _place(self, host_ns: int, s: MeasSamples) -> list[MeasMessage]:
        stamp = int(s.timestamp_ms[0])
        placed = self.tracker.message(stamp, len(s.time_ns))
        if placed is None:
            return []
        self.last_placed_ms = stamp
        device_us = (placed.timestamp_ms * 1_000_000 + (s.time_ns - s.time_ns[0])) // 1000
        return [
            MeasMessage(
                host_ns,
                self._runs,
                placed.first_index,
                placed.boot_id,
                placed.timestamp_ms,
                device_us,
                s.acc,
                s.gyr,
                s.mag,
            )
        ]
