"""The journal of one device log session: its verified bytes on disk, flushed, resumable after a kill.

A :class:`LogJournal` appends bytes that came in CHUNKs with a good CRC and are contiguous from offset 0,
exactly as the device logged them, into ``log.bin``. :meth:`LogJournal.flush` makes them durable:
``fsync(log.bin)``, then one 28-byte record in ``log.idx`` (offset, length, CRC-32 of the piece, running
CRC-32 of the log, the record's own CRC-32), then ``fsync(log.idx)``. On opening, the resume point ``V``
is the end of the last intact record whose bytes check out, and anything after it is cut off, so a
process killed at any instant (SIGKILL included) leaves a journal that reopens at a verified prefix;
bytes written after the last flush are simply read again (OSP spec §7, host crash). ``meta.json`` names
the device session the folder holds, and a folder holding another one is refused.

Examples
--------
>>> import tempfile
>>> from imurehab.protocols.osp import crc32
>>> folder = Path(tempfile.mkdtemp()) / "session-1"
>>> key = SessionKey("OSP-0001", session_id=1, boot_id=0x1234, first_time_us=5_000)
>>> j = LogJournal.open(folder, key, study=("s01", "visit1"))
>>> j.append(b"hello "); j.append(b"world"); j.flush(); j.close()
>>> again = LogJournal.open(folder, key, study=("s01", "visit1"))
>>> again.length, again.crc == crc32(b"hello world"), again.read_log()
(11, True, b'hello world')
>>> again.close()
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from imurehab.ble.files import (
    check_identity,
    journal_error,
    make_dirs,
    read_json,
    write_all,
    write_json_atomic,
)
from imurehab.errors import JournalError

__all__ = ["FORMAT_VERSION", "INDEX_RECORD_BYTES", "LogJournal", "SessionKey"]

FORMAT_VERSION: Final = 1
"""Version of the journal's file layout, in every ``meta.json``."""
_INDEX = struct.Struct("<4sQIII")  # magic, offset, length, piece CRC-32, running CRC-32
_MAGIC: Final = b"OSPJ"
_RESIDUE: Final = 0x2144DF1C  # CRC-32 of any record followed by its own CRC-32
INDEX_RECORD_BYTES: Final = _INDEX.size + 4
"""Size of one ``log.idx`` record: the fields and their own CRC-32 [bytes]."""


@dataclass(frozen=True)
class SessionKey:
    """What identifies a device log session for good (OSP spec §5): serial, session id, boot id, first time.

    Attributes
    ----------
    serial : str
        The device's serial (from its descriptor).
    session_id : int
        The device's session id (never reused on the device).
    boot_id : int
        The boot that recorded the session.
    first_time_us : int
        Device time of its first sample [µs since that boot].
    """

    serial: str
    session_id: int
    boot_id: int
    first_time_us: int


class LogJournal:
    """Append-only journal of one device log session's verified prefix (see the module docstring).

    Open with :meth:`open`. Not safe for two writers: :class:`~imurehab.ble.layout.JournalRoot` holds a
    lock for the run.

    Attributes
    ----------
    length, crc : int
        Bytes appended [bytes] and their CRC-32: the resume point ``V`` and ``C`` of spec §7.
    durable_length : int
        Bytes flushed to disk and indexed [bytes]; a crash loses at most ``length − durable_length``.
    flush_bytes : int
        :meth:`append` flushes once this many bytes are pending [bytes].
    study : (subject, session)
        The study ids the journal was created under (its samples go to that dataset partition).
    """

    def __init__(self, folder: Path, key: SessionKey, study: tuple[str, str], length: int, crc: int) -> None:
        self.folder = folder
        self.key = key
        self.study = study
        self.length = length
        self.crc = crc
        self.durable_length = length
        self.flush_bytes = 65_536
        self._durable_crc = crc
        self._piece_crc = 0
        self._log_fd = -1
        self._idx_fd = -1

    # --- opening and recovery ----------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, key: SessionKey, *, study: tuple[str, str]) -> LogJournal:
        """Create the journal, or reopen it at its last verified byte (recovering from a killed writer).

        Parameters
        ----------
        folder : Path
            ``<out>/_journal/<serial>/session-<id>``.
        key : SessionKey
            The device session it holds.
        study : (subject, session)
            Study ids recorded with a new journal; an existing journal keeps its own (see :attr:`study`).

        Raises
        ------
        JournalError
            ``conflict`` if the folder holds another device's or session's journal, ``disk-full``/``io``
            when the files cannot be written.
        """
        meta_path = folder / "meta.json"
        meta = read_json(meta_path)
        identity = asdict(key)
        if meta is None:
            if folder.exists() and any(folder.iterdir()):
                raise JournalError(
                    "folder has files but no journal meta.json: not ours, refusing to write into it",
                    path=folder,
                    reason="conflict",
                )
            make_dirs(folder)
            meta = {"format": FORMAT_VERSION, **identity, "subject": study[0], "session": study[1]}
            write_json_atomic(meta_path, meta)
        check_identity(folder, meta, identity, "device log session")
        journal = cls(folder, key, (str(meta["subject"]), str(meta["session"])), 0, 0)
        journal._recover()
        return journal

    def _recover(self) -> None:
        log_path, idx_path = self.folder / "log.bin", self.folder / "log.idx"
        try:
            self._log_fd = os.open(log_path, os.O_RDWR | os.O_CREAT, 0o644)
            self._idx_fd = os.open(idx_path, os.O_RDWR | os.O_CREAT, 0o644)
            index = _read_fd(self._idx_fd)
            log_size = os.fstat(self._log_fd).st_size
            records = _parse_index(index, log_size)
            log = _read_fd(self._log_fd, records[-1][1] if records else 0)
            records = _verified_records(records, log)
            length, crc = (records[-1][1], records[-1][2]) if records else (0, 0)
            if log_size != length or len(index) != len(records) * INDEX_RECORD_BYTES:
                os.ftruncate(self._log_fd, length)
                os.ftruncate(self._idx_fd, len(records) * INDEX_RECORD_BYTES)
                os.fsync(self._log_fd)
                os.fsync(self._idx_fd)
        except OSError as err:
            self.close()
            raise journal_error(err, self.folder, "opening the journal") from err
        os.lseek(self._log_fd, 0, os.SEEK_END)
        os.lseek(self._idx_fd, 0, os.SEEK_END)
        self.length = self.durable_length = length
        self.crc = self._durable_crc = crc

    # --- writing -----------------------------------------------------------------------------------

    def append(self, data: bytes) -> None:
        """Append the next verified contiguous log bytes (not yet durable: see :meth:`flush`).

        Parameters
        ----------
        data : bytes
            Log bytes ``[length, length + len(data))``.

        Raises
        ------
        JournalError
            ``disk-full`` or ``io``; the journal is then cut back to its durable prefix.
        """
        if not data:
            return
        try:
            write_all(self._log_fd, data)
        except OSError as err:
            self._rollback()
            raise journal_error(err, self.folder / "log.bin", "appending to the journal") from err
        self.length += len(data)
        self.crc = zlib.crc32(data, self.crc)
        self._piece_crc = zlib.crc32(data, self._piece_crc)
        if self.length - self.durable_length >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Make every appended byte durable: fsync the log, then index it, then fsync the index.

        Raises
        ------
        JournalError
            ``disk-full`` or ``io``; the journal is then cut back to its durable prefix.
        """
        if self.length == self.durable_length:
            return
        start, n = self.durable_length, self.length - self.durable_length
        head = _INDEX.pack(_MAGIC, start, n, self._piece_crc, self.crc)
        try:
            os.fsync(self._log_fd)
            write_all(self._idx_fd, head + struct.pack("<I", zlib.crc32(head)))
            os.fsync(self._idx_fd)
        except OSError as err:
            self._rollback()
            raise journal_error(err, self.folder / "log.idx", "flushing the journal") from err
        self.durable_length, self._durable_crc, self._piece_crc = self.length, self.crc, 0

    def _rollback(self) -> None:
        """Cut both files back to the durable prefix after a failed write (frees the space it took)."""
        with contextlib.suppress(OSError):
            size = os.fstat(self._idx_fd).st_size
            keep = size - size % INDEX_RECORD_BYTES
            index = os.pread(self._idx_fd, keep, 0)
            records = _parse_index(index, self.durable_length)
            os.ftruncate(self._idx_fd, len(records) * INDEX_RECORD_BYTES)
            os.ftruncate(self._log_fd, self.durable_length)
            os.lseek(self._idx_fd, 0, os.SEEK_END)
            os.lseek(self._log_fd, 0, os.SEEK_END)
        self.length, self.crc, self._piece_crc = self.durable_length, self._durable_crc, 0

    def reset(self) -> None:
        """Discard everything (the whole log matched the device's length but not its CRC-32: spec §7)."""
        try:
            os.ftruncate(self._log_fd, 0)
            os.ftruncate(self._idx_fd, 0)
            os.lseek(self._log_fd, 0, os.SEEK_SET)
            os.lseek(self._idx_fd, 0, os.SEEK_SET)
            os.fsync(self._log_fd)
            os.fsync(self._idx_fd)
            (self.folder / "verified.json").unlink(missing_ok=True)
        except OSError as err:
            raise journal_error(err, self.folder, "resetting the journal") from err
        self.length = self.durable_length = 0
        self.crc = self._durable_crc = self._piece_crc = 0

    # --- verification state ------------------------------------------------------------------------

    @property
    def verified(self) -> dict[str, Any] | None:
        """``verified.json`` (``length``, ``crc``, ``state``, ``committed``) once the log checked out."""
        return read_json(self.folder / "verified.json")

    def mark_verified(self, state: int, *, committed: bool = False) -> None:
        """Record that the durable log equals the device's whole log (length and CRC-32 matched).

        Parameters
        ----------
        state : int
            The session state the device reported (CLOSED 0, OPEN 1, INTERRUPTED 2).
        committed : bool
            Whether the device has since erased it (COMMIT answered OK).
        """
        self.flush()
        record = {"length": self.length, "crc": self.crc, "state": state, "committed": committed}
        write_json_atomic(self.folder / "verified.json", record)

    # --- reading and closing -----------------------------------------------------------------------

    def read_log(self) -> bytes:
        """The log bytes held ``[0, length)`` (durable or not)."""
        return os.pread(self._log_fd, self.length, 0) if self._log_fd >= 0 else b""

    def close(self) -> None:
        """Flush what can be flushed and close the files (idempotent; errors here are not raised)."""
        with contextlib.suppress(JournalError):
            if self._log_fd >= 0:
                self.flush()
        for name in ("_log_fd", "_idx_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)


def _read_fd(fd: int, size: int | None = None) -> bytes:
    size = os.fstat(fd).st_size if size is None else size
    return os.pread(fd, size, 0)


def _parse_index(index: bytes, log_size: int) -> list[tuple[int, int, int, int]]:
    """Intact, contiguous index records within ``log_size``: (start, end, running CRC, piece CRC)."""
    records, pos = [], 0
    for at in range(0, len(index) - INDEX_RECORD_BYTES + 1, INDEX_RECORD_BYTES):
        raw = index[at : at + INDEX_RECORD_BYTES]
        magic, offset, n, piece, running = _INDEX.unpack_from(raw)
        if magic != _MAGIC or zlib.crc32(raw) != _RESIDUE or offset != pos or offset + n > log_size:
            break
        pos = offset + n
        records.append((offset, pos, running, piece))
    return records


def _verified_records(
    records: list[tuple[int, int, int, int]], log: bytes
) -> list[tuple[int, int, int, int]]:
    """The longest run of records from the first whose bytes in ``log`` match their CRCs."""
    if records and zlib.crc32(log[: records[-1][1]]) == records[-1][2]:
        return records
    good, crc = [], 0
    for rec in records:
        start, end, running, piece = rec
        if zlib.crc32(log[start:end]) != piece or zlib.crc32(log[start:end], crc) != running:
            break
        crc = running
        good.append(rec)
    return good
