"""The stream journal of a Polar PMD sensor: records of settings and data frames with their arrival times.

PMD frames do not delimit themselves and their sample times need the run's settings and the frames
before them, so the journal keeps each notification in a record: ``kind (1 B) | host time (i64 LE, ns
since the Unix epoch) | length (u16 LE) | payload``. Kinds: ``S`` a measurement started (payload: JSON
of its settings and factor), ``F`` a data frame as received. The arrival times are also what the
sensor's clock is fitted to (:func:`imurehab.ble.clock.fit_arrival_clock`).

Examples
--------
>>> data = record(RECORD_SETTINGS, 5, b'{"measurement": "acc"}') + record(RECORD_FRAME, 7, bytes(12))
>>> [(kind, host_ns, len(payload)) for kind, host_ns, payload in records(data)]
[('S', 5, 22), ('F', 7, 12)]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Final

__all__ = ["RECORD_FRAME", "RECORD_SETTINGS", "record", "records"]

RECORD_SETTINGS: Final = "S"
"""A measurement (re)started: JSON settings."""
RECORD_FRAME: Final = "F"
"""A data frame as received."""
_HEAD: Final = struct.Struct("<cqH")


def record(kind: str, host_ns: int, payload: bytes) -> bytes:
    """One journal record.

    Parameters
    ----------
    kind : str
        :data:`RECORD_SETTINGS` or :data:`RECORD_FRAME`.
    host_ns : int
        Arrival time [ns since the Unix epoch].
    payload : bytes
        At most 65535 bytes.
    """
    return _HEAD.pack(kind.encode(), host_ns, len(payload)) + payload


def records(data: bytes) -> Iterator[tuple[str, int, bytes]]:
    """The whole records of a journal, in order (a record cut off at the end by a crash is skipped).

    Parameters
    ----------
    data : bytes
        The journal's bytes.

    Yields
    ------
    (kind, host_ns, payload)
    """
    pos = 0
    while pos + _HEAD.size <= len(data):
        kind, host_ns, length = _HEAD.unpack_from(data, pos)
        end = pos + _HEAD.size + length
        if end > len(data):
            return
        yield kind.decode(errors="replace"), host_ns, data[pos + _HEAD.size : end]
        pos = end
