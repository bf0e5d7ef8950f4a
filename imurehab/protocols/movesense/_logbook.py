"""The Logbook side of GSP: the entry list (GET ``/Mem/Logbook/Entries``) and the SBEM log file.

A log entry is listed as ``uint32 id, uint32 modified, uint64 size`` after one byte the vendor's tool
skips (S4). FETCH_LOG returns the entry's file, an SBEM container: an 8-byte header starting ``SBEM``,
then chunks ``id, length, payload`` (id and length are one byte each, 0xFF escaping a wider field).
Chunk id 0 is a descriptor (``uint16 id`` + text naming the resource after ``<PTH>``); a data chunk of a
measurement resource carries the value as GSP DATA does (timestamp, then the sample blocks). Only the
IMU measurement resources are decoded; other chunks are kept as bytes. Sources: spec.md.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from imurehab.errors import ProtocolError
from imurehab.protocols.movesense._data import MeasSamples, decode_meas
from imurehab.protocols.movesense._profile import (
    ENTRIES_SKIP,
    PROFILE,
    SBEM,
    error,
    meas_resource,
    unpack_spec,
)

_ENTRY, _ENTRY_FIELDS = unpack_spec(PROFILE["logbook"]["entry_format"])
_ESCAPE: Final = int(SBEM["escape"])
_HEADER: Final = str(SBEM["header"]).encode()
_MAGIC: Final = str(SBEM["magic"]).encode()
_DESCRIPTOR: Final = int(SBEM["descriptor_id"])
_PATH_TAG: Final = str(SBEM["path_tag"]).encode()
_ID16, _LEN32 = struct.Struct("<H"), struct.Struct("<I")


@dataclass(frozen=True)
class LogEntry:
    """One Logbook entry as listed.

    Attributes
    ----------
    log_id : int
        The id FETCH_LOG takes.
    modified : int
        Last modification, as the sensor lists it [s, the sensor's UTC clock].
    size : int
        Size of its log file [bytes].
    """

    log_id: int
    modified: int
    size: int


def encode_entries(entries: Sequence[LogEntry]) -> bytes:
    """The data of a GET ``/Mem/Logbook/Entries`` result.

    Parameters
    ----------
    entries : sequence of LogEntry
        The entries, at most 255.
    """
    if len(entries) > 0xFF:
        raise error(f"{len(entries)} entries do not fit one listing", "value")
    return bytes([len(entries)]) + b"".join(_ENTRY.pack(e.log_id, e.modified, e.size) for e in entries)


def parse_entries(data: bytes) -> list[LogEntry]:
    """The entries of a GET ``/Mem/Logbook/Entries`` result's data.

    Parameters
    ----------
    data : bytes
        The result data (after the status).

    Raises
    ------
    ProtocolError
        ``"truncated"`` when the records are not whole.
    """
    body = data[ENTRIES_SKIP:]
    if len(data) < ENTRIES_SKIP or len(body) % _ENTRY.size:
        raise error(f"{len(body)} bytes are no whole entry records", "truncated", 4 + len(data))
    return [LogEntry(*_ENTRY.unpack_from(body, i)) for i in range(0, len(body), _ENTRY.size)]


def _field(value: int, wide: struct.Struct) -> bytes:
    return bytes([value]) if value < _ESCAPE else bytes([_ESCAPE]) + wide.pack(value)


def encode_sbem(descriptors: Mapping[int, str], chunks: Sequence[tuple[int, bytes]]) -> bytes:
    """An SBEM log file: the header, one descriptor per resource, then the data chunks.

    Parameters
    ----------
    descriptors : mapping of int to str
        Descriptor id (1..65535) → resource path it names.
    chunks : sequence of (int, bytes)
        Data chunks in file order: (descriptor id, payload).
    """
    out = [_HEADER]
    for ident, path in descriptors.items():
        body = _ID16.pack(ident) + _PATH_TAG + path.encode("ascii") + b"\n"
        out.append(_field(_DESCRIPTOR, _ID16) + _field(len(body), _LEN32) + body)
    for ident, payload in chunks:
        if not 1 <= ident <= 0xFFFF:
            raise error(f"chunk id {ident} is not 1..65535", "value")
        out.append(_field(ident, _ID16) + _field(len(payload), _LEN32) + payload)
    return b"".join(out)


def _read(data: bytes, at: int, wide: struct.Struct) -> tuple[int, int]:
    if at >= len(data):
        raise error("chunk header cut off", "truncated", at)
    if data[at] < _ESCAPE:
        return data[at], at + 1
    if at + 1 + wide.size > len(data):
        raise error("escaped chunk field cut off", "truncated", at)
    return wide.unpack_from(data, at + 1)[0], at + 1 + wide.size


def parse_sbem(data: bytes) -> tuple[dict[int, str], list[tuple[int, bytes]]]:
    """The descriptors and data chunks of an SBEM log file.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    descriptors : dict of int to str
        Descriptor id → resource path (``<PTH>`` text; empty when it has none).
    chunks : list of (int, bytes)
        Data chunks in file order.

    Raises
    ------
    ProtocolError
        ``"type"`` without the SBEM magic, ``"truncated"`` when the last chunk does not end exactly
        at the end of the file (a file cut short).
    """
    if len(data) < len(_HEADER) or not data.startswith(_MAGIC):
        raise error("an SBEM file starts with an 8-byte header 'SBEM…'", "type", 0)
    at, descriptors, chunks = len(_HEADER), {}, []
    while at < len(data):
        start = at
        ident, at = _read(data, at, _ID16)
        length, at = _read(data, at, _LEN32)
        if at + length > len(data):
            raise error(f"chunk at byte {start} runs past the end of the file", "truncated", start)
        payload = data[at : at + length]
        at += length
        if ident != _DESCRIPTOR:
            chunks.append((ident, payload))
            continue
        if len(payload) < _ID16.size:
            raise error(f"descriptor at byte {start} has no id", "truncated", start)
        text = payload[_ID16.size :]
        tag = text.find(_PATH_TAG)
        path = text[tag + len(_PATH_TAG) :].split(b"\n")[0].rstrip(b"\0") if tag >= 0 else b""
        descriptors[_ID16.unpack_from(payload)[0]] = path.decode("ascii", errors="replace")
    return descriptors, chunks


def decode_log(data: bytes) -> dict[str, MeasSamples]:
    """The IMU measurements of an SBEM log file, per resource path.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    dict of str to MeasSamples
        Path (``"/Meas/IMU6/104"``) → its samples in file order (acc [m/s²], gyr [rad/s], mag [µT],
        time [ns since boot]).

    Raises
    ------
    ProtocolError
        As :func:`parse_sbem` and :func:`~imurehab.protocols.movesense.decode_meas`.
    """
    descriptors, chunks = parse_sbem(data)
    out: dict[str, MeasSamples] = {}
    for ident, path in descriptors.items():
        try:
            meas_resource(path)
        except ProtocolError:  # a descriptor of another resource: not ours to decode
            continue
        payloads = [p for i, p in chunks if i == ident]
        if payloads:
            out[path] = decode_meas(payloads, path)
    return out


def meas_timestamps_contiguous(samples: MeasSamples) -> list[tuple[int, int]]:
    """Where consecutive messages of a measurement are not one message apart at its rate.

    Parameters
    ----------
    samples : MeasSamples
        One resource's messages.

    Returns
    -------
    list of (int, int)
        (message index, samples missing before it) for every jump of more than 1.5 sample periods
        beyond the previous message's last sample; empty when the record is contiguous.
    """
    if samples.rate_hz is None or len(samples.timestamp_ms) < 2:
        return []
    step = np.diff(samples.timestamp_ms) * samples.rate_hz / 1000.0 - samples.samples_per_message
    bad = np.flatnonzero(step > 0.5)
    return [(int(i) + 1, round(float(step[i]))) for i in bad]
