"""Reassembling a session log from CHUNKs by offset, and verifying it against END or LIST.

The BLE sync feeds every CHUNK notification of a session to a :class:`LogAssembler`. Chunks may arrive
duplicated, overlapping, out of order, damaged (bad CRC, cut to MTU − 3) or for another session: each is
verified and counted, and the assembler keeps the longest verified contiguous prefix ``[0, length)`` with
its running CRC-32. :meth:`LogAssembler.take` hands out the newly contiguous bytes for the journal;
:meth:`LogAssembler.missing` says which byte ranges to READ again; :meth:`LogAssembler.verify` checks the
prefix against END's (or LIST's) length and CRC. A sync that resumes (after a link drop, a device reboot
or a host crash) starts a new assembler at the journal's verified length and CRC.

Examples
--------
>>> from imurehab.protocols.osp.messages import Chunk, End, encode_chunk
>>> log = bytes(range(100))
>>> asm = LogAssembler(session_id=1)
>>> asm.add(encode_chunk(Chunk(1, 60, log[60:])))   # out of order: held
0
>>> asm.add(encode_chunk(Chunk(1, 0, log[:40])))
40
>>> asm.missing(100)
[(40, 20)]
>>> asm.add(encode_chunk(Chunk(1, 30, log[30:60])))  # overlaps; fills the gap, releases the held chunk
60
>>> asm.take() == log, asm.verify(End(0, 1, 0, 100, 0, 100, crc32(log), 0)).complete
(True, True)
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from imurehab.errors import ProtocolError
from imurehab.protocols.osp.constants import fail
from imurehab.protocols.osp.frames import crc32
from imurehab.protocols.osp.messages import Chunk, End, SessionEntry, decode_chunk

__all__ = ["LogAssembler", "Verification", "verify_log"]


@dataclass(frozen=True)
class Verification:
    """The verified prefix against the device's log length and CRC-32.

    Attributes
    ----------
    complete : bool
        The prefix has the device's length and its CRC-32 matches: the download is verified whole.
    length : int
        Verified contiguous bytes held [bytes].
    expected_length : int
        The device's log length [bytes].
    missing : list of (offset, length)
        Byte ranges still to READ.
    """

    complete: bool
    length: int
    expected_length: int
    missing: list[tuple[int, int]]


@dataclass
class LogAssembler:
    """Collects one session's CHUNKs into a verified contiguous log prefix.

    Parameters
    ----------
    session_id : int
        The session being read; chunks of other sessions are counted and ignored.
    length : int, optional
        Bytes already verified and journaled (resume point) [bytes].
    crc : int, optional
        CRC-32 of those ``length`` bytes (0 for none).

    Attributes
    ----------
    stats : collections.Counter
        ``chunks``, ``appended_bytes``, ``held_chunks`` (arrived ahead of a gap), ``duplicate_bytes``,
        ``conflicts`` (overlapping bytes that differ: the first copy is kept, END's CRC decides),
        ``wrong_session`` and ``rejected_<reason>`` (damaged chunks, by ProtocolError reason).
    """

    session_id: int
    length: int = 0
    crc: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    _starts: list[int] = field(default_factory=list, repr=False)
    _held: dict[int, bytes] = field(default_factory=dict, repr=False)
    _ready: bytearray = field(default_factory=bytearray, repr=False)

    def add(self, chunk: Chunk | bytes | bytearray | memoryview) -> int:
        """Take one CHUNK (a notification's bytes, or a decoded :class:`Chunk`).

        Parameters
        ----------
        chunk : Chunk or bytes-like
            The chunk; raw bytes are verified (length, CRC-32) first.

        Returns
        -------
        int
            Bytes by which the verified contiguous prefix grew (0 for a held, duplicate or bad chunk).
            Never raises for a damaged chunk: it is counted in ``stats`` and its range stays missing.
        """
        self.stats["chunks"] += 1
        if not isinstance(chunk, Chunk):
            try:
                chunk = decode_chunk(chunk)
            except ProtocolError as err:
                self.stats[f"rejected_{err.reason}"] += 1
                return 0
        if chunk.session_id != self.session_id:
            self.stats["wrong_session"] += 1
            return 0
        start, data = chunk.offset, chunk.data
        if start < self.length:
            self.stats["duplicate_bytes"] += min(self.length, chunk.end) - start
            data = data[self.length - start :]
            start = self.length
        if data:
            self._hold(start, data)
        before, k = self.length, 0
        while k < len(self._starts) and self._starts[k] == self.length:
            piece = self._held.pop(self._starts[k])
            self._ready += piece
            self.crc = crc32(piece, self.crc)
            self.length += len(piece)
            k += 1
        del self._starts[:k]
        grown = self.length - before
        self.stats["appended_bytes"] += grown
        if data and not grown:
            self.stats["held_chunks"] += 1
        return grown

    def _hold(self, start: int, data: bytes) -> None:
        """Insert ``data`` at ``start`` among the held pieces, keeping them disjoint (first copy wins)."""
        end, pos, parts = start + len(data), start, []
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        for s in self._starts[i:]:
            if s >= end:
                break
            piece = self._held[s]
            e = s + len(piece)
            if e <= pos:
                continue
            if s > pos:
                parts.append((pos, data[pos - start : s - start]))
            a, b = max(pos, s), min(end, e)
            if data[a - start : b - start] != piece[a - s : b - s]:
                self.stats["conflicts"] += 1
            self.stats["duplicate_bytes"] += b - a
            pos = b
            if pos >= end:
                break
        if pos < end:
            parts.append((pos, data[pos - start :]))
        for s, piece in parts:
            bisect.insort(self._starts, s)
            self._held[s] = piece

    def take(self) -> bytes:
        """The bytes that became contiguous since the last call (append them to the journal)."""
        out = bytes(self._ready)
        self._ready.clear()
        return out

    @property
    def held_bytes(self) -> int:
        """Bytes received beyond a gap, waiting for it to be filled [bytes]."""
        return sum(len(p) for p in self._held.values())

    def missing(self, total_length: int) -> list[tuple[int, int]]:
        """Byte ranges ``(offset, length)`` of ``[length, total_length)`` not received yet.

        Parameters
        ----------
        total_length : int
            The log's length on the device (END ``log_length`` or LIST ``length``) [bytes].
        """
        gaps, pos = [], self.length
        for s in self._starts:
            if s >= total_length:
                break
            if s > pos:
                gaps.append((pos, s - pos))
            pos = max(pos, s + len(self._held[s]))
        if pos < total_length:
            gaps.append((pos, total_length - pos))
        return gaps

    def verify(self, reference: End | SessionEntry) -> Verification:
        """Check the verified prefix against the device's log length and CRC-32.

        Parameters
        ----------
        reference : End or SessionEntry
            END of a READ (``log_length``, ``log_crc``) or a LIST entry (``length``, ``log_crc``).

        Returns
        -------
        Verification
            ``complete`` when the lengths are equal and the CRC-32 matches; otherwise the missing ranges.

        Raises
        ------
        ProtocolError
            ``value`` for another session; ``sequence`` if the host holds more bytes than the device's log;
            ``crc`` if the lengths are equal but the CRC-32 differs (discard and READ the session again).
        """
        total = reference.log_length if isinstance(reference, End) else reference.length
        if reference.session_id != self.session_id:
            raise fail(f"verifying session {self.session_id} against session {reference.session_id}", "value")
        if self.length > total:
            raise fail(f"host holds {self.length} bytes but the device log has {total}", "sequence", total)
        if self.length == total and self.crc != reference.log_crc:
            raise fail(f"log CRC-32 0x{self.crc:08x} != device 0x{reference.log_crc:08x}", "crc", 0)
        complete = self.length == total
        return Verification(complete, self.length, total, [] if complete else self.missing(total))


def verify_log(log: bytes | bytearray | memoryview, reference: End | SessionEntry) -> bool:
    """Whether a whole downloaded log has the device's length and CRC-32 (e.g. a journal after a restart).

    Parameters
    ----------
    log : bytes-like
        The session log bytes from offset 0.
    reference : End or SessionEntry
        What the device reports for the session.
    """
    total = reference.log_length if isinstance(reference, End) else reference.length
    return len(log) == total and crc32(log) == reference.log_crc
