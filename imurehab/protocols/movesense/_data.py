"""GSP data notifications: DATA + DATA_PART2 reassembly, IMU float32 blocks, FETCH_LOG chunks.

A measurement message is ``uint32 timestamp`` [ms since boot, first sample] followed by one block per
sensor (acc, then gyr, then mag, as the resource has them) of N samples of float32 x, y, z. When a
message does not fit one notification the sensor sends its head as DATA and the rest as DATA_PART2
with the same reference. Batches of equal-length messages are read with one numpy view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from imurehab.protocols.counters import unwrap_counter
from imurehab.protocols.movesense._joins import MessageJoiner
from imurehab.protocols.movesense._profile import (
    AXES,
    BLOCKS,
    CLOCK_BITS,
    FAMILY_NAME,
    HEADER,
    LOG_OFFSET,
    MAX_NOTIFICATION,
    RESPONSES,
    SAMPLE_DTYPE,
    TIMESTAMP,
    error,
    meas_resource,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_DATA, _PART2 = RESPONSES["DATA"], RESPONSES["DATA_PART2"]
_F32_LIMIT = float(np.finfo(np.float32).max) + 2.0**103  # rounds to float32 max, not inf
MAX_LOG_BYTES = 1 << 28
"""Largest log file :func:`assemble_log` accepts [bytes] (guards against corrupt offsets)."""


@dataclass(frozen=True, eq=False)
class MeasSamples:
    """IMU samples decoded from GSP measurement messages, in SI units.

    Attributes
    ----------
    resource : str
        ``"Acc"``, ``"Gyro"``, ``"Magn"``, ``"IMU6"``, ``"IMU6m"`` or ``"IMU9"``.
    rate_hz : float or None
        Sample rate used to spread each message's samples [Hz].
    timestamp_ms : ndarray of int64, shape (M,)
        Each message's timestamp, unwrapped across the 2³² ms rollover [ms since boot].
    time_ns : ndarray of int64, shape (N,)
        Each sample's time: message timestamp + i / rate [ns since boot].
    acc, gyr, mag : ndarray, shape (N, 3), or None
        Specific force [m/s²], angular rate [rad/s], magnetic flux density [µT].
    samples_per_message : int
        Samples in each message (0 when there are none).
    rollovers : int
        Timestamp rollovers unwrapped.
    """

    resource: str
    rate_hz: float | None
    timestamp_ms: IntArray
    time_ns: IntArray
    acc: FloatArray | None
    gyr: FloatArray | None
    mag: FloatArray | None
    samples_per_message: int
    rollovers: int


def _stack(packets: Sequence[bytes]) -> npt.NDArray[np.uint8] | None:
    lengths = np.fromiter(map(len, packets), dtype=np.int64, count=len(packets))
    if not packets or (lengths != lengths[0]).any():
        return None
    return np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(len(packets), len(packets[0]))


@dataclass(frozen=True, eq=False)
class Reassembled:
    """Measurement messages joined from DATA / DATA_PART2 notifications.

    Attributes
    ----------
    payloads : ndarray of uint8, shape (M, L), or list of bytes
        Message payloads (timestamp and sample blocks, header removed); a matrix when all have the same
        length.
    references : list of int
        Distinct references seen.
    parts2 : int
        DATA_PART2 notifications in the messages returned.
    dropped : int
        Notifications in no message returned: a DATA whose DATA_PART2 never came, a DATA_PART2 with no
        DATA waiting, a joined message the next message did not confirm (both its notifications).
    tail_unchecked : bool
        The last message returned is joined and nothing came after it to check it (it is wrong only if
        its own DATA_PART2 and the next message's DATA were both lost).
    """

    payloads: npt.NDArray[np.uint8] | list[bytes]
    references: list[int]
    parts2: int
    dropped: int
    tail_unchecked: bool


def reassemble(packets: Sequence[bytes], path: str, *, rate_hz: float | None = None) -> Reassembled:
    """Join DATA and DATA_PART2 notifications into message payloads, each join checked by the next message.

    The rule (:class:`~imurehab.protocols.movesense.MessageJoiner`, as the live stream runs it): a joined
    message is kept only when the next message follows it with no message missing, so a capture with losses
    never yields a DATA joined to another message's DATA_PART2 before its last message; a joined message at
    the very end cannot be checked: it is returned, flagged ``tail_unchecked``. A change of reference starts
    a new subscription.

    Parameters
    ----------
    packets : sequence of bytes
        DATA / DATA_PART2 notifications, in arrival order.
    path : str
        The subscribed path (``/Meas/IMU9/104``): the sample size, and the rate unless ``rate_hz``.
    rate_hz : float, optional
        Sample rate [Hz] when the path has none.

    Returns
    -------
    Reassembled
        The messages kept, and what was dropped.

    Raises
    ------
    ProtocolError
        ``"truncated"`` for a notification without reference, ``"type"`` for another response code,
        ``"settings"`` for a path that is no IMU resource, or joins to check without a rate.
    """
    for i, p in enumerate(packets):
        if len(p) < HEADER:
            raise error(f"notification {i} has no reference byte", "truncated", len(p))
        if p[0] not in (_DATA, _PART2):
            raise error(f"notification {i}: response code {p[0]} is no DATA", "type", 0)
    joiner: MessageJoiner[int] = MessageJoiner(path, rate_hz)
    whole = _stack(packets)
    if whole is not None and (whole[:, 0] == _DATA).all() and joiner.whole(len(packets[0])):
        return Reassembled(whole[:, HEADER:], sorted(set(whole[:, 1].tolist())), 0, 0, False)
    messages: list[bytes] = []
    refs: set[int] = set()
    parts2 = 0
    for i, p in enumerate(packets):
        if p[1] != joiner.reference:
            joiner.start_run(p[1])
            refs.add(p[1])
        for last, payload in joiner.feed(i, p):
            messages.append(payload)
            parts2 += packets[last][0] == _PART2
    tail = joiner.flush()
    if tail is not None:
        messages.append(tail[1])
        parts2 += 1
    stacked = _stack(messages)
    return Reassembled(
        messages if stacked is None else stacked,
        sorted(refs),
        parts2,
        len(packets) - len(messages) - parts2,
        tail is not None,
    )


def _decode_rows(rows: npt.NDArray[np.uint8], nblocks: int) -> tuple[npt.NDArray[Any], npt.NDArray[Any], int]:
    m, width = rows.shape
    stride = nblocks * AXES * np.dtype(SAMPLE_DTYPE).itemsize
    if width < TIMESTAMP.size + stride:
        raise error(f"message of {width} bytes holds no sample", "truncated", HEADER + width)
    if (width - TIMESTAMP.size) % stride:
        raise error(
            f"{width - TIMESTAMP.size} sample bytes are no whole samples", "truncated", HEADER + width
        )
    n = (width - TIMESTAMP.size) // stride
    ts = np.ascontiguousarray(rows[:, : TIMESTAMP.size]).view(TIMESTAMP.format)[:, 0]
    values = np.ascontiguousarray(rows[:, TIMESTAMP.size :]).view(SAMPLE_DTYPE).reshape(m, nblocks, n, AXES)
    if not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0]
        at = HEADER + TIMESTAMP.size + 4 * int(np.ravel_multi_index(tuple(bad[1:]), values.shape[1:]))
        raise error(f"message {int(bad[0])}: non-finite sample value", "value", at)
    return ts, values, n


def decode_meas(
    payloads: npt.NDArray[np.uint8] | Sequence[bytes],
    path: str,
    *,
    rate_hz: float | None = None,
    previous_timestamp_ms: int | None = None,
) -> MeasSamples:
    """Decode measurement message payloads of one resource.

    Parameters
    ----------
    payloads : ndarray of uint8, shape (M, L), or sequence of bytes
        Reassembled message payloads (see :func:`reassemble`).
    path : str
        Subscribed path, e.g. ``"/Meas/IMU9/104"``: the block order and, unless ``rate_hz`` is
        given, the rate.
    rate_hz : float, optional
        Sample rate [Hz]; needed when a message holds more than one sample and the path has none.
    previous_timestamp_ms : int, optional
        Unwrapped timestamp [ms] of the message before these (continues the time line).

    Raises
    ------
    ProtocolError
        For payloads that are no whole samples, non-finite values, timestamps out of order, or a
        missing rate.
    """
    resource, path_rate = meas_resource(path)
    rate = rate_hz if rate_hz is not None else path_rate
    blocks = BLOCKS[resource]
    if isinstance(payloads, np.ndarray):
        ts, values, n = _decode_rows(payloads, len(blocks))
    elif payloads:
        parts = [_decode_rows(np.frombuffer(p, dtype=np.uint8)[None, :], len(blocks)) for p in payloads]
        if len({p[2] for p in parts}) != 1:
            raise error("messages hold different sample counts", "sequence")
        ts, values, n = (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            parts[0][2],
        )
    else:
        ts, values, n = np.zeros(0, np.int64), np.zeros((0, len(blocks), 0, AXES)), 0
    if n > 1 and (rate is None or not rate > 0):
        raise error(f"{n} samples per message need the sample rate (--set rate=Hz)", "settings")
    stamps, rollovers = unwrap_counter(
        ts, bits=CLOCK_BITS, previous=previous_timestamp_ms, family=FAMILY_NAME
    )
    offsets = (
        np.rint(np.arange(n) * (1e9 / rate)).astype(np.int64) if n > 1 and rate else np.zeros(n, np.int64)
    )
    time_ns = (stamps[:, None] * 1_000_000 + offsets[None, :]).reshape(-1)
    out: dict[str, FloatArray | None] = {"acc": None, "gyr": None, "mag": None}
    for b, name in enumerate(blocks):
        block = values[:, b].reshape(-1, AXES).astype(np.float64)
        out[name] = np.radians(block) if name == "gyr" else block
    return MeasSamples(resource, rate, stamps, time_ns, out["acc"], out["gyr"], out["mag"], n, rollovers)


def _wire(name: str, value: npt.ArrayLike, n: int) -> npt.NDArray[np.float32]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (n, AXES) or not np.isfinite(arr).all():
        raise error(f"{name} must be finite with shape ({n}, {AXES}), got {arr.shape}", "value")
    arr = np.degrees(arr) if name == "gyr" else arr
    if arr.size and np.abs(arr).max() >= _F32_LIMIT:
        raise error(f"{name} exceeds the float32 range", "value")
    return arr.astype(SAMPLE_DTYPE)


def encode_meas(
    path: str,
    reference: int,
    timestamp_ms: npt.ArrayLike,
    *,
    max_notification: int = MAX_NOTIFICATION,
    **samples: npt.ArrayLike,
) -> list[bytes]:
    """Build the notifications a Movesense sends for a measurement subscription.

    Parameters
    ----------
    path : str
        Subscribed path (``"/Meas/IMU6/104"``): which blocks, in which order.
    reference : int
        The subscription's reference (1..255).
    timestamp_ms : array_like of int, shape (M,)
        Each message's first-sample time [ms since boot]; written modulo 2³².
    max_notification : int
        Longest notification [bytes]; a longer message is split into DATA + DATA_PART2.
    **samples : array_like, shape (M * N, 3)
        ``acc`` [m/s²], ``gyr`` [rad/s], ``mag`` [µT], exactly the resource's blocks; N samples
        per message, in message order.

    Returns
    -------
    list of bytes
        DATA (and DATA_PART2) notifications in sending order.
    """
    resource, _ = meas_resource(path)
    blocks = BLOCKS[resource]
    if sorted(samples) != sorted(blocks):
        raise error(f"{resource} carries {list(blocks)}, got {sorted(samples)}", "value")
    if not 1 <= reference <= 0xFF:
        raise error("reference must be 1..255", "value")
    stamps = np.asarray(timestamp_ms, dtype=np.int64).reshape(-1)
    m = stamps.shape[0]
    total = np.asarray(samples[blocks[0]]).shape[0]
    if m == 0 or total % m or total == 0 or stamps.min() < 0:
        raise error(f"{total} samples do not split into {m} messages", "value")
    n = total // m
    wire = [_wire(name, samples[name], total).reshape(m, n * AXES) for name in blocks]
    rows = np.hstack(
        [(stamps % (1 << CLOCK_BITS)).astype(TIMESTAMP.format)[:, None].view(np.uint8)]
        + [w.view(np.uint8) for w in wire]
    )
    room = max_notification - HEADER
    if rows.shape[1] > 2 * room:
        raise error(f"a {rows.shape[1]}-byte message exceeds DATA + DATA_PART2", "value")
    out: list[bytes] = []
    for r in rows:
        raw = r.tobytes()
        out.append(bytes([_DATA, reference]) + raw[:room])
        if len(raw) > room:
            out.append(bytes([_PART2, reference]) + raw[room:])
    return out


def encode_log(
    reference: int, data: bytes, chunk_bytes: int = MAX_NOTIFICATION - HEADER - LOG_OFFSET.size
) -> list[bytes]:
    """FETCH_LOG DATA notifications: ``offset, bytes`` chunks and the empty end-of-log chunk.

    Parameters
    ----------
    reference : int
        The FETCH_LOG command's reference (1..255).
    data : bytes
        The log file.
    chunk_bytes : int
        File bytes per notification.
    """
    if not 1 <= reference <= 0xFF or chunk_bytes < 1 or len(data) > MAX_LOG_BYTES:
        raise error("bad reference, chunk size or log size", "value")
    head = bytes([_DATA, reference])
    chunks = [head + LOG_OFFSET.pack(i) + data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)]
    return [*chunks, head + LOG_OFFSET.pack(len(data))]


def assemble_log(packets: Sequence[bytes]) -> tuple[bytes, dict[str, Any]]:
    """Place FETCH_LOG chunks at their offsets.

    Parameters
    ----------
    packets : sequence of bytes
        DATA (or DATA_PART2) notifications answering FETCH_LOG, in any order.

    Returns
    -------
    data : bytes
        The log file (an SBEM file, not decoded here); holes are zero bytes.
    info : dict
        ``chunks``, ``size`` [bytes], ``end_of_log`` (the empty chunk arrived), ``holes`` (list of
        [start, end) byte ranges no chunk covered).

    Raises
    ------
    ProtocolError
        For a short chunk, another response code, or an offset beyond :data:`MAX_LOG_BYTES`.
    """
    spans: list[tuple[int, bytes]] = []
    end = False
    for i, p in enumerate(packets):
        if len(p) < HEADER + LOG_OFFSET.size:
            raise error(f"log chunk {i} has no offset", "truncated", len(p))
        if p[0] not in (_DATA, _PART2):
            raise error(f"log chunk {i}: response code {p[0]} is no DATA", "type", 0)
        (offset,) = LOG_OFFSET.unpack_from(p, HEADER)
        body = p[HEADER + LOG_OFFSET.size :]
        if offset + len(body) > MAX_LOG_BYTES:
            raise error(f"log chunk {i} reaches byte {offset + len(body)}", "value", HEADER)
        if body:
            spans.append((offset, body))
        else:
            end = True
    size = max((o + len(b) for o, b in spans), default=0)
    buf = bytearray(size)
    covered = np.zeros(size, dtype=bool)
    for o, b in spans:
        buf[o : o + len(b)] = b
        covered[o : o + len(b)] = True
    edges = np.flatnonzero(np.diff(np.concatenate([[True], covered, [True]]).astype(np.int8)))
    holes = [[int(a), int(b)] for a, b in zip(edges[0::2], edges[1::2], strict=True)]
    return bytes(buf), {"chunks": len(packets), "size": size, "end_of_log": end, "holes": holes}
