"""DATA + DATA_PART2 → whole measurement messages, each join checked by the message after it.

A message longer than one notification comes as DATA then DATA_PART2 with the same reference, and
DATA_PART2 carries **no sequence number**. So if a DATA loses its DATA_PART2 and the next message loses
its DATA, the first DATA and the second DATA_PART2 join into a message of the right length whose tail is
the next message's: no byte tells it. What tells it is the message after: a joined message is right when
the next message follows it with no message missing (its stamp one message period on), because a wrong
tail comes from a message whose DATA was lost, which then shows as a gap. So :class:`MessageJoiner`
**holds** a joined message until the next message arrives and lets it through only when no message is
missing in between; otherwise (a gap, a clock restart, a new subscription) it is dropped. The joined
message still held when the notifications end cannot be checked (:meth:`MessageJoiner.flush`). A DATA
whose samples are whole needs no DATA_PART2 and goes through at once (after the held one is decided); a
DATA still waiting for its DATA_PART2 when another DATA comes, and a DATA_PART2 with no DATA waiting, are
dropped.

The live stream, the dataset's journal replay and the offline decoder
(:func:`~imurehab.protocols.movesense.reassemble`) run this one rule, so all three give the same messages
from the same bytes (but for the unchecked last one, which only the offline decoder returns).

Examples
--------
>>> import numpy as np
>>> from imurehab.protocols.movesense import encode_meas
>>> rows = np.zeros((24, 3))
>>> sent = encode_meas("/Meas/IMU6/104", 7, [1000, 1076, 1153], acc=rows, gyr=rows)
>>> joiner = MessageJoiner("/Meas/IMU6/104")
>>> joiner.start_run(7)
>>> [(tag, len(m)) for i, p in enumerate(sent) for tag, m in joiner.feed(i, p)], joiner.held_ms
([(1, 196), (3, 196)], 1153)
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

import numpy as np

from imurehab.protocols.movesense._profile import (
    AXES,
    BLOCKS,
    HEADER,
    RESPONSES,
    SAMPLE_DTYPE,
    TIMESTAMP,
    error,
    meas_resource,
)

__all__ = ["MessageJoiner", "messages_missing", "stamp_step"]

_T = TypeVar("_T")
_DATA, _PART2 = RESPONSES["DATA"], RESPONSES["DATA_PART2"]
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


class MessageJoiner(Generic[_T]):
    """The notifications of one measurement path, subscription by subscription → checked message payloads.

    Parameters
    ----------
    path : str
        The subscribed path (``/Meas/IMU6/104``): the sample size, and the rate unless ``rate_hz``.
    rate_hz : float, optional
        Sample rate [Hz] when the path has none (needed once a joined message is to be checked).

    Raises
    ------
    ProtocolError
        ``"settings"`` for a path that is no IMU measurement resource.
    """

    def __init__(self, path: str, rate_hz: float | None = None) -> None:
        resource, path_rate = meas_resource(path)
        self.rate_hz = rate_hz if rate_hz is not None else path_rate
        self._sample_bytes = len(BLOCKS[resource]) * AXES * np.dtype(SAMPLE_DTYPE).itemsize
        self._reference: int | None = None
        self._pending: bytes | None = None
        self._held: tuple[_T, bytes] | None = None

    @property
    def reference(self) -> int | None:
        """The current subscription's reference (None before the first)."""
        return self._reference

    @property
    def held_ms(self) -> int | None:
        """Stamp of the joined message waiting for the next one (None when none waits) [ms, as sent]."""
        return None if self._held is None else TIMESTAMP.unpack_from(self._held[1])[0]

    def whole(self, length: int) -> bool:
        """Whether a DATA notification of ``length`` bytes holds whole samples (needs no DATA_PART2).

        Parameters
        ----------
        length : int
            The notification's length [bytes], header included.
        """
        return (length - HEADER - TIMESTAMP.size) % self._sample_bytes == 0

    def start_run(self, reference: int) -> None:
        """A new subscription with this reference: what the previous one left waiting is dropped.

        Parameters
        ----------
        reference : int
            The SUBSCRIBE's reference (1..255).
        """
        self._reference, self._pending, self._held = reference, None, None

    def flush(self) -> tuple[_T, bytes] | None:
        """The end of the notifications: the joined message still held, unchecked, and no longer held.

        It is wrong only if its own DATA_PART2 and the next message's DATA were both lost, which nothing
        that came can show; the live stream drops it, an offline decode returns it flagged.
        """
        held, self._held = self._held, None
        return held

    def feed(self, tag: _T, value: bytes) -> list[tuple[_T, bytes]]:
        """Take one notification; the messages it lets through, in order (often none, at most two).

        Parameters
        ----------
        tag : object
            Kept with the message this notification completes (an arrival time, a packet number).
        value : bytes
            The notification (DATA or DATA_PART2 of the current reference; others are ignored).

        Returns
        -------
        list of (tag, bytes)
            Each message let through: the tag of its last notification and its payload (timestamp and
            sample blocks, no header).

        Raises
        ------
        ProtocolError
            ``"settings"`` when a joined message is to be checked and no rate is known.
        """
        if len(value) < HEADER or value[1] != self._reference:
            return []
        if value[0] == _DATA:
            whole = self.whole(len(value))
            self._pending = None if whole else value
            return self._complete(tag, value[HEADER:], joined=False) if whole else []
        if value[0] == _PART2 and self._pending is not None:
            payload, self._pending = self._pending[HEADER:] + value[HEADER:], None
            return self._complete(tag, payload, joined=True)
        return []

    def _complete(self, tag: _T, payload: bytes, joined: bool) -> list[tuple[_T, bytes]]:
        out: list[tuple[_T, bytes]] = []
        if self._held is not None:
            held = self._held
            step = stamp_step(TIMESTAMP.unpack_from(held[1])[0], TIMESTAMP.unpack_from(payload)[0])
            if step is not None and step <= 0:
                return out  # a repeat or a late message: the held one still waits for its successor
            self._held = None
            if step is not None and messages_missing(step, self._samples(held[1]), self._rate()) == 0:
                out.append(held)
        if joined:
            self._held = (tag, payload)
        else:
            out.append((tag, payload))
        return out

    def _samples(self, payload: bytes) -> int:
        return max(1, (len(payload) - TIMESTAMP.size) // self._sample_bytes)

    def _rate(self) -> float:
        if self.rate_hz is None or not self.rate_hz > 0:
            raise error("checking a DATA + DATA_PART2 join needs the sample rate (--set rate=Hz)", "settings")
        return float(self.rate_hz)
