"""Exported recordings: ExportFileData messages (one sample each) to SI arrays and back.

During an export the sensor notifies one message per sample: ``MID=0x01, LEN, ReID=0x71, uint32
DataNumber`` and the fields chosen with SelectExportData (Table 25), then the checksum. A batch is
validated and read at once: framing, checksums and fields column-wise with numpy. Packets are ordered
by DataNumber and repeats dropped, so retransmitted packets merge; gaps are reported for the next
Retransmission request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from imurehab.protocols.movella_dot._messages import DATA_NUMBER, EXPORT_HEADER, describe
from imurehab.protocols.movella_dot._profile import (
    EXPORT,
    MAG_AU_TO_UT,
    MAX_DATA,
    MID,
    RECORDING,
    export_fields,
)
from imurehab.protocols.movella_dot._profile import (
    error as _error,
)
from imurehab.protocols.movella_dot._samples import DotSamples, row_dtype, rows_to_samples, samples_to_rows

DEFAULT_SELECTION: tuple[int, ...] = tuple(EXPORT["default_selection"])
"""The sensor's export selection when SelectExportData was not sent: timestamp, Euler, acc, gyr."""


def is_export_data(packet: bytes) -> bool:
    """Whether a packet claims to be ExportFileData (MID and ReID only; framing is checked later).

    Parameters
    ----------
    packet : bytes
        A message-service notification.
    """
    return len(packet) > 2 and packet[0] == MID["recording"] and packet[2] == RECORDING["ExportFileData"]


def decode_export(
    packets: Sequence[bytes],
    selection: Sequence[int] = DEFAULT_SELECTION,
    *,
    previous_timestamp_us: int | None = None,
    mag_au_to_ut: float = MAG_AU_TO_UT,
) -> tuple[DotSamples, dict[str, Any]]:
    """Decode ExportFileData notifications into arrays.

    Parameters
    ----------
    packets : sequence of bytes
        ExportFileData messages (retransmitted ones may follow, out of order).
    selection : sequence of int
        The SelectExportData codes in force (default: the sensor's default selection).
    previous_timestamp_us : int, optional
        Unwrapped time [µs] of the sample before the first data number (continues the time line).
    mag_au_to_ut : float
        µT per magnetometer a.u. [µT/a.u.].

    Returns
    -------
    samples : DotSamples
        Samples ordered by data number (``data_number`` set), in SI units.
    info : dict
        ``export_packets``, ``fields``, ``data_number_first``/``_last``, ``duplicate_data_numbers``,
        ``missing_data_numbers`` (count of gaps between first and last) and
        ``first_missing_data_number`` (where a Retransmission should start, or None).

    Raises
    ------
    ProtocolError
        For a bad frame or checksum (as :func:`describe` reports it), a packet of another message,
        a packet size that does not match ``selection`` (``"settings"``), or a non-finite value.
    """
    fields = export_fields(tuple(selection))
    width = EXPORT_HEADER + row_dtype(fields).itemsize + 1
    if width - 3 > MAX_DATA:
        raise _error(f"export selection {list(selection)} does not fit one message", "settings")
    n = len(packets)
    lengths = np.fromiter(map(len, packets), dtype=np.int64, count=n)
    if n and (lengths == width).all():
        frame = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(n, width)
        bad = (
            (frame[:, 0] != MID["recording"])
            | (frame[:, 1] != width - 3)
            | (frame[:, 2] != RECORDING["ExportFileData"])
            | (frame.sum(axis=1, dtype=np.int64) & 0xFF != 0)
        )
    else:
        frame = np.zeros((n, width), dtype=np.uint8)
        bad = lengths != width
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        info = describe(packets[i])
        if info.get("message") != "ExportFileData":
            raise _error(f"packet {i} is {info.get('message')}, not ExportFileData", "type", 2)
        raise _error(
            f"export selection {list(selection)} makes {width}-byte packets, packet {i} has "
            f"{len(packets[i])} (set export_data)",
            "settings",
            EXPORT_HEADER,
        )
    numbers = frame[:, 3:EXPORT_HEADER].copy().view("<u4")[:, 0].astype(np.int64)
    order = np.argsort(numbers, kind="stable")
    numbers, frame = numbers[order], frame[order]
    keep = np.ones(n, dtype=bool)
    keep[1:] = numbers[1:] != numbers[:-1]
    numbers, frame = numbers[keep], frame[keep]
    gaps = np.flatnonzero(np.diff(numbers) > 1)
    info = {"export_packets": n, "fields": list(fields)}
    if n:
        info |= {
            "data_number_first": int(numbers[0]),
            "data_number_last": int(numbers[-1]),
            "duplicate_data_numbers": int((~keep).sum()),
            "missing_data_numbers": int(numbers[-1] - numbers[0] + 1 - len(numbers)),
            "first_missing_data_number": int(numbers[gaps[0]] + 1) if gaps.size else None,
        }
    samples = rows_to_samples(
        frame[:, EXPORT_HEADER:-1],
        fields,
        offset=EXPORT_HEADER,
        previous_timestamp_us=previous_timestamp_us,
        mag_au_to_ut=mag_au_to_ut,
        data_number=numbers,
    )
    return samples, info


def export_file_data(
    data_number: npt.ArrayLike,
    selection: Sequence[int],
    *,
    time_us: npt.ArrayLike | None = None,
    **quantities: npt.ArrayLike,
) -> list[bytes]:
    """ExportFileData notifications of a recording (what a virtual DOT sends on export).

    Parameters
    ----------
    data_number : array_like of int, shape (N,)
        Packet counter of each sample (starts at 0).
    selection : sequence of int
        SelectExportData codes (Table 25).
    time_us : array_like of int, shape (N,), optional
        Device time [µs], when the selection has a timestamp.
    **quantities : array_like
        Selected fields in the units of :class:`~imurehab.protocols.movella_dot.DotSamples`.

    Returns
    -------
    list of bytes
        One framed message per sample.
    """
    fields = export_fields(tuple(selection))
    rows = samples_to_rows(fields, quantities, time_us=time_us)
    numbers = np.asarray(data_number, dtype=np.int64).reshape(-1)
    n, width = rows.shape
    if numbers.shape[0] != n or (n and (numbers.min() < 0 or numbers.max() >= 2**32)):
        raise _error("one uint32 data number per sample is required", "value")
    if 1 + DATA_NUMBER.size + width > MAX_DATA:
        raise _error(f"the selection needs {width} bytes per packet, more than a message holds", "value")
    frame = np.empty((n, EXPORT_HEADER + width + 1), dtype=np.uint8)
    frame[:, 0] = MID["recording"]
    frame[:, 1] = 1 + DATA_NUMBER.size + width
    frame[:, 2] = RECORDING["ExportFileData"]
    frame[:, 3:EXPORT_HEADER] = numbers.astype("<u4").view(np.uint8).reshape(n, DATA_NUMBER.size)
    frame[:, EXPORT_HEADER:-1] = rows
    frame[:, -1] = (-frame[:, :-1].sum(axis=1, dtype=np.int64)) & 0xFF
    return [r.tobytes() for r in frame]
