"""A Movesense IMU subscription's notifications → whole, placed messages, with DATA_PART2 joins checked.

A message longer than one notification comes as DATA then DATA_PART2 with the same reference, and
DATA_PART2 carries **no sequence number**. So if a DATA loses its DATA_PART2 and the next message loses
its DATA, the first DATA and the second DATA_PART2 join into a message of the right length whose tail
samples are the next message's: no byte tells it. What does tell it is the message after: a joined
message ``H`` is right when the next whole message follows it with no message missing (its stamp is one
message period on, :func:`~imurehab.ble.movesense_gaps.messages_missing` = 0), because a wrong tail comes
from a message whose DATA was lost, which then shows as a gap. So a joined message is **held** until the
next message arrives and kept only when no message is missing in between; otherwise (a gap, a clock
restart, a new subscription) it is dropped and its samples are part of the gap the loss tracker counts
(``n`` samples more than the messages lost on the air). A held message is never emitted before that
check. A DATA that needs no DATA_PART2 (its samples are whole) is placed at once.

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
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.ble.movesense_gaps import MeasLossTracker, messages_missing, stamp_step
from imurehab.protocols.movesense import BLOCKS, MeasSamples, decode_meas, meas_resource

__all__ = ["MeasMessage", "MeasStream"]

_DATA, _PART2 = 2, 3
_HEADER: Final = 2  # response code, reference
_STAMP: Final = 4  # uint32 ms timestamp
_STRIDE: Final = 12  # float32 x, y, z of one block [bytes]


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
        self._stride = _STRIDE * len(BLOCKS[resource])
        self._reference: int | None = None
        self._pending: bytes | None = None
        self._held: tuple[int, MeasSamples] | None = None
        self._runs = -1
        self.last_placed_ms: int | None = None

    @property
    def reference(self) -> int | None:
        """The current subscription's reference (None before the first run)."""
        return self._reference

    @property
    def held_ms(self) -> int | None:
        """Stamp of the joined message waiting for the next one (None when none waits) [ms, as sent]."""
        return None if self._held is None else int(self._held[1].timestamp_ms[0])

    def start_run(self, reference: int) -> None:
        """A new subscription: its reference; what the previous one left waiting is dropped.

        Parameters
        ----------
        reference : int
            The SUBSCRIBE's reference (1..255).
        """
        self._reference, self._pending, self._held = reference, None, None
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
        if len(value) < _HEADER or value[1] != self._reference:
            return []
        if value[0] == _DATA:
            whole = (len(value) - _HEADER - _STAMP) % self._stride == 0
            self._pending = None if whole else value
            if not whole:
                return []
            payload, joined = value[_HEADER:], False
        elif value[0] == _PART2 and self._pending is not None:
            payload, joined = self._pending[_HEADER:] + value[_HEADER:], True
            self._pending = None
        else:
            return []
        return self._complete(host_ns, decode_meas([payload], self.path), joined)

    def _complete(self, host_ns: int, s: MeasSamples, joined: bool) -> list[MeasMessage]:
        out: list[MeasMessage] = []
        if self._held is not None:
            held_ns, h = self._held
            step = stamp_step(int(h.timestamp_ms[0]), int(s.timestamp_ms[0]))
            if step is not None and step <= 0:
                return out  # a repeat or a late message: the held one still waits for its successor
            self._held = None
            if step is not None and messages_missing(step, len(h.time_ns), self.rate_hz) == 0:
                out += self._place(held_ns, h)
        if joined:
            self._held = (host_ns, s)
        else:
            out += self._place(host_ns, s)
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
