"""The DataLogger and Logbook of a virtual Movesense: configured paths, entries, their SBEM files.

What is logged is a function of the sensor's sample grid and its motion source, so an entry stores only
its paths and its start and stop times on the sensor clock; its file (:func:`~imurehab.protocols.
movesense.encode_sbem`, one descriptor per path, then one data chunk per message in time order) is made
when it is fetched, with the same message layout as a live subscription. Choices of ours where the
sources say nothing: an entry holds whole messages only; the entry being logged is listed with the size
of its file so far, and cannot be fetched until logging stops (status 423); a listing shows the entries
that fit one notification (oldest first).

Examples
--------
>>> logger = DataLogger()
>>> logger.configure(["/Meas/IMU6/104"])
>>> logger.start(0), logger.stop(1_000_000_000)
(1, 1)
>>> [(e.log_id, e.paths, e.stop_ns) for e in logger.entries]
[(1, ('/Meas/IMU6/104',), 1000000000)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.errors import SimulationError
from imurehab.protocols.movesense import encode_meas, encode_sbem, meas_resource

__all__ = ["DataLogger", "LoggedEntry", "MessageSource", "message_notifications"]

_HEADER = 2  # response code and reference before a DATA / DATA_PART2 payload
MessageSource = Callable[[str, npt.NDArray[np.int64], float], dict[str, npt.NDArray[np.float64]]]
"""``(resource, sample numbers, rate [Hz])`` → the resource's blocks (``acc``, ``gyr``, ``mag``) in SI."""


@dataclass
class LoggedEntry:
    """One Logbook entry: what was logged and when, on the sensor clock [ns since boot].

    Attributes
    ----------
    log_id : int
        Its id (1, 2, ... in the order started).
    paths : tuple of str
        The DataLogger config when it started.
    start_ns, stop_ns : int
        Logging started and stopped (None while logging) [ns since boot].
    modified_s : int
        The sensor's UTC clock when it last changed [s since 1970].
    """

    log_id: int
    paths: tuple[str, ...]
    start_ns: int
    stop_ns: int | None = None
    modified_s: int = 0


def message_notifications(
    path: str, reference: int, first_k: int, n: int, source: MessageSource, max_notification: int
) -> tuple[int, list[bytes]]:
    """The DATA (+ DATA_PART2) notifications of one message of ``n`` samples from sample ``first_k``.

    Parameters
    ----------
    path : str
        Subscribed path (``/Meas/IMU9/104``).
    reference : int
        The subscription's reference.
    first_k : int
        Number of the message's first sample on the sensor's grid (sample k at k / rate since boot).
    n : int
        Samples per message.
    source : MessageSource
        The sample values.
    max_notification : int
        Longest notification [bytes].

    Returns
    -------
    (int, list of bytes)
        The message's timestamp [ms since boot: its first sample's, rounded down] and notifications.
    """
    resource, rate = meas_resource(path)
    if rate is None or not float(rate).is_integer():
        raise SimulationError(f"path {path!r} has no whole rate in Hz")
    ks = np.arange(first_k, first_k + n, dtype=np.int64)
    stamp = first_k * 1000 // int(rate)
    packets = encode_meas(
        path, reference, [stamp], max_notification=max_notification, **source(resource, ks, rate)
    )
    return stamp, packets


class DataLogger:
    """The sensor's DataLogger state, config and Logbook entries.

    Attributes
    ----------
    config : tuple of str
        Paths logged when logging starts.
    entries : list of LoggedEntry
        Oldest first; the last one is open while :attr:`logging`.
    """

    def __init__(self) -> None:
        self.config: tuple[str, ...] = ()
        self.entries: list[LoggedEntry] = []
        self.logging = False

    def configure(self, paths: Sequence[str]) -> None:
        """Set the paths to log (IMU measurement paths with a rate).

        Parameters
        ----------
        paths : sequence of str
            ``/Meas/<resource>/<rate>`` paths.

        Raises
        ------
        ProtocolError
            For a path that is no IMU measurement.
        SimulationError
            For a path without a rate, or while logging.
        """
        if self.logging:
            raise SimulationError("the DataLogger is logging")
        if any(meas_resource(p)[1] is None for p in paths):
            raise SimulationError("a DataLogger path needs a rate")
        self.config = tuple(paths)

    def start(self, now_ns: int, utc_s: int = 0) -> int:
        """Start logging into a new entry (no-op while logging); its id.

        Parameters
        ----------
        now_ns : int
            Sensor clock [ns since boot].
        utc_s : int
            Sensor UTC clock [s since 1970].
        """
        if not self.config:
            raise SimulationError("the DataLogger has no config")
        if not self.logging:
            ident = self.entries[-1].log_id + 1 if self.entries else 1
            self.entries.append(LoggedEntry(ident, self.config, now_ns, modified_s=utc_s))
            self.logging = True
        return self.entries[-1].log_id

    def stop(self, now_ns: int, utc_s: int = 0) -> int | None:
        """Stop logging; the entry closed (None when not logging).

        Parameters
        ----------
        now_ns : int
            Sensor clock [ns since boot].
        utc_s : int
            Sensor UTC clock [s since 1970].
        """
        if not self.logging:
            return None
        entry = self.entries[-1]
        entry.stop_ns, entry.modified_s = now_ns, utc_s
        self.logging = False
        return entry.log_id

    def entry(self, log_id: int) -> LoggedEntry | None:
        """The entry with this id, or None.

        Parameters
        ----------
        log_id : int
            Its id.
        """
        return next((e for e in self.entries if e.log_id == log_id), None)

    def clear(self) -> None:
        """Erase every entry (refused while logging)."""
        if self.logging:
            raise SimulationError("the DataLogger is logging")
        self.entries.clear()

    def file(
        self, entry: LoggedEntry, now_ns: int, source: MessageSource, n: int, max_notification: int
    ) -> bytes:
        """The SBEM file of an entry: the whole messages logged from its start to its stop (or now).

        Parameters
        ----------
        entry : LoggedEntry
            The entry.
        now_ns : int
            Sensor clock [ns since boot] (the end of an open entry).
        source : MessageSource
            The sample values.
        n : int
            Samples per message.
        max_notification : int
            Longest notification [bytes] (messages are laid out as a subscription would send them).
        """
        stop = entry.stop_ns if entry.stop_ns is not None else now_ns
        timed: list[tuple[int, int, bytes]] = []
        for ident, path in enumerate(entry.paths, start=1):
            rate = meas_resource(path)[1]
            assert rate is not None
            first = -(-entry.start_ns * int(rate) // 10**9)
            last = stop * int(rate) // 10**9  # samples taken before the stop
            for k in range(first, last - n + 2, n):
                stamp, packets = message_notifications(path, 1, k, n, source, max_notification)
                timed.append((stamp, ident, b"".join(p[_HEADER:] for p in packets)))
        timed.sort(key=lambda t: (t[0], t[1]))
        return encode_sbem(dict(enumerate(entry.paths, start=1)), [(i, p) for _, i, p in timed])
